-- name: InsertPendingStatus :exec
INSERT INTO pending_statuses (id, mesh_id, session_id, pid, cwd, status, created_at, applied_at)
VALUES (@id, @mesh_id, @session_id, @pid, @cwd, @status, @created_at, sqlc.narg('applied_at'));

-- TakePendingStatus picks and marks the newest match in one statement. A
-- status stored without a mesh id (mesh_id '') matches any mesh.
-- name: TakePendingStatus :one
UPDATE pending_statuses SET applied_at = @applied_at
WHERE id = (
    SELECT p.id FROM pending_statuses AS p
    WHERE p.session_id = @session_id
      AND (p.mesh_id = @mesh_id OR p.mesh_id = '')
      AND p.created_at >= @since
      AND p.applied_at IS NULL
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 1
)
RETURNING *;

-- name: DeletePendingStatuses :execrows
DELETE FROM pending_statuses WHERE created_at < @before OR applied_at IS NOT NULL;
