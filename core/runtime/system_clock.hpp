#pragma once

#include <chrono>

#include "core/domain/clock.hpp"

namespace redrive::runtime {

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override;
};

// Wall-clock time for log lines and metrics timestamps only; never for decisions.
std::chrono::system_clock::time_point WallTimeNow();

}  // namespace redrive::runtime
