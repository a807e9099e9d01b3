#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pg/controller_scan.hpp"
#include "core/pg/fence.hpp"

namespace pqxx {
class connection_base;
}

// The controller's lease recovery: outbox claims that no live worker will finish, and the
// fenced, guarded, audited writes that give them back (or dead-letter them).
namespace redrive::pg {

// Why a claim is recoverable; also the audit rule and the metrics label `kind`.
enum class ClaimFault {
  kExpired,     // "expired_claim": claimed_until has passed
  kDeadWorker,  // "dead_worker_claim": no session of this database has application_name =
                // claimed_by, so the worker is gone (PostgreSQL drops a killed process's
                // sessions at once) and its lease need not be waited out
};

std::string_view ToString(ClaimFault fault);

// A claimed, unfinished outbox row as the scan read it. claimed_by and claimed_until are
// the compare-and-set values of the write: if either moved, the write does nothing.
struct RecoverableClaim {
  std::int64_t outbox_id = 0;
  std::string event_id;
  std::string consumer;
  std::optional<std::string> aggregate_id;  // the order, for the audit trail
  int attempts = 0;                         // claims so far, the recovered one included
  std::string claimed_by;
  std::string claimed_until;  // as the database printed it; compared as timestamptz
  ClaimFault fault = ClaimFault::kExpired;
  double overdue_seconds = 0;  // now() - claimed_until; negative while the lease runs
};

// Claims whose lease expired or whose holder has no session, oldest lease first, at most
// `limit`. Read-only. The scan reads the head of each consumer's queue, where claimed rows
// are (claim_head.hpp): bounded by what is in flight, whatever the size of the outbox.
std::vector<RecoverableClaim> FindRecoverableClaims(pqxx::connection_base& connection, int limit);

enum class ClaimRecoveryAction {
  kRelease,     // claimable again at now() + delay
  kDeadLetter,  // into dead_letter_events with `dead_letter_reason`
};

struct ClaimRecovery {
  ClaimRecoveryAction action = ClaimRecoveryAction::kRelease;
  std::chrono::milliseconds delay{0};  // kRelease
  std::string dead_letter_reason;      // kDeadLetter: "max_attempts"
  std::string last_error;              // stored on the row (and the dead letter)
};

// One transaction: pg::HoldsLease(fence) first (kFenced and a rollback when it fails), then
// the write, guarded by the row's id, claimed_by and claimed_until and by it being neither
// deleted (completed) nor dead (a worker that completed the row concurrently always wins), then one
// redrive_log row. `audit` brings actor, cycle, epoch, rule, reason and dry_run; the event,
// the order and the outcome are filled in here. With audit.dry_run only the audit row is
// written.
FencedWriteOutcome RecoverClaim(pqxx::connection_base& connection, const Fence& fence,
                                const RecoverableClaim& claim, const ClaimRecovery& recovery,
                                AuditEntry audit);

std::vector<ControllerScan> ClaimRecoveryScans();

}  // namespace redrive::pg
