UPDATE orders SET state = $2, version = version + 1
WHERE id = $1 AND version = $3 AND state = 'PAYMENT_PENDING'
RETURNING version, extract(epoch FROM now() - created_at)::float8
