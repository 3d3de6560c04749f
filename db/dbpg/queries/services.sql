-- UpsertService replaces the service with the same mesh and name, keeping
-- its id and creation time.
-- name: UpsertService :one
INSERT INTO services (
    id, mesh_id, name, type, description, source, runtime, config, env_sealed, scope,
    status, status_error, tools, restart_count, deployed_by_member_id, deployed_by_name,
    created_at, updated_at
) VALUES (
    @id, @mesh_id, @name, @type, @description, @source, @runtime, @config, @env_sealed, @scope,
    @status, @status_error, @tools, @restart_count, @deployed_by_member_id, @deployed_by_name,
    @created_at, @updated_at
)
ON CONFLICT (mesh_id, name) DO UPDATE SET
    type                  = EXCLUDED.type,
    description           = EXCLUDED.description,
    source                = EXCLUDED.source,
    runtime               = EXCLUDED.runtime,
    config                = EXCLUDED.config,
    env_sealed            = EXCLUDED.env_sealed,
    scope                 = EXCLUDED.scope,
    status                = EXCLUDED.status,
    status_error          = EXCLUDED.status_error,
    tools                 = EXCLUDED.tools,
    restart_count         = EXCLUDED.restart_count,
    deployed_by_member_id = EXCLUDED.deployed_by_member_id,
    deployed_by_name      = EXCLUDED.deployed_by_name,
    updated_at            = EXCLUDED.updated_at
RETURNING *;

-- name: GetService :one
SELECT * FROM services WHERE mesh_id = @mesh_id AND name = @name;

-- name: ListServices :many
SELECT * FROM services
WHERE mesh_id = @mesh_id
ORDER BY name COLLATE "C";

-- name: ListServicesByStatus :many
SELECT * FROM services
WHERE status = @status
ORDER BY mesh_id COLLATE "C", name COLLATE "C";

-- name: CountServices :one
SELECT count(*) FROM services WHERE mesh_id = @mesh_id;

-- name: UpdateServiceStatus :execrows
UPDATE services SET
    status        = @status,
    status_error  = @status_error,
    tools         = @tools,
    restart_count = @restart_count,
    updated_at    = @updated_at
WHERE id = @id;

-- name: UpdateServiceScope :execrows
UPDATE services SET scope = @scope, updated_at = @updated_at WHERE id = @id;

-- name: DeleteService :execrows
DELETE FROM services WHERE id = @id;
