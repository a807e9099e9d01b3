#include "core/decide/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace redrive::decide {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kRetryAfterSaturationSeconds = std::int64_t{1} << 31;

milliseconds NonNegative(milliseconds value) {
  return std::max(value, milliseconds::zero());
}

}  // namespace

milliseconds BackoffCeiling(int attempts, BackoffPolicy policy) {
  const std::int64_t base = NonNegative(policy.base).count();
  const std::int64_t max = NonNegative(policy.max).count();
  const int exponent = std::max(attempts, 1) - 1;
  // base * 2^exponent <= max  <=>  base <= floor(max / 2^exponent); checking it this way
  // round never computes a product that could overflow. A shift of 63 or more would itself
  // be undefined, and for a non-negative int64 it can only exceed max (or be 0 * 2^e).
  if (base == 0) return milliseconds::zero();
  if (exponent >= 63 || base > (max >> exponent)) return milliseconds(max);
  return milliseconds(base << exponent);
}

milliseconds Backoff(int attempts, BackoffPolicy policy, double uniform01) {
  const std::int64_t ceiling = BackoffCeiling(attempts, policy).count();
  if (!(uniform01 > 0.0)) return milliseconds::zero();  // Also catches NaN.
  if (uniform01 >= 1.0) return milliseconds(ceiling);
  // In double, ceiling + 1 cannot overflow; the product is then compared before the
  // conversion back, because converting a double >= 2^63 to int64 is undefined.
  const double scaled = std::floor(uniform01 * (static_cast<double>(ceiling) + 1.0));
  if (scaled >= static_cast<double>(ceiling)) return milliseconds(ceiling);
  return milliseconds(static_cast<std::int64_t>(scaled));
}

milliseconds NextDelay(int attempts, BackoffPolicy policy, double uniform01,
                       std::optional<milliseconds> retry_after) {
  milliseconds delay = Backoff(attempts, policy, uniform01);
  if (retry_after.has_value()) delay = std::max(delay, *retry_after);
  return std::min(delay, NonNegative(policy.max));
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view header) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!header.empty() && is_space(header.front())) header.remove_prefix(1);
  while (!header.empty() && is_space(header.back())) header.remove_suffix(1);
  if (header.empty()) return std::nullopt;

  std::int64_t seconds = 0;
  for (const char c : header) {
    if (c < '0' || c > '9') return std::nullopt;
    // Saturate instead of overflowing; keep scanning so trailing garbage is still rejected.
    seconds = std::min(seconds * 10 + (c - '0'), kRetryAfterSaturationSeconds);
  }
  return std::chrono::seconds(seconds);
}

}  // namespace redrive::decide
