#pragma once

#include "core/decide/circuit_breaker.hpp"
#include "core/http/gateway_client.hpp"
#include "core/metrics/worker_metrics.hpp"
#include "workers/consumers/consumer.hpp"
#include "workers/event_actions.hpp"

namespace redrive::workers {

// OrderCreated -> charge the order at the gateway, exactly once in effect:
//   validate -> order PAYMENT_PENDING (version + 1, charge_requested_at) -> POST /v1/charges
//   with the order's idempotency key, outside any transaction -> one transaction: PAID or
//   FAILED, processed_events, the webhook event, the claim completed.
class PaymentConsumer final : public Consumer {
 public:
  PaymentConsumer(EventActions& actions, const http::GatewayClient& gateway,
                  decide::CircuitBreaker& breaker, metrics::WorkerMetrics& metrics,
                  std::chrono::milliseconds breaker_open_for, std::chrono::seconds key_retention);

  boost::asio::awaitable<EventOutcome> Handle(const pg::ClaimedEvent& event) override;
  bool ShouldClaim() override;
  int ClaimLimit(int free_slots) override;

 private:
  void PublishBreakerState();

  EventActions& actions_;
  const http::GatewayClient& gateway_;
  decide::CircuitBreaker& breaker_;
  metrics::WorkerMetrics& metrics_;
  std::chrono::milliseconds breaker_open_for_;
  std::chrono::seconds key_retention_;  // controller.key_retention_seconds
};

}  // namespace redrive::workers
