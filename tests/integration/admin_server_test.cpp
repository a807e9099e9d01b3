// The admin server on a real loopback socket. No database: probes must work without one.
#include "core/http/admin_server.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/domain/clock.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace redrive::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpGet;
using testing::HttpRequest;
using testing::RealNow;

// FakeClock, but safe to read from the server's thread while the test advances it.
class SharedFakeClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  void Advance(std::chrono::nanoseconds by) { now_ += by.count(); }

 private:
  using Duration = TimePoint::duration;
  std::atomic<Duration::rep> now_{std::chrono::nanoseconds(std::chrono::hours(1000)).count()};
};

struct AdminFixture {
  explicit AdminFixture(AdminServerOptions options = Loopback()) {
    server = std::make_unique<AdminServer>(std::move(options), health, registry);
    server->Start();
  }
  static AdminServerOptions Loopback() {
    AdminServerOptions options;
    options.listen = "127.0.0.1:0";
    return options;
  }
  int port() const { return server->port(); }

  SharedFakeClock clock;
  runtime::Health health{clock, std::chrono::seconds(30)};
  metrics::Registry registry{metrics::BuildInfo{.component = "worker", .version = "9.8.7"}};
  std::unique_ptr<AdminServer> server;
};

// A raw TCP connection, for what the one-request test client cannot do: stay idle, send
// half a request, pipeline two.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void Send(const std::string& data) {
    REQUIRE(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(data.size()));
  }

  // Reads until the peer closes (true) or `timeout` passes (false); `received` gets the data.
  bool ReadUntilClosed(std::chrono::milliseconds timeout, std::string* received = nullptr) {
    const auto deadline = RealNow() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RealNow());
      if (left <= 0ms) return false;
      pollfd entry{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[4096];
      const auto read = ::recv(fd_, buffer, sizeof buffer, 0);
      if (read <= 0) return true;  // orderly close or reset: either way, disconnected
      if (received) received->append(buffer, static_cast<std::size_t>(read));
    }
  }

 private:
  int fd_;
};

int CountOccurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// The value of an unlabelled sample in Prometheus text format; -1 when absent.
double SampleValue(const std::string& exposition, const std::string& name) {
  const auto at = exposition.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + name.size() + 2));
}

TEST_CASE("the admin server binds an ephemeral port and answers healthz with ok") {
  AdminFixture fixture;
  REQUIRE(fixture.port() != 0);
  const auto reply = HttpGet(fixture.port(), "/healthz");
  CHECK(reply.status == 200);
  CHECK(reply.body == "ok");
}

TEST_CASE("healthz turns 503 when the main loop stops beating and 200 after the next beat") {
  AdminFixture fixture;
  fixture.clock.Advance(31s);
  CHECK(HttpGet(fixture.port(), "/healthz").status == 503);
  fixture.health.Beat();
  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);
}

TEST_CASE("readyz follows the database's readiness while healthz stays 200") {
  AdminFixture fixture;
  fixture.health.SetReady("database", true);
  auto ready = HttpGet(fixture.port(), "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready");

  fixture.health.SetReady("database", false, "connection refused");
  const auto unready = HttpGet(fixture.port(), "/readyz");
  CHECK(unready.status == 503);
  CHECK(unready.body.find("database: connection refused") != std::string::npos);
  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);

  fixture.health.SetReady("database", true);
  CHECK(HttpGet(fixture.port(), "/readyz").status == 200);
  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);
}

TEST_CASE("readyz is 503 with draining as the reason once the process drains") {
  AdminFixture fixture;
  fixture.health.SetDraining();
  const auto reply = HttpGet(fixture.port(), "/readyz");
  CHECK(reply.status == 503);
  CHECK(reply.body == "draining");
  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);
}

TEST_CASE("metrics are served in Prometheus text format with build info and process metrics") {
  AdminFixture fixture;
  const auto reply = HttpGet(fixture.port(), "/metrics");
  REQUIRE(reply.status == 200);
  CHECK(reply.headers.at("content-type").starts_with("text/plain; version=0.0.4"));
  CHECK(reply.body.find("redrive_build_info{") != std::string::npos);
  CHECK(reply.body.find("component=\"worker\"") != std::string::npos);
  CHECK(reply.body.find("version=\"9.8.7\"") != std::string::npos);
  const double rss = SampleValue(reply.body, "process_resident_memory_bytes");
  CHECK(rss > 1024 * 1024);                // a C++ process with Asio and doctest loaded
  CHECK(rss < 64.0 * 1024 * 1024 * 1024);  // and not more than a big machine has
  CHECK(SampleValue(reply.body, "process_open_fds") >= 3);
  CHECK(SampleValue(reply.body, "process_max_fds") >= SampleValue(reply.body, "process_open_fds"));
  CHECK(SampleValue(reply.body, "process_cpu_seconds_total") >= 0);
  CHECK(SampleValue(reply.body, "process_virtual_memory_bytes") >= rss);
  CHECK(SampleValue(reply.body, "process_start_time_seconds") > 1.5e9);  // after 2017
}

TEST_CASE("an unknown path is 404 and a method other than GET or HEAD is 405") {
  AdminFixture fixture;
  CHECK(HttpGet(fixture.port(), "/nope").status == 404);
  const auto post = HttpRequest("POST", fixture.port(), "/healthz", "{}");
  CHECK(post.status == 405);
  CHECK(post.headers.at("allow") == "GET, HEAD");
}

TEST_CASE("HEAD answers with the headers of GET and no body") {
  AdminFixture fixture;
  RawConnection connection(fixture.port());
  connection.Send("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string received;
  REQUIRE(connection.ReadUntilClosed(5s, &received));
  CHECK(received.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(received.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(received.ends_with("\r\n\r\n"));
}

TEST_CASE("a keep-alive connection serves several requests") {
  AdminFixture fixture;
  RawConnection connection(fixture.port());
  connection.Send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string received;
  REQUIRE(connection.ReadUntilClosed(5s, &received));
  CHECK(CountOccurrences(received, "HTTP/1.1 200 OK\r\n") == 2);
  CHECK(received.ends_with("ready"));
}

TEST_CASE("a malformed request is answered with 400 and the connection closed") {
  AdminFixture fixture;
  RawConnection connection(fixture.port());
  connection.Send("NOT HTTP AT ALL\r\n\r\n");
  std::string received;
  REQUIRE(connection.ReadUntilClosed(5s, &received));
  CHECK(received.starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_CASE("a request with an oversized header is rejected with 431") {
  AdminServerOptions options = AdminFixture::Loopback();
  options.max_header_bytes = 1024;
  AdminFixture fixture(options);
  const auto reply =
      HttpRequest("GET", fixture.port(), "/healthz", "", {{"X-Padding", std::string(4096, 'a')}});
  CHECK(reply.status == 431);
  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);
}

TEST_CASE("a request with an oversized body is rejected with 413") {
  AdminServerOptions options = AdminFixture::Loopback();
  options.max_body_bytes = 100;
  AdminFixture fixture(options);
  const auto reply = HttpRequest("GET", fixture.port(), "/healthz", std::string(1000, 'b'));
  CHECK(reply.status == 413);
}

TEST_CASE("an idle client is disconnected after the request timeout while others are served") {
  AdminServerOptions options = AdminFixture::Loopback();
  options.request_timeout = 300ms;
  AdminFixture fixture(options);
  const auto start = RealNow();
  RawConnection idle(fixture.port());
  RawConnection trickling(fixture.port());
  trickling.Send("GET /healthz HTTP/1.1\r\n");  // and never the rest

  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);
  CHECK(RealNow() - start < 300ms);  // served while the other two still hold connections

  CHECK(idle.ReadUntilClosed(5s));
  CHECK(trickling.ReadUntilClosed(5s));
  const auto elapsed = RealNow() - start;
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 3s);
}

TEST_CASE("connections beyond the limit are closed at once while the others are kept") {
  AdminServerOptions options = AdminFixture::Loopback();
  options.max_connections = 2;
  AdminFixture fixture(options);
  RawConnection first(fixture.port());
  RawConnection second(fixture.port());
  CHECK(testing::WaitUntil(
      [&] {
        RawConnection extra(fixture.port());
        return extra.ReadUntilClosed(200ms);
      },
      5s));
  first.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string received;
  REQUIRE(first.ReadUntilClosed(5s, &received));
  CHECK(received.starts_with("HTTP/1.1 200 OK"));
}

TEST_CASE("stopping the server closes open connections without waiting for their timeout") {
  AdminServerOptions options = AdminFixture::Loopback();
  options.request_timeout = 60s;
  AdminFixture fixture(options);
  RawConnection idle(fixture.port());
  CHECK(HttpGet(fixture.port(), "/healthz").status == 200);  // the idle one is accepted by now
  const auto start = RealNow();
  fixture.server->Stop();
  CHECK(RealNow() - start < 5s);
  CHECK(idle.ReadUntilClosed(5s));
  fixture.server->Stop();  // idempotent
}

TEST_CASE("binding a port that is already taken throws naming the address") {
  AdminFixture first;
  AdminServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(first.port());
  runtime::Health health(first.clock, std::chrono::seconds(30));
  AdminServer second(options, health, first.registry);
  try {
    second.Start();
    FAIL("Start() should have thrown");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    CHECK(message.find(options.listen) != std::string::npos);
    CHECK(message.find("in use") != std::string::npos);
  }
  CHECK(HttpGet(first.port(), "/healthz").status == 200);
}

TEST_CASE("an invalid listen address is refused with a message naming it") {
  SharedFakeClock clock;
  runtime::Health health(clock, std::chrono::seconds(30));
  metrics::Registry registry(metrics::BuildInfo{.component = "worker", .version = "0"});
  for (const std::string listen : {"localhost:9464", "127.0.0.1", "127.0.0.1:99999", ":x"}) {
    AdminServerOptions options;
    options.listen = listen;
    AdminServer server(options, health, registry);
    try {
      server.Start();
      FAIL("Start() should have thrown for " << listen);
    } catch (const std::runtime_error& error) {
      CHECK(std::string(error.what()).find(listen) != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace redrive::http
