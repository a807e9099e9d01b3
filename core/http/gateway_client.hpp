#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/domain/clock.hpp"
#include "core/http/http_client.hpp"

// The payment gateway's API as DESIGN.md states it: POST /v1/charges with an
// Idempotency-Key, GET /v1/charges?idempotency_key=K. Used by the payment worker and by
// the controller's stuck-order lookups.
namespace redrive::http {

struct ChargeRequest {
  std::string order_id;
  long long amount_cents = 0;
  std::string currency;
};

struct GatewayReply {
  int status = 0;                            // 0: no HTTP answer (transport error, timeout)
  std::optional<std::string> charge_status;  // "succeeded" / "declined" from a 200 body
  std::optional<std::string> charge_id;
  std::optional<std::chrono::milliseconds> retry_after;  // from a 429/503 Retry-After header
  std::string error;                                     // transport error or unparsable body
  bool TransportError() const { return status == 0; }
};

class GatewayClient {
 public:
  // Called once per request with the HTTP status (0 for transport errors) and its duration,
  // for the redrive_gateway_* metrics.
  using Observer = std::function<void(int status, std::chrono::nanoseconds duration)>;

  GatewayClient(Endpoint endpoint, std::chrono::milliseconds timeout, const Clock& clock,
                Observer observer = {});

  boost::asio::awaitable<GatewayReply> Charge(const ChargeRequest& request,
                                              const std::string& idempotency_key) const;
  boost::asio::awaitable<GatewayReply> Lookup(const std::string& idempotency_key) const;

 private:
  boost::asio::awaitable<GatewayReply> Exchange(OutboundRequest request) const;

  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  const Clock& clock_;
  Observer observer_;
};

}  // namespace redrive::http
