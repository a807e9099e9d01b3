#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/pg/claim_recovery.hpp"
#include "core/pg/fence.hpp"

namespace pqxx {
class connection_base;
}

// The controller's housekeeping SQL: backlog and dead-letter figures, the re-NOTIFY of a
// stale backlog, the janitor's batched deletes and the read-only consistency checks. Every
// scan is served by a partial index (see docs/schema.md), so a cycle costs what the
// pending, stale or broken rows cost, never what the tables hold.
namespace redrive::pg {

// Open dead letters (neither replayed nor discarded) per consumer: (consumer, count).
// Served by dead_letter_events_open_idx. Shared by the controller's gauge and redrivectl.
inline constexpr const char* kOpenDeadLettersByConsumer = R"sql(
SELECT consumer, count(*)
FROM dead_letter_events
WHERE replayed_at IS NULL AND discarded_at IS NULL
GROUP BY consumer
)sql";

// ---- Backlog -------------------------------------------------------------------------

struct ConsumerBacklog {
  std::string consumer;
  std::int64_t pending = 0;               // neither completed nor dead (claimed ones too)
  double oldest_pending_age_seconds = 0;  // now() - the oldest pending created_at
};

// One row per consumer with pending events; consumers that have none are absent.
std::vector<ConsumerBacklog> ReadBacklog(pqxx::connection_base& connection);

// Dead letters waiting for an operator (neither replayed nor discarded), per consumer;
// consumers with none are absent.
std::map<std::string, std::int64_t> CountOpenDeadLetters(pqxx::connection_base& connection);

// Orders not yet settled, by state (PAID and FAILED are never counted: they grow forever).
struct OpenOrderCounts {
  std::int64_t created = 0;
  std::int64_t payment_pending = 0;
  std::int64_t needs_review = 0;
};
OpenOrderCounts CountOpenOrders(pqxx::connection_base& connection);

// Sends pg_notify('redrive_outbox_<consumer>', 'redrive_backlog') so idle workers that
// missed a wake-up (a dropped LISTEN connection, say) look again. Fenced and audited like
// every controller write; with audit.dry_run only the audit row is written, no NOTIFY.
// kConflict never happens here.
FencedWriteOutcome Renotify(pqxx::connection_base& connection, const Fence& fence,
                            const std::string& consumer, AuditEntry audit);

// ---- Janitor -------------------------------------------------------------------------

// Completed outbox rows are deleted at once (schema/006_live_outbox.sql): what is retained
// is their record.
enum class RetainedTable {
  kProcessedEvents,  // consumed events, by processed_at
};

// "processed_events": the metrics label `table`.
std::string_view ToString(RetainedTable table);

struct JanitorBatch {
  FencedWriteOutcome outcome = FencedWriteOutcome::kFenced;
  std::int64_t deleted = 0;
};

// Deletes at most `batch_size` rows of `table` older than `retention`, oldest first, in one
// short transaction: pg::HoldsLease first, rows that someone holds locked are skipped
// (never waited for), and one audit row when something was deleted (`audit` brings actor,
// cycle, epoch, rule and dry_run; reason and outcome are filled in here). An empty batch
// writes nothing. Must not be called with audit.dry_run: see CountPastRetention.
JanitorBatch DeleteBatchPastRetention(pqxx::connection_base& connection, const Fence& fence,
                                      RetainedTable table, std::chrono::hours retention,
                                      int batch_size, AuditEntry audit);

// Dry run: how many rows a janitor pass would delete, counting at most `cap`.
std::int64_t CountPastRetention(pqxx::connection_base& connection, RetainedTable table,
                                std::chrono::hours retention, std::int64_t cap);

// The dry-run decision of the janitor: one audit row (dry_run, outcome dry_run) saying what
// would go. Fenced like a write.
FencedWriteOutcome AuditJanitorPlan(pqxx::connection_base& connection, const Fence& fence,
                                    RetainedTable table, std::int64_t would_delete,
                                    AuditEntry audit);

// ---- Consistency ---------------------------------------------------------------------

// One invariant check: how many rows break it, and a few of their ids for the log.
struct ConsistencyFinding {
  std::string check;
  std::int64_t count = 0;
  std::vector<std::string> sample;  // at most 5 ids (event ids or order ids)
};

// Read-only; never fixes anything. The checks, by name:
// - completed_and_dead_lettered: an open dead letter whose event was consumed (it has a
//   processed_events row) (sample: event ids);
// - settled_order_with_pending_payment: a PAID or FAILED order whose payment event has been
//   pending for longer than `stuck_after` (sample: order ids);
// - created_orphan: a CREATED order older than `stuck_after` with no pending payment event
//   (dead-lettered, completed or missing), so nothing will ever move it (sample: order ids).
std::vector<ConsistencyFinding> CheckConsistency(pqxx::connection_base& connection,
                                                 std::chrono::seconds stuck_after);

// The read-only scans above with the index that must serve each, for EXPLAIN checks.
std::vector<ControllerScan> OutboxHealthScans();

}  // namespace redrive::pg
