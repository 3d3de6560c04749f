-- name: UpsertState :exec
INSERT INTO state_entries (mesh_id, key, value, updated_by_member_id, updated_by_name, updated_at)
VALUES (@mesh_id, @key, @value, @updated_by_member_id, @updated_by_name, @updated_at)
ON CONFLICT (mesh_id, key) DO UPDATE SET
    value = excluded.value,
    updated_by_member_id = excluded.updated_by_member_id,
    updated_by_name = excluded.updated_by_name,
    updated_at = excluded.updated_at;

-- name: GetState :one
SELECT * FROM state_entries WHERE mesh_id = @mesh_id AND key = @key;

-- name: ListState :many
SELECT * FROM state_entries WHERE mesh_id = @mesh_id ORDER BY key;
