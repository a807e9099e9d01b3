#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "core/domain/clock.hpp"

namespace redrive::decide {

// controller-runtime's timings: the lease lasts `lease`; the leader renews every `retry`
// and steps down when it has not renewed for `renew_deadline`, so it stops acting before
// its lease can expire and a standby take over (lease > renew_deadline > retry).
struct LeasePolicy {
  std::chrono::seconds lease{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry{2};
};

// What this process believes about its leadership, fed by the outcomes of acquire/renew
// attempts. Pure (time from the injected clock); thread-safe. The database's fencing is
// what makes writes safe; this only keeps a leader that lost contact from even trying.
class Leadership {
 public:
  Leadership(const Clock& clock, LeasePolicy policy) : clock_(clock), policy_(policy) {}

  // The database granted or renewed the lease at this epoch.
  void OnHeld(std::int64_t epoch);
  // The database says someone else holds it.
  void OnLost();
  // The attempt failed (database unreachable): leadership lapses at the renew deadline.
  void OnAttemptFailed();
  // Released on shutdown.
  void OnReleased() { OnLost(); }

  bool IsLeader() const;
  // The epoch to fence writes with, while leader.
  std::optional<std::int64_t> Epoch() const;
  // The epoch to present when renewing (kept through a failed attempt, so a renewal after
  // a blip keeps the same epoch when nobody took over).
  std::optional<std::int64_t> LastHeldEpoch() const;

 private:
  bool IsLeaderLocked() const;

  const Clock& clock_;
  LeasePolicy policy_;
  mutable std::mutex mutex_;
  std::optional<std::int64_t> epoch_;
  Clock::TimePoint last_renewed_{};
};

}  // namespace redrive::decide
