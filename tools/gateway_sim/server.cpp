#include "tools/gateway_sim/server.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/runtime/log.hpp"

namespace redrive::gateway_sim {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// Every request the contract defines fits easily; anything bigger is a bug or an attack.
constexpr std::uint32_t kHeaderLimitBytes = 8 * 1024;
constexpr std::uint64_t kBodyLimitBytes = 16 * 1024;
// Covers both a slow request and an idle keep-alive connection.
constexpr auto kReadTimeout = 30s;
constexpr auto kWriteTimeout = 10s;
// A held ("timeout" fault) request waits for the client to give up; this only bounds the
// resources a client that never does can pin.
constexpr auto kMaxHold = 10min;
// How long and how much a rejected connection is drained before it closes.
constexpr auto kLingerTimeout = 2s;
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response MakeResponse(const Reply& reply, unsigned version, bool keep_alive) {
  Response response{static_cast<http::status>(reply.status), version};
  response.set(http::field::server, "gateway-sim");
  response.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : reply.headers) response.set(name, value);
  response.body() = reply.body;
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

Reply JsonError(int status, std::string_view code, std::string_view message) {
  return Reply{.status = status, .body = ErrorJson(code, message), .headers = {}};
}

std::optional<std::string> Header(const Request& request, std::string_view name) {
  const auto it = request.find(name);
  if (it == request.end()) return std::nullopt;
  return std::string(it->value());
}

// What to do with one request, apart from the charge flow, which needs the connection.
struct Route {
  enum class Kind { kReply, kCharge } kind = Kind::kReply;
  Reply reply;
};

Route RouteRequest(Simulator& simulator, const Request& request) {
  const auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return {.reply = JsonError(400, "bad_request", "malformed request target")};
  const std::string_view path = url->encoded_path();
  const http::verb method = request.method();
  const auto only = [&](http::verb allowed, auto&& handle) -> Route {
    if (method != allowed) {
      Reply reply = JsonError(405, "method_not_allowed", "method not allowed on this path");
      reply.headers.emplace_back("Allow", std::string(http::to_string(allowed)));
      return {.reply = std::move(reply)};
    }
    return {.reply = handle()};
  };

  if (path == "/healthz") {
    return only(http::verb::get,
                [] { return Reply{.status = 200, .body = R"({"status":"ok"})", .headers = {}}; });
  }
  if (path == "/v1/charges") {
    if (method == http::verb::post) return {.kind = Route::Kind::kCharge, .reply = {}};
    return only(http::verb::get, [&] {
      std::optional<std::string> key;
      const auto params = url->params();
      if (const auto it = params.find("idempotency_key"); it != params.end()) {
        key = (*it).value;
      }
      return simulator.LookupCharge(key);
    });
  }
  if (path == "/v1/ledger") return only(http::verb::get, [&] { return simulator.Ledger(); });
  if (path == "/v1/admin/faults") {
    if (method == http::verb::post) {
      Reply reply = simulator.UpdateFaults(request.body());
      if (reply.status == 200) log::Info("fault knobs changed", {{"knobs", reply.body}});
      return {.reply = std::move(reply)};
    }
    return only(http::verb::get, [&] { return simulator.Faults(); });
  }
  return {.reply = JsonError(404, "not_found", "no such endpoint")};
}

void LogCharge(const ChargeTicket& ticket, const ChargeOutcome& outcome) {
  if (outcome.executed) {
    log::Info("charge executed", {{"order_id", outcome.executed->request.order_id},
                                  {"idempotency_key", ticket.key},
                                  {"charge_id", outcome.executed->id},
                                  {"status", ToString(outcome.executed->status)}});
  }
  if (outcome.fault != Fault::kNone) {
    log::Warn("fault injected", {{"fault", ToString(outcome.fault)},
                                 {"order_id", ticket.request.order_id},
                                 {"idempotency_key", ticket.key}});
  } else {
    log::Debug("charge answered", {{"order_id", ticket.request.order_id},
                                   {"idempotency_key", ticket.key},
                                   {"status_code", outcome.reply.status}});
  }
}

// Keeps a held request's connection open, reading and discarding, until the client closes
// it or kMaxHold passes. Nothing is ever written back.
net::awaitable<void> HoldUntilClientGivesUp(beast::tcp_stream& stream) {
  stream.expires_after(kMaxHold);
  std::array<char, 512> discard;
  while (true) {
    auto [error, bytes] = co_await stream.async_read_some(net::buffer(discard), kUseTuple);
    if (error) break;
  }
}

net::awaitable<bool> Write(beast::tcp_stream& stream, Response response) {
  stream.expires_after(kWriteTimeout);
  auto [error, bytes] = co_await http::async_write(stream, response, kUseTuple);
  co_return !error;
}

// Answers a request the server will not read to the end, then closes. Closing a socket
// with unread input makes the kernel send a reset, which can destroy the answer before the
// client reads it; so stop sending first and drain what the client still sends, briefly.
net::awaitable<void> RejectAndClose(beast::tcp_stream& stream, const Reply& reply) {
  if (co_await Write(stream, MakeResponse(reply, 11, false))) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(kLingerTimeout);
    std::array<char, 4096> discard;
    std::size_t drained = 0;
    while (drained < kMaxLingerBytes) {
      auto [error, bytes] = co_await stream.async_read_some(net::buffer(discard), kUseTuple);
      if (error) break;
      drained += bytes;
    }
  }
  stream.close();
}

// One connection: requests in sequence (HTTP/1.1 keep-alive). Runs on the connection's own
// strand, so with several io_context threads two connections proceed in parallel.
net::awaitable<void> Session(beast::tcp_stream stream, Simulator& simulator) {
  beast::flat_buffer buffer;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimitBytes);
    parser.body_limit(kBodyLimitBytes);
    stream.expires_after(kReadTimeout);
    auto [read_error, bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (read_error == http::error::end_of_stream) break;
    if (read_error == http::error::body_limit || read_error == http::error::header_limit) {
      const bool body = read_error == http::error::body_limit;
      co_await RejectAndClose(stream,
                              JsonError(body ? 413 : 431, "too_large",
                                        body ? "body exceeds 16 KiB" : "headers exceed 8 KiB"));
      co_return;
    }
    if (read_error) {
      // A protocol error deserves an answer; a network error or timeout has nobody to read it.
      if (read_error.category() == http::make_error_code(http::error::bad_target).category()) {
        co_await RejectAndClose(stream, JsonError(400, "bad_request", read_error.message()));
        co_return;
      }
      break;
    }

    Request request = parser.release();
    const bool keep_alive = request.keep_alive();
    Route route = RouteRequest(simulator, request);
    if (route.kind == Route::Kind::kReply) {
      if (!co_await Write(stream, MakeResponse(route.reply, request.version(), keep_alive))) break;
      if (!keep_alive) break;
      continue;
    }

    const ChargeTicket ticket =
        simulator.AdmitCharge(Header(request, "Idempotency-Key"), request.body());
    if (ticket.hold) {
      log::Warn("fault injected", {{"fault", ToString(Fault::kHold)},
                                   {"order_id", ticket.request.order_id},
                                   {"idempotency_key", ticket.key}});
      co_await HoldUntilClientGivesUp(stream);
      break;
    }
    if (ticket.delay > 0ms) {
      // A timer, never a sleeping thread: thousands of slow requests cost no threads.
      net::steady_timer timer(co_await net::this_coro::executor, ticket.delay);
      co_await timer.async_wait(kUseTuple);
    }
    const ChargeOutcome outcome = simulator.FinishCharge(ticket);
    LogCharge(ticket, outcome);
    if (outcome.drop_connection) break;
    if (!co_await Write(stream, MakeResponse(outcome.reply, request.version(), keep_alive))) break;
    if (!keep_alive) break;
  }
  // Closing without a reply is the drop-response fault's whole point; elsewhere it ends a
  // finished or broken connection.
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

net::awaitable<void> Accept(net::io_context& io, tcp::acceptor& acceptor, Simulator& simulator) {
  while (acceptor.is_open()) {
    auto [error, socket] = co_await acceptor.async_accept(net::make_strand(io), kUseTuple);
    if (error == net::error::operation_aborted) break;
    if (error) {
      // EMFILE and friends: back off instead of spinning on a full descriptor table.
      log::Warn("accept failed", {{"error", error.message()}});
      net::steady_timer pause(io, 100ms);
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto executor = socket.get_executor();
    net::co_spawn(executor, Session(beast::tcp_stream(std::move(socket)), simulator),
                  [](std::exception_ptr failure) {
                    if (!failure) return;
                    try {
                      std::rethrow_exception(failure);
                    } catch (const std::exception& e) {
                      log::Error("connection failed", {{"error", e.what()}});
                    }
                  });
  }
}

}  // namespace

int RunServer(Simulator& simulator, const ServerOptions& options) {
  net::io_context io(options.threads);
  tcp::acceptor acceptor(io);
  try {
    const tcp::endpoint endpoint(net::ip::make_address(options.listen.host), options.listen.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    log::Error("cannot listen", {{"host", options.listen.host},
                                 {"port", static_cast<int>(options.listen.port)},
                                 {"error", e.what()}});
    return 1;
  }

  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code& error, int signal) {
    if (error) return;
    log::Info("stopping", {{"signal", signal}});
    beast::error_code ignored;
    acceptor.close(ignored);
    // Held and delayed requests are simulated; there is no real work to drain.
    io.stop();
  });

  const FaultKnobs knobs = simulator.Knobs();
  log::Info("listening", {{"host", options.listen.host},
                          {"port", static_cast<int>(acceptor.local_endpoint().port())},
                          {"threads", options.threads},
                          {"latency_ms", knobs.latency_ms},
                          {"decline_rate", knobs.decline_rate},
                          {"error_rate", knobs.error_rate},
                          {"error_after_charge_rate", knobs.error_after_charge_rate},
                          {"drop_response_rate", knobs.drop_response_rate},
                          {"timeout_rate", knobs.timeout_rate},
                          {"rate_limit_rate", knobs.rate_limit_rate}});
  net::co_spawn(io, Accept(io, acceptor, simulator), net::detached);

  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();
  return 0;
}

}  // namespace redrive::gateway_sim
