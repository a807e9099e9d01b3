#include "core/decide/budget.hpp"

namespace redrive::decide {

BudgetAllocation AllocateBudget(std::size_t budget, bool breaker_open,
                                std::span<const BudgetCandidate> candidates_oldest_first) {
  BudgetAllocation allocation;
  allocation.remaining = budget;
  for (std::size_t i = 0; i < candidates_oldest_first.size(); ++i) {
    if (breaker_open && candidates_oldest_first[i].touches_gateway) {
      ++allocation.deferred_by_breaker;
    } else if (allocation.remaining == 0) {
      ++allocation.deferred_by_budget;
    } else {
      allocation.granted.push_back(i);
      --allocation.remaining;
    }
  }
  return allocation;
}

}  // namespace redrive::decide
