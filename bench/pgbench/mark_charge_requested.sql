UPDATE orders
SET state = 'PAYMENT_PENDING', version = version + 1,
    charge_requested_at = coalesce(charge_requested_at, now())
WHERE id = $1 AND version = $2 AND state IN ('CREATED', 'PAYMENT_PENDING')
RETURNING version, extract(epoch FROM now() - charge_requested_at)::float8
