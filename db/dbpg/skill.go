package dbpg

import (
	"context"
	"fmt"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// UpsertSkill inserts a skill or replaces the one with the same mesh and
// name (keeping its id and creation time), and returns the stored row. A
// nil Manifest is stored as {}.
func (q *queries) UpsertSkill(ctx context.Context, s db.Skill) (db.Skill, error) {
	tags, err := conv.EncodeArray(s.Tags)
	if err != nil {
		return db.Skill{}, fmt.Errorf("upsert skill: encode tags: %w", err)
	}
	row, err := q.q.UpsertSkill(ctx, q.dbtx, sqlc.UpsertSkillParams{
		ID:             s.ID,
		MeshID:         s.MeshID,
		Name:           s.Name,
		Description:    s.Description,
		Instructions:   s.Instructions,
		Tags:           tags,
		Manifest:       rawOr(s.Manifest, jsonEmptyObject),
		AuthorMemberID: s.AuthorMemberID,
		AuthorName:     s.AuthorName,
		CreatedAt:      s.CreatedAt,
		UpdatedAt:      s.UpdatedAt,
	})
	if err != nil {
		return db.Skill{}, fmt.Errorf("upsert skill: %w", interpretError(err))
	}
	out, err := skillFromRow(row)
	if err != nil {
		return db.Skill{}, fmt.Errorf("upsert skill: %w", err)
	}
	return out, nil
}

// GetSkill returns a mesh's skill by name.
func (q *queries) GetSkill(ctx context.Context, meshID, name string) (db.Skill, error) {
	row, err := q.q.GetSkill(ctx, q.dbtx, sqlc.GetSkillParams{MeshID: meshID, Name: name})
	if err != nil {
		return db.Skill{}, fmt.Errorf("get skill: %w", interpretError(err))
	}
	s, err := skillFromRow(row)
	if err != nil {
		return db.Skill{}, fmt.Errorf("get skill: %w", err)
	}
	return s, nil
}

// ListSkills returns a mesh's skills, by name.
func (q *queries) ListSkills(ctx context.Context, meshID string) ([]db.Skill, error) {
	rows, err := q.q.ListSkills(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list skills: %w", interpretError(err))
	}
	skills, err := conv.MapRows(rows, skillFromRow)
	if err != nil {
		return nil, fmt.Errorf("list skills: %w", err)
	}
	return skills, nil
}

// DeleteSkill deletes a skill; db.ErrNotFound if there is none.
func (q *queries) DeleteSkill(ctx context.Context, meshID, name string) error {
	n, err := q.q.DeleteSkill(ctx, q.dbtx, sqlc.DeleteSkillParams{MeshID: meshID, Name: name})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("delete skill: %w", err)
	}
	return nil
}

func skillFromRow(row sqlc.Skill) (db.Skill, error) {
	tags, err := conv.DecodeArray[string](row.Tags)
	if err != nil {
		return db.Skill{}, fmt.Errorf("decode skill tags: %w", err)
	}
	return db.Skill{
		ID:             row.ID,
		MeshID:         row.MeshID,
		Name:           row.Name,
		Description:    row.Description,
		Instructions:   row.Instructions,
		Tags:           tags,
		Manifest:       rawJSON(row.Manifest),
		AuthorMemberID: row.AuthorMemberID,
		AuthorName:     row.AuthorName,
		CreatedAt:      row.CreatedAt.UTC(),
		UpdatedAt:      row.UpdatedAt.UTC(),
	}, nil
}
