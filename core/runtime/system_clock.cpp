// The one file allowed to read real time sources.
#include "core/runtime/system_clock.hpp"

namespace redrive::runtime {

Clock::TimePoint SystemClock::Now() const {
  return std::chrono::steady_clock::now();
}

std::chrono::system_clock::time_point WallTimeNow() {
  return std::chrono::system_clock::now();
}

}  // namespace redrive::runtime
