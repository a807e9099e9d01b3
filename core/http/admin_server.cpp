#include "core/http/admin_server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/runtime/log.hpp"

namespace redrive::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
// How much of a rejected request we read and discard before closing, and for how long, so
// the client sees our 413/431 instead of a connection reset (see LingeringClose).
constexpr std::size_t kLingerBytes = 64 * 1024;
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// The admin server's coarse clock: how long a connection has waited for its request is
// counted in ticks, so no code here reads the time.
constexpr std::chrono::milliseconds kTick{250};
// At the connection limit, a connection that has waited this many ticks (0.75 to 1 s) for a
// complete request may be closed to make room for a new one (see MakeRoom).
constexpr std::uint64_t kEvictableAfterTicks = 2;

tcp::endpoint ParseListen(const std::string& listen) {
  const auto invalid = [&](const std::string& why) {
    return std::runtime_error("admin server: invalid listen address \"" + listen + "\": " + why);
  };
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw invalid("expected host:port");
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    throw invalid("port must be a number from 0 to 65535");
  }
  // A numeric address only: the admin port binds at start-up, before anything could
  // sensibly wait on DNS, and "localhost" resolving to ::1 or 127.0.0.1 surprises people.
  boost::system::error_code address_error;
  const auto address = net::ip::make_address(host, address_error);
  if (address_error) throw invalid("\"" + host + "\" is not an IP address");
  return {address, static_cast<std::uint16_t>(port)};
}

// The routing, apart from sockets (as in Beast's handle_request): what to answer to a
// method and target. Never throws.
struct Answer {
  bhttp::status status;
  std::string_view content_type;
  std::string body;
};

Answer Route(bhttp::verb method, std::string_view target, const runtime::Health& health,
             metrics::Registry& registry) {
  if (method != bhttp::verb::get && method != bhttp::verb::head) {
    return {bhttp::status::method_not_allowed, kTextPlain, "method not allowed\n"};
  }
  const auto path = target.substr(0, target.find('?'));
  if (path == "/healthz") {
    // Liveness: only whether our own loop still beats, never the database (STYLE.md 9).
    if (health.Live()) return {bhttp::status::ok, kTextPlain, "ok"};
    return {bhttp::status::service_unavailable, kTextPlain, "main loop has not beaten in time"};
  }
  if (path == "/readyz") {
    auto readiness = health.Ready();
    if (readiness.ready) return {bhttp::status::ok, kTextPlain, "ready"};
    return {bhttp::status::service_unavailable, kTextPlain, std::move(readiness.detail)};
  }
  if (path == "/metrics") {
    try {
      return {bhttp::status::ok, kPrometheusText, registry.Serialize()};
    } catch (const std::exception& error) {
      return {bhttp::status::internal_server_error, kTextPlain, error.what()};
    }
  }
  return {bhttp::status::not_found, kTextPlain, "not found\n"};
}

Response MakeResponse(const Answer& answer, unsigned version, bool keep_alive, bool head) {
  Response response(answer.status, version);
  response.set(bhttp::field::server, "redrive");
  response.set(bhttp::field::content_type, answer.content_type);
  response.set(bhttp::field::cache_control, "no-store");
  if (answer.status == bhttp::status::method_not_allowed) {
    response.set(bhttp::field::allow, "GET, HEAD");
  }
  response.keep_alive(keep_alive);
  if (head) {
    // HEAD: the headers GET would send, Content-Length included, and no body.
    response.content_length(answer.body.size());
  } else {
    response.body() = answer.body;
    response.prepare_payload();
  }
  return response;
}

}  // namespace

class AdminServer::Impl {
 public:
  Impl(AdminServerOptions options, const runtime::Health& health, metrics::Registry& registry)
      : options_(std::move(options)), health_(health), registry_(registry) {}
  ~Impl() { Stop(); }

  void Start() {
    std::lock_guard lock(lifecycle_mutex_);
    if (started_) throw std::logic_error("admin server: Start() called twice");
    const auto endpoint = ParseListen(options_.listen);
    const auto fail = [&](const char* step, const boost::system::error_code& error) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      return std::runtime_error("admin server cannot listen on " + options_.listen + ": " + step +
                                ": " + error.message());
    };
    boost::system::error_code error;
    acceptor_.open(endpoint.protocol(), error);
    if (error) throw fail("open", error);
    // Lets a restarted process bind while old connections sit in TIME_WAIT; it does not
    // let two listeners share a port on Linux, so "address in use" is still reported.
    acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (error) throw fail("setsockopt", error);
    acceptor_.bind(endpoint, error);
    if (error) throw fail("bind", error);
    acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) throw fail("listen", error);
    port_.store(acceptor_.local_endpoint().port());
    started_ = true;
    net::co_spawn(io_, Accept(), [](std::exception_ptr failure) { LogFailure(failure); });
    net::co_spawn(io_, Tick(), [](std::exception_ptr failure) { LogFailure(failure); });
    thread_ = std::thread([this] {
      try {
        io_.run();
      } catch (const std::exception& failure) {
        log::Error("admin server stopped on an exception", {{"error", failure.what()}});
      }
    });
  }

  std::uint16_t port() const { return port_.load(); }

  void Stop() {
    std::lock_guard lock(lifecycle_mutex_);
    if (!thread_.joinable()) return;
    // The io thread owns the acceptor and the connections; closing them there cancels every
    // pending operation, each coroutine returns, and run() finishes for lack of work.
    net::post(io_, [this] {
      stopping_ = true;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      ticker_.cancel();
      for (auto& [stream, state] : connections_) stream->close();
    });
    thread_.join();
  }

 private:
  static void LogFailure(std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& error) {
      log::Error("admin server coroutine failed", {{"error", error.what()}});
    }
  }

  net::awaitable<void> Accept() {
    for (;;) {
      auto [error, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
      if (stopping_ || error == net::error::operation_aborted) co_return;
      if (error) {
        // EMFILE and the like: transient, and the listener is still good.
        // Pausing keeps a persistent one (out of descriptors) from spinning the thread.
        log::Warn("admin server accept failed", {{"error", error.message()}});
        net::steady_timer pause(io_, kAcceptRetryDelay);
        co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        continue;
      }
      if (active_connections_ >= options_.max_connections && !MakeRoom()) {
        // Shedding is cheaper than queueing: a prober retries, and the connections we have
        // all end within request_timeout.
        log::Warn("admin server at its connection limit; closing a new connection",
                  {{"max_connections", static_cast<std::int64_t>(options_.max_connections)}});
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      // Counted here rather than in Serve(), which starts later: a burst of accepts must not
      // all slip under the limit before any of them runs.
      ++active_connections_;
      net::co_spawn(io_, Serve(std::move(socket)),
                    [](std::exception_ptr failure) { LogFailure(failure); });
    }
  }

  net::awaitable<void> Tick() {
    while (!stopping_) {
      ticker_.expires_after(kTick);
      auto [error] = co_await ticker_.async_wait(net::as_tuple(net::use_awaitable));
      if (error || stopping_) co_return;
      ++tick_;
    }
  }

  // At the limit, closes the connection that has waited longest for a complete request,
  // once it has waited kEvictableAfterTicks. Without this, clients trickling a byte a
  // second (slow loris) hold every slot for request_timeout, reconnect, and keep the
  // kubelet's probes out indefinitely: the pod is restarted for failing liveness. A probe
  // is in and out in a millisecond, long before it could be chosen; a burst of new
  // connections still finds no old one to replace and is shed as before.
  bool MakeRoom() {
    beast::tcp_stream* longest = nullptr;
    std::uint64_t since = 0;
    for (const auto& [stream, state] : connections_) {
      if (state.waiting_since && (longest == nullptr || *state.waiting_since < since)) {
        longest = stream;
        since = *state.waiting_since;
      }
    }
    if (longest == nullptr || tick_ - since < kEvictableAfterTicks) return false;
    connections_[longest].waiting_since.reset();  // closing: never chosen twice
    longest->close();                             // its Serve() returns and unregisters
    return true;
  }

  net::awaitable<void> Serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    struct Unregister {
      Impl& server;
      beast::tcp_stream* stream;
      ~Unregister() {
        server.connections_.erase(stream);
        --server.active_connections_;
      }
    } unregister{*this, &stream};
    if (stopping_) co_return;
    connections_[&stream] = ConnectionState{};

    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(
          static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX)));
      parser.body_limit(options_.max_body_bytes);
      // One deadline for the whole request, not per read: a client trickling a byte at a
      // time is cut off like an idle one.
      stream.expires_after(options_.request_timeout);
      connections_[&stream].waiting_since = tick_;
      auto [read_error, read_bytes] =
          co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
      if (auto entry = connections_.find(&stream); entry != connections_.end()) {
        entry->second.waiting_since.reset();
      }
      if (read_error == bhttp::error::header_limit) {
        co_await Reject(stream, bhttp::status::request_header_fields_too_large);
        co_return;
      }
      if (read_error == bhttp::error::body_limit) {
        co_await Reject(stream, bhttp::status::payload_too_large);
        co_return;
      }
      if (read_error &&
          read_error.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
          read_error != bhttp::error::end_of_stream &&
          read_error != bhttp::error::partial_message) {
        co_await Reject(stream, bhttp::status::bad_request);
        co_return;
      }
      // end_of_stream (client done), timeout, reset, or Stop(): nobody to answer.
      if (read_error) co_return;

      const auto& request = parser.get();
      auto response = MakeResponse(Route(request.method(), request.target(), health_, registry_),
                                   request.version(), request.keep_alive() && !stopping_,
                                   request.method() == bhttp::verb::head);
      stream.expires_after(options_.request_timeout);
      auto [write_error, written] =
          co_await bhttp::async_write(stream, response, net::as_tuple(net::use_awaitable));
      if (write_error) co_return;
      if (!response.keep_alive()) {
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  // Answers a request we refuse to read, then closes the way HTTP servers do ("lingering
  // close"): stop sending, and discard what the client is still sending for a moment.
  // Closing with unread data makes the kernel send a reset, which can destroy our response
  // before the client reads it.
  net::awaitable<void> Reject(beast::tcp_stream& stream, bhttp::status status) {
    const Answer answer{status, kTextPlain, std::string(bhttp::obsolete_reason(status)) + "\n"};
    auto response = MakeResponse(answer, 11, /*keep_alive=*/false, /*head=*/false);
    stream.expires_after(options_.request_timeout);
    auto [write_error, written] =
        co_await bhttp::async_write(stream, response, net::as_tuple(net::use_awaitable));
    if (write_error) co_return;
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(
        std::min<std::chrono::milliseconds>(options_.request_timeout, kLingerTimeout));
    char discard[4096];
    for (std::size_t total = 0; total < kLingerBytes;) {
      auto [error, read] =
          co_await stream.async_read_some(net::buffer(discard), net::as_tuple(net::use_awaitable));
      if (error) break;
      total += read;
    }
  }

  const AdminServerOptions options_;
  const runtime::Health& health_;
  metrics::Registry& registry_;

  // Declared before everything that does I/O on it, so it is destroyed after them.
  net::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  // Only touched on the io thread (and before it starts).
  struct ConnectionState {
    // The tick at which it started waiting for a request; nullopt while it is answering.
    std::optional<std::uint64_t> waiting_since;
  };
  std::map<beast::tcp_stream*, ConnectionState> connections_;
  net::steady_timer ticker_{io_};
  std::uint64_t tick_ = 0;
  std::size_t active_connections_ = 0;  // includes accepted ones whose Serve() has not started
  bool stopping_ = false;

  std::mutex lifecycle_mutex_;  // serialises Start() and Stop()
  bool started_ = false;
  std::atomic<std::uint16_t> port_{0};
  std::thread thread_;
};

AdminServer::AdminServer(AdminServerOptions options, const runtime::Health& health,
                         metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), health, registry)) {}

AdminServer::~AdminServer() = default;

void AdminServer::Start() {
  impl_->Start();
}

std::uint16_t AdminServer::port() const {
  return impl_->port();
}

void AdminServer::Stop() {
  impl_->Stop();
}

bool StartOrLog(AdminServer& admin) {
  try {
    admin.Start();
    return true;
  } catch (const std::exception& error) {
    log::Error("cannot start the admin server", {{"error", error.what()}});
    return false;
  }
}

}  // namespace redrive::http
