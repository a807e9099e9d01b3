#pragma once

#include <chrono>
#include <map>
#include <string>

namespace redrive::testing {

struct HttpReply {
  int status = 0;  // 0 when the connection failed or timed out before a response
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                           // why status is 0
};

// A blocking HTTP/1.1 client for tests: one request per connection, to 127.0.0.1.
HttpReply HttpRequest(const std::string& method, int port, const std::string& target,
                      const std::string& body = "",
                      const std::map<std::string, std::string>& headers = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

inline HttpReply HttpGet(int port, const std::string& target) {
  return HttpRequest("GET", port, target);
}

}  // namespace redrive::testing
