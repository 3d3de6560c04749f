-- name: InsertPendingStatus :exec
INSERT INTO pending_statuses (id, mesh_id, session_id, pid, cwd, status, created_at, applied_at)
VALUES (@id, @mesh_id, @session_id, @pid, @cwd, @status, @created_at, @applied_at);

-- TakePendingStatus marks the newest matching status applied and returns
-- it. A status stored with an empty mesh_id matches any mesh. The row lock
-- makes a concurrent taker wait, re-check applied_at and come back empty.
-- name: TakePendingStatus :one
UPDATE pending_statuses SET applied_at = @applied_at::timestamptz
WHERE id = (
    SELECT p.id FROM pending_statuses AS p
    WHERE p.session_id = @session_id
      AND (p.mesh_id = @mesh_id OR p.mesh_id = '')
      AND p.created_at >= @since
      AND p.applied_at IS NULL
    ORDER BY p.created_at DESC, p.id COLLATE "C" DESC
    LIMIT 1
    FOR UPDATE
) AND applied_at IS NULL
RETURNING *;

-- name: DeletePendingStatuses :execrows
DELETE FROM pending_statuses WHERE created_at < @before OR applied_at IS NOT NULL;
