#include <doctest/doctest.h>

#include <vector>

#include "core/decide/budget.hpp"

namespace redrive::decide {
namespace {

using Indexes = std::vector<std::size_t>;

constexpr BudgetCandidate kGateway{.touches_gateway = true};
constexpr BudgetCandidate kLocal{.touches_gateway = false};

TEST_CASE("the budget goes to the oldest candidates first") {
  const std::vector<BudgetCandidate> candidates{kGateway, kLocal, kGateway, kLocal, kLocal};
  const BudgetAllocation allocation = AllocateBudget(3, false, candidates);
  CHECK(allocation.granted == Indexes{0, 1, 2});
  CHECK(allocation.deferred_by_budget == 2);
  CHECK(allocation.deferred_by_breaker == 0);
  CHECK(allocation.remaining == 0);
}

TEST_CASE("a budget larger than the candidates grants them all and reports what is left") {
  const std::vector<BudgetCandidate> candidates{kGateway, kLocal};
  const BudgetAllocation allocation = AllocateBudget(10, false, candidates);
  CHECK(allocation.granted == Indexes{0, 1});
  CHECK(allocation.deferred_by_budget == 0);
  CHECK(allocation.remaining == 8);
}

TEST_CASE("a zero budget grants nothing") {
  const std::vector<BudgetCandidate> candidates{kLocal, kGateway};
  const BudgetAllocation allocation = AllocateBudget(0, false, candidates);
  CHECK(allocation.granted.empty());
  CHECK(allocation.deferred_by_budget == 2);
}

TEST_CASE("no gateway-touching re-drive is granted while the breaker is open") {
  const std::vector<BudgetCandidate> candidates{kGateway, kLocal, kGateway, kLocal, kLocal};
  const BudgetAllocation allocation = AllocateBudget(2, true, candidates);
  // Withheld gateway candidates use no budget; it goes to the next local ones.
  CHECK(allocation.granted == Indexes{1, 3});
  CHECK(allocation.deferred_by_breaker == 2);
  CHECK(allocation.deferred_by_budget == 1);
  CHECK(allocation.remaining == 0);
}

TEST_CASE("a budget of 10,000 caps a larger backlog") {
  const std::vector<BudgetCandidate> candidates(25'000, kGateway);
  const BudgetAllocation allocation = AllocateBudget(10'000, false, candidates);
  CHECK(allocation.granted.size() == 10'000);
  CHECK(allocation.granted.back() == 9'999);
  CHECK(allocation.deferred_by_budget == 15'000);
}

TEST_CASE("no candidates leave the whole budget") {
  const BudgetAllocation allocation = AllocateBudget(5, true, {});
  CHECK(allocation.granted.empty());
  CHECK(allocation.remaining == 5);
}

}  // namespace
}  // namespace redrive::decide
