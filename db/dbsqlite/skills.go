package dbsqlite

import (
	"context"
	"encoding/json"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// defaultSkillManifest is the manifest column's default, used for a nil
// json.RawMessage.
const defaultSkillManifest = `{}`

func skillFromRow(r sqlc.Skill) (db.Skill, error) {
	tags, err := conv.DecodeArray[string]([]byte(r.Tags))
	if err != nil {
		return db.Skill{}, err
	}
	return db.Skill{
		ID:             r.ID,
		MeshID:         r.MeshID,
		Name:           r.Name,
		Description:    r.Description,
		Instructions:   r.Instructions,
		Tags:           tags,
		Manifest:       json.RawMessage(r.Manifest),
		AuthorMemberID: r.AuthorMemberID,
		AuthorName:     r.AuthorName,
		CreatedAt:      fromMicros(r.CreatedAt),
		UpdatedAt:      fromMicros(r.UpdatedAt),
	}, nil
}

// UpsertSkill inserts a skill or replaces the one with the same mesh and
// name (keeping its id and creation time), and returns the row as stored.
// A nil Manifest stores the column default ({}).
func (q *queries) UpsertSkill(ctx context.Context, s db.Skill) (db.Skill, error) {
	tags, err := conv.EncodeArray(s.Tags)
	if err != nil {
		return db.Skill{}, wrapErr("upsert skill", err)
	}
	manifest, err := rawJSON(s.Manifest, defaultSkillManifest)
	if err != nil {
		return db.Skill{}, wrapErr("upsert skill: manifest", err)
	}
	r, err := q.q.UpsertSkill(ctx, q.dbtx, sqlc.UpsertSkillParams{
		ID:             s.ID,
		MeshID:         s.MeshID,
		Name:           s.Name,
		Description:    s.Description,
		Instructions:   s.Instructions,
		Tags:           string(tags),
		Manifest:       manifest,
		AuthorMemberID: s.AuthorMemberID,
		AuthorName:     s.AuthorName,
		CreatedAt:      micros(s.CreatedAt),
		UpdatedAt:      micros(s.UpdatedAt),
	})
	if err != nil {
		return db.Skill{}, wrapErr("upsert skill", err)
	}
	out, err := skillFromRow(r)
	return out, wrapErr("upsert skill", err)
}

// GetSkill returns a mesh's skill by name.
func (q *queries) GetSkill(ctx context.Context, meshID, name string) (db.Skill, error) {
	r, err := q.q.GetSkill(ctx, q.dbtx, sqlc.GetSkillParams{MeshID: meshID, Name: name})
	if err != nil {
		return db.Skill{}, wrapErr("get skill", err)
	}
	s, err := skillFromRow(r)
	return s, wrapErr("get skill", err)
}

// ListSkills returns a mesh's skills, by name.
func (q *queries) ListSkills(ctx context.Context, meshID string) ([]db.Skill, error) {
	rows, err := q.q.ListSkills(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list skills", err)
	}
	out, err := conv.MapRows(rows, skillFromRow)
	return out, wrapErr("list skills", err)
}

// DeleteSkill deletes a skill; db.ErrNotFound if there is none.
func (q *queries) DeleteSkill(ctx context.Context, meshID, name string) error {
	n, err := q.q.DeleteSkill(ctx, q.dbtx, sqlc.DeleteSkillParams{MeshID: meshID, Name: name})
	return requireRows("delete skill", n, err)
}
