-- name: CreateAPIKey :exec
INSERT INTO api_keys (
    id, mesh_id, label, secret_hash, prefix, capabilities, created_by_member_id,
    created_at, last_used_at, expires_at, revoked_at
) VALUES (
    @id, sqlc.narg('mesh_id'), @label, @secret_hash, @prefix, @capabilities, @created_by_member_id,
    @created_at, @last_used_at, @expires_at, @revoked_at
);

-- name: GetAPIKeyByHash :one
SELECT * FROM api_keys WHERE secret_hash = @secret_hash;

-- ListAPIKeys lists a mesh's keys, or the operator keys when mesh_id is ''.
-- name: ListAPIKeys :many
SELECT * FROM api_keys
WHERE mesh_id = @mesh_id::text
   OR (@mesh_id::text = '' AND mesh_id IS NULL)
ORDER BY created_at DESC, id COLLATE "C" DESC;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = @revoked_at::timestamptz WHERE id = @id;

-- name: TouchAPIKey :execrows
UPDATE api_keys SET last_used_at = @last_used_at::timestamptz WHERE id = @id;
