-- UpsertSkill keeps the id and creation time of an existing skill with the
-- same mesh and name, and returns the row as stored.
-- name: UpsertSkill :one
INSERT INTO skills (
    id, mesh_id, name, description, instructions, tags, manifest,
    author_member_id, author_name, created_at, updated_at
) VALUES (
    @id, @mesh_id, @name, @description, @instructions, @tags, @manifest,
    @author_member_id, @author_name, @created_at, @updated_at
)
ON CONFLICT (mesh_id, name) DO UPDATE SET
    description = excluded.description,
    instructions = excluded.instructions,
    tags = excluded.tags,
    manifest = excluded.manifest,
    author_member_id = excluded.author_member_id,
    author_name = excluded.author_name,
    updated_at = excluded.updated_at
RETURNING *;

-- name: GetSkill :one
SELECT * FROM skills WHERE mesh_id = @mesh_id AND name = @name;

-- name: ListSkills :many
SELECT * FROM skills WHERE mesh_id = @mesh_id ORDER BY name;

-- name: DeleteSkill :execrows
DELETE FROM skills WHERE mesh_id = @mesh_id AND name = @name;
