-- Acks find their rows by claimer and message: AckDeliveries names the
-- presence (claimed_by) and the message ids. Keyed by claimer alone, the
-- index left a scan of the presence's pending rows per ack; the primary key
-- (message first) left a scan of every recipient of a broadcast. Mirrors
-- db/dbsqlite/migrations/00002_ack_index.sql.

-- +goose Up
DROP INDEX deliveries_claimed_idx;
CREATE INDEX deliveries_claimed_idx ON deliveries (claimed_by, message_id) WHERE acked_at IS NULL AND expired_at IS NULL;

-- +goose Down
DROP INDEX deliveries_claimed_idx;
CREATE INDEX deliveries_claimed_idx ON deliveries (claimed_by) WHERE acked_at IS NULL AND expired_at IS NULL;
