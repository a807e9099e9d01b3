-- The outbox holds live work only: pending, claimed, backing off, or dead-lettered rows.
-- Completing an event deletes its outbox row and writes its processed_events row in the
-- same statement; processed_events, which was already the idempotency record, is now also
-- the record of what was consumed, when and after how many attempts (it gains the columns
-- the timeline needs). Before, every event left two retained rows (a completed outbox row
-- and its processed_events row) and each claim and completion wrote a new version of the
-- outbox row into up to four indexes.
--
-- Claims write no indexed column: no index of outbox mentions claimed_by, claimed_until or
-- attempts, so PostgreSQL updates the claimed row in place (a HOT update, no index entry),
-- provided its page has room for the new version: hence fillfactor 40 (below). Measured with
-- pgbench on redrive's own claim and completion statements (batch 500, 4 clients, 2 cores,
-- fsync on): 48k jobs/s before this migration, 80k after (bench/RESULTS.md has the drain).
--
-- The price: claimed rows are no longer an index of their own. They sit at the head of
-- their consumer's outbox_claimable_idx, where claims take rows from (oldest available
-- first), and lease recovery reads them there (claim_recovery.cpp).

-- processed_events: the consumed event's order, type, attempts and queueing time, for the
-- timeline. NULL in records written before this migration whose outbox row was trimmed.
ALTER TABLE processed_events
  ADD COLUMN aggregate_id uuid        DEFAULT NULL,
  ADD COLUMN event_type   text        DEFAULT NULL,
  ADD COLUMN attempts     integer     DEFAULT NULL,
  ADD COLUMN queued_at    timestamptz DEFAULT NULL;

-- Completed rows move to their processed_events row (written with the effect, so it exists
-- unless the janitor trimmed it first) and leave the outbox.
INSERT INTO processed_events
  (event_id, consumer, processed_at, aggregate_id, event_type, attempts, queued_at)
SELECT event_id, consumer, completed_at, aggregate_id, event_type, attempts, created_at
FROM outbox
WHERE completed_at IS NOT NULL
ON CONFLICT (event_id, consumer) DO UPDATE
  SET aggregate_id = EXCLUDED.aggregate_id,
      event_type = EXCLUDED.event_type,
      attempts = EXCLUDED.attempts,
      queued_at = EXCLUDED.queued_at;
DELETE FROM outbox WHERE completed_at IS NOT NULL;

-- Every index that mentioned completed_at or claimed_by goes; the column too, so that a
-- query still asking for it fails loudly instead of finding nothing.
DROP INDEX outbox_claimable_idx;
DROP INDEX outbox_claimed_idx;
DROP INDEX outbox_pending_idx;
DROP INDEX outbox_completed_idx;
DROP INDEX outbox_completed_and_dead_idx;
ALTER TABLE outbox DROP COLUMN completed_at;

-- Workers: a consumer's live rows in availability order. Claimed rows stay in it (a claim
-- changes no indexed column) and are skipped by their claimed_by; they are the oldest
-- available rows, so they sit at the head, where lease recovery looks for them.
CREATE INDEX outbox_claimable_idx ON outbox (consumer, available_at, id) WHERE dead_at IS NULL;
-- Controller: backlog per consumer (count and oldest unfinished).
CREATE INDEX outbox_pending_idx ON outbox (consumer, created_at) WHERE dead_at IS NULL;
-- Room on every page for a claim's new row versions, which HOT keeps on the same page. A
-- claim takes the oldest rows, whole pages of them, and their old versions cannot be pruned
-- before it commits, so a page must hold each of its rows twice, the claimed version being
-- the larger (claimed_by, claimed_until): at 50, 15 to 30% of the claims of realistic rows
-- were not HOT (tests/integration/outbox_store_test.cpp); at 40, all were.
ALTER TABLE outbox SET (fillfactor = 40);

-- An order's consumed events (redrivectl order show, stuck-order classification).
CREATE INDEX processed_events_aggregate_idx ON processed_events (aggregate_id)
  WHERE aggregate_id IS NOT NULL;

-- Workers complete by deleting; they record what they consumed.
GRANT DELETE ON outbox TO redrive_worker;
GRANT INSERT (aggregate_id, event_type, attempts, queued_at) ON processed_events TO redrive_worker;
