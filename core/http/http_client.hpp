#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// An outbound HTTP/1.1 client for the gateway and webhook subscribers: async (a slow peer
// holds only its own coroutine), one deadline for the whole exchange, a response size
// limit. Only http:// URLs (config validation rejects others).
namespace redrive::http {

struct Endpoint {
  std::string host;
  std::string port = "80";
  std::string base_path;  // without a trailing slash; "" for the root
};

// Parses "http://host[:port][/path]". nullopt when it is not such a URL.
std::optional<Endpoint> ParseHttpUrl(std::string_view url);

struct OutboundRequest {
  std::string method = "GET";
  std::string target;  // appended to the endpoint's base path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{2000};
  std::size_t max_response_bytes = 1024 * 1024;
};

struct InboundResponse {
  // 0 when there is no HTTP answer: the connection failed, was closed early or timed out.
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string transport_error;                 // why status is 0
  bool timed_out = false;
  bool body_truncated = false;  // the body was larger than max_response_bytes and is cut
  bool Answered() const { return status != 0; }
};

// Never throws for network trouble: failures come back as a response with status 0.
boost::asio::awaitable<InboundResponse> Send(const Endpoint& endpoint, OutboundRequest request);

}  // namespace redrive::http
