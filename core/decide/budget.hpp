#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace redrive::decide {

// One re-drive the controller would like to make this cycle.
struct BudgetCandidate {
  // Whether acting calls the payment gateway, directly or through a worker (see
  // TouchesGateway(StuckAction)).
  bool touches_gateway = false;
};

struct BudgetAllocation {
  // Indexes into the candidates that may act this cycle, ascending (so oldest first).
  std::vector<std::size_t> granted{};
  std::size_t deferred_by_budget = 0;   // left for a later cycle: the budget ran out
  std::size_t deferred_by_breaker = 0;  // left for a later cycle: the breaker is open
  // Budget left after this allocation: pass it to the next reconciler of the same cycle
  // (the budget is per cycle, across all reconcilers) and export it as
  // redrive_redrive_budget_remaining.
  std::size_t remaining = 0;
};

// Grants up to `budget` re-drives per cycle, to the candidates in the order given, which
// must be oldest first so the longest-waiting orders are never starved by newer ones.
// While the gateway's circuit breaker is open, candidates that touch the gateway get
// nothing and use none of the budget (calling a failing gateway only makes it worse, and
// burns redrive_count for nothing); the budget goes to later candidates that do not touch
// it. Deferred candidates are simply found again next cycle: the controller is
// level-triggered.
BudgetAllocation AllocateBudget(std::size_t budget, bool breaker_open,
                                std::span<const BudgetCandidate> candidates_oldest_first);

}  // namespace redrive::decide
