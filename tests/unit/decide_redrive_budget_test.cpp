#include <doctest/doctest.h>

#include "core/decide/redrive_budget.hpp"

using redrive::decide::RedriveBudget;

TEST_CASE("the re-drive budget grants exactly its size, then refuses") {
  RedriveBudget budget(3, false);
  CHECK(budget.Take(false));
  CHECK(budget.Take(true));
  CHECK(budget.Take(false));
  CHECK_FALSE(budget.Take(false));
  CHECK(budget.remaining() == 0);
  CHECK(budget.deferred_by_budget() == 1);
}

TEST_CASE("a zero budget grants nothing") {
  RedriveBudget budget(0, false);
  CHECK_FALSE(budget.Take(false));
  CHECK_FALSE(budget.Take(true));
}

TEST_CASE(
    "no gateway-touching re-drive is granted while the breaker is open, and it costs nothing") {
  RedriveBudget budget(2, true);
  CHECK_FALSE(budget.Take(true));
  CHECK_FALSE(budget.Take(true));
  CHECK(budget.remaining() == 2);
  CHECK(budget.deferred_by_breaker() == 2);
  CHECK(budget.Take(false));
  CHECK(budget.Take(false));
  CHECK_FALSE(budget.Take(false));
}

TEST_CASE("a budget of 10,000 caps a larger backlog") {
  RedriveBudget budget(10'000, false);
  int granted = 0;
  for (int i = 0; i < 25'000; ++i) granted += budget.Take(i % 2 == 0) ? 1 : 0;
  CHECK(granted == 10'000);
  CHECK(budget.deferred_by_budget() == 15'000);
}
