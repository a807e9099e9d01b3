#include <doctest/doctest.h>

#include <vector>

#include "core/decide/stuck_order.hpp"

namespace redrive::decide {
namespace {

using domain::OrderState;
using std::chrono::hours;
using std::chrono::seconds;

constexpr StuckOrderPolicy kPolicy{.max_redrives = 3, .key_retention = hours(24)};

StuckOrder Sent(std::optional<GatewayLookup> lookup, int redrive_count = 0,
                seconds age = seconds(600)) {
  return {.state = OrderState::kPaymentPending,
          .charge_requested = true,
          .charge_request_age = age,
          .redrive_count = redrive_count,
          .lookup = lookup};
}

TEST_CASE("an order that is no longer PAYMENT_PENDING is left alone") {
  for (const OrderState state :
       {OrderState::kCreated, OrderState::kPaid, OrderState::kFailed, OrderState::kNeedsReview}) {
    StuckOrder order = Sent(GatewayLookup::kSucceeded);
    order.state = state;
    const StuckDecision decision = ClassifyStuckOrder(order, kPolicy);
    CHECK(decision.action == StuckAction::kNoAction);
    CHECK(decision.stuck_class == StuckClass::kNotStuck);
  }
}

TEST_CASE("an order never sent to the gateway is re-emitted") {
  const StuckDecision decision =
      ClassifyStuckOrder({.state = OrderState::kPaymentPending, .redrive_count = 2}, kPolicy);
  CHECK(decision.action == StuckAction::kReemitPayment);
  CHECK(decision.stuck_class == StuckClass::kNeverSent);
  CHECK(decision.reason == "never_sent");
}

TEST_CASE("an order never sent but out of redrives goes to NEEDS_REVIEW") {
  const StuckDecision decision =
      ClassifyStuckOrder({.state = OrderState::kPaymentPending, .redrive_count = 3}, kPolicy);
  CHECK(decision.action == StuckAction::kNeedsReview);
  CHECK(decision.reason == "max_redrives");
}

TEST_CASE("a sent order with an unknown outcome asks the gateway first, even past the limits") {
  for (const StuckOrder& order :
       {Sent(std::nullopt), Sent(std::nullopt, 3), Sent(std::nullopt, 0, hours(48))}) {
    const StuckDecision decision = ClassifyStuckOrder(order, kPolicy);
    CHECK(decision.action == StuckAction::kAskGateway);
    CHECK(decision.stuck_class == StuckClass::kOutcomeUnknown);
    CHECK(decision.reason == "outcome_unknown");
  }
}

TEST_CASE("a stuck order whose charge succeeded is marked PAID, not charged again") {
  const StuckDecision decision = ClassifyStuckOrder(Sent(GatewayLookup::kSucceeded), kPolicy);
  CHECK(decision.action == StuckAction::kMarkPaid);
  CHECK(decision.stuck_class == StuckClass::kSettledAtGateway);
  CHECK(decision.reason == "gateway_succeeded");
}

TEST_CASE("a stuck order whose charge was declined is marked FAILED") {
  const StuckDecision decision = ClassifyStuckOrder(Sent(GatewayLookup::kDeclined), kPolicy);
  CHECK(decision.action == StuckAction::kMarkFailed);
  CHECK(decision.reason == "gateway_declined");
}

TEST_CASE("the gateway's answer settles an order even past max_redrives and key retention") {
  CHECK(ClassifyStuckOrder(Sent(GatewayLookup::kSucceeded, 10, hours(72)), kPolicy).action ==
        StuckAction::kMarkPaid);
  CHECK(ClassifyStuckOrder(Sent(GatewayLookup::kDeclined, 10, hours(72)), kPolicy).action ==
        StuckAction::kMarkFailed);
}

TEST_CASE("a key the gateway never saw is re-emitted with the same key") {
  const StuckDecision decision = ClassifyStuckOrder(Sent(GatewayLookup::kNotFound, 2), kPolicy);
  CHECK(decision.action == StuckAction::kReemitPayment);
  CHECK(decision.reason == "gateway_not_found");
}

TEST_CASE("an unreachable gateway leaves the order for the next cycle") {
  const StuckDecision decision = ClassifyStuckOrder(Sent(GatewayLookup::kUnreachable), kPolicy);
  CHECK(decision.action == StuckAction::kWaitNextCycle);
  CHECK(decision.reason == "gateway_unreachable");
}

TEST_CASE("after max_redrives an unsettled order goes to NEEDS_REVIEW and is never re-emitted") {
  for (const GatewayLookup lookup : {GatewayLookup::kNotFound, GatewayLookup::kUnreachable}) {
    const StuckDecision decision = ClassifyStuckOrder(Sent(lookup, 3), kPolicy);
    CHECK(decision.action == StuckAction::kNeedsReview);
    CHECK(decision.reason == "max_redrives");
  }
}

TEST_CASE("a charge request as old as the key retention goes to NEEDS_REVIEW, not a re-emit") {
  const StuckDecision at_boundary =
      ClassifyStuckOrder(Sent(GatewayLookup::kNotFound, 0, hours(24)), kPolicy);
  CHECK(at_boundary.action == StuckAction::kNeedsReview);
  CHECK(at_boundary.reason == "key_retention_expired");
  CHECK(ClassifyStuckOrder(Sent(GatewayLookup::kNotFound, 0, hours(24) - seconds(1)), kPolicy)
            .action == StuckAction::kReemitPayment);
  CHECK(ClassifyStuckOrder(Sent(GatewayLookup::kUnreachable, 0, hours(25)), kPolicy).action ==
        StuckAction::kNeedsReview);
}

TEST_CASE("only lookups and re-emits touch the gateway") {
  CHECK(TouchesGateway(StuckAction::kAskGateway));
  CHECK(TouchesGateway(StuckAction::kReemitPayment));
  for (const StuckAction action :
       {StuckAction::kNoAction, StuckAction::kMarkPaid, StuckAction::kMarkFailed,
        StuckAction::kNeedsReview, StuckAction::kWaitNextCycle}) {
    CHECK_FALSE(TouchesGateway(action));
  }
  CHECK(ToString(StuckAction::kReemitPayment) == "reemit_payment");
  CHECK(ToString(StuckClass::kSettledAtGateway) == "settled_at_gateway");
}

TEST_CASE("only a well-formed 200 or a 404 counts as a gateway answer to a lookup") {
  CHECK(ClassifyLookupReply(200, "succeeded", false) == GatewayLookup::kSucceeded);
  CHECK(ClassifyLookupReply(200, "declined", false) == GatewayLookup::kDeclined);
  CHECK(ClassifyLookupReply(404, std::nullopt, false) == GatewayLookup::kNotFound);
  CHECK(ClassifyLookupReply(200, "weird", false) == GatewayLookup::kUnreachable);
  CHECK(ClassifyLookupReply(200, std::nullopt, false) == GatewayLookup::kUnreachable);
  CHECK(ClassifyLookupReply(503, std::nullopt, false) == GatewayLookup::kUnreachable);
  CHECK(ClassifyLookupReply(400, std::nullopt, false) == GatewayLookup::kUnreachable);
  CHECK(ClassifyLookupReply(404, std::nullopt, true) == GatewayLookup::kUnreachable);
}

}  // namespace
}  // namespace redrive::decide
