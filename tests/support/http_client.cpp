#include "tests/support/http_client.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace redrive::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

HttpReply HttpRequest(const std::string& method, int port, const std::string& target,
                      const std::string& body, const std::map<std::string, std::string>& headers,
                      std::chrono::milliseconds timeout) {
  HttpReply reply;
  net::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code failure;

  // Async operations, so the stream's deadline really bounds a peer that never answers.
  stream.expires_after(timeout);
  stream.async_connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
      [&](beast::error_code connect_error) {
        if (connect_error) {
          failure = connect_error;
          return;
        }
        http::async_write(stream, request, [&](beast::error_code write_error, std::size_t) {
          if (write_error) {
            failure = write_error;
            return;
          }
          http::async_read(stream, buffer, parser, [&](beast::error_code read_error, std::size_t) {
            failure = read_error;
          });
        });
      });
  io.run();
  if (failure) {
    reply.error = failure.message();
    return reply;
  }
  const auto& response = parser.get();
  reply.status = static_cast<int>(response.result_int());
  reply.body = response.body();
  for (const auto& field : response) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    reply.headers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return reply;
}

}  // namespace redrive::testing
