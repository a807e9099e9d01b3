#include <doctest/doctest.h>

#include <array>

#include "core/domain/order_state.hpp"

namespace redrive::domain {
namespace {

constexpr std::array kAllStates{OrderState::kCreated, OrderState::kPaymentPending,
                                OrderState::kPaid, OrderState::kFailed, OrderState::kNeedsReview};

TEST_CASE("order states print as their SQL spellings and parse back") {
  CHECK(ToString(OrderState::kCreated) == "CREATED");
  CHECK(ToString(OrderState::kPaymentPending) == "PAYMENT_PENDING");
  CHECK(ToString(OrderState::kPaid) == "PAID");
  CHECK(ToString(OrderState::kFailed) == "FAILED");
  CHECK(ToString(OrderState::kNeedsReview) == "NEEDS_REVIEW");
  for (const OrderState state : kAllStates) CHECK(ParseOrderState(ToString(state)) == state);
}

TEST_CASE("parsing rejects lower case, padding and unknown states") {
  CHECK_FALSE(ParseOrderState("paid").has_value());
  CHECK_FALSE(ParseOrderState(" PAID").has_value());
  CHECK_FALSE(ParseOrderState("").has_value());
  CHECK_FALSE(ParseOrderState("REFUNDED").has_value());
}

TEST_CASE("PAID, FAILED and NEEDS_REVIEW are terminal, CREATED and PAYMENT_PENDING are not") {
  CHECK_FALSE(IsTerminal(OrderState::kCreated));
  CHECK_FALSE(IsTerminal(OrderState::kPaymentPending));
  CHECK(IsTerminal(OrderState::kPaid));
  CHECK(IsTerminal(OrderState::kFailed));
  CHECK(IsTerminal(OrderState::kNeedsReview));
}

TEST_CASE("automated transitions follow the payment flow and nothing else") {
  using enum OrderState;
  CHECK(CanTransition(kCreated, kPaymentPending));
  CHECK(CanTransition(kCreated, kNeedsReview));
  CHECK(CanTransition(kPaymentPending, kPaid));
  CHECK(CanTransition(kPaymentPending, kFailed));
  CHECK(CanTransition(kPaymentPending, kNeedsReview));

  CHECK_FALSE(CanTransition(kCreated, kPaid));
  CHECK_FALSE(CanTransition(kCreated, kFailed));
  CHECK_FALSE(CanTransition(kPaymentPending, kCreated));
  for (const OrderState state : kAllStates) CHECK_FALSE(CanTransition(state, state));
}

TEST_CASE("nothing automated leaves a terminal state") {
  for (const OrderState from : kAllStates) {
    if (!IsTerminal(from)) continue;
    for (const OrderState to : kAllStates) CHECK_FALSE(CanTransition(from, to));
  }
}

TEST_CASE("only an operator resolves NEEDS_REVIEW, and only to PAID or FAILED") {
  using enum OrderState;
  CHECK(CanOperatorResolve(kNeedsReview, kPaid));
  CHECK(CanOperatorResolve(kNeedsReview, kFailed));
  CHECK_FALSE(CanOperatorResolve(kNeedsReview, kPaymentPending));
  CHECK_FALSE(CanOperatorResolve(kNeedsReview, kCreated));
  CHECK_FALSE(CanOperatorResolve(kPaymentPending, kPaid));
  CHECK_FALSE(CanOperatorResolve(kFailed, kPaid));
  CHECK_FALSE(CanOperatorResolve(kPaid, kFailed));
}

}  // namespace
}  // namespace redrive::domain
