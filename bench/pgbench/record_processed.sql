INSERT INTO processed_events (event_id, consumer) VALUES ($1, $2)
ON CONFLICT (event_id, consumer) DO NOTHING
