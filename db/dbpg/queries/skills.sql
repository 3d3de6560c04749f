-- UpsertSkill replaces the skill with the same mesh and name, keeping its id
-- and creation time.
-- name: UpsertSkill :one
INSERT INTO skills (
    id, mesh_id, name, description, instructions, tags, manifest, author_member_id,
    author_name, created_at, updated_at
) VALUES (
    @id, @mesh_id, @name, @description, @instructions, @tags, @manifest, @author_member_id,
    @author_name, @created_at, @updated_at
)
ON CONFLICT (mesh_id, name) DO UPDATE SET
    description      = EXCLUDED.description,
    instructions     = EXCLUDED.instructions,
    tags             = EXCLUDED.tags,
    manifest         = EXCLUDED.manifest,
    author_member_id = EXCLUDED.author_member_id,
    author_name      = EXCLUDED.author_name,
    updated_at       = EXCLUDED.updated_at
RETURNING *;

-- name: GetSkill :one
SELECT * FROM skills WHERE mesh_id = @mesh_id AND name = @name;

-- name: ListSkills :many
SELECT * FROM skills
WHERE mesh_id = @mesh_id
ORDER BY name COLLATE "C";

-- name: DeleteSkill :execrows
DELETE FROM skills WHERE mesh_id = @mesh_id AND name = @name;
