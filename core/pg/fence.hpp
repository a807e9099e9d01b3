#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pqxx {
class transaction_base;
}

// Fencing and the audit trail: what every controller write carries.
namespace redrive::pg {

inline constexpr const char* kControllerLease = "redrive-controller";

// Who may write: the holder of the lease at this epoch. A paused ex-leader that wakes up
// still has its old epoch, which no longer matches, so its writes are refused.
struct Fence {
  std::string lease_name = kControllerLease;
  std::string holder;
  std::int64_t epoch = 0;
};

// The first statement of every leader write transaction. Locks the lease row FOR SHARE
// while it checks that `fence` still holds an unexpired lease, so a takeover (which
// updates that row) waits for this transaction to end and cannot slip in between the
// check and the writes. False: not the leader any more; the caller must abort.
bool HoldsLease(pqxx::transaction_base& tx, const Fence& fence);

// The outcome of a fenced controller write; its text is both the audit outcome and the
// metrics label.
enum class FencedWriteOutcome {
  kApplied,   // written
  kConflict,  // the row moved since the scan (a worker finished it, say): only the audit row
  kDryRun,    // only the audit row, marked dry run
  kFenced,    // not the leader at this epoch any more: nothing written at all
};

std::string_view ToString(FencedWriteOutcome outcome);

// One redrive_log row: every action, and every dry-run decision.
struct AuditEntry {
  std::string actor;     // controller instance id, or operator:<name>
  std::string cycle_id;  // uuid text; empty for operator actions
  std::int64_t epoch = 0;
  std::string rule;  // expired_claim, dead_worker_claim, stuck_order, ...
  std::optional<std::string> order_id;
  std::optional<std::string> event_id;
  std::optional<std::string> state_before;
  std::optional<int> version_before;
  std::optional<std::string> state_after;
  std::optional<int> version_after;
  std::string outcome;  // applied, conflict, dry_run, skipped, error
  std::string reason;
  bool dry_run = false;
};

void AppendAudit(pqxx::transaction_base& tx, const AuditEntry& entry);

}  // namespace redrive::pg
