-- name: UpsertVaultEntry :exec
INSERT INTO vault_entries (
    mesh_id, member_id, key, ciphertext, nonce, sealed_key, entry_type,
    mount_path, description, created_at, updated_at
) VALUES (
    @mesh_id, @member_id, @key, @ciphertext, @nonce, @sealed_key, @entry_type,
    @mount_path, @description, @created_at, @updated_at
)
ON CONFLICT (mesh_id, member_id, key) DO UPDATE SET
    ciphertext = excluded.ciphertext,
    nonce = excluded.nonce,
    sealed_key = excluded.sealed_key,
    entry_type = excluded.entry_type,
    mount_path = excluded.mount_path,
    description = excluded.description,
    updated_at = excluded.updated_at;

-- name: ListVaultEntries :many
SELECT * FROM vault_entries WHERE mesh_id = @mesh_id AND member_id = @member_id ORDER BY key;

-- The keys come as a JSON array (one query text whatever their number).
-- name: GetVaultEntries :many
SELECT * FROM vault_entries
WHERE mesh_id = @mesh_id AND member_id = @member_id AND key IN (SELECT value FROM json_each(@keys))
ORDER BY key;

-- name: DeleteVaultEntry :execrows
DELETE FROM vault_entries WHERE mesh_id = @mesh_id AND member_id = @member_id AND key = @key;
