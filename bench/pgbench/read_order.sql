SELECT state, version, amount_cents, currency FROM orders WHERE id = $1
