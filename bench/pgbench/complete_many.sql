WITH done AS (
  DELETE FROM outbox
  WHERE id = ANY($1::bigint[]) AND dead_at IS NULL
  RETURNING event_id, consumer, aggregate_id, event_type, attempts, created_at
), recorded AS (
  INSERT INTO processed_events (event_id, consumer, aggregate_id, event_type, attempts, queued_at)
  SELECT event_id, consumer, aggregate_id, event_type, attempts, created_at FROM done
  ON CONFLICT (event_id, consumer) DO NOTHING
)
SELECT count(*) FROM done
