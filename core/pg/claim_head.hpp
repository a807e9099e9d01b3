#pragma once

#include <string>

namespace redrive::pg {

// Where claimed outbox rows are found. They have no index of their own: a claim changes no
// indexed column, so it is a HOT update (schema/006_live_outbox.sql). Claims take each
// consumer's oldest available rows first, so the claimed rows are the head of the
// consumer's outbox_claimable_idx (consumer, available_at, id): whatever the backlog, a
// claimed row has at most the other claimed rows and a few skipped ones before it.
//
// The head is read up to kClaimHeadRows rows per consumer: many times what a consumer holds
// in flight (replicas x (concurrency + two claim batches + pending completions), about
// 2,000 per worker at batch 500). A claimed row beyond it is found once the rows ahead of
// it are consumed; no row is lost, only recovered later.
inline constexpr int kClaimHeadRows = 50000;

// The head of one consumer's queue: its first kClaimHeadRows available, live rows, in claim
// order, with the columns lease recovery, status and a draining worker read. `consumer` is
// an SQL expression (a parameter, or a column of an outer query).
inline std::string ClaimHeadOf(const std::string& consumer) {
  return R"sql(
    SELECT o.id, o.event_id, o.consumer, o.aggregate_id, o.attempts, o.claimed_by,
           o.claimed_until
    FROM outbox o
    WHERE o.consumer = )sql" +
         consumer + R"sql( AND o.dead_at IS NULL AND o.available_at <= now()
    ORDER BY o.available_at, o.id
    LIMIT )sql" +
         std::to_string(kClaimHeadRows) + "\n";
}

// A CTE list that ends with `head`: the head of every consumer with live rows (a skip scan
// of the index: one probe per consumer). Follow it with `SELECT ... FROM head`.
inline const std::string kClaimHeadCte = R"sql(
WITH RECURSIVE consumers AS (
  (SELECT consumer FROM outbox WHERE dead_at IS NULL ORDER BY consumer LIMIT 1)
  UNION ALL
  SELECT (SELECT o.consumer FROM outbox o
          WHERE o.dead_at IS NULL AND o.consumer > c.consumer
          ORDER BY o.consumer LIMIT 1)
  FROM consumers c
  WHERE c.consumer IS NOT NULL
),
head AS (
  SELECT h.*
  FROM consumers c
  CROSS JOIN LATERAL ()sql" + ClaimHeadOf("c.consumer") +
                                         R"sql(  ) h
  WHERE c.consumer IS NOT NULL
)
)sql";

}  // namespace redrive::pg
