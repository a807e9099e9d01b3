#include "core/decide/circuit_breaker.hpp"

#include <algorithm>

namespace redrive::decide {

int MetricValue(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return 0;
    case BreakerState::kHalfOpen:
      return 1;
    case BreakerState::kOpen:
      return 2;
  }
  return 2;
}

std::string_view ToString(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kOpen:
      return "open";
  }
  return "open";
}

CircuitBreaker::CircuitBreaker(const Clock& clock, BreakerPolicy policy)
    : clock_(clock),
      policy_{.failure_threshold = std::max(policy.failure_threshold, 1),
              .open_for = policy.open_for} {}

bool CircuitBreaker::AllowRequest() {
  const std::lock_guard lock(mutex_);
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (!OpenPeriodOverLocked()) return false;
      state_ = BreakerState::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return false;
}

bool CircuitBreaker::WouldAllowRequest() const {
  const std::lock_guard lock(mutex_);
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      return OpenPeriodOverLocked();
    case BreakerState::kHalfOpen:
      return !probe_in_flight_;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  const std::lock_guard lock(mutex_);
  switch (state_) {
    case BreakerState::kClosed:
      consecutive_failures_ = 0;
      return;
    case BreakerState::kHalfOpen:
      state_ = BreakerState::kClosed;
      consecutive_failures_ = 0;
      probe_in_flight_ = false;
      return;
    case BreakerState::kOpen:
      return;  // A straggler; only the probe may close the breaker.
  }
}

void CircuitBreaker::RecordFailure() {
  const std::lock_guard lock(mutex_);
  switch (state_) {
    case BreakerState::kClosed:
      if (++consecutive_failures_ >= policy_.failure_threshold) OpenLocked();
      return;
    case BreakerState::kHalfOpen:
      OpenLocked();
      return;
    case BreakerState::kOpen:
      return;  // A straggler; re-arming the timer would keep the breaker open forever.
  }
}

void CircuitBreaker::RecordCancelled() {
  const std::lock_guard lock(mutex_);
  if (state_ == BreakerState::kHalfOpen) probe_in_flight_ = false;
}

BreakerState CircuitBreaker::State() const {
  const std::lock_guard lock(mutex_);
  if (state_ == BreakerState::kOpen && OpenPeriodOverLocked()) return BreakerState::kHalfOpen;
  return state_;
}

bool CircuitBreaker::OpenPeriodOverLocked() const {
  return clock_.Now() - opened_at_ >= policy_.open_for;
}

void CircuitBreaker::OpenLocked() {
  state_ = BreakerState::kOpen;
  opened_at_ = clock_.Now();
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
}

}  // namespace redrive::decide
