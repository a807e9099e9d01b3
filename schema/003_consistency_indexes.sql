-- Consistency check (controller): an event both completed and dead-lettered. The workers'
-- and the controller's guards never let that happen, so this index stays empty and the
-- check costs nothing however large the outbox grows.
CREATE INDEX outbox_completed_and_dead_idx ON outbox (event_id)
  WHERE completed_at IS NOT NULL AND dead_at IS NOT NULL;
