#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace redrive::decide {

// Exponential backoff with "full jitter" (AWS architecture blog, 2015): the delay is
// uniform in [0, min(max, base * 2^(attempts-1))]. Full jitter spreads a burst of
// failures (a gateway blip fails hundreds of events at once) over the whole window, so
// the retries do not arrive as a second burst. Values come from worker.backoff_base_ms and
// worker.backoff_max_ms; a negative duration is treated as zero.
struct BackoffPolicy {
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds max{60'000};
};

// The un-jittered ceiling min(max, base * 2^(attempts-1)). `attempts` starts at 1: it is
// outbox.attempts after the failed attempt (claims so far, the current one included), so
// the first failure waits up to `base`. Values below 1 are treated as 1. Never overflows:
// any exponent that would exceed `max` (attempt 64, attempt INT_MAX) yields `max`.
std::chrono::milliseconds BackoffCeiling(int attempts, BackoffPolicy policy);

// Full-jitter delay: uniform01 * (ceiling + 1), truncated, so the result is an integer
// number of milliseconds in [0, ceiling] with every value equally likely. `uniform01` is
// injected (uniform in [0, 1)) so callers own the randomness and tests are deterministic;
// values outside [0, 1) (or NaN) are clamped into it.
std::chrono::milliseconds Backoff(int attempts, BackoffPolicy policy, double uniform01);

// The delay before the next attempt, honouring a server's Retry-After (429, 503): the
// result is max(Backoff(...), retry_after) capped at policy.max. Jitter must never make us
// come back sooner than the server asked; the cap keeps a buggy or hostile header
// ("Retry-After: 999999999") from parking an event for years. A negative retry_after is
// ignored.
std::chrono::milliseconds NextDelay(int attempts, BackoffPolicy policy, double uniform01,
                                    std::optional<std::chrono::milliseconds> retry_after);

// Parses an HTTP Retry-After header in its delta-seconds form (RFC 9110 §10.2.3): one or
// more ASCII digits, optionally surrounded by spaces or tabs. The HTTP-date form returns
// nullopt, as does anything malformed (signs, fractions, units): callers then fall back to
// plain backoff, which is always safe. Values too large to represent saturate at 2^31
// seconds, as RFC 9111 §1.2.2 prescribes; NextDelay caps them anyway.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view header);

}  // namespace redrive::decide
