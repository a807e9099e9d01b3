#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/metrics/metrics.hpp"
#include "core/runtime/health.hpp"

// The admin port every long-running process serves: /healthz, /readyz, /metrics.
// Beast and Asio stay inside admin_server.cpp (they cost ~18 s per translation unit), so
// main.cpp files include only this header.
namespace redrive::http {

struct AdminServerOptions {
  std::string listen = "0.0.0.0:9464";  // "host:port", IPv6 as "[::]:9464"; port 0 = ephemeral
  // Deadline for reading one whole request, and for writing its response. A client that is
  // slower than this (or idle on a keep-alive connection) is disconnected.
  std::chrono::milliseconds request_timeout{5000};
  std::size_t max_header_bytes = 8 * 1024;  // beyond it: 431 and close
  std::size_t max_body_bytes = 8 * 1024;    // beyond it: 413 and close (probes send no body)
  // Beyond it, the connection that has waited longest (at least about a second) for a
  // complete request is closed to make room; when none has, the new one is closed at once.
  std::size_t max_connections = 64;
};

// Serves the probes and metrics on its own thread and io_context, so a busy or stuck main
// loop shows up as a failing /healthz instead of an unanswered one.
class AdminServer {
 public:
  AdminServer(AdminServerOptions options, const runtime::Health& health,
              metrics::Registry& registry);
  ~AdminServer();  // Stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving. Throws std::runtime_error naming the address when it is
  // invalid or cannot be bound (e.g. already in use). Call once.
  void Start();
  // The bound port (the ephemeral one when listen ends in ":0"); 0 before Start().
  std::uint16_t port() const;
  // Closes the listener and every connection, then joins the thread. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Start(), logging why it failed: false means the process should exit 1.
bool StartOrLog(AdminServer& admin);

}  // namespace redrive::http
