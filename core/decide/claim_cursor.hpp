#pragma once

#include <compare>
#include <cstdint>
#include <optional>

namespace redrive::decide {

// A row's place in its consumer's queue: the order of outbox_claimable_idx (consumer,
// available_at, id).
struct QueuePosition {
  std::int64_t available_at_us = 0;  // microseconds since the Unix epoch, as the database has it
  std::int64_t outbox_id = 0;
  auto operator<=>(const QueuePosition&) const = default;
};

// Where a busy worker's next claim starts. Claimed rows stay at the head of the queue until
// they are completed (a claim is a HOT update: schema/006_live_outbox.sql), so a claim from
// the head walks past every row the worker still holds: its handlers' and its group commit's,
// about two batches. Starting after the last row claimed skips them.
//
// Rows can be left behind such a cursor: one another claim had locked and then gave up (a
// rolled-back transaction), or one a producer queued with an available_at in the past. So
// every `claims_per_rescan`-th claim starts from the head again, and so does the first claim
// after one that came back short (the queue was drained: the next claim is rare and cheap).
// A failed claim forgets the cursor too.
class ClaimCursor {
 public:
  explicit ClaimCursor(int claims_per_rescan) : claims_per_rescan_(claims_per_rescan) {}

  // Where the next claim starts: after the returned position, or from the head (nullopt).
  std::optional<QueuePosition> Next() {
    if (!after_ || since_rescan_ + 1 >= claims_per_rescan_) {
      since_rescan_ = 0;
      return std::nullopt;
    }
    ++since_rescan_;
    return after_;
  }

  // A claim returned `full` (as many rows as it asked for) and `last`, the greatest position
  // among its rows (none when it claimed nothing). Claims may overlap and return out of
  // order: the cursor only moves forward.
  void OnClaimed(bool full, std::optional<QueuePosition> last) {
    if (!full) {
      after_.reset();
      return;
    }
    if (last && (!after_ || *after_ < *last)) after_ = last;
  }

  void OnFailed() { after_.reset(); }

 private:
  int claims_per_rescan_;
  int since_rescan_ = 0;
  std::optional<QueuePosition> after_;
};

}  // namespace redrive::decide
