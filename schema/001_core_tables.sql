-- redrive core schema: orders, the transactional outbox, idempotency records, dead letters,
-- the audit log and the controller's leader lease. See docs/schema.md for the why.

CREATE TABLE orders (
  id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id         text        NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 200),
  amount_cents        bigint      NOT NULL CHECK (amount_cents > 0),
  currency            char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  state               text        NOT NULL DEFAULT 'CREATED'
                      CHECK (state IN ('CREATED', 'PAYMENT_PENDING', 'PAID', 'FAILED', 'NEEDS_REVIEW')),
  version             integer     NOT NULL DEFAULT 1,   -- optimistic lock: every write bumps it
  charge_requested_at timestamptz,                      -- set before the first gateway call
  redrive_count       integer     NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Controller: stuck PAYMENT_PENDING orders, oldest first.
CREATE INDEX orders_payment_pending_idx ON orders (updated_at) WHERE state = 'PAYMENT_PENDING';
-- Controller: CREATED orders whose payment event is dead-lettered or missing.
CREATE INDEX orders_created_idx ON orders (created_at) WHERE state = 'CREATED';
-- Operators and the needs-review gauge.
CREATE INDEX orders_needs_review_idx ON orders (updated_at) WHERE state = 'NEEDS_REVIEW';

-- updated_at follows every write, so "stuck for N seconds" means "nobody touched it". A
-- write that sets updated_at itself keeps its value (tests and repairs backdate rows).
CREATE FUNCTION orders_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER orders_touch_updated_at BEFORE UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION orders_touch_updated_at();

-- One row per (event, consumer). Only event_id, consumer, event_type and payload have no
-- default, so any producer can insert with plain SQL.
CREATE TABLE outbox (
  id            bigserial   PRIMARY KEY,
  event_id      uuid        NOT NULL,
  consumer      text        NOT NULL CHECK (consumer ~ '^[a-z][a-z0-9_]{0,39}$'),
  event_type    text        NOT NULL,
  aggregate_id  uuid        DEFAULT NULL,
  payload       jsonb       NOT NULL,
  attempts      integer     NOT NULL DEFAULT 0,     -- claims so far, the current one included
  available_at  timestamptz NOT NULL DEFAULT now(), -- not before: backoff after a failure
  claimed_by    text        DEFAULT NULL,           -- worker instance id (its application_name)
  claimed_until timestamptz DEFAULT NULL,           -- lease end
  completed_at  timestamptz DEFAULT NULL,
  dead_at       timestamptz DEFAULT NULL,           -- moved to dead_letter_events
  last_error    text        DEFAULT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT outbox_event_consumer_key UNIQUE (event_id, consumer),
  CONSTRAINT outbox_claim_consistent CHECK ((claimed_by IS NULL) = (claimed_until IS NULL))
);

-- Workers: claimable rows of one consumer, in availability order (FOR UPDATE SKIP LOCKED).
CREATE INDEX outbox_claimable_idx ON outbox (consumer, available_at, id)
  WHERE completed_at IS NULL AND dead_at IS NULL AND claimed_by IS NULL;
-- Controller: live and expired claims (lease recovery, dead-worker detection).
CREATE INDEX outbox_claimed_idx ON outbox (claimed_until)
  WHERE completed_at IS NULL AND dead_at IS NULL AND claimed_by IS NOT NULL;
-- Controller: backlog per consumer (count and oldest pending).
CREATE INDEX outbox_pending_idx ON outbox (consumer, created_at)
  WHERE completed_at IS NULL AND dead_at IS NULL;
-- Janitor: completed rows past retention.
CREATE INDEX outbox_completed_idx ON outbox (completed_at) WHERE completed_at IS NOT NULL;
-- An order's events (stuck-order classification, redrivectl timeline).
CREATE INDEX outbox_aggregate_idx ON outbox (aggregate_id, consumer) WHERE aggregate_id IS NOT NULL;

-- Wake idle workers at once; each consumer listens on its own channel.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('redrive_outbox_' || NEW.consumer, NEW.event_type);
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH ROW EXECUTE FUNCTION outbox_notify();

-- The idempotency record, written in the same transaction as the effect.
CREATE TABLE processed_events (
  event_id     uuid        NOT NULL,
  consumer     text        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, consumer)
);
-- Janitor.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);

-- Poison and exhausted events, kept with the reason until an operator replays or discards.
CREATE TABLE dead_letter_events (
  id           bigserial   PRIMARY KEY,
  outbox_id    bigint      NOT NULL,
  event_id     uuid        NOT NULL,
  consumer     text        NOT NULL,
  event_type   text        NOT NULL,
  aggregate_id uuid        DEFAULT NULL,
  payload      jsonb       NOT NULL,
  reason       text        NOT NULL,
  last_error   text        DEFAULT NULL,
  attempts     integer     NOT NULL DEFAULT 0,
  failed_at    timestamptz NOT NULL DEFAULT now(),
  replayed_at  timestamptz DEFAULT NULL,
  discarded_at timestamptz DEFAULT NULL
);
-- redrivectl dead-letters list and the dead-letter gauge: the ones still waiting.
CREATE INDEX dead_letter_events_open_idx ON dead_letter_events (consumer, failed_at)
  WHERE replayed_at IS NULL AND discarded_at IS NULL;
CREATE INDEX dead_letter_events_event_idx ON dead_letter_events (event_id);

-- Append-only audit of every action the controller or an operator takes.
CREATE TABLE redrive_log (
  id              bigserial   PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  actor           text        NOT NULL,   -- controller instance id, or operator:<name>
  cycle_id        uuid        DEFAULT NULL,
  epoch           bigint      DEFAULT NULL,
  rule            text        NOT NULL,   -- expired_claim, stuck_order, dead_letter_replay, ...
  order_id        uuid        DEFAULT NULL,
  event_id        uuid        DEFAULT NULL,
  state_before    text        DEFAULT NULL,
  version_before  integer     DEFAULT NULL,
  state_after     text        DEFAULT NULL,
  version_after   integer     DEFAULT NULL,
  outcome         text        NOT NULL,   -- applied, skipped, conflict, dry_run, error
  reason          text        DEFAULT NULL,
  dry_run         boolean     NOT NULL DEFAULT false
);
CREATE INDEX redrive_log_order_idx ON redrive_log (order_id, at) WHERE order_id IS NOT NULL;
CREATE INDEX redrive_log_at_idx ON redrive_log (at);

CREATE FUNCTION redrive_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'redrive_log is append-only';
END
$$;
CREATE TRIGGER redrive_log_append_only BEFORE UPDATE ON redrive_log
  FOR EACH ROW EXECUTE FUNCTION redrive_log_append_only();

-- Leader election: one row per lease, judged by the database's now(). The epoch grows on
-- every takeover and fences the leader's writes.
CREATE TABLE controller_leases (
  name        text        PRIMARY KEY,
  holder      text        DEFAULT NULL,
  epoch       bigint      NOT NULL DEFAULT 0,
  acquired_at timestamptz DEFAULT NULL,
  renewed_at  timestamptz DEFAULT NULL,
  expires_at  timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO controller_leases (name) VALUES ('redrive-controller');
