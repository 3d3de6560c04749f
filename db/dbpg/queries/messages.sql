-- InsertMessages copies a batch of messages in one COPY, which inserts all
-- of them or none: a client message id conflict fails the whole statement.
-- name: InsertMessages :copyfrom
INSERT INTO messages (
    id, mesh_id, sender_member_id, sender_session_pubkey, sender_name, target_spec,
    priority, nonce, ciphertext, subtype, client_message_id, request_fingerprint,
    reply_to_id, created_at, expires_at
) VALUES (
    @id, @mesh_id, @sender_member_id, @sender_session_pubkey, @sender_name, @target_spec,
    @priority, @nonce, @ciphertext, @subtype, @client_message_id, @request_fingerprint,
    @reply_to_id, @created_at, @expires_at
);

-- name: InsertDeliveries :copyfrom
INSERT INTO deliveries (
    message_id, mesh_id, recipient_member_id, recipient_session_pubkey, priority,
    created_at, expires_at, claimed_by, claim_expires_at, pushed_at, acked_at, expired_at
) VALUES (
    @message_id, @mesh_id, @recipient_member_id, @recipient_session_pubkey, @priority,
    @created_at, @expires_at, @claimed_by, @claim_expires_at, @pushed_at, @acked_at, @expired_at
);

-- name: GetMessage :one
SELECT * FROM messages WHERE id = @id;

-- name: GetMessageByClientID :one
SELECT * FROM messages
WHERE sender_member_id = @sender_member_id AND client_message_id = @client_message_id::text;

-- name: FindMessagesByPrefix :many
SELECT * FROM messages
WHERE mesh_id = @mesh_id AND starts_with(id, @prefix::text)
ORDER BY id COLLATE "C"
LIMIT @lim;

-- name: ListDeliveries :many
SELECT * FROM deliveries
WHERE message_id = @message_id
ORDER BY recipient_member_id COLLATE "C", recipient_session_pubkey COLLATE "C";

-- ClaimDeliveries leases the oldest deliverable rows of one recipient in a
-- single statement. The inner SELECT locks the rows it picks and skips rows
-- another claimer holds, so concurrent claims get disjoint rows; a row a
-- concurrent claimer committed first is re-checked against the WHERE clause
-- and dropped. A row the claiming presence itself holds under a running
-- lease is not claimed again (it is in flight; the claim would push it
-- twice): release it first (ReleaseClaims) to push it again.
-- Each row comes back with its message. RETURNING has no order: the caller
-- sorts by (created_at, message_id, recipient_session_pubkey).
-- name: ClaimDeliveries :many
UPDATE deliveries AS d
SET claimed_by       = @claimed_by,
    claim_expires_at = @lease_until::timestamptz,
    pushed_at        = COALESCE(d.pushed_at, @now::timestamptz)
FROM (
    SELECT message_id, recipient_member_id, recipient_session_pubkey
    FROM deliveries
    WHERE deliveries.mesh_id = @mesh_id
      AND deliveries.recipient_member_id = @member_id
      AND (deliveries.recipient_session_pubkey = '' OR deliveries.recipient_session_pubkey = @session_pubkey)
      AND deliveries.acked_at IS NULL
      AND deliveries.expired_at IS NULL
      AND deliveries.expires_at > @now::timestamptz
      AND (deliveries.claim_expires_at IS NULL
           OR deliveries.claim_expires_at <= @now::timestamptz)
      AND deliveries.priority = ANY(@priorities::text[])
    ORDER BY deliveries.created_at, deliveries.message_id COLLATE "C",
             deliveries.recipient_session_pubkey COLLATE "C"
    LIMIT @lim
    FOR UPDATE SKIP LOCKED
) AS c, messages AS m
WHERE d.message_id = c.message_id AND d.recipient_member_id = c.recipient_member_id
  AND d.recipient_session_pubkey = c.recipient_session_pubkey
  AND m.id = d.message_id
RETURNING sqlc.embed(d), sqlc.embed(m);

-- AckDeliveries acks, in one statement, the rows of those messages claimed
-- by one presence that are not acked yet; the row count is how many were
-- newly acked. deliveries_claimed_idx (claimer, message) finds the rows.
-- name: AckDeliveries :execrows
UPDATE deliveries SET acked_at = COALESCE(acked_at, @acked_at::timestamptz)
WHERE message_id = ANY(@message_ids::text[])
  AND claimed_by = @claimed_by
  AND acked_at IS NULL AND expired_at IS NULL;

-- AckDeliveriesBatch is AckDeliveries for several presences at once: each
-- (claimed_by, message_id, acked_at) triple acks that presence's row of that
-- message; the rows acked come back for the caller to count per ack.
-- name: AckDeliveriesBatch :many
UPDATE deliveries AS d SET acked_at = a.acked_at
FROM (
    SELECT unnest(@claimed_by::text[]) AS claimed_by,
           unnest(@message_ids::text[]) AS message_id,
           unnest(@acked_at::timestamptz[]) AS acked_at
) AS a
WHERE d.message_id = a.message_id AND d.claimed_by = a.claimed_by
  AND d.acked_at IS NULL AND d.expired_at IS NULL
RETURNING d.claimed_by, d.message_id;

-- A session gone for good leaves its pending rows of group and broadcast
-- messages (readable by any session: they are not sealed to its key) to its
-- member. DropSessionCopies deletes those the member has another row of;
-- MoveSessionRows gives the rest to the member, unclaimed.
-- name: DropSessionCopies :execrows
DELETE FROM deliveries AS d
WHERE d.mesh_id = @mesh_id AND d.recipient_member_id = @member_id
  AND d.recipient_session_pubkey = @session_pubkey
  AND d.acked_at IS NULL AND d.expired_at IS NULL
  AND d.message_id IN (SELECT m.id FROM messages AS m WHERE m.target_spec LIKE '@%' OR m.target_spec = '*')
  AND EXISTS (
    SELECT 1 FROM deliveries AS o
    WHERE o.message_id = d.message_id AND o.recipient_member_id = d.recipient_member_id
      AND o.recipient_session_pubkey <> d.recipient_session_pubkey
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
WHERE claimed_by <> '' AND claim_expires_at <= @now::timestamptz
  AND acked_at IS NULL AND expired_at IS NULL
LIMIT @lim;

-- name: ExpireDeliveries :execrows
UPDATE deliveries SET expired_at = @expired_at::timestamptz
WHERE acked_at IS NULL AND expired_at IS NULL AND expires_at <= @expired_at;

-- name: CountPendingDeliveries :one
SELECT count(*) FROM deliveries WHERE acked_at IS NULL AND expired_at IS NULL;
