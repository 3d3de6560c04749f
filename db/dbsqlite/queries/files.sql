-- name: CreateFile :exec
INSERT INTO files (
    id, mesh_id, name, size_bytes, mime_type, tags, persistent, encrypted,
    owner_pubkey, uploaded_by_member_id, uploaded_by_name, target_spec,
    chunk_count, sha256, uploaded_at, expires_at, deleted_at
) VALUES (
    @id, @mesh_id, @name, @size_bytes, @mime_type, @tags, @persistent, @encrypted,
    @owner_pubkey, @uploaded_by_member_id, @uploaded_by_name, @target_spec,
    @chunk_count, @sha256, @uploaded_at, sqlc.narg('expires_at'), sqlc.narg('deleted_at')
);

-- name: InsertFileChunk :exec
INSERT INTO file_chunks (file_id, seq, data) VALUES (@file_id, @seq, @data);

-- name: GetFile :one
SELECT * FROM files WHERE id = @id;

-- name: ListFiles :many
SELECT * FROM files
WHERE mesh_id = @mesh_id AND deleted_at IS NULL
ORDER BY uploaded_at DESC, id DESC
LIMIT @limit;

-- name: GetFileChunk :one
SELECT * FROM file_chunks WHERE file_id = @file_id AND seq = @seq;

-- DeleteFile is MarkFileDeleted then DeleteFileChunks in one transaction:
-- SQLite has no data-modifying CTEs to do both in one statement. A file
-- deleted twice keeps its first deletion time.
-- name: MarkFileDeleted :execrows
UPDATE files SET deleted_at = COALESCE(deleted_at, @deleted_at) WHERE id = @id;

-- name: DeleteFileChunks :exec
DELETE FROM file_chunks WHERE file_id = @file_id;

-- name: UpsertFileKey :exec
INSERT INTO file_keys (file_id, peer_pubkey, sealed_key, granted_by_pubkey, granted_at)
VALUES (@file_id, @peer_pubkey, @sealed_key, @granted_by_pubkey, @granted_at)
ON CONFLICT (file_id, peer_pubkey) DO UPDATE SET
    sealed_key = excluded.sealed_key,
    granted_by_pubkey = excluded.granted_by_pubkey,
    granted_at = excluded.granted_at;

-- name: GetFileKey :one
SELECT * FROM file_keys WHERE file_id = @file_id AND peer_pubkey = @peer_pubkey;

-- name: InsertFileAccess :exec
INSERT INTO file_accesses (id, file_id, member_id, peer_session_pubkey, peer_name, accessed_at)
VALUES (@id, @file_id, @member_id, @peer_session_pubkey, @peer_name, @accessed_at);

-- name: ListFileAccesses :many
SELECT * FROM file_accesses WHERE file_id = @file_id ORDER BY accessed_at DESC, id DESC;
