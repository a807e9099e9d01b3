#pragma once

#include <chrono>
#include <mutex>
#include <string_view>

#include "core/domain/clock.hpp"

namespace redrive::decide {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// The value of the redrive_circuit_breaker_state gauge: 0 closed, 1 half-open, 2 open
// (ordered by severity, so max() over replicas is meaningful on a dashboard).
int MetricValue(BreakerState state);

// "closed", "open", "half_open" for log lines.
std::string_view ToString(BreakerState state);

struct BreakerPolicy {
  // Consecutive failures (while closed) that open the breaker. Values below 1 act as 1.
  int failure_threshold = 5;
  // How long the breaker stays open before it lets one probe through.
  std::chrono::milliseconds open_for{30'000};
};

// A circuit breaker in front of a dependency (the payment gateway), shared by every
// in-flight request of a process, hence thread-safe.
//
//   closed    --failure_threshold consecutive failures-->  open
//   open      --open_for elapsed, next AllowRequest-->      half-open (that call is the probe)
//   half-open --probe succeeds-->                           closed (failures reset)
//   half-open --probe fails-->                              open (with a fresh open_for)
//
// Contract: every AllowRequest() that returned true is followed by exactly one of
// RecordSuccess(), RecordFailure() or RecordCancelled(). Otherwise a lost probe would keep
// the breaker half-open, refusing everything, forever.
//
// Outcomes reported while open (stragglers that started before the breaker opened) are
// ignored: they neither close it nor extend its timer. In half-open, any reported outcome
// is taken as the probe's; stragglers are done by then as long as request deadlines are
// shorter than open_for.
class CircuitBreaker {
 public:
  CircuitBreaker(const Clock& clock, BreakerPolicy policy);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Asks permission to send one request. Closed: yes. Open: no, until open_for has
  // elapsed; then the breaker goes half-open and this caller becomes the single probe.
  // Half-open: yes only if no probe is in flight.
  bool AllowRequest();

  // Like AllowRequest but takes nothing: whether a request would be allowed now. For a
  // consumer deciding whether to claim work at all, so it stops claiming (instead of
  // burning attempts) while the breaker is open. Two callers may both see true; only one
  // of them will then get the probe.
  bool WouldAllowRequest() const;

  // The dependency answered properly. Closed: resets the consecutive-failure count.
  // Half-open: closes the breaker.
  void RecordSuccess();

  // The dependency failed (timeout, connection error, 5xx, ...). Closed: counts towards
  // the threshold. Half-open: the probe failed, open again for a fresh open_for.
  void RecordFailure();

  // The allowed request was not sent, or its outcome says nothing about the
  // dependency's health (shutdown, the order turned out terminal). Frees the probe slot.
  void RecordCancelled();

  // The effective state: an open breaker whose open_for has elapsed reports half-open,
  // since the next AllowRequest() will let a probe through.
  BreakerState State() const;

 private:
  bool OpenPeriodOverLocked() const;
  void OpenLocked();

  const Clock& clock_;
  const BreakerPolicy policy_;

  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutive_failures_ = 0;
  Clock::TimePoint opened_at_{};
  bool probe_in_flight_ = false;
};

}  // namespace redrive::decide
