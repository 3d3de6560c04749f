-- name: CreateAPIKey :exec
INSERT INTO api_keys (
    id, mesh_id, label, secret_hash, prefix, capabilities, created_by_member_id,
    created_at, last_used_at, expires_at, revoked_at
) VALUES (
    @id, sqlc.narg('mesh_id'), @label, @secret_hash, @prefix, @capabilities, @created_by_member_id,
    @created_at, sqlc.narg('last_used_at'), sqlc.narg('expires_at'), sqlc.narg('revoked_at')
);

-- name: GetAPIKeyByHash :one
SELECT * FROM api_keys WHERE secret_hash = @secret_hash;

-- name: ListAPIKeys :many
SELECT * FROM api_keys WHERE mesh_id = @mesh_id ORDER BY created_at DESC, id DESC;

-- ListOperatorAPIKeys lists the keys of no mesh (ListAPIKeys with an empty
-- mesh id).
-- name: ListOperatorAPIKeys :many
SELECT * FROM api_keys WHERE mesh_id IS NULL ORDER BY created_at DESC, id DESC;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = @revoked_at WHERE id = @id;

-- name: TouchAPIKey :execrows
UPDATE api_keys SET last_used_at = @last_used_at WHERE id = @id;
