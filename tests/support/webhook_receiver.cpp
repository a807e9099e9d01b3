#include "tests/support/webhook_receiver.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <optional>

#include "tests/support/process.hpp"

namespace redrive::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// A peer that opens a connection and never finishes its request is dropped after this.
constexpr auto kReadTimeout = std::chrono::seconds(10);
constexpr auto kWriteTimeout = std::chrono::seconds(5);
constexpr std::size_t kBodyLimit = 1024 * 1024;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::string ReceivedRequest::Header(const std::string& name) const {
  const auto found = headers.find(name);
  return found == headers.end() ? "" : found->second;
}

// One connection: read a request, record it, answer (after the configured hold), and read
// the next one while the client keeps the connection alive. Owned by its pending handlers.
class WebhookReceiver::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(WebhookReceiver& owner, net::ip::tcp::socket socket)
      : owner_(owner), stream_(std::move(socket)), hold_(stream_.get_executor()) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, std::size_t) { self->OnRead(error); });
  }

 private:
  void OnRead(beast::error_code error) {
    if (error) return Close();  // includes the client closing an idle keep-alive connection
    http::request<http::string_body> request = parser_->release();
    keep_alive_ = request.keep_alive();

    ReceivedRequest received;
    received.method = std::string(request.method_string());
    received.target = std::string(request.target());
    for (const auto& field : request) {
      received.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
    }
    received.body = std::move(request.body());
    received.received_at = RealNow();
    const Reply reply = owner_.Record(std::move(received));

    response_ = {};
    response_.version(request.version());
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::content_type, "text/plain");
    if (reply.retry_after_seconds) {
      response_.set(http::field::retry_after, std::to_string(*reply.retry_after_seconds));
    }
    response_.keep_alive(keep_alive_);
    response_.body() = reply.body.empty() ? std::to_string(reply.status) + "\n" : reply.body;
    response_.prepare_payload();

    if (reply.delay <= std::chrono::milliseconds::zero()) return Write();
    // A subscriber that takes too long: the client is expected to give up first.
    stream_.expires_never();
    hold_.expires_after(reply.delay);
    hold_.async_wait([self = shared_from_this()](beast::error_code wait_error) {
      if (wait_error) return self->Close();
      self->Write();
    });
  }

  void Write() {
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code error, std::size_t) {
                        if (error || !self->keep_alive_) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  WebhookReceiver& owner_;
  beast::tcp_stream stream_;
  net::steady_timer hold_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  bool keep_alive_ = false;
};

WebhookReceiver::WebhookReceiver()
    : acceptor_(io_, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { io_.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  // Pending handlers (and the sessions they own) are destroyed with io_, never run again.
  io_.stop();
  thread_.join();
}

void WebhookReceiver::Accept() {
  acceptor_.async_accept([this](beast::error_code error, net::ip::tcp::socket socket) {
    if (error == net::error::operation_aborted) return;
    if (!error) std::make_shared<Session>(*this, std::move(socket))->Read();
    Accept();
  });
}

WebhookReceiver::Reply WebhookReceiver::Record(ReceivedRequest request) {
  std::lock_guard lock(mutex_);
  request.answered_status = reply_.status;
  requests_.push_back(std::move(request));
  return reply_;
}

void WebhookReceiver::SetStatus(int status, std::optional<int> retry_after_seconds) {
  std::lock_guard lock(mutex_);
  reply_.status = status;
  reply_.retry_after_seconds = retry_after_seconds;
}

void WebhookReceiver::SetResponseDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  reply_.delay = delay;
}

void WebhookReceiver::SetResponseBody(std::string body) {
  std::lock_guard lock(mutex_);
  reply_.body = std::move(body);
}

std::vector<ReceivedRequest> WebhookReceiver::Requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t WebhookReceiver::RequestCount() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

bool WebhookReceiver::WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const {
  return WaitUntil([&] { return RequestCount() >= count; }, timeout);
}

std::string SubscriberSignature(const std::string& secret, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest,
           &length) == nullptr) {
    return "";
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", digest[i]);
    hex += pair;
  }
  return "sha256=" + hex;
}

}  // namespace redrive::testing
