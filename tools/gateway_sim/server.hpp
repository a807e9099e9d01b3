#pragma once

#include "tools/gateway_sim/listen_address.hpp"
#include "tools/gateway_sim/simulator.hpp"

// The edge: the only gateway-sim code that touches sockets. Kept to a narrow header so
// main.cpp does not pay for Beast's compile time.
namespace redrive::gateway_sim {

struct ServerOptions {
  ListenAddress listen;
  int threads = 1;  // io_context threads; never one per request
};

// Serves until SIGTERM or SIGINT. Returns the process exit code: 0 after a signal, 1 when
// the address cannot be bound.
int RunServer(Simulator& simulator, const ServerOptions& options);

}  // namespace redrive::gateway_sim
