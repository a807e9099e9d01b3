#include <doctest/doctest.h>

#include "core/decide/claim_pacing.hpp"

using redrive::decide::ClaimPacingState;
using redrive::decide::kMaxClaimsInFlight;
using redrive::decide::ShouldStartClaim;

namespace {
constexpr int kMaxPendingCompletions = 1000;
ClaimPacingState Idle() {
  return {.concurrency = 16,
          .last_claim_full = true,
          .max_pending_completions = kMaxPendingCompletions};
}
}  // namespace

TEST_CASE("claim pacing: an idle worker claims") {
  CHECK(ShouldStartClaim(Idle()));
}

TEST_CASE("claim pacing: the first claim waits until every claimed event has started") {
  ClaimPacingState s = Idle();
  s.inflight = 16;
  s.queued = 1;
  CHECK_FALSE(ShouldStartClaim(s));
  s.queued = 0;
  CHECK(ShouldStartClaim(s));
  s.inflight = 10;
  s.queued = 6;
  CHECK(ShouldStartClaim(s));
}

TEST_CASE("claim pacing: a second claim overlaps only while the handlers starve") {
  ClaimPacingState s = Idle();
  s.claims_in_flight = 1;
  CHECK(ShouldStartClaim(s));
  SUBCASE("a handler still running") {
    s.inflight = 1;
    CHECK_FALSE(ShouldStartClaim(s));
  }
  SUBCASE("an event still queued") {
    s.queued = 1;
    CHECK_FALSE(ShouldStartClaim(s));
  }
  SUBCASE("the last claim came back short: the queue is caught up") {
    s.last_claim_full = false;
    CHECK_FALSE(ShouldStartClaim(s));
  }
}

TEST_CASE("claim pacing: never more than the overlap limit") {
  ClaimPacingState s = Idle();
  s.claims_in_flight = kMaxClaimsInFlight;
  CHECK_FALSE(ShouldStartClaim(s));
  s.claims_in_flight = kMaxClaimsInFlight - 1;
  CHECK(ShouldStartClaim(s));
}

TEST_CASE("claim pacing: a backlog of unrecorded completions stops the claims") {
  ClaimPacingState s = Idle();
  s.pending_completions = kMaxPendingCompletions;
  CHECK(ShouldStartClaim(s));
  s.pending_completions = kMaxPendingCompletions + 1;
  CHECK_FALSE(ShouldStartClaim(s));
  s.claims_in_flight = 1;
  CHECK_FALSE(ShouldStartClaim(s));
}
