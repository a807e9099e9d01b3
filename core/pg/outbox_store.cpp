#include "core/pg/outbox_store.hpp"

#include <algorithm>
#include <pqxx/pqxx>

namespace redrive::pg {
namespace {

// Served by outbox_claimable_idx (consumer, available_at, id) WHERE unclaimed and unfinished.
constexpr const char* kClaim = R"sql(
WITH candidates AS (
  SELECT id FROM outbox
  WHERE consumer = $1
    AND completed_at IS NULL AND dead_at IS NULL AND claimed_by IS NULL
    AND available_at <= now()
  ORDER BY available_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE outbox o
SET claimed_by = $3,
    claimed_until = now() + make_interval(secs => $4),
    attempts = o.attempts + 1
FROM candidates c
WHERE o.id = c.id
RETURNING o.id, o.event_id, o.consumer, o.event_type, o.aggregate_id,
          CASE WHEN octet_length(o.payload::text) <= $5 THEN o.payload::text END,
          octet_length(o.payload::text), o.attempts,
          extract(epoch FROM now())::float8
)sql";

constexpr const char* kComplete = R"sql(
UPDATE outbox
SET completed_at = now(), claimed_by = NULL, claimed_until = NULL, last_error = NULL
WHERE id = $1 AND completed_at IS NULL AND dead_at IS NULL
)sql";

// The completed rows feed the idempotency records directly: one round trip for a batch.
constexpr const char* kCompleteMany = R"sql(
WITH done AS (
  UPDATE outbox
  SET completed_at = now(), claimed_by = NULL, claimed_until = NULL, last_error = NULL
  WHERE id = ANY($1::bigint[]) AND completed_at IS NULL AND dead_at IS NULL
  RETURNING event_id, consumer
)
INSERT INTO processed_events (event_id, consumer)
SELECT event_id, consumer FROM done
ON CONFLICT (event_id, consumer) DO NOTHING
)sql";

constexpr const char* kRecordProcessed = R"sql(
INSERT INTO processed_events (event_id, consumer) VALUES ($1, $2)
ON CONFLICT (event_id, consumer) DO NOTHING
)sql";

constexpr const char* kRelease = R"sql(
UPDATE outbox
SET claimed_by = NULL, claimed_until = NULL,
    available_at = now() + make_interval(secs => $3::float8 / 1000),
    last_error = $4
WHERE id = $1 AND claimed_by = $2 AND completed_at IS NULL AND dead_at IS NULL
)sql";

constexpr const char* kDeadLetter = R"sql(
WITH dead AS (
  UPDATE outbox
  SET dead_at = now(), claimed_by = NULL, claimed_until = NULL, last_error = $3
  WHERE id = $1 AND completed_at IS NULL AND dead_at IS NULL
  RETURNING id, event_id, consumer, event_type, aggregate_id, payload, attempts
)
INSERT INTO dead_letter_events
  (outbox_id, event_id, consumer, event_type, aggregate_id, payload, reason, last_error, attempts)
SELECT id, event_id, consumer, event_type, aggregate_id, payload, $2, $3, attempts FROM dead
)sql";

// Served by outbox_claimed_idx.
constexpr const char* kReleaseAll = R"sql(
UPDATE outbox
SET claimed_by = NULL, claimed_until = NULL, available_at = now()
WHERE claimed_by = $1 AND completed_at IS NULL AND dead_at IS NULL
  AND claimed_until IS NOT NULL
)sql";

// Error text is stored, not interpreted: keep it bounded.
std::string Bounded(const std::string& text) {
  constexpr std::size_t kMaxErrorBytes = 2000;
  return text.size() <= kMaxErrorBytes ? text : text.substr(0, kMaxErrorBytes) + "...";
}

// Claims and plain completions need not wait for the WAL flush. If PostgreSQL crashes
// before it, a claim is simply gone (the row is claimable again) and a completion is gone
// (the event is delivered again): at-least-once delivery allows both, and every effect is
// idempotent. Whatever moves an order or money (mark, settle, dead letters) stays
// synchronous.
constexpr const char* kAsyncCommit = "SET LOCAL synchronous_commit = off";

}  // namespace

std::vector<ClaimedEvent> Claim(pqxx::connection_base& connection, const ClaimRequest& request) {
  pqxx::work tx(connection, "claim");
  tx.exec(kAsyncCommit);
  const pqxx::result rows =
      tx.exec_params(kClaim, request.consumer, request.limit, request.instance_id,
                     static_cast<double>(request.lease.count()), request.max_payload_bytes);
  tx.commit();
  std::vector<ClaimedEvent> events;
  events.reserve(rows.size());
  for (const auto& row : rows) {
    ClaimedEvent event;
    event.outbox_id = row[0].as<std::int64_t>();
    event.event_id = row[1].as<std::string>();
    event.consumer = row[2].as<std::string>();
    event.event_type = row[3].as<std::string>();
    if (!row[4].is_null()) event.aggregate_id = row[4].as<std::string>();
    if (!row[5].is_null()) event.payload = row[5].as<std::string>();
    event.payload_bytes = row[6].as<std::int64_t>();
    event.attempts = row[7].as<int>();
    event.database_now_epoch = row[8].as<double>();
    events.push_back(std::move(event));
  }
  // Rows come back in no particular order from UPDATE ... RETURNING; keep oldest first.
  std::sort(events.begin(), events.end(),
            [](const ClaimedEvent& a, const ClaimedEvent& b) { return a.outbox_id < b.outbox_id; });
  return events;
}

bool CompleteInTransaction(pqxx::transaction_base& tx, const ClaimedEvent& event) {
  const bool completed = tx.exec_params(kComplete, event.outbox_id).affected_rows() == 1;
  if (completed) tx.exec_params(kRecordProcessed, event.event_id, event.consumer);
  return completed;
}

std::int64_t CompleteMany(pqxx::connection_base& connection,
                          const std::vector<std::int64_t>& outbox_ids) {
  // libpqxx 6 has no array parameters: a PostgreSQL array literal of plain integers.
  std::string ids = "{";
  for (std::size_t i = 0; i < outbox_ids.size(); ++i) {
    ids += (i == 0 ? "" : ",") + std::to_string(outbox_ids[i]);
  }
  ids += "}";
  pqxx::work tx(connection, "complete");
  tx.exec(kAsyncCommit);
  const auto completed = tx.exec_params(kCompleteMany, ids).affected_rows();
  tx.commit();
  return static_cast<std::int64_t>(completed);
}

bool Release(pqxx::connection_base& connection, const ClaimedEvent& event,
             const std::string& instance_id, std::chrono::milliseconds delay,
             const std::string& last_error) {
  pqxx::work tx(connection, "release");
  const bool released = tx.exec_params(kRelease, event.outbox_id, instance_id,
                                       static_cast<double>(delay.count()), Bounded(last_error))
                            .affected_rows() == 1;
  tx.commit();
  return released;
}

bool DeadLetter(pqxx::connection_base& connection, const ClaimedEvent& event,
                const std::string& reason, const std::string& last_error) {
  pqxx::work tx(connection, "dead_letter");
  const bool moved =
      tx.exec_params(kDeadLetter, event.outbox_id, reason, Bounded(last_error)).affected_rows() ==
      1;
  tx.commit();
  return moved;
}

int ReleaseAllClaims(pqxx::connection_base& connection, const std::string& instance_id) {
  pqxx::work tx(connection, "release_all");
  const auto released = tx.exec_params(kReleaseAll, instance_id).affected_rows();
  tx.commit();
  return static_cast<int>(released);
}

}  // namespace redrive::pg
