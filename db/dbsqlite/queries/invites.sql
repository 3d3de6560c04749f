-- name: CreateInvite :exec
INSERT INTO invites (
    id, mesh_id, token, max_uses, used_count, role, preset, expires_at,
    created_by_member_id, created_at, revoked_at
) VALUES (
    @id, @mesh_id, @token, @max_uses, @used_count, @role, @preset, @expires_at,
    @created_by_member_id, @created_at, sqlc.narg('revoked_at')
);

-- name: GetInvite :one
SELECT * FROM invites WHERE id = @id;

-- name: GetInviteByToken :one
SELECT * FROM invites WHERE token = @token;

-- name: ListInvites :many
SELECT * FROM invites WHERE mesh_id = @mesh_id ORDER BY created_at DESC, id DESC;

-- name: RevokeInvite :execrows
UPDATE invites SET revoked_at = @revoked_at WHERE id = @id;

-- ConsumeInvite takes one use in one statement, so two callers can never
-- both take the last use. No row back means no use was left.
-- name: ConsumeInvite :one
UPDATE invites SET used_count = used_count + 1
WHERE id = @id AND used_count < max_uses AND revoked_at IS NULL AND expires_at > @now
RETURNING *;
