#pragma once

#include "core/domain/clock.hpp"

namespace redrive::testing {

// A clock that moves only when the test says so.
class FakeClock final : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds by) { now_ += by; }

 private:
  TimePoint now_{std::chrono::hours(1000)};
};

}  // namespace redrive::testing
