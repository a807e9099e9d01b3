#include "core/runtime/health.hpp"

#include <doctest/doctest.h>

#include "tests/support/fake_clock.hpp"

namespace redrive::runtime {
namespace {

using std::chrono::seconds;

TEST_CASE("a process is live from construction until the liveness timeout passes") {
  testing::FakeClock clock;
  Health health(clock, seconds(30));
  CHECK(health.Live());
  clock.Advance(seconds(30));
  CHECK(health.Live());
  clock.Advance(seconds(1));
  CHECK_FALSE(health.Live());
}

TEST_CASE("liveness turns false when the loop stops beating and true again after a beat") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  clock.Advance(seconds(8));
  health.Beat();
  clock.Advance(seconds(8));
  CHECK(health.Live());  // 16 s since construction, 8 s since the beat
  clock.Advance(seconds(3));
  CHECK_FALSE(health.Live());
  health.Beat();
  CHECK(health.Live());
}

TEST_CASE("liveness does not depend on readiness or draining") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  health.SetReady("database", false, "connection refused");
  health.SetDraining();
  CHECK(health.Live());
}

TEST_CASE("a process with no components registered is ready") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  const auto readiness = health.Ready();
  CHECK(readiness.ready);
  CHECK(readiness.detail.empty());
}

TEST_CASE("readiness is true when every registered component is ready") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  health.SetReady("database", true);
  health.SetReady("gateway", true);
  CHECK(health.Ready().ready);
}

TEST_CASE("readiness is false with the reason when a component is down") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  health.SetReady("database", false, "connection refused");
  health.SetReady("gateway", true);
  const auto readiness = health.Ready();
  CHECK_FALSE(readiness.ready);
  CHECK(readiness.detail == "database: connection refused");
}

TEST_CASE("readiness lists every failing component in name order") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  health.SetReady("gateway", false);
  health.SetReady("database", false, "connection refused");
  CHECK(health.Ready().detail == "database: connection refused; gateway: not ready");
}

TEST_CASE("a component that recovers makes the process ready again") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  health.SetReady("database", false, "connection refused");
  REQUIRE_FALSE(health.Ready().ready);
  health.SetReady("database", true);
  const auto readiness = health.Ready();
  CHECK(readiness.ready);
  CHECK(readiness.detail.empty());
}

TEST_CASE("draining makes the process unready for good, whatever its components say") {
  testing::FakeClock clock;
  Health health(clock, seconds(10));
  health.SetReady("database", true);
  CHECK_FALSE(health.Draining());
  health.SetDraining();
  CHECK(health.Draining());
  auto readiness = health.Ready();
  CHECK_FALSE(readiness.ready);
  CHECK(readiness.detail == "draining");
  health.SetReady("database", true);
  CHECK_FALSE(health.Ready().ready);
}

}  // namespace
}  // namespace redrive::runtime
