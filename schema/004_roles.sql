-- Least-privilege group roles. Each redrive component gets exactly the privileges of the SQL
-- it runs; deployers create LOGIN users that are members (docs/schema.md, "Roles"):
--   redrive_worker      claim, charge, settle, deliver, retry, dead-letter
--                       (core/pg/outbox_store.cpp, core/pg/order_store.cpp)
--   redrive_controller  scans, fenced writes, leader lease, audit, janitor
--                       (core/pg/claim_recovery.cpp, stuck_orders.cpp, outbox_health.cpp,
--                       leader_lease.cpp, fence.cpp)
--   redrive_readonly    redrivectl status, orders, order, dlq list/show, plan
--                       (core/pg/ops_inspect.cpp)
-- A table added by a later migration must grant these roles what they need there.

-- Roles are cluster-wide: creating them needs CREATEROLE. Without it, a DBA creates them
-- first (docs/schema.md) and this migration only grants. Two databases of one cluster
-- migrating at once may race to create a role: the loser's CREATE fails with a duplicate,
-- which is fine, the role exists.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['redrive_worker', 'redrive_controller', 'redrive_readonly'] LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name);
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL;
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role % does not exist and % may not create roles (no CREATEROLE): '
                        'have a DBA create redrive_worker, redrive_controller and '
                        'redrive_readonly (docs/schema.md, Roles), then migrate again',
                        role_name, current_user
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'CREATE ROLE redrive_worker NOLOGIN; CREATE ROLE redrive_controller '
                       'NOLOGIN; CREATE ROLE redrive_readonly NOLOGIN;';
    END;
  END LOOP;

  -- The schema the tables live in (PUBLIC already has USAGE on `public`; a dedicated schema
  -- needs the grant). Only when missing, so a migrating user who does not own the schema
  -- gets no "no privileges were granted" warning.
  FOREACH role_name IN ARRAY ARRAY['redrive_worker', 'redrive_controller', 'redrive_readonly'] LOOP
    IF NOT has_schema_privilege(role_name, current_schema(), 'USAGE') THEN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), role_name);
    END IF;
  END LOOP;
END
$$;

-- Functions are executable by PUBLIC unless revoked. place_order is how producers create
-- orders; none of the three roles does, and a producer is granted it explicitly
-- (docs/schema.md).
REVOKE EXECUTE ON FUNCTION place_order(text, bigint, text) FROM PUBLIC;

-- ---- redrive_worker --------------------------------------------------------------------
-- Claim / complete / release / dead-letter (outbox_store.cpp): reads whole outbox rows,
-- writes only the claim and outcome columns, never deletes.
GRANT SELECT ON outbox TO redrive_worker;
GRANT UPDATE (claimed_by, claimed_until, attempts, available_at, completed_at, dead_at,
              last_error)
  ON outbox TO redrive_worker;
-- Settle queues the PaymentSucceeded/PaymentFailed event for the webhook consumer.
GRANT INSERT (event_id, consumer, event_type, aggregate_id, payload) ON outbox TO redrive_worker;
GRANT USAGE ON SEQUENCE outbox_id_seq TO redrive_worker;
-- The order: read what a charge needs (not customer_id), move state and version, stamp the
-- charge request. Never amount_cents, currency or customer_id; never INSERT or DELETE.
GRANT SELECT (id, state, version, amount_cents, currency, charge_requested_at, created_at)
  ON orders TO redrive_worker;
GRANT UPDATE (state, version, charge_requested_at, updated_at) ON orders TO redrive_worker;
-- The idempotency record (INSERT ... ON CONFLICT (event_id, consumer) DO NOTHING).
GRANT SELECT (event_id, consumer), INSERT (event_id, consumer)
  ON processed_events TO redrive_worker;
GRANT INSERT (outbox_id, event_id, consumer, event_type, aggregate_id, payload, reason,
              last_error, attempts)
  ON dead_letter_events TO redrive_worker;
GRANT USAGE ON SEQUENCE dead_letter_events_id_seq TO redrive_worker;

-- ---- redrive_controller ----------------------------------------------------------------
-- Leader election (leader_lease.cpp) and the fence every write checks (fence.cpp:
-- SELECT ... FOR SHARE, which needs UPDATE on some column).
GRANT SELECT, INSERT (name),
      UPDATE (holder, epoch, acquired_at, renewed_at, expires_at)
  ON controller_leases TO redrive_controller;
-- Expired and orphaned claims (claim_recovery.cpp): release or dead-letter; stuck orders
-- re-emit their payment event and settlements queue webhooks; the janitor deletes
-- completed rows past retention (DELETE ... FOR UPDATE SKIP LOCKED).
GRANT SELECT, DELETE ON outbox TO redrive_controller;
GRANT UPDATE (claimed_by, claimed_until, available_at, dead_at, last_error)
  ON outbox TO redrive_controller;
GRANT INSERT (event_id, consumer, event_type, aggregate_id, payload)
  ON outbox TO redrive_controller;
GRANT USAGE ON SEQUENCE outbox_id_seq TO redrive_controller;
-- Stuck orders (stuck_orders.cpp): conditional moves out of PAYMENT_PENDING and the re-drive
-- count. Never amount_cents, currency, customer_id or charge_requested_at.
GRANT SELECT (id, state, version, amount_cents, currency, charge_requested_at, redrive_count,
              created_at, updated_at)
  ON orders TO redrive_controller;
GRANT UPDATE (state, version, redrive_count, updated_at) ON orders TO redrive_controller;
-- Janitor: the idempotency records past retention; its batch SELECT ... FOR UPDATE needs
-- UPDATE on one column, processed_at is the harmless one.
GRANT SELECT, DELETE, UPDATE (processed_at) ON processed_events TO redrive_controller;
-- Dead-letter counts, the consistency check, and dead-lettering exhausted claims.
GRANT SELECT,
      INSERT (outbox_id, event_id, consumer, event_type, aggregate_id, payload, reason,
              last_error, attempts)
  ON dead_letter_events TO redrive_controller;
GRANT USAGE ON SEQUENCE dead_letter_events_id_seq TO redrive_controller;
-- The audit trail is append-only for the controller too: INSERT, no UPDATE, no DELETE.
GRANT INSERT (actor, cycle_id, epoch, rule, order_id, event_id, state_before, version_before,
              state_after, version_after, outcome, reason, dry_run)
  ON redrive_log TO redrive_controller;
GRANT USAGE ON SEQUENCE redrive_log_id_seq TO redrive_controller;

-- ---- redrive_readonly ------------------------------------------------------------------
-- redrivectl status / orders / order / dlq list|show / plan (ops_inspect.cpp, ops_repair.cpp
-- reads, plan_commands.cpp): every table, nothing else.
GRANT SELECT ON orders, outbox, processed_events, dead_letter_events, redrive_log,
                controller_leases, schema_migrations
  TO redrive_readonly;
