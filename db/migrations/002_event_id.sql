-- Idempotency: a client may give each event a UUID; a retried event whose id is already
-- stored is acknowledged and not stored again — within a batch, across batches, across restarts.
-- NULLs never conflict, so events without an id behave as before.
ALTER TABLE user_metrics ADD COLUMN event_id uuid;
CREATE UNIQUE INDEX user_metrics_event_id_key ON user_metrics (event_id);
