#include <doctest/doctest.h>

#include "core/decide/listen_policy.hpp"

using redrive::decide::ListenPolicy;
using std::chrono::milliseconds;

namespace {
const redrive::Clock::TimePoint kStart{};
}  // namespace

TEST_CASE("listen policy: full claims go quiet only after the quiet period") {
  ListenPolicy policy(milliseconds(1000));
  CHECK(policy.OnClaim(true, kStart));
  CHECK(policy.OnClaim(true, kStart + milliseconds(999)));
  CHECK_FALSE(policy.OnClaim(true, kStart + milliseconds(1000)));
  CHECK_FALSE(policy.OnClaim(true, kStart + milliseconds(5000)));
}

TEST_CASE("listen policy: a short claim listens at once and restarts the period") {
  ListenPolicy policy(milliseconds(1000));
  CHECK(policy.OnClaim(true, kStart));
  CHECK_FALSE(policy.OnClaim(true, kStart + milliseconds(1500)));
  CHECK(policy.OnClaim(false, kStart + milliseconds(1600)));
  // A new run of full claims starts counting again from its first claim.
  CHECK(policy.OnClaim(true, kStart + milliseconds(1700)));
  CHECK(policy.OnClaim(true, kStart + milliseconds(2600)));
  CHECK_FALSE(policy.OnClaim(true, kStart + milliseconds(2700)));
}

TEST_CASE("listen policy: a failed or skipped claim listens and restarts the period") {
  ListenPolicy policy(milliseconds(1000));
  CHECK(policy.OnClaim(true, kStart));
  CHECK_FALSE(policy.OnClaim(true, kStart + milliseconds(2000)));
  CHECK(policy.Listen());
  CHECK(policy.OnClaim(true, kStart + milliseconds(2100)));
  CHECK_FALSE(policy.OnClaim(true, kStart + milliseconds(3100)));
}
