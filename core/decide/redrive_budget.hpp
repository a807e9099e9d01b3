#pragma once

#include <cstddef>

namespace redrive::decide {

// At most controller.redrive_budget re-drives per cycle across every reconciler, and none
// that touch the gateway while its circuit breaker is open (calling a failing gateway only
// makes it worse and burns redrive_count for nothing). Reconcilers ask in oldest-first
// order, so the longest-waiting work is never starved by newer work; whatever is refused is
// simply found again next cycle, since the controller is level-triggered.
class RedriveBudget {
 public:
  RedriveBudget(std::size_t budget, bool gateway_breaker_open)
      : remaining_(budget), breaker_open_(gateway_breaker_open) {}

  // True, and one unit spent, when a re-drive may go ahead now. A refusal because of the
  // breaker spends nothing, so the budget goes to later work that does not touch it.
  bool Take(bool touches_gateway) {
    if (touches_gateway && breaker_open_) {
      ++deferred_by_breaker_;
      return false;
    }
    if (remaining_ == 0) {
      ++deferred_by_budget_;
      return false;
    }
    --remaining_;
    return true;
  }

  std::size_t remaining() const { return remaining_; }
  std::size_t deferred_by_budget() const { return deferred_by_budget_; }
  std::size_t deferred_by_breaker() const { return deferred_by_breaker_; }
  bool breaker_open() const { return breaker_open_; }

 private:
  std::size_t remaining_;
  bool breaker_open_;
  std::size_t deferred_by_budget_ = 0;
  std::size_t deferred_by_breaker_ = 0;
};

}  // namespace redrive::decide
