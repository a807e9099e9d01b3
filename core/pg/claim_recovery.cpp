#include "core/pg/claim_recovery.hpp"

#include <pqxx/pqxx>

#include "core/pg/claim_head.hpp"

namespace redrive::pg {
namespace {

// Claimed rows are read at the head of each consumer's outbox_claimable_idx (claim_head.hpp):
// bounded by what is in flight, whatever the size of the outbox. The sessions are read once
// (a hashed subplan over pg_stat_activity), and only those of this database count: a claim
// is only ever made through a connection to it. Workers keep their instance id, at most 63
// bytes, as every session's application_name. A claim committed before this statement's
// snapshot was made by a session that existed before the sessions are read, so a live holder
// is never taken for a dead one.
const std::string kFindRecoverableClaims = kClaimHeadCte + R"sql(
SELECT o.id, o.event_id, o.consumer, o.aggregate_id, o.attempts, o.claimed_by,
       o.claimed_until::text, o.claimed_until < now(),
       extract(epoch FROM now() - o.claimed_until)::float8
FROM head o
WHERE o.claimed_by IS NOT NULL
  AND (o.claimed_until < now()
       OR o.claimed_by NOT IN (SELECT a.application_name FROM pg_stat_activity a
                               WHERE a.datname = current_database()
                                 AND a.application_name IS NOT NULL))
ORDER BY o.claimed_until, o.id
LIMIT $1
)sql";

// The compare-and-set on the claim as the scan read it: by primary key, so a point write.
// A worker that completed the row meanwhile (deleting it), released it, or re-claimed it
// after another recovery, changed one of these columns and wins.
constexpr const char* kReleaseClaim = R"sql(
UPDATE outbox
SET claimed_by = NULL, claimed_until = NULL,
    available_at = now() + make_interval(secs => $4::float8 / 1000),
    last_error = $5
WHERE id = $1 AND claimed_by = $2 AND claimed_until = $3::timestamptz AND dead_at IS NULL
)sql";

// The dead-letter move of the workers (pg::DeadLetter: the same dead_letter_events row),
// guarded by the claim as well. By primary key.
constexpr const char* kDeadLetterClaim = R"sql(
WITH dead AS (
  UPDATE outbox
  SET dead_at = now(), claimed_by = NULL, claimed_until = NULL, last_error = $5
  WHERE id = $1 AND claimed_by = $2 AND claimed_until = $3::timestamptz AND dead_at IS NULL
  RETURNING id, event_id, consumer, event_type, aggregate_id, payload, attempts
)
INSERT INTO dead_letter_events
  (outbox_id, event_id, consumer, event_type, aggregate_id, payload, reason, last_error, attempts)
SELECT id, event_id, consumer, event_type, aggregate_id, payload, $4, $5, attempts FROM dead
)sql";

std::string Bounded(const std::string& text) {
  constexpr std::size_t kMaxErrorBytes = 2000;
  return text.size() <= kMaxErrorBytes ? text : text.substr(0, kMaxErrorBytes) + "...";
}

}  // namespace

std::string_view ToString(ClaimFault fault) {
  switch (fault) {
    case ClaimFault::kExpired:
      return "expired_claim";
    case ClaimFault::kDeadWorker:
      return "dead_worker_claim";
  }
  return "unknown";
}

std::vector<RecoverableClaim> FindRecoverableClaims(pqxx::connection_base& connection, int limit) {
  pqxx::read_transaction tx(connection, "find_recoverable_claims");
  const pqxx::result rows = tx.exec_params(kFindRecoverableClaims, limit);
  tx.commit();
  std::vector<RecoverableClaim> claims;
  claims.reserve(rows.size());
  for (const auto& row : rows) {
    RecoverableClaim claim;
    claim.outbox_id = row[0].as<std::int64_t>();
    claim.event_id = row[1].as<std::string>();
    claim.consumer = row[2].as<std::string>();
    if (!row[3].is_null()) claim.aggregate_id = row[3].as<std::string>();
    claim.attempts = row[4].as<int>();
    claim.claimed_by = row[5].as<std::string>();
    claim.claimed_until = row[6].as<std::string>();
    claim.fault = row[7].as<bool>() ? ClaimFault::kExpired : ClaimFault::kDeadWorker;
    claim.overdue_seconds = row[8].as<double>();
    claims.push_back(std::move(claim));
  }
  return claims;
}

FencedWriteOutcome RecoverClaim(pqxx::connection_base& connection, const Fence& fence,
                                const RecoverableClaim& claim, const ClaimRecovery& recovery,
                                AuditEntry audit) {
  pqxx::work tx(connection, "recover_claim");
  if (!HoldsLease(tx, fence)) {
    tx.abort();
    return FencedWriteOutcome::kFenced;
  }
  FencedWriteOutcome outcome = FencedWriteOutcome::kDryRun;
  if (!audit.dry_run) {
    const std::string last_error = Bounded(recovery.last_error);
    const pqxx::result written =
        recovery.action == ClaimRecoveryAction::kRelease
            ? tx.exec_params(kReleaseClaim, claim.outbox_id, claim.claimed_by, claim.claimed_until,
                             static_cast<double>(recovery.delay.count()), last_error)
            : tx.exec_params(kDeadLetterClaim, claim.outbox_id, claim.claimed_by,
                             claim.claimed_until, recovery.dead_letter_reason, last_error);
    outcome =
        written.affected_rows() == 1 ? FencedWriteOutcome::kApplied : FencedWriteOutcome::kConflict;
  }
  audit.event_id = claim.event_id;
  audit.order_id = claim.aggregate_id;
  audit.outcome = std::string(ToString(outcome));
  AppendAudit(tx, audit);
  tx.commit();
  return outcome;
}

std::vector<ControllerScan> ClaimRecoveryScans() {
  // The skip scan over consumers may read either index that leads with consumer.
  return {{"recoverable_claims", "outbox_claimable_idx|outbox_pending_idx", kFindRecoverableClaims,
           "1000"}};
}

}  // namespace redrive::pg
