#include "core/decide/stuck_order.hpp"

#include <utility>

#include "core/decide/key_retention.hpp"

namespace redrive::decide {
namespace {

StuckDecision Decide(StuckAction action, StuckClass stuck_class, std::string reason) {
  return {.action = action, .stuck_class = stuck_class, .reason = std::move(reason)};
}

}  // namespace

GatewayLookup ClassifyLookupReply(int http_status, std::optional<std::string_view> charge_status,
                                  bool transport_error) {
  if (transport_error) return GatewayLookup::kUnreachable;
  if (http_status == 404) return GatewayLookup::kNotFound;
  if (http_status == 200) {
    if (charge_status == "succeeded") return GatewayLookup::kSucceeded;
    if (charge_status == "declined") return GatewayLookup::kDeclined;
  }
  return GatewayLookup::kUnreachable;
}

StuckDecision ClassifyStuckOrder(const StuckOrder& order, const StuckOrderPolicy& policy) {
  using enum StuckAction;

  // Rule 1.
  if (order.state != domain::OrderState::kPaymentPending) {
    return Decide(kNoAction, StuckClass::kNotStuck, "not_payment_pending");
  }
  // Rule 2: the gateway's truth wins over every limit.
  if (order.lookup == GatewayLookup::kSucceeded) {
    return Decide(kMarkPaid, StuckClass::kSettledAtGateway, "gateway_succeeded");
  }
  if (order.lookup == GatewayLookup::kDeclined) {
    return Decide(kMarkFailed, StuckClass::kSettledAtGateway, "gateway_declined");
  }

  const bool redrives_spent = order.redrive_count >= policy.max_redrives;

  // Rule 3.
  if (!order.charge_requested) {
    if (redrives_spent) return Decide(kNeedsReview, StuckClass::kNeverSent, "max_redrives");
    return Decide(kReemitPayment, StuckClass::kNeverSent, "never_sent");
  }
  // Rule 4.
  if (!order.lookup.has_value()) {
    return Decide(kAskGateway, StuckClass::kOutcomeUnknown, "outcome_unknown");
  }
  // Rules 5 and 6: from here the lookup was 404 or unreachable.
  if (KeyRetentionExpired(order.charge_request_age, policy.key_retention)) {
    return Decide(kNeedsReview, StuckClass::kOutcomeUnknown, "key_retention_expired");
  }
  if (redrives_spent) return Decide(kNeedsReview, StuckClass::kOutcomeUnknown, "max_redrives");
  // Rules 7 and 8.
  if (order.lookup == GatewayLookup::kNotFound) {
    return Decide(kReemitPayment, StuckClass::kOutcomeUnknown, "gateway_not_found");
  }
  return Decide(kWaitNextCycle, StuckClass::kOutcomeUnknown, "gateway_unreachable");
}

bool TouchesGateway(StuckAction action) {
  return action == StuckAction::kReemitPayment || action == StuckAction::kAskGateway;
}

std::string_view ToString(StuckAction action) {
  switch (action) {
    case StuckAction::kNoAction:
      return "no_action";
    case StuckAction::kReemitPayment:
      return "reemit_payment";
    case StuckAction::kAskGateway:
      return "ask_gateway";
    case StuckAction::kMarkPaid:
      return "mark_paid";
    case StuckAction::kMarkFailed:
      return "mark_failed";
    case StuckAction::kNeedsReview:
      return "needs_review";
    case StuckAction::kWaitNextCycle:
      return "wait_next_cycle";
  }
  return "unknown";
}

std::string_view ToString(StuckClass stuck_class) {
  switch (stuck_class) {
    case StuckClass::kNotStuck:
      return "not_stuck";
    case StuckClass::kNeverSent:
      return "never_sent";
    case StuckClass::kOutcomeUnknown:
      return "outcome_unknown";
    case StuckClass::kSettledAtGateway:
      return "settled_at_gateway";
  }
  return "unknown";
}

}  // namespace redrive::decide
