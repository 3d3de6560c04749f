-- Notify queues a notification that Postgres delivers to the channel's
-- listeners when the transaction commits (at once in autocommit), and drops
-- when it rolls back.
-- name: Notify :exec
SELECT pg_notify(@channel::text, @payload::text);
