#pragma once

namespace redrive::decide {

// What the worker's claim loop knows when it considers claiming another batch.
struct ClaimPacingState {
  int concurrency = 0;           // worker.concurrency: handler slots
  int inflight = 0;              // handlers running
  int queued = 0;                // claimed, waiting for a slot
  int claims_in_flight = 0;      // claim transactions not yet returned
  int pending_completions = 0;   // completed by a handler, waiting for the group commit
  bool last_claim_full = false;  // the last claim asked for and got a whole batch
  // Completions awaiting their group commit hold no slot, but claiming more while more than
  // this wait (one full group commit behind the one running) only piles up unrecorded work.
  int max_pending_completions = 0;
};

// At most this many claims overlap.
inline constexpr int kMaxClaimsInFlight = 2;

// Whether to start a claim now. The next batch is claimed while the current one runs: a
// first claim starts once every claimed event has started (running + queued <= slots). A
// second one may overlap it only while the handlers sit idle waiting for it (nothing running,
// nothing queued, and the last claim got a whole batch, so more rows are likely there):
// then the claims' round trips, not the handlers, set the pace, and two claims in flight keep the
// worker and PostgreSQL busy at once. Slow handlers never reach that state, so their
// look-ahead stays one batch and no claimed row waits long under its lease.
inline bool ShouldStartClaim(const ClaimPacingState& s) {
  if (s.pending_completions > s.max_pending_completions) return false;
  if (s.claims_in_flight == 0) return s.inflight + s.queued <= s.concurrency;
  return s.claims_in_flight < kMaxClaimsInFlight && s.inflight == 0 && s.queued == 0 &&
         s.last_claim_full;
}

}  // namespace redrive::decide
