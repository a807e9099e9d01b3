#include "workers/consumers/payment_consumer.hpp"

#include "core/decide/charge_reply.hpp"
#include "core/decide/key_retention.hpp"
#include "core/domain/ids.hpp"
#include "core/pg/order_store.hpp"
#include "core/runtime/failpoints.hpp"
#include "core/runtime/log.hpp"
#include "workers/event_decoding.hpp"

namespace redrive::workers {

PaymentConsumer::PaymentConsumer(EventActions& actions, const http::GatewayClient& gateway,
                                 decide::CircuitBreaker& breaker, metrics::WorkerMetrics& metrics,
                                 std::chrono::milliseconds breaker_open_for,
                                 std::chrono::seconds key_retention)
    : actions_(actions),
      gateway_(gateway),
      breaker_(breaker),
      metrics_(metrics),
      breaker_open_for_(breaker_open_for),
      key_retention_(key_retention) {}

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
  const DecodedPayment check = DecodePaymentEvent(event);
  if (!check.ok()) {
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
  const std::chrono::duration<double> charge_request_age(begin->charge_request_age_seconds);
  if (decide::KeyRetentionExpired(charge_request_age, key_retention_)) {
    // The first charge went out so long ago that the gateway may have forgotten its key: a
    // retry could charge a second time. The order stays PAYMENT_PENDING; the controller asks
    // the gateway and, if it cannot tell, hands the order to a human (NEEDS_REVIEW).
    co_return co_await actions_.DeadLetter(
        event, "key_retention_expired",
        "first charge request " +
            std::to_string(static_cast<long long>(charge_request_age.count())) +
            "s ago, key retention " + std::to_string(key_retention_.count()) + "s");
  }

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
      const DbWork<pg::SettleResult> settle = [row = WithoutPayload(event), order,
                                               outcome](pqxx::connection_base& c) {
        return pg::Settle(c, row, order, outcome);
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
