#include "workers/consumers/payment_consumer.hpp"

#include <nlohmann/json.hpp>

#include "core/decide/charge_reply.hpp"
#include "core/domain/ids.hpp"
#include "core/pg/order_store.hpp"
#include "core/runtime/failpoints.hpp"
#include "core/runtime/log.hpp"

namespace redrive::workers {
namespace {

struct PayloadCheck {
  std::string order_id;
  std::string poison_reason;  // empty when the payload is usable
  std::string detail;
};

// Strict: a JSON object whose order_id is a canonical UUID. Anything else is poison.
PayloadCheck CheckPayload(const pg::ClaimedEvent& event) {
  if (event.event_type != "OrderCreated") {
    return {.order_id = "",
            .poison_reason = "unknown_event_type",
            .detail = "payment consumer does not handle " + event.event_type};
  }
  if (!event.payload) {
    return {.order_id = "",
            .poison_reason = "payload_too_large",
            .detail = std::to_string(event.payload_bytes) + " bytes"};
  }
  const auto payload = nlohmann::json::parse(*event.payload, nullptr, false);
  if (!payload.is_object()) {
    return {.order_id = "",
            .poison_reason = "malformed_payload",
            .detail = "payload is not a JSON object"};
  }
  const auto order_id = payload.find("order_id");
  if (order_id == payload.end() || !order_id->is_string() ||
      !domain::IsUuid(order_id->get<std::string>())) {
    return {.order_id = "",
            .poison_reason = "malformed_payload",
            .detail = "order_id is missing or not a UUID"};
  }
  return {.order_id = order_id->get<std::string>(), .poison_reason = "", .detail = ""};
}

}  // namespace

PaymentConsumer::PaymentConsumer(EventActions& actions, const http::GatewayClient& gateway,
                                 decide::CircuitBreaker& breaker, metrics::WorkerMetrics& metrics,
                                 std::chrono::milliseconds breaker_open_for)
    : actions_(actions),
      gateway_(gateway),
      breaker_(breaker),
      metrics_(metrics),
      breaker_open_for_(breaker_open_for) {}

void PaymentConsumer::PublishBreakerState() {
  metrics_.circuit_breaker_state.Set(decide::MetricValue(breaker_.State()));
}

bool PaymentConsumer::ShouldClaim() {
  PublishBreakerState();
  return breaker_.WouldAllowRequest();
}

int PaymentConsumer::ClaimLimit(int free_slots) {
  // Half-open lets exactly one probe through: claim one event, not a batch that would be
  // given straight back.
  return breaker_.State() == decide::BreakerState::kHalfOpen ? std::min(free_slots, 1) : free_slots;
}

boost::asio::awaitable<EventOutcome> PaymentConsumer::Handle(const pg::ClaimedEvent& event) {
  const PayloadCheck check = CheckPayload(event);
  if (!check.poison_reason.empty()) {
    co_return co_await actions_.DeadLetter(event, check.poison_reason, check.detail);
  }

  const std::string order_id = check.order_id;
  const DbWork<pg::BeginCharge> mark_charge_requested = [order_id](pqxx::connection_base& c) {
    return pg::MarkChargeRequested(c, order_id);
  };
  const auto begin =
      co_await actions_.Try<pg::BeginCharge>(event, "mark_charge_requested", mark_charge_requested);
  if (!begin) co_return EventOutcome::kAbandoned;
  if (begin->status == pg::BeginChargeStatus::kNotFound) {
    co_return co_await actions_.DeadLetter(event, "order_not_found", "order " + order_id);
  }
  if (begin->status == pg::BeginChargeStatus::kTerminal) {
    // Already settled (a duplicate delivery, or the controller got there first): the
    // effect exists, so finishing the event is all that is left.
    log::Info(
        "order already settled, completing its payment event",
        {{"order_id", order_id}, {"event_id", event.event_id}, {"state", begin->order.state}});
    co_return co_await actions_.Complete(event);
  }
  const pg::OrderRow order = begin->order;

  if (!breaker_.AllowRequest()) {
    PublishBreakerState();
    co_return co_await actions_.GiveBack(event, breaker_open_for_, "circuit breaker open");
  }
  // Same key as every earlier attempt for this order: the gateway returns its stored
  // result and never charges twice.
  const http::ChargeRequest charge{
      .order_id = order.id, .amount_cents = order.amount_cents, .currency = order.currency};
  const std::string idempotency_key = domain::IdempotencyKeyForOrder(order.id);
  const http::GatewayReply reply = co_await gateway_.Charge(charge, idempotency_key);
  runtime::HitFailpoint("after_gateway_response");

  const auto decision = decide::ClassifyChargeReply(
      reply.status,
      reply.charge_status ? std::optional<std::string_view>(*reply.charge_status) : std::nullopt,
      reply.TransportError());
  if (decision.gateway_failure) {
    breaker_.RecordFailure();
  } else {
    breaker_.RecordSuccess();
  }
  PublishBreakerState();

  switch (decision.outcome) {
    case decide::ChargeOutcome::kPaid:
    case decide::ChargeOutcome::kDeclined: {
      const pg::ChargeResult outcome{.paid = decision.outcome == decide::ChargeOutcome::kPaid,
                                     .charge_id = reply.charge_id};
      const DbWork<pg::SettleResult> settle = [event, order, outcome](pqxx::connection_base& c) {
        return pg::Settle(c, event, order, outcome);
      };
      const auto settled = co_await actions_.Try<pg::SettleResult>(event, "settle", settle);
      if (!settled) co_return EventOutcome::kAbandoned;
      if (settled->status == pg::SettleStatus::kSettled) {
        metrics_.order_payment_latency_seconds.Observe(settled->payment_latency_seconds);
      }
      log::Info("payment settled", {{"order_id", order.id},
                                    {"event_id", event.event_id},
                                    {"state", settled->state},
                                    {"charge_id", reply.charge_id.value_or("")},
                                    {"attempts", event.attempts}});
      co_return EventOutcome::kCompleted;
    }
    case decide::ChargeOutcome::kRetry: {
      const std::string error = decision.reason + (reply.error.empty() ? "" : ": " + reply.error);
      co_return co_await actions_.RetryLater(event, error, reply.retry_after);
    }
    case decide::ChargeOutcome::kPoison:
      // The order stays PAYMENT_PENDING: the controller settles it by asking the gateway.
      co_return co_await actions_.DeadLetter(event, decision.reason,
                                             "gateway answered " + std::to_string(reply.status));
  }
  co_return EventOutcome::kAbandoned;
}

}  // namespace redrive::workers
