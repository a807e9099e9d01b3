WITH done AS (
  UPDATE outbox
  SET completed_at = now(), claimed_by = NULL, claimed_until = NULL, last_error = NULL
  WHERE id = ANY($1::bigint[]) AND completed_at IS NULL AND dead_at IS NULL
  RETURNING event_id, consumer
)
INSERT INTO processed_events (event_id, consumer)
SELECT event_id, consumer FROM done
ON CONFLICT (event_id, consumer) DO NOTHING
