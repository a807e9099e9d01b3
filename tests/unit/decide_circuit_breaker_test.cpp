#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/decide/circuit_breaker.hpp"
#include "tests/support/fake_clock.hpp"

namespace redrive::decide {
namespace {

using std::chrono::milliseconds;

constexpr BreakerPolicy kPolicy{.failure_threshold = 3, .open_for = milliseconds(1'000)};

void Fail(CircuitBreaker& breaker, int times) {
  for (int i = 0; i < times; ++i) {
    REQUIRE(breaker.AllowRequest());
    breaker.RecordFailure();
  }
}

TEST_CASE("breaker states map to the metric values 0 closed, 1 half-open, 2 open") {
  CHECK(MetricValue(BreakerState::kClosed) == 0);
  CHECK(MetricValue(BreakerState::kHalfOpen) == 1);
  CHECK(MetricValue(BreakerState::kOpen) == 2);
  CHECK(ToString(BreakerState::kHalfOpen) == "half_open");
}

TEST_CASE("a closed breaker allows requests and opens at the failure threshold") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  CHECK(breaker.State() == BreakerState::kClosed);
  Fail(breaker, 2);
  CHECK(breaker.State() == BreakerState::kClosed);
  Fail(breaker, 1);
  CHECK(breaker.State() == BreakerState::kOpen);
  CHECK_FALSE(breaker.AllowRequest());
  CHECK_FALSE(breaker.WouldAllowRequest());
}

TEST_CASE("only consecutive failures count: a success resets the count") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 2);
  REQUIRE(breaker.AllowRequest());
  breaker.RecordSuccess();
  Fail(breaker, 2);
  CHECK(breaker.State() == BreakerState::kClosed);
}

TEST_CASE("an open breaker refuses until open_for elapses, then lets exactly one probe through") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 3);
  clock.Advance(milliseconds(999));
  CHECK_FALSE(breaker.AllowRequest());
  CHECK(breaker.State() == BreakerState::kOpen);

  clock.Advance(milliseconds(1));
  CHECK(breaker.State() == BreakerState::kHalfOpen);
  CHECK(breaker.WouldAllowRequest());
  CHECK(breaker.AllowRequest());  // the probe
  CHECK_FALSE(breaker.WouldAllowRequest());
  CHECK_FALSE(breaker.AllowRequest());
  CHECK_FALSE(breaker.AllowRequest());
  CHECK(breaker.State() == BreakerState::kHalfOpen);
}

TEST_CASE("a successful probe closes the breaker and forgets earlier failures") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 3);
  clock.Advance(milliseconds(1'000));
  REQUIRE(breaker.AllowRequest());
  breaker.RecordSuccess();
  CHECK(breaker.State() == BreakerState::kClosed);
  CHECK(breaker.AllowRequest());
  CHECK(breaker.AllowRequest());
  breaker.RecordFailure();
  breaker.RecordFailure();
  CHECK(breaker.State() == BreakerState::kClosed);
}

TEST_CASE("a failed probe opens the breaker again with a fresh timer") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 3);
  clock.Advance(milliseconds(5'000));
  REQUIRE(breaker.AllowRequest());
  breaker.RecordFailure();
  CHECK(breaker.State() == BreakerState::kOpen);
  clock.Advance(milliseconds(999));
  CHECK_FALSE(breaker.AllowRequest());
  clock.Advance(milliseconds(1));
  CHECK(breaker.AllowRequest());
}

TEST_CASE("a cancelled probe frees the slot for another probe") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 3);
  clock.Advance(milliseconds(1'000));
  REQUIRE(breaker.AllowRequest());
  REQUIRE_FALSE(breaker.AllowRequest());
  breaker.RecordCancelled();
  CHECK(breaker.State() == BreakerState::kHalfOpen);
  CHECK(breaker.AllowRequest());
}

TEST_CASE("outcomes of stragglers while open neither close it nor extend the timer") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 3);
  clock.Advance(milliseconds(500));
  breaker.RecordSuccess();
  CHECK(breaker.State() == BreakerState::kOpen);
  breaker.RecordFailure();
  breaker.RecordCancelled();
  clock.Advance(milliseconds(500));
  CHECK(breaker.AllowRequest());
}

TEST_CASE("a failure threshold below one opens on the first failure") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, {.failure_threshold = 0, .open_for = milliseconds(10)});
  Fail(breaker, 1);
  CHECK(breaker.State() == BreakerState::kOpen);
}

TEST_CASE("concurrent callers of a half-open breaker get exactly one probe") {
  testing::FakeClock clock;
  CircuitBreaker breaker(clock, kPolicy);
  Fail(breaker, 3);
  clock.Advance(milliseconds(1'000));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (breaker.AllowRequest()) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(allowed.load() == 1);
}

}  // namespace
}  // namespace redrive::decide
