#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace redrive::testing {

// One request as the receiver read it off the wire.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // raw bytes, exactly as signed
  int answered_status = 0;                     // the status chosen for it when it arrived
  std::chrono::steady_clock::time_point received_at;

  // The header's value, or "" when absent; `name` in lower case.
  std::string Header(const std::string& name) const;
};

// A webhook subscriber for tests: an HTTP/1.1 server on 127.0.0.1 at a free port, served by
// its own thread. It records every request and answers with a status the test can change
// at any time (default 200), optionally after a hold that outlasts the worker's deadline.
// Keep-alive is honoured; reads have a deadline and a body limit so a stuck peer cannot
// wedge it.
class WebhookReceiver {
 public:
  WebhookReceiver();
  ~WebhookReceiver();  // stops accepting, drops open connections, joins the thread
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks"; }

  // Applies to requests that arrive from now on.
  void SetStatus(int status, std::optional<int> retry_after_seconds = std::nullopt);
  // Holds each answer this long after reading the request (zero: answer at once).
  void SetResponseDelay(std::chrono::milliseconds delay);
  // Answers with this body instead of the status line ("" restores the default).
  void SetResponseBody(std::string body);

  std::vector<ReceivedRequest> Requests() const;
  std::size_t RequestCount() const;
  // Waits until at least `count` requests arrived; false on timeout.
  bool WaitForRequests(std::size_t count,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

 private:
  class Session;
  struct Reply {
    int status = 200;
    std::optional<int> retry_after_seconds;
    std::chrono::milliseconds delay{0};
    std::string body;  // empty: "<status>\n"
  };

  void Accept();
  // Records the request and returns how to answer it.
  Reply Record(ReceivedRequest request);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  mutable std::mutex mutex_;
  Reply reply_;                            // guarded by mutex_
  std::vector<ReceivedRequest> requests_;  // guarded by mutex_
  std::thread thread_;
};

// What a subscriber computes to verify X-Redrive-Signature ("sha256=<hex HMAC-SHA256>"):
// written against OpenSSL directly, so a bug in redrive's own signing cannot hide behind the
// same code.
std::string SubscriberSignature(const std::string& secret, const std::string& body);

}  // namespace redrive::testing
