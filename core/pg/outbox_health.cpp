#include "core/pg/outbox_health.hpp"

#include <pqxx/pqxx>
#include <stdexcept>

namespace redrive::pg {
namespace {

// ---- Backlog -------------------------------------------------------------------------

// Served by outbox_pending_idx (consumer, created_at) WHERE dead_at IS NULL: the index is in
// consumer order, so this is one pass over the unfinished rows.
constexpr const char* kBacklog = R"sql(
SELECT consumer, count(*), extract(epoch FROM now() - min(created_at))::float8
FROM outbox
WHERE dead_at IS NULL
GROUP BY consumer
ORDER BY consumer
)sql";

// Open orders by state, one count per partial index so none of them reads the settled
// orders: orders_created_idx, orders_payment_pending_idx and orders_needs_review_idx.
constexpr const char* kCreatedOrders = R"sql(
SELECT count(*) FROM orders WHERE state = 'CREATED'
)sql";
constexpr const char* kPaymentPendingOrders = R"sql(
SELECT count(*) FROM orders WHERE state = 'PAYMENT_PENDING'
)sql";
constexpr const char* kNeedsReview = R"sql(
SELECT count(*) FROM orders WHERE state = 'NEEDS_REVIEW'
)sql";

// The channel of outbox_notify() (schema/001); the payload tells a worker's log why it woke.
// Delivered when the transaction commits.
constexpr const char* kRenotify = R"sql(
SELECT pg_notify('redrive_outbox_' || $1, 'redrive_backlog')
)sql";

// ---- Janitor -------------------------------------------------------------------------

// Served by processed_events_processed_at_idx (processed_at), then by the primary key.
constexpr const char* kDeleteProcessedEvents = R"sql(
DELETE FROM processed_events
WHERE (event_id, consumer) IN (SELECT event_id, consumer FROM processed_events
                               WHERE processed_at < now() - make_interval(hours => $1)
                               ORDER BY processed_at
                               LIMIT $2
                               FOR UPDATE SKIP LOCKED)
)sql";

// Served by processed_events_processed_at_idx; stops counting at $2.
constexpr const char* kCountProcessedEvents = R"sql(
SELECT count(*) FROM (SELECT 1 FROM processed_events
                      WHERE processed_at < now() - make_interval(hours => $1)
                      LIMIT $2) past
)sql";

// A stuck lock must not hold the janitor (or what waits behind it) for long.
constexpr const char* kJanitorLockTimeout = "SET LOCAL lock_timeout = '2s'";

// ---- Consistency ---------------------------------------------------------------------

// An event consumed (its processed_events row) and still dead-lettered: an open dead letter.
// Reads the open dead letters only (dead_letter_events_open_idx), each looked up in
// processed_events by its primary key. A completion deletes only a live outbox row and a
// dead-letter move only takes one, so the guards keep this empty. The lookup is a LATERAL
// ... LIMIT 1, not a join: the planner misjudges how many dead letters are open (replayed_at
// and discarded_at are NULL together far less often than apart), and as a join it would
// hash all of processed_events, every event consumed within retention.
constexpr const char* kCompletedAndDeadLettered = R"sql(
WITH broken AS (
  SELECT DISTINCT d.event_id FROM dead_letter_events d
  CROSS JOIN LATERAL (SELECT 1 FROM processed_events p
                      WHERE p.event_id = d.event_id AND p.consumer = d.consumer
                      LIMIT 1) consumed
  WHERE d.replayed_at IS NULL AND d.discarded_at IS NULL
)
SELECT event_id::text, count(*) OVER () FROM broken ORDER BY event_id LIMIT 5
)sql";

// Served by outbox_pending_idx (consumer, created_at): the payment backlog older than $1,
// each order then read by primary key.
constexpr const char* kSettledWithPendingPayment = R"sql(
WITH broken AS (
  SELECT DISTINCT o.id FROM outbox e
  JOIN orders o ON o.id = e.aggregate_id
  WHERE e.consumer = 'payment' AND e.dead_at IS NULL
    AND e.created_at < now() - make_interval(secs => $1)
    AND o.state IN ('PAID', 'FAILED')
)
SELECT id::text, count(*) OVER () FROM broken ORDER BY id LIMIT 5
)sql";

// Served by orders_created_idx (created_at) WHERE state = 'CREATED', each order's payment
// events then read by outbox_aggregate_idx (aggregate_id, consumer).
constexpr const char* kCreatedOrphans = R"sql(
SELECT o.id::text, count(*) OVER ()
FROM orders o
WHERE o.state = 'CREATED' AND o.created_at < now() - make_interval(secs => $1)
  AND NOT EXISTS (SELECT 1 FROM outbox e
                  WHERE e.aggregate_id = o.id AND e.consumer = 'payment'
                    AND e.dead_at IS NULL)
ORDER BY o.created_at
LIMIT 5
)sql";

ConsistencyFinding ReadFinding(const std::string& check, const pqxx::result& rows) {
  ConsistencyFinding finding;
  finding.check = check;
  for (const auto& row : rows) {
    finding.sample.push_back(row[0].as<std::string>());
    finding.count = row[1].as<std::int64_t>();
  }
  return finding;
}

struct JanitorStatements {
  const char* delete_batch;
  const char* count;
};

JanitorStatements Statements(RetainedTable table) {
  switch (table) {
    case RetainedTable::kProcessedEvents:
      return {.delete_batch = kDeleteProcessedEvents, .count = kCountProcessedEvents};
  }
  throw std::logic_error("janitor: unknown retained table");
}

int HoursParameter(std::chrono::hours retention) {
  return static_cast<int>(retention.count());
}

}  // namespace

std::vector<ConsumerBacklog> ReadBacklog(pqxx::connection_base& connection) {
  pqxx::read_transaction tx(connection, "read_backlog");
  const pqxx::result rows = tx.exec(kBacklog);
  tx.commit();
  std::vector<ConsumerBacklog> backlog;
  for (const auto& row : rows) {
    backlog.push_back({.consumer = row[0].as<std::string>(),
                       .pending = row[1].as<std::int64_t>(),
                       .oldest_pending_age_seconds = row[2].as<double>()});
  }
  return backlog;
}

std::map<std::string, std::int64_t> CountOpenDeadLetters(pqxx::connection_base& connection) {
  pqxx::read_transaction tx(connection, "count_dead_letters");
  const pqxx::result rows = tx.exec(kOpenDeadLettersByConsumer);
  tx.commit();
  std::map<std::string, std::int64_t> counts;
  for (const auto& row : rows) counts[row[0].as<std::string>()] = row[1].as<std::int64_t>();
  return counts;
}

OpenOrderCounts CountOpenOrders(pqxx::connection_base& connection) {
  pqxx::read_transaction tx(connection, "count_open_orders");
  OpenOrderCounts counts;
  counts.created = tx.exec1(kCreatedOrders)[0].as<std::int64_t>();
  counts.payment_pending = tx.exec1(kPaymentPendingOrders)[0].as<std::int64_t>();
  counts.needs_review = tx.exec1(kNeedsReview)[0].as<std::int64_t>();
  tx.commit();
  return counts;
}

FencedWriteOutcome Renotify(pqxx::connection_base& connection, const Fence& fence,
                            const std::string& consumer, AuditEntry audit) {
  pqxx::work tx(connection, "renotify");
  if (!HoldsLease(tx, fence)) {
    tx.abort();
    return FencedWriteOutcome::kFenced;
  }
  const auto outcome = audit.dry_run ? FencedWriteOutcome::kDryRun : FencedWriteOutcome::kApplied;
  if (!audit.dry_run) tx.exec_params(kRenotify, consumer);
  audit.outcome = std::string(ToString(outcome));
  AppendAudit(tx, audit);
  tx.commit();
  return outcome;
}

std::string_view ToString(RetainedTable table) {
  switch (table) {
    case RetainedTable::kProcessedEvents:
      return "processed_events";
  }
  return "unknown";
}

JanitorBatch DeleteBatchPastRetention(pqxx::connection_base& connection, const Fence& fence,
                                      RetainedTable table, std::chrono::hours retention,
                                      int batch_size, AuditEntry audit) {
  pqxx::work tx(connection, "janitor");
  if (!HoldsLease(tx, fence)) {
    tx.abort();
    return {.outcome = FencedWriteOutcome::kFenced, .deleted = 0};
  }
  tx.exec0(kJanitorLockTimeout);
  const char* sql = Statements(table).delete_batch;
  const auto deleted = static_cast<std::int64_t>(
      tx.exec_params(sql, HoursParameter(retention), batch_size).affected_rows());
  if (deleted == 0) {
    tx.abort();
    return {.outcome = FencedWriteOutcome::kApplied, .deleted = 0};
  }
  audit.outcome = std::string(ToString(FencedWriteOutcome::kApplied));
  audit.reason = "deleted " + std::to_string(deleted) + " " + std::string(ToString(table)) +
                 " rows older than " + std::to_string(retention.count()) + "h";
  AppendAudit(tx, audit);
  tx.commit();
  return {.outcome = FencedWriteOutcome::kApplied, .deleted = deleted};
}

std::int64_t CountPastRetention(pqxx::connection_base& connection, RetainedTable table,
                                std::chrono::hours retention, std::int64_t cap) {
  pqxx::read_transaction tx(connection, "janitor_count");
  const char* sql = Statements(table).count;
  const auto count = tx.exec_params1(sql, HoursParameter(retention), cap)[0].as<std::int64_t>();
  tx.commit();
  return count;
}

FencedWriteOutcome AuditJanitorPlan(pqxx::connection_base& connection, const Fence& fence,
                                    RetainedTable table, std::int64_t would_delete,
                                    AuditEntry audit) {
  pqxx::work tx(connection, "janitor_plan");
  if (!HoldsLease(tx, fence)) {
    tx.abort();
    return FencedWriteOutcome::kFenced;
  }
  audit.dry_run = true;
  audit.outcome = std::string(ToString(FencedWriteOutcome::kDryRun));
  audit.reason = "would delete " + std::to_string(would_delete) + " " +
                 std::string(ToString(table)) + " rows past retention";
  AppendAudit(tx, audit);
  tx.commit();
  return FencedWriteOutcome::kDryRun;
}

std::vector<ConsistencyFinding> CheckConsistency(pqxx::connection_base& connection,
                                                 std::chrono::seconds stuck_after) {
  // One snapshot for all checks, so they describe the same moment.
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "consistency");
  const auto stuck = static_cast<double>(stuck_after.count());
  std::vector<ConsistencyFinding> findings;
  findings.push_back(
      ReadFinding("completed_and_dead_lettered", tx.exec(kCompletedAndDeadLettered)));
  findings.push_back(ReadFinding("settled_order_with_pending_payment",
                                 tx.exec_params(kSettledWithPendingPayment, stuck)));
  findings.push_back(ReadFinding("created_orphan", tx.exec_params(kCreatedOrphans, stuck)));
  tx.commit();
  return findings;
}

std::vector<ControllerScan> OutboxHealthScans() {
  return {
      {"backlog", "outbox_pending_idx", kBacklog, ""},
      {"open_dead_letters", "dead_letter_events_open_idx", kOpenDeadLettersByConsumer, ""},
      {"created_orders", "orders_created_idx", kCreatedOrders, ""},
      {"payment_pending_orders", "orders_payment_pending_idx", kPaymentPendingOrders, ""},
      {"needs_review", "orders_needs_review_idx", kNeedsReview, ""},
      {"janitor_processed_events", "processed_events_processed_at_idx", kDeleteProcessedEvents,
       "168, 1000"},
      {"janitor_count_processed_events", "processed_events_processed_at_idx", kCountProcessedEvents,
       "168, 20000"},
      {"completed_and_dead_lettered", "dead_letter_events_open_idx", kCompletedAndDeadLettered, ""},
      // outbox_claimable_idx has the same predicate and leading column: either index reads
      // just the consumer's live rows.
      {"settled_order_with_pending_payment", "outbox_pending_idx|outbox_claimable_idx",
       kSettledWithPendingPayment, "120"},
      {"created_orphan", "orders_created_idx", kCreatedOrphans, "120"},
  };
}

}  // namespace redrive::pg
