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
