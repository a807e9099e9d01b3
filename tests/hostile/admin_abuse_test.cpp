// Abusive clients against a running worker's admin port: whatever they send, and however
// slowly, /healthz and /readyz keep answering within a second and the process stays up.
// The probes' deadline is what a kubelet gives them (timeoutSeconds: 1). The admin server's
// limits (core/http/admin_server.hpp): 8 KiB of headers (431), 8 KiB of body (413), one
// request_timeout (5 s by default) to read a whole request, 64 connections.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

constexpr auto kProbeDeadline = 1000ms;

// A raw TCP client for what an HTTP client will not send.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  // Done sending: the server's lingering close sees the end at once instead of waiting.
  void FinishSending() { ::shutdown(fd_, SHUT_WR); }

  // False once the server has closed or reset the connection.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Everything the server sends until it closes the connection (true) or `timeout` passes
  // (false).
  bool ReadUntilClosed(std::chrono::milliseconds timeout, std::string* received = nullptr) {
    const auto deadline = RealNow() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RealNow());
      if (left <= 0ms) return false;
      pollfd entry{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[16384];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) return true;  // closed or reset
      if (received != nullptr) received->append(buffer, static_cast<std::size_t>(got));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// Sends `request` in one go and returns the status line of the answer ("" when none came
// before the server closed the connection).
std::string StatusLineFor(int port, const std::string& request) {
  RawClient client(port);
  REQUIRE(client.connected());
  client.Send(request);  // the server may refuse midway: what it answered still counts
  client.FinishSending();
  std::string received;
  CHECK(client.ReadUntilClosed(10s, &received));
  return received.substr(0, received.find("\r\n"));
}

// Both probes, each within kProbeDeadline.
bool ProbesAnswer(int port) {
  const auto started = RealNow();
  const bool healthy = HttpRequest("GET", port, "/healthz", "", {}, kProbeDeadline).status == 200;
  const bool ready = HttpRequest("GET", port, "/readyz", "", {}, kProbeDeadline).status == 200;
  return healthy && ready && RealNow() - started < 2 * kProbeDeadline;
}

struct RunningWorker {
  MigratedDatabase database;
  GatewaySim gateway;
  WorkerProcess worker{database.Url(), "payment", {{"REDRIVE_GATEWAY_URL", gateway.Url()}}};

  RunningWorker() { REQUIRE(worker.WaitReady()); }
  int port() { return worker.admin_port(); }
};

}  // namespace

TEST_CASE(
    "hostile: malformed and oversized requests to a worker's admin port are refused with "
    "4xx and the worker keeps serving") {
  RunningWorker running;
  const int port = running.port();

  {
    INFO("oversized headers");
    const std::string big(64 * 1024, 'a');
    CHECK(StatusLineFor(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n") ==
          "HTTP/1.1 431 Request Header Fields Too Large");
    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    CHECK(StatusLineFor(port, many + "\r\n") == "HTTP/1.1 431 Request Header Fields Too Large");
    CHECK(StatusLineFor(port, "GET /" + std::string(100 * 1024, 'p') + " HTTP/1.1\r\n\r\n") ==
          "HTTP/1.1 431 Request Header Fields Too Large");
  }
  {
    INFO("a huge body, announced or chunked");
    CHECK(StatusLineFor(port,
                        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: "
                        "10737418240\r\n\r\n" +
                            std::string(256 * 1024, 'b')) == "HTTP/1.1 413 Payload Too Large");
    CHECK(StatusLineFor(port,
                        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: "
                        "99999999999999999999999\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    std::string chunked = "POST /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 64; ++i) chunked += "1000\r\n" + std::string(4096, 'c') + "\r\n";
    CHECK(StatusLineFor(port, chunked) == "HTTP/1.1 413 Payload Too Large");
  }
  {
    INFO("garbage bytes");
    std::mt19937 random(42);
    std::string garbage(8192, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    const std::string status = StatusLineFor(port, garbage);
    CHECK((status == "HTTP/1.1 400 Bad Request" || status.empty()));
    CHECK(StatusLineFor(port, std::string(4096, '\0')) == "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") ==  // TLS hello
          "HTTP/1.1 400 Bad Request");
  }
  {
    INFO("request lines without a version, with a bad version or a bad method");
    CHECK(StatusLineFor(port, "GET /healthz\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port, "GET /healthz HTTP/9.9\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port, "GET  /healthz  HTTP/1.1\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port, "G\x01T /healthz HTTP/1.1\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port, "GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n") ==
          "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port,
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Content-Length: 6\r\n\r\nhello!") == "HTTP/1.1 400 Bad Request");
    CHECK(StatusLineFor(port, "BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n") ==
          "HTTP/1.1 405 Method Not Allowed");
  }
  {
    INFO("odd but valid requests are answered");
    CHECK(StatusLineFor(port, "GET /healthz HTTP/1.0\r\n\r\n") == "HTTP/1.0 200 OK");
    CHECK(StatusLineFor(port,
                        "GET http://127.0.0.1/readyz?x=1 HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n") == "HTTP/1.1 404 Not Found");
    // A hundred pipelined requests in one write: a hundred answers, then close.
    std::string pipelined;
    for (int i = 0; i < 100; ++i) pipelined += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    pipelined += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    RawClient client(port);
    REQUIRE(client.connected());
    REQUIRE(client.Send(pipelined));
    std::string received;
    CHECK(client.ReadUntilClosed(10s, &received));
    std::size_t answers = 0;
    for (auto at = received.find("HTTP/1.1 200 OK"); at != std::string::npos;
         at = received.find("HTTP/1.1 200 OK", at + 1)) {
      ++answers;
    }
    CHECK(answers == 101);
  }

  CHECK(ProbesAnswer(port));
  CHECK(running.worker.process().Running());
}

TEST_CASE(
    "hostile: a hundred slow-loris clients do not keep a worker's probes from answering "
    "within a second") {
  RunningWorker running;
  const int port = running.port();
  REQUIRE(ProbesAnswer(port));

  // More clients than the admin server's 64 connections, each trickling one byte a second
  // of a request that never ends, and opening a new connection whenever the server drops
  // one: an attacker that keeps every slot busy for as long as it can.
  constexpr int kClients = 100;
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::atomic<bool> stop{false};
  std::atomic<int> reconnects{0};
  std::vector<std::thread> attackers;
  const auto attack_started = RealNow();
  for (int attacker = 0; attacker < kClients; ++attacker) {
    attackers.emplace_back([&] {
      while (!stop) {
        RawClient client(port);
        if (!client.connected()) {
          SleepFor(10ms);
          continue;
        }
        std::size_t sent = 0;
        while (!stop && client.Send(std::string_view(&request[sent % request.size()], 1))) {
          ++sent;
          for (int slice = 0; slice < 10 && !stop; ++slice) SleepFor(100ms);
        }
        ++reconnects;
      }
    });
  }

  // Probe like a kubelet (timeoutSeconds: 1) every 200 ms, for longer than the 5 s
  // request_timeout, so the first wave of slow connections is cut off and comes back.
  // Before the fix in core/http/admin_server.cpp (MakeRoom) 30 of 35 rounds failed: the
  // attackers held every slot and new connections were closed at once. Now a connection
  // that has waited a quarter to half a second for its request gives up its slot to a new
  // one, so only the first moments, when all 64 slots were taken at the same instant, can
  // shed a probe.
  constexpr auto kWarmUp = 1s;
  int probes = 0;
  int failures = 0;
  int failures_after_warm_up = 0;
  std::string failed_at;
  while (RealNow() - attack_started < 7s) {
    ++probes;
    const auto at = RealNow() - attack_started;
    if (!ProbesAnswer(port)) {
      ++failures;
      failures_after_warm_up += at >= kWarmUp ? 1 : 0;
      failed_at +=
          " " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(at).count()) +
          " ms";
    }
    SleepFor(200ms);
  }
  stop = true;
  for (auto& attacker : attackers) attacker.join();

  MESSAGE(probes, " probe rounds under ", kClients, " slow-loris clients, ", failures,
          " failed (at", failed_at, "); the attackers reconnected ", reconnects.load(), " times");
  CHECK(failures_after_warm_up == 0);
  CHECK(failures <= 5);   // the warm-up holds 5 rounds at most
  CHECK(reconnects > 0);  // the server did cut them off
  CHECK(running.worker.process().Running());
  CHECK(ProbesAnswer(port));
}
