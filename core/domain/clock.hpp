#pragma once

#include <chrono>

namespace redrive {

// Monotonic time, injected everywhere. Only core/runtime/system_clock.cpp reads the real
// clock; tests use tests/support/fake_clock.hpp and never sleep. Durable time (leases,
// available_at) always comes from PostgreSQL's now(), never from here.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

}  // namespace redrive
