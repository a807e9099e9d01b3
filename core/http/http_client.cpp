#include "core/http/http_client.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace redrive::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;

std::optional<Endpoint> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const auto slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : url.substr(slash);
  while (path.ends_with('/')) path.remove_suffix(1);
  if (authority.empty()) return std::nullopt;
  Endpoint endpoint;
  endpoint.base_path = std::string(path);
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.back() == ']') {
    endpoint.host = std::string(authority);
  } else {
    endpoint.host = std::string(authority.substr(0, colon));
    endpoint.port = std::string(authority.substr(colon + 1));
    if (endpoint.port.empty() || !std::all_of(endpoint.port.begin(), endpoint.port.end(),
                                              [](unsigned char c) { return std::isdigit(c); })) {
      return std::nullopt;
    }
  }
  if (endpoint.host.size() > 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  if (endpoint.host.empty()) return std::nullopt;
  return endpoint;
}

net::awaitable<InboundResponse> Send(const Endpoint& endpoint, OutboundRequest request) {
  InboundResponse response;
  auto executor = co_await net::this_coro::executor;
  auto fail = [&](const beast::error_code& error, std::string_view step) {
    response.status = 0;
    response.timed_out = error == beast::error::timeout;
    response.transport_error = std::string(step) + ": " + error.message();
  };

  net::ip::tcp::resolver resolver(executor);
  beast::tcp_stream stream(executor);
  // One deadline for the whole exchange: resolve is quick on loopback and IPs, and every
  // socket step below re-arms with what is left of it.
  stream.expires_after(request.timeout);

  auto [resolve_error, results] = co_await resolver.async_resolve(
      endpoint.host, endpoint.port, net::as_tuple(net::use_awaitable));
  if (resolve_error) {
    fail(resolve_error, "resolve");
    co_return response;
  }
  auto [connect_error, connected] =
      co_await stream.async_connect(results, net::as_tuple(net::use_awaitable));
  (void)connected;
  if (connect_error) {
    fail(connect_error, "connect");
    co_return response;
  }

  bhttp::request<bhttp::string_body> outbound(bhttp::string_to_verb(request.method),
                                              endpoint.base_path + request.target, 11);
  outbound.set(bhttp::field::host, endpoint.host + ":" + endpoint.port);
  outbound.set(bhttp::field::user_agent, "redrive");
  for (const auto& [name, value] : request.headers) outbound.set(name, value);
  outbound.body() = std::move(request.body);
  outbound.prepare_payload();
  auto [write_error, written] =
      co_await bhttp::async_write(stream, outbound, net::as_tuple(net::use_awaitable));
  (void)written;
  if (write_error) {
    fail(write_error, "write");
    co_return response;
  }

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(request.max_response_bytes);
  parser.header_limit(16 * 1024);
  auto [read_error, read] =
      co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
  (void)read;
  // A peer that answered with more body than we accept still answered: keep its status
  // and headers (a subscriber's 200 with a large page must not be retried) and say so.
  const bool truncated = read_error == bhttp::error::body_limit && parser.is_header_done();
  if (read_error && !truncated) {
    fail(read_error, "read");
    co_return response;
  }
  response.body_truncated = truncated;
  const auto& message = parser.get();
  response.status = static_cast<int>(message.result_int());
  response.body = message.body();
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response.headers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  co_return response;
}

}  // namespace redrive::http
