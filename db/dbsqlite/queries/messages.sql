-- InsertMessage inserts one message; InsertMessages calls it per message in
-- one transaction (sqlc cannot batch on SQLite, sqlc-dev/sqlc#3802).
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
SELECT * FROM deliveries WHERE message_id = @message_id ORDER BY recipient_member_id, recipient_session_pubkey;

-- ClaimDeliveries leases the oldest deliverable rows of one recipient in one
-- statement and returns them as leased. There is no FOR UPDATE SKIP LOCKED
-- in SQLite, and no need for it: a write statement holds the database's only
-- write lock, so no other claim can take the same rows in between. The inner
-- SELECT picks the rows by rowid, so the UPDATE leases exactly those (a
-- message may have a member row and a session row, and LIMIT may keep one of
-- them). RETURNING has no order: the caller sorts by (created_at,
-- message_id, recipient_session_pubkey). The priorities come as a JSON array
-- because sqlc.slice must be the last parameter and LIMIT comes after it.
-- name: ClaimDeliveries :many
UPDATE deliveries SET
    claimed_by = @claimed_by,
    claim_expires_at = @lease_until,
    pushed_at = COALESCE(pushed_at, @now)
WHERE rowid IN (
    SELECT c.rowid FROM deliveries AS c
    WHERE c.mesh_id = @mesh_id
      AND c.recipient_member_id = @member_id
      AND (c.recipient_session_pubkey = '' OR c.recipient_session_pubkey = @session_pubkey)
      AND c.acked_at IS NULL
      AND c.expired_at IS NULL
      AND c.expires_at > @now
      AND (c.claim_expires_at IS NULL OR c.claim_expires_at <= @now)
      AND c.priority IN (SELECT value FROM json_each(@priorities))
    ORDER BY c.created_at, c.message_id, c.recipient_session_pubkey
    LIMIT @limit
)
RETURNING *;

-- ListMessagesByIDs returns the messages of claimed deliveries. The ids come
-- as a JSON array, so that the query text is one, whatever their number (a
-- sqlc.slice makes a query per length, each prepared apart).
-- name: ListMessagesByIDs :many
SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(@ids));

-- AckDeliveries acks, in one statement, the rows of those messages claimed
-- by one presence that are not acked yet; the row count is how many were
-- newly acked. The ids come as a JSON array, so no list is too long for
-- SQLite's limit on bound parameters; deliveries_claimed_idx (claimer,
-- message) finds the rows.
-- name: AckDeliveries :execrows
UPDATE deliveries SET acked_at = COALESCE(acked_at, @acked_at)
WHERE message_id IN (SELECT value FROM json_each(@message_ids))
  AND claimed_by = @claimed_by
  AND acked_at IS NULL AND expired_at IS NULL;

-- A session gone for good leaves its pending rows of group and broadcast
-- messages (readable by any session: they are not sealed to its key) to its
-- member. DropSessionCopies deletes those the member has another row of;
-- MoveSessionRows gives the rest to the member, unclaimed.
-- name: DropSessionCopies :execrows
DELETE FROM deliveries
WHERE rowid IN (
  SELECT d.rowid FROM deliveries AS d
  WHERE d.mesh_id = @mesh_id AND d.recipient_member_id = @member_id
    AND d.recipient_session_pubkey = @session_pubkey
    AND d.acked_at IS NULL AND d.expired_at IS NULL
    AND d.message_id IN (SELECT m.id FROM messages AS m WHERE m.target_spec LIKE '@%' OR m.target_spec = '*')
    AND EXISTS (
      SELECT 1 FROM deliveries AS o
      WHERE o.message_id = d.message_id AND o.recipient_member_id = d.recipient_member_id
        AND o.recipient_session_pubkey <> d.recipient_session_pubkey
    )
);

-- name: MoveSessionRows :execrows
UPDATE deliveries SET recipient_session_pubkey = '', claimed_by = '', claim_expires_at = NULL
WHERE deliveries.mesh_id = @mesh_id AND deliveries.recipient_member_id = @member_id
  AND deliveries.recipient_session_pubkey = @session_pubkey
  AND deliveries.acked_at IS NULL AND deliveries.expired_at IS NULL
  AND deliveries.message_id IN (SELECT m.id FROM messages AS m WHERE m.target_spec LIKE '@%' OR m.target_spec = '*');

-- name: ReleaseClaims :execrows
UPDATE deliveries SET claimed_by = '', claim_expires_at = NULL
WHERE claimed_by = @claimed_by AND acked_at IS NULL AND expired_at IS NULL;

-- name: ListLapsedClaims :many
SELECT DISTINCT mesh_id, recipient_member_id FROM deliveries
WHERE claimed_by <> '' AND claim_expires_at <= @now
  AND acked_at IS NULL AND expired_at IS NULL
LIMIT @lim;

-- name: ExpireDeliveries :execrows
UPDATE deliveries SET expired_at = @expired_at
WHERE acked_at IS NULL AND expired_at IS NULL AND expires_at <= @expired_at;

-- name: CountPendingDeliveries :one
SELECT count(*) FROM deliveries WHERE acked_at IS NULL AND expired_at IS NULL;
