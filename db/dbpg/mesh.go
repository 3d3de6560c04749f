package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreateMesh inserts a mesh; db.ErrConflict if the id or slug is taken.
func (q *queries) CreateMesh(ctx context.Context, m db.Mesh) error {
	policy, err := conv.Encode(m.Policy)
	if err != nil {
		return fmt.Errorf("create mesh: encode policy: %w", err)
	}
	err = q.q.CreateMesh(ctx, q.dbtx, sqlc.CreateMeshParams{
		ID:          m.ID,
		Slug:        m.Slug,
		Name:        m.Name,
		Template:    m.Template,
		OwnerPubkey: m.OwnerPubkey,
		Policy:      policy,
		PromptHint:  m.PromptHint,
		CreatedAt:   m.CreatedAt,
		ArchivedAt:  m.ArchivedAt,
	})
	if err != nil {
		return fmt.Errorf("create mesh: %w", interpretError(err))
	}
	return nil
}

// GetMesh returns a mesh by id, archived or not.
func (q *queries) GetMesh(ctx context.Context, id string) (db.Mesh, error) {
	row, err := q.q.GetMesh(ctx, q.dbtx, id)
	if err != nil {
		return db.Mesh{}, fmt.Errorf("get mesh: %w", interpretError(err))
	}
	m, err := meshFromRow(row)
	if err != nil {
		return db.Mesh{}, fmt.Errorf("get mesh: %w", err)
	}
	return m, nil
}

// GetMeshBySlug returns a mesh by slug.
func (q *queries) GetMeshBySlug(ctx context.Context, slug string) (db.Mesh, error) {
	row, err := q.q.GetMeshBySlug(ctx, q.dbtx, slug)
	if err != nil {
		return db.Mesh{}, fmt.Errorf("get mesh by slug: %w", interpretError(err))
	}
	m, err := meshFromRow(row)
	if err != nil {
		return db.Mesh{}, fmt.Errorf("get mesh by slug: %w", err)
	}
	return m, nil
}

// ListMeshes returns the meshes that are not archived, oldest first.
func (q *queries) ListMeshes(ctx context.Context) ([]db.Mesh, error) {
	rows, err := q.q.ListMeshes(ctx, q.dbtx)
	if err != nil {
		return nil, fmt.Errorf("list meshes: %w", interpretError(err))
	}
	meshes, err := conv.MapRows(rows, meshFromRow)
	if err != nil {
		return nil, fmt.Errorf("list meshes: %w", err)
	}
	return meshes, nil
}

// UpdateMeshPolicy replaces a mesh's policy; db.ErrNotFound if there is no
// such mesh.
func (q *queries) UpdateMeshPolicy(ctx context.Context, id string, policy db.MeshPolicy) error {
	doc, err := conv.Encode(policy)
	if err != nil {
		return fmt.Errorf("update mesh policy: encode policy: %w", err)
	}
	n, err := q.q.UpdateMeshPolicy(ctx, q.dbtx, sqlc.UpdateMeshPolicyParams{ID: id, Policy: doc})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update mesh policy: %w", err)
	}
	return nil
}

// ArchiveMesh marks a mesh archived; db.ErrNotFound if there is no such
// mesh.
func (q *queries) ArchiveMesh(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.ArchiveMesh(ctx, q.dbtx, sqlc.ArchiveMeshParams{ID: id, ArchivedAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("archive mesh: %w", err)
	}
	return nil
}

// UpsertMeshGroup declares a group (or replaces its roles).
func (q *queries) UpsertMeshGroup(ctx context.Context, g db.MeshGroup) error {
	roles, err := conv.EncodeArray(g.Roles)
	if err != nil {
		return fmt.Errorf("upsert mesh group: encode roles: %w", err)
	}
	err = q.q.UpsertMeshGroup(ctx, q.dbtx, sqlc.UpsertMeshGroupParams{
		MeshID:    g.MeshID,
		Name:      g.Name,
		Roles:     roles,
		CreatedAt: g.CreatedAt,
	})
	if err != nil {
		return fmt.Errorf("upsert mesh group: %w", interpretError(err))
	}
	return nil
}

// ListMeshGroups returns a mesh's declared groups, by name.
func (q *queries) ListMeshGroups(ctx context.Context, meshID string) ([]db.MeshGroup, error) {
	rows, err := q.q.ListMeshGroups(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list mesh groups: %w", interpretError(err))
	}
	groups, err := conv.MapRows(rows, meshGroupFromRow)
	if err != nil {
		return nil, fmt.Errorf("list mesh groups: %w", err)
	}
	return groups, nil
}

func meshFromRow(row sqlc.Mesh) (db.Mesh, error) {
	policy, err := conv.Decode[db.MeshPolicy](row.Policy)
	if err != nil {
		return db.Mesh{}, fmt.Errorf("decode mesh policy: %w", err)
	}
	return db.Mesh{
		ID:          row.ID,
		Slug:        row.Slug,
		Name:        row.Name,
		Template:    row.Template,
		OwnerPubkey: row.OwnerPubkey,
		Policy:      policy,
		PromptHint:  row.PromptHint,
		CreatedAt:   row.CreatedAt.UTC(),
		ArchivedAt:  utcPtr(row.ArchivedAt),
	}, nil
}

func meshGroupFromRow(row sqlc.MeshGroup) (db.MeshGroup, error) {
	roles, err := conv.DecodeArray[string](row.Roles)
	if err != nil {
		return db.MeshGroup{}, fmt.Errorf("decode mesh group roles: %w", err)
	}
	return db.MeshGroup{
		MeshID:    row.MeshID,
		Name:      row.Name,
		Roles:     roles,
		CreatedAt: row.CreatedAt.UTC(),
	}, nil
}
