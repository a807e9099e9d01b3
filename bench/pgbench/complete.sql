UPDATE outbox
SET completed_at = now(), claimed_by = NULL, claimed_until = NULL, last_error = NULL
WHERE id = $1 AND completed_at IS NULL AND dead_at IS NULL
