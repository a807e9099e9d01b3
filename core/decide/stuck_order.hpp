#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/domain/order_state.hpp"

namespace redrive::decide {

// What GET /v1/charges?idempotency_key=K told us about the order's key.
enum class GatewayLookup {
  kSucceeded,    // 200, status "succeeded": the customer was charged
  kDeclined,     // 200, status "declined": the charge was refused, nothing captured
  kNotFound,     // 404: the gateway never saw the key (or has forgotten it: see retention)
  kUnreachable,  // anything else: transport error, 5xx, an unreadable reply; we know nothing
};

// Classifies the reply to the lookup. Only a well-formed 200 or a 404 is an answer;
// everything else must be treated as "we do not know" and never as "not found", because
// "not found" leads to a new charge request.
GatewayLookup ClassifyLookupReply(int http_status, std::optional<std::string_view> charge_status,
                                  bool transport_error);

// An order the controller found stuck, as read from the database in this cycle.
struct StuckOrder {
  domain::OrderState state = domain::OrderState::kPaymentPending;
  // orders.charge_requested_at IS NOT NULL: a charge request may have reached the gateway.
  bool charge_requested = false;
  // now() - charge_requested_at, computed by PostgreSQL (never a pod's clock). Meaningful
  // only when charge_requested.
  std::chrono::seconds charge_request_age{0};
  int redrive_count = 0;
  // The gateway's answer, once the controller has asked (nullopt: not asked yet).
  std::optional<GatewayLookup> lookup = std::nullopt;
};

struct StuckOrderPolicy {
  // controller.max_redrives: re-emits allowed per order before a human must look.
  int max_redrives = 3;
  // controller.key_retention_seconds: how long the gateway is trusted to remember a key.
  // Must be set well inside the gateway's real retention: the re-emitted charge reaches
  // the gateway some time after this decision.
  std::chrono::seconds key_retention{std::chrono::hours(24)};
};

enum class StuckAction {
  kNoAction,       // not PAYMENT_PENDING any more: someone else settled it
  kReemitPayment,  // insert a new payment outbox event; the worker reuses the order's key
  kAskGateway,     // look the key up, then classify again with the answer
  kMarkPaid,       // PAYMENT_PENDING -> PAID (+ PaymentSucceeded webhook event)
  kMarkFailed,     // PAYMENT_PENDING -> FAILED (+ PaymentFailed webhook event)
  kNeedsReview,    // PAYMENT_PENDING -> NEEDS_REVIEW; never charged with a new key
  kWaitNextCycle,  // the gateway is unreachable: leave it, look again next cycle
};

// The class of a stuck order for redrive_stuck_orders{class}.
enum class StuckClass { kNotStuck, kNeverSent, kOutcomeUnknown, kSettledAtGateway };

struct StuckDecision {
  StuckAction action;
  StuckClass stuck_class;
  // The rule that fired, for redrive_log.reason and logs:
  //   not_payment_pending, never_sent, outcome_unknown, gateway_succeeded,
  //   gateway_declined, gateway_not_found, gateway_unreachable, max_redrives,
  //   key_retention_expired
  std::string reason;
};

// Decides what to do with a stuck order; no I/O. Rules, in order:
//  1. Not PAYMENT_PENDING -> no action: the state was re-read this cycle and the order
//     has moved on (a worker finished it, or another controller did).
//  2. A gateway answer of succeeded / declined -> PAID / FAILED, whatever the redrive
//     count or the key's age: recording what the gateway says happened is always safe.
//  3. Never sent (no charge_requested_at): no charge can have happened, so re-emitting is
//     safe ... unless redrive_count >= max_redrives: re-emits that never reach the
//     gateway point at a bug (say, a payment event that keeps dying), so escalate.
//  4. Sent, no answer yet -> ask the gateway by key first, even past the limits below:
//     its answer may settle the order (rule 2) without a human.
//  5. Sent, charge request older than key_retention (age >= retention; equal is already
//     too late, since a re-emitted charge reaches the gateway after this decision) and the
//     gateway did not settle it -> NEEDS_REVIEW: the gateway may have forgotten the key, so
//     a 404 no longer proves "never charged" and a re-emit could charge twice.
//  6. Sent, redrive_count >= max_redrives and the gateway did not settle it -> NEEDS_REVIEW.
//     Rules 5 and 6 escalate on 404 and on "unreachable" alike: the automatic budget is
//     spent, and a human can check the gateway's own records.
//  7. Sent, 404 -> re-emit the payment event: the gateway never saw the key; the worker
//     charges with the same order-derived key, so even a racing duplicate cannot charge
//     twice.
//  8. Sent, gateway unreachable -> wait for the next cycle: the outcome is unknown and
//     nothing may be assumed.
StuckDecision ClassifyStuckOrder(const StuckOrder& order, const StuckOrderPolicy& policy);

// Whether carrying out `action` calls the gateway, directly (a lookup) or through a worker
// (a re-emitted charge). These are the actions the redrive budget withholds while the
// gateway's circuit breaker is open.
bool TouchesGateway(StuckAction action);

std::string_view ToString(StuckAction action);
std::string_view ToString(StuckClass stuck_class);

}  // namespace redrive::decide
