-- UpsertVaultEntry keeps the entry's creation time.
-- name: UpsertVaultEntry :exec
INSERT INTO vault_entries (
    mesh_id, member_id, key, ciphertext, nonce, sealed_key, entry_type, mount_path,
    description, created_at, updated_at
) VALUES (
    @mesh_id, @member_id, @key, @ciphertext, @nonce, @sealed_key, @entry_type, @mount_path,
    @description, @created_at, @updated_at
)
ON CONFLICT (mesh_id, member_id, key) DO UPDATE SET
    ciphertext  = EXCLUDED.ciphertext,
    nonce       = EXCLUDED.nonce,
    sealed_key  = EXCLUDED.sealed_key,
    entry_type  = EXCLUDED.entry_type,
    mount_path  = EXCLUDED.mount_path,
    description = EXCLUDED.description,
    updated_at  = EXCLUDED.updated_at;

-- name: ListVaultEntries :many
SELECT * FROM vault_entries
WHERE mesh_id = @mesh_id AND member_id = @member_id
ORDER BY key COLLATE "C";

-- name: GetVaultEntries :many
SELECT * FROM vault_entries
WHERE mesh_id = @mesh_id AND member_id = @member_id AND key = ANY(@keys::text[])
ORDER BY key COLLATE "C";

-- name: DeleteVaultEntry :execrows
DELETE FROM vault_entries
WHERE mesh_id = @mesh_id AND member_id = @member_id AND key = @key;
