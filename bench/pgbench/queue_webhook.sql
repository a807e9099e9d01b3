INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload)
VALUES (redrive_uuid_v7(), 'webhook', $2, $1,
        jsonb_build_object('order_id', $1::uuid, 'status', $3::text,
                           'amount_cents', $4::bigint, 'currency', $5::text,
                           'charge_id', NULLIF($6::text, ''),
                           'payment_event_id', NULLIF($7::text, '')::uuid))
RETURNING event_id
