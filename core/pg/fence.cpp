#include "core/pg/fence.hpp"

#include <pqxx/pqxx>

namespace redrive::pg {
namespace {

constexpr const char* kHoldsLease = R"sql(
SELECT 1 FROM controller_leases
WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()
FOR SHARE
)sql";

// NULLIF turns our "absent" encodings ('' and -1) into NULL: libpqxx 6 has no optional
// parameters.
constexpr const char* kAppendAudit = R"sql(
INSERT INTO redrive_log (actor, cycle_id, epoch, rule, order_id, event_id, state_before,
                         version_before, state_after, version_after, outcome, reason, dry_run)
VALUES ($1, NULLIF($2, '')::uuid, $3, $4, NULLIF($5, '')::uuid, NULLIF($6, '')::uuid,
        NULLIF($7, ''), NULLIF($8, -1), NULLIF($9, ''), NULLIF($10, -1), $11, NULLIF($12, ''),
        $13)
)sql";

}  // namespace

bool HoldsLease(pqxx::transaction_base& tx, const Fence& fence) {
  return !tx.exec_params(kHoldsLease, fence.lease_name, fence.holder, fence.epoch).empty();
}

std::string_view ToString(FencedWriteOutcome outcome) {
  switch (outcome) {
    case FencedWriteOutcome::kApplied:
      return "applied";
    case FencedWriteOutcome::kConflict:
      return "conflict";
    case FencedWriteOutcome::kDryRun:
      return "dry_run";
    case FencedWriteOutcome::kFenced:
      return "fenced";
  }
  return "unknown";
}

void AppendAudit(pqxx::transaction_base& tx, const AuditEntry& entry) {
  tx.exec_params(kAppendAudit, entry.actor, entry.cycle_id, entry.epoch, entry.rule,
                 entry.order_id.value_or(""), entry.event_id.value_or(""),
                 entry.state_before.value_or(""), entry.version_before.value_or(-1),
                 entry.state_after.value_or(""), entry.version_after.value_or(-1), entry.outcome,
                 entry.reason, entry.dry_run);
}

}  // namespace redrive::pg
