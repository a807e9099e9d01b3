#include "core/decide/leadership.hpp"

namespace redrive::decide {

void Leadership::OnHeld(std::int64_t epoch) {
  std::lock_guard lock(mutex_);
  epoch_ = epoch;
  last_renewed_ = clock_.Now();
}

void Leadership::OnLost() {
  std::lock_guard lock(mutex_);
  epoch_.reset();
}

void Leadership::OnAttemptFailed() {
  std::lock_guard lock(mutex_);
  if (epoch_ && !IsLeaderLocked()) epoch_.reset();
}

bool Leadership::IsLeaderLocked() const {
  return epoch_.has_value() && clock_.Now() - last_renewed_ < policy_.renew_deadline;
}

bool Leadership::IsLeader() const {
  std::lock_guard lock(mutex_);
  return IsLeaderLocked();
}

std::optional<std::int64_t> Leadership::Epoch() const {
  std::lock_guard lock(mutex_);
  return IsLeaderLocked() ? epoch_ : std::nullopt;
}

std::optional<std::int64_t> Leadership::LastHeldEpoch() const {
  std::lock_guard lock(mutex_);
  return epoch_;
}

}  // namespace redrive::decide
