UPDATE outbox o
SET claimed_by = $3,
    claimed_until = now() + make_interval(secs => $4),
    attempts = o.attempts + 1
WHERE o.ctid = ANY (ARRAY(
  SELECT ctid FROM outbox
  WHERE consumer = $1
    AND dead_at IS NULL AND claimed_by IS NULL
    AND available_at <= now()
    AND ($6::bigint IS NULL
         OR (available_at, id) > (timestamptz 'epoch' + $6 * interval '1 microsecond', $7::bigint))
  ORDER BY available_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED))
RETURNING o.id, o.event_id, o.consumer, o.event_type, o.aggregate_id,
          CASE WHEN octet_length(o.payload::text) <= $5 THEN o.payload::text END,
          octet_length(o.payload::text), o.attempts,
          extract(epoch FROM now())::float8,
          (extract(epoch FROM o.available_at) * 1000000)::bigint
