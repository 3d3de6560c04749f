-- UpsertService keeps the id and creation time of an existing service with
-- the same mesh and name, and returns the row as stored.
-- name: UpsertService :one
INSERT INTO services (
    id, mesh_id, name, type, description, source, runtime, config, env_sealed,
    scope, status, status_error, tools, restart_count, deployed_by_member_id,
    deployed_by_name, created_at, updated_at
) VALUES (
    @id, @mesh_id, @name, @type, @description, @source, @runtime, @config, @env_sealed,
    @scope, @status, @status_error, @tools, @restart_count, @deployed_by_member_id,
    @deployed_by_name, @created_at, @updated_at
)
ON CONFLICT (mesh_id, name) DO UPDATE SET
    type = excluded.type,
    description = excluded.description,
    source = excluded.source,
    runtime = excluded.runtime,
    config = excluded.config,
    env_sealed = excluded.env_sealed,
    scope = excluded.scope,
    status = excluded.status,
    status_error = excluded.status_error,
    tools = excluded.tools,
    restart_count = excluded.restart_count,
    deployed_by_member_id = excluded.deployed_by_member_id,
    deployed_by_name = excluded.deployed_by_name,
    updated_at = excluded.updated_at
RETURNING *;

-- name: GetService :one
SELECT * FROM services WHERE mesh_id = @mesh_id AND name = @name;

-- name: ListServices :many
SELECT * FROM services WHERE mesh_id = @mesh_id ORDER BY name;

-- name: ListServicesByStatus :many
SELECT * FROM services WHERE status = @status ORDER BY mesh_id, name;

-- name: CountServices :one
SELECT count(*) FROM services WHERE mesh_id = @mesh_id;

-- name: UpdateServiceStatus :execrows
UPDATE services SET
    status = @status,
    status_error = @status_error,
    tools = @tools,
    restart_count = @restart_count,
    updated_at = @updated_at
WHERE id = @id;

-- name: UpdateServiceScope :execrows
UPDATE services SET scope = @scope, updated_at = @updated_at WHERE id = @id;

-- name: DeleteService :execrows
DELETE FROM services WHERE id = @id;
