#pragma once

#include <optional>
#include <string_view>

namespace redrive::domain {

// The lifecycle of an order. The spellings returned by ToString are the values of
// orders.state in PostgreSQL; they are part of the schema and must never change.
enum class OrderState { kCreated, kPaymentPending, kPaid, kFailed, kNeedsReview };

// "CREATED", "PAYMENT_PENDING", "PAID", "FAILED", "NEEDS_REVIEW".
std::string_view ToString(OrderState state);

// Exact, case-sensitive inverse of ToString: anything else (including lower case) is not a
// state the schema allows, so it is reported as nullopt rather than guessed.
std::optional<OrderState> ParseOrderState(std::string_view text);

// Terminal for automation: PAID, FAILED and NEEDS_REVIEW. Workers and the controller never
// move an order out of a terminal state; only an operator resolves NEEDS_REVIEW.
bool IsTerminal(OrderState state);

// Transitions that workers and the controller may make:
//   CREATED         -> PAYMENT_PENDING (the payment worker, before the gateway call)
//   PAYMENT_PENDING -> PAID | FAILED   (gateway answer, from a worker or the controller)
//   PAYMENT_PENDING -> NEEDS_REVIEW    (controller: redrives or key retention exhausted)
//   CREATED         -> NEEDS_REVIEW    (its payment event was dead-lettered)
// A state never "transitions" to itself, and nothing leaves PAID, FAILED or NEEDS_REVIEW.
bool CanTransition(OrderState from, OrderState to);

// The only way out of NEEDS_REVIEW: an operator, having checked the gateway by hand,
// records PAID or FAILED. Kept apart from CanTransition so automated code cannot use it
// by accident.
bool CanOperatorResolve(OrderState from, OrderState to);

}  // namespace redrive::domain
