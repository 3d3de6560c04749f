-- name: CreateMember :exec
INSERT INTO members (
    id, mesh_id, pubkey, display_name, role, role_tag, default_groups,
    message_mode, invite_id, joined_at, last_seen_at, revoked_at, revoke_reason
) VALUES (
    @id, @mesh_id, @pubkey, @display_name, @role, @role_tag, @default_groups,
    @message_mode, @invite_id, @joined_at, sqlc.narg('last_seen_at'), sqlc.narg('revoked_at'), @revoke_reason
);

-- name: GetMember :one
SELECT * FROM members WHERE id = @id;

-- name: GetMemberByPubkey :one
SELECT * FROM members WHERE mesh_id = @mesh_id AND pubkey = @pubkey;

-- name: ListMembers :many
SELECT * FROM members WHERE mesh_id = @mesh_id ORDER BY joined_at, id;

-- UpdateMember writes the fields whose parameter is not NULL.
-- name: UpdateMember :one
UPDATE members SET
    display_name = COALESCE(sqlc.narg('display_name'), display_name),
    role = COALESCE(sqlc.narg('role'), role),
    role_tag = COALESCE(sqlc.narg('role_tag'), role_tag),
    default_groups = COALESCE(sqlc.narg('default_groups'), default_groups),
    message_mode = COALESCE(sqlc.narg('message_mode'), message_mode)
WHERE id = @id
RETURNING *;

-- name: RevokeMember :execrows
UPDATE members SET revoked_at = @revoked_at, revoke_reason = @revoke_reason WHERE id = @id;

-- name: RestoreMember :execrows
UPDATE members SET revoked_at = NULL, revoke_reason = '' WHERE id = @id;

-- name: TouchMember :execrows
UPDATE members SET last_seen_at = @last_seen_at WHERE id = @id;
