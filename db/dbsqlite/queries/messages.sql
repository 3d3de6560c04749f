-- name: InsertMessage :exec
INSERT INTO messages (
    id, mesh_id, sender_member_id, sender_session_pubkey, sender_name, target_spec,
    priority, nonce, ciphertext, subtype, client_message_id, request_fingerprint,
    reply_to_id, created_at, expires_at
) VALUES (
    @id, @mesh_id, @sender_member_id, @sender_session_pubkey, @sender_name, @target_spec,
    @priority, @nonce, @ciphertext, @subtype, sqlc.narg('client_message_id'), @request_fingerprint,
    @reply_to_id, @created_at, @expires_at
);

-- InsertDelivery inserts one delivery; InsertDeliveries calls it per row in
-- one transaction (sqlc cannot batch on SQLite, sqlc-dev/sqlc#3802).
-- name: InsertDelivery :exec
INSERT INTO deliveries (
    message_id, mesh_id, recipient_member_id, recipient_session_pubkey, priority,
    created_at, expires_at, claimed_by, claim_expires_at, pushed_at, acked_at, expired_at
) VALUES (
    @message_id, @mesh_id, @recipient_member_id, @recipient_session_pubkey, @priority,
    @created_at, @expires_at, @claimed_by, sqlc.narg('claim_expires_at'), sqlc.narg('pushed_at'),
    sqlc.narg('acked_at'), sqlc.narg('expired_at')
);

-- name: GetMessage :one
SELECT * FROM messages WHERE id = @id;

-- name: GetMessageByClientID :one
SELECT * FROM messages WHERE sender_member_id = @sender_member_id AND client_message_id = @client_message_id;

-- FindMessagesByPrefix compares the leading characters instead of using
-- LIKE: SQLite's LIKE ignores ASCII case, and ids are case-sensitive base62.
-- name: FindMessagesByPrefix :many
SELECT * FROM messages
WHERE mesh_id = @mesh_id AND substr(id, 1, @prefix_len) = CAST(@prefix AS TEXT)
ORDER BY id
LIMIT @limit;

-- name: ListDeliveries :many
SELECT * FROM deliveries WHERE message_id = @message_id ORDER BY recipient_member_id;

-- SelectClaimableDeliveries is the first half of ClaimDeliveries: the rows a
-- session may take, oldest first. There is no FOR UPDATE SKIP LOCKED in
-- SQLite; the caller runs it and LeaseDeliveries in one write transaction
-- (BEGIN IMMEDIATE), and SQLite has one writer, so no other claim can take
-- the same rows in between. The priorities come as a JSON array because
-- sqlc.slice must be the last parameter and LIMIT comes after it.
-- name: SelectClaimableDeliveries :many
SELECT * FROM deliveries
WHERE mesh_id = @mesh_id
  AND recipient_member_id = @member_id
  AND (recipient_session_pubkey = '' OR recipient_session_pubkey = @session_pubkey)
  AND acked_at IS NULL
  AND expired_at IS NULL
  AND expires_at > @now
  AND (claim_expires_at IS NULL OR claim_expires_at <= @now OR claimed_by = @claimed_by)
  AND priority IN (SELECT value FROM json_each(@priorities))
ORDER BY created_at, message_id
LIMIT @limit;

-- LeaseDeliveries is the second half of ClaimDeliveries: it leases the rows
-- SelectClaimableDeliveries picked. sqlc.slice must stay the last parameter
-- (sqlc numbers the placeholders wrongly otherwise).
-- name: LeaseDeliveries :exec
UPDATE deliveries SET
    claimed_by = @claimed_by,
    claim_expires_at = @claim_expires_at,
    pushed_at = COALESCE(pushed_at, @now)
WHERE recipient_member_id = @recipient_member_id AND message_id IN (sqlc.slice('message_ids'));

-- ListMessagesByIDs returns the messages of claimed deliveries.
-- name: ListMessagesByIDs :many
SELECT * FROM messages WHERE id IN (sqlc.slice('ids'));

-- name: AckDelivery :execrows
UPDATE deliveries SET acked_at = COALESCE(acked_at, @acked_at)
WHERE message_id = @message_id AND recipient_member_id = @recipient_member_id;

-- name: ReleaseClaims :execrows
UPDATE deliveries SET claimed_by = '', claim_expires_at = NULL
WHERE claimed_by = @claimed_by AND acked_at IS NULL AND expired_at IS NULL;

-- name: ExpireDeliveries :execrows
UPDATE deliveries SET expired_at = @expired_at
WHERE acked_at IS NULL AND expired_at IS NULL AND expires_at <= @expired_at;

-- name: CountPendingDeliveries :one
SELECT count(*) FROM deliveries WHERE acked_at IS NULL AND expired_at IS NULL;
