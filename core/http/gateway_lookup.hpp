#pragma once

#include <chrono>
#include <string>

#include "core/decide/circuit_breaker.hpp"
#include "core/decide/stuck_order.hpp"
#include "core/domain/clock.hpp"
#include "core/http/http_client.hpp"

namespace redrive::http {

// The controller's blocking view of GET /v1/charges?idempotency_key=K, behind a circuit
// breaker: while the breaker is open it answers kUnreachable without calling.
class GatewayLookupClient {
 public:
  GatewayLookupClient(Endpoint endpoint, std::chrono::milliseconds timeout, const Clock& clock,
                      decide::CircuitBreaker& breaker);

  decide::GatewayLookup Lookup(const std::string& idempotency_key) const;
  bool BreakerOpen() const;

 private:
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  const Clock& clock_;
  decide::CircuitBreaker& breaker_;
};

}  // namespace redrive::http
