#include "core/domain/order_state.hpp"

#include <array>
#include <utility>

namespace redrive::domain {
namespace {

constexpr std::array<std::pair<OrderState, std::string_view>, 5> kSpellings{{
    {OrderState::kCreated, "CREATED"},
    {OrderState::kPaymentPending, "PAYMENT_PENDING"},
    {OrderState::kPaid, "PAID"},
    {OrderState::kFailed, "FAILED"},
    {OrderState::kNeedsReview, "NEEDS_REVIEW"},
}};

}  // namespace

std::string_view ToString(OrderState state) {
  for (const auto& [candidate, spelling] : kSpellings) {
    if (candidate == state) return spelling;
  }
  return "UNKNOWN";  // Unreachable for a valid enumerator.
}

std::optional<OrderState> ParseOrderState(std::string_view text) {
  for (const auto& [state, spelling] : kSpellings) {
    if (spelling == text) return state;
  }
  return std::nullopt;
}

bool IsTerminal(OrderState state) {
  return state == OrderState::kPaid || state == OrderState::kFailed ||
         state == OrderState::kNeedsReview;
}

bool CanTransition(OrderState from, OrderState to) {
  switch (from) {
    case OrderState::kCreated:
      return to == OrderState::kPaymentPending || to == OrderState::kNeedsReview;
    case OrderState::kPaymentPending:
      return to == OrderState::kPaid || to == OrderState::kFailed || to == OrderState::kNeedsReview;
    case OrderState::kPaid:
    case OrderState::kFailed:
    case OrderState::kNeedsReview:
      return false;
  }
  return false;
}

bool CanOperatorResolve(OrderState from, OrderState to) {
  return from == OrderState::kNeedsReview && (to == OrderState::kPaid || to == OrderState::kFailed);
}

}  // namespace redrive::domain
