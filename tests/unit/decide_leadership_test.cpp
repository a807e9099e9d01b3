#include <doctest/doctest.h>

#include "core/decide/leadership.hpp"
#include "tests/support/fake_clock.hpp"

using namespace std::chrono_literals;
using redrive::decide::Leadership;
using redrive::testing::FakeClock;

TEST_CASE("a process is not leader until the database grants the lease") {
  FakeClock clock;
  Leadership leadership(clock, {});
  CHECK_FALSE(leadership.IsLeader());
  CHECK_FALSE(leadership.Epoch().has_value());
  leadership.OnHeld(7);
  CHECK(leadership.IsLeader());
  CHECK(leadership.Epoch() == 7);
}

TEST_CASE("a leader that cannot renew steps down at the renew deadline, before its lease ends") {
  FakeClock clock;
  Leadership leadership(clock, {.lease = 15s, .renew_deadline = 10s, .retry = 2s});
  leadership.OnHeld(3);
  clock.Advance(9s);
  leadership.OnAttemptFailed();
  CHECK(leadership.IsLeader());
  clock.Advance(1s);
  CHECK_FALSE(leadership.IsLeader());
  CHECK_FALSE(leadership.Epoch().has_value());
  // It still remembers the epoch to present if the database comes back before a takeover.
  CHECK(leadership.LastHeldEpoch() == 3);
  leadership.OnAttemptFailed();
  CHECK_FALSE(leadership.LastHeldEpoch().has_value());
}

TEST_CASE("a renewal keeps the leader in office for another deadline") {
  FakeClock clock;
  Leadership leadership(clock, {.lease = 15s, .renew_deadline = 10s, .retry = 2s});
  leadership.OnHeld(1);
  for (int i = 0; i < 20; ++i) {
    clock.Advance(2s);
    leadership.OnHeld(1);
    CHECK(leadership.IsLeader());
  }
}

TEST_CASE("losing the lease to another holder ends leadership at once") {
  FakeClock clock;
  Leadership leadership(clock, {});
  leadership.OnHeld(4);
  leadership.OnLost();
  CHECK_FALSE(leadership.IsLeader());
  CHECK_FALSE(leadership.LastHeldEpoch().has_value());
}
