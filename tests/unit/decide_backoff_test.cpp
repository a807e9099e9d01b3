#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <limits>

#include "core/decide/backoff.hpp"

namespace redrive::decide {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr BackoffPolicy kPolicy{.base = milliseconds(100), .max = milliseconds(10'000)};
const double kAlmostOne = std::nextafter(1.0, 0.0);

TEST_CASE("the first attempt waits up to the base delay and each later one doubles it") {
  CHECK(BackoffCeiling(1, kPolicy) == milliseconds(100));
  CHECK(BackoffCeiling(2, kPolicy) == milliseconds(200));
  CHECK(BackoffCeiling(3, kPolicy) == milliseconds(400));
  CHECK(BackoffCeiling(7, kPolicy) == milliseconds(6'400));
}

TEST_CASE("attempts below 1 are treated as the first attempt") {
  CHECK(BackoffCeiling(0, kPolicy) == milliseconds(100));
  CHECK(BackoffCeiling(-5, kPolicy) == milliseconds(100));
}

TEST_CASE("the ceiling is capped at max, including exactly at the boundary") {
  CHECK(BackoffCeiling(8, kPolicy) == milliseconds(10'000));  // 12'800 capped
  const BackoffPolicy exact{.base = milliseconds(100), .max = milliseconds(6'400)};
  CHECK(BackoffCeiling(7, exact) == milliseconds(6'400));
  CHECK(BackoffCeiling(8, exact) == milliseconds(6'400));
}

TEST_CASE("huge attempt counts return max instead of overflowing") {
  CHECK(BackoffCeiling(64, kPolicy) == milliseconds(10'000));
  CHECK(BackoffCeiling(65, kPolicy) == milliseconds(10'000));
  CHECK(BackoffCeiling(INT_MAX, kPolicy) == milliseconds(10'000));
  const BackoffPolicy unbounded{.base = milliseconds(1), .max = milliseconds::max()};
  CHECK(BackoffCeiling(63, unbounded) == milliseconds(std::int64_t{1} << 62));
  CHECK(BackoffCeiling(64, unbounded) == milliseconds::max());
  CHECK(BackoffCeiling(INT_MAX, unbounded) == milliseconds::max());
  // Near 2^63 a double resolves only 1024 ms, but the result stays in range (no UB).
  const milliseconds jittered = Backoff(INT_MAX, unbounded, kAlmostOne);
  CHECK(jittered <= milliseconds::max());
  CHECK(jittered >= milliseconds::max() - milliseconds(2'048));
}

TEST_CASE("a zero or negative base never waits and a max below base caps it") {
  CHECK(BackoffCeiling(10, {.base = milliseconds(0), .max = milliseconds(1'000)}) ==
        milliseconds(0));
  CHECK(BackoffCeiling(10, {.base = milliseconds(-3), .max = milliseconds(1'000)}) ==
        milliseconds(0));
  CHECK(BackoffCeiling(1, {.base = milliseconds(500), .max = milliseconds(200)}) ==
        milliseconds(200));
}

TEST_CASE("full jitter spans zero to the ceiling") {
  CHECK(Backoff(3, kPolicy, 0.0) == milliseconds(0));
  CHECK(Backoff(3, kPolicy, 0.5) == milliseconds(200));
  CHECK(Backoff(3, kPolicy, kAlmostOne) == milliseconds(400));
  CHECK(Backoff(30, kPolicy, kAlmostOne) == milliseconds(10'000));
}

TEST_CASE("out-of-range jitter inputs are clamped into [0, ceiling]") {
  CHECK(Backoff(3, kPolicy, -0.5) == milliseconds(0));
  CHECK(Backoff(3, kPolicy, std::numeric_limits<double>::quiet_NaN()) == milliseconds(0));
  CHECK(Backoff(3, kPolicy, 1.0) == milliseconds(400));
  CHECK(Backoff(3, kPolicy, 7.0) == milliseconds(400));
}

TEST_CASE("a Retry-After longer than the jittered delay is honoured") {
  CHECK(NextDelay(1, kPolicy, 0.5, milliseconds(3'000)) == milliseconds(3'000));
}

TEST_CASE("a Retry-After shorter than the jittered delay does not shorten it") {
  CHECK(NextDelay(3, kPolicy, 0.5, milliseconds(10)) == milliseconds(200));
  CHECK(NextDelay(3, kPolicy, 0.5, milliseconds(-10)) == milliseconds(200));
  CHECK(NextDelay(3, kPolicy, 0.5, std::nullopt) == milliseconds(200));
}

TEST_CASE("a Retry-After beyond the cap is cut to max") {
  CHECK(NextDelay(1, kPolicy, 0.0, seconds(1'000'000)) == milliseconds(10'000));
}

TEST_CASE("Retry-After in delta-seconds form is parsed, with surrounding whitespace") {
  CHECK(ParseRetryAfter("120") == seconds(120));
  CHECK(ParseRetryAfter("0") == seconds(0));
  CHECK(ParseRetryAfter(" \t007 ") == seconds(7));
}

TEST_CASE("Retry-After as an HTTP date or malformed text is not parsed") {
  CHECK_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  CHECK_FALSE(ParseRetryAfter("").has_value());
  CHECK_FALSE(ParseRetryAfter("   ").has_value());
  CHECK_FALSE(ParseRetryAfter("-1").has_value());
  CHECK_FALSE(ParseRetryAfter("+1").has_value());
  CHECK_FALSE(ParseRetryAfter("1.5").has_value());
  CHECK_FALSE(ParseRetryAfter("10s").has_value());
  CHECK_FALSE(ParseRetryAfter("1 0").has_value());
}

TEST_CASE("an enormous Retry-After saturates at 2^31 seconds") {
  CHECK(ParseRetryAfter("99999999999999999999999999") == seconds(std::int64_t{1} << 31));
  CHECK_FALSE(ParseRetryAfter("99999999999999999999999999x").has_value());
}

}  // namespace
}  // namespace redrive::decide
