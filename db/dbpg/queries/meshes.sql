-- name: CreateMesh :exec
INSERT INTO meshes (
    id, slug, name, template, owner_pubkey, policy, prompt_hint, created_at, archived_at
) VALUES (
    @id, @slug, @name, @template, @owner_pubkey, @policy, @prompt_hint, @created_at, @archived_at
);

-- name: GetMesh :one
SELECT * FROM meshes WHERE id = @id;

-- name: GetMeshBySlug :one
SELECT * FROM meshes WHERE slug = @slug;

-- name: ListMeshes :many
SELECT * FROM meshes
WHERE archived_at IS NULL
ORDER BY created_at, id COLLATE "C";

-- name: UpdateMeshPolicy :execrows
UPDATE meshes SET policy = @policy WHERE id = @id;

-- name: ArchiveMesh :execrows
UPDATE meshes SET archived_at = @archived_at::timestamptz WHERE id = @id;

-- name: UpsertMeshGroup :exec
INSERT INTO mesh_groups (mesh_id, name, roles, created_at)
VALUES (@mesh_id, @name, @roles, @created_at)
ON CONFLICT (mesh_id, name) DO UPDATE SET roles = EXCLUDED.roles;

-- name: ListMeshGroups :many
SELECT * FROM mesh_groups
WHERE mesh_id = @mesh_id
ORDER BY name COLLATE "C";
