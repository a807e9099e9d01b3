-- Placing an order is one transaction: the order and its OrderCreated outbox row for the
-- payment consumer, so no order exists without the event that drives it.
CREATE FUNCTION place_order(customer text, amount_cents bigint, currency text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  new_order_id uuid := gen_random_uuid();
  normalized_currency text := upper(place_order.currency);
BEGIN
  INSERT INTO orders (id, customer_id, amount_cents, currency)
  VALUES (new_order_id, place_order.customer, place_order.amount_cents, normalized_currency);

  INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload)
  VALUES (gen_random_uuid(), 'payment', 'OrderCreated', new_order_id,
          jsonb_build_object('order_id', new_order_id,
                             'customer_id', place_order.customer,
                             'amount_cents', place_order.amount_cents,
                             'currency', normalized_currency));
  RETURN new_order_id;
END
$$;
