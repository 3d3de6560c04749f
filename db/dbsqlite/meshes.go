package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func meshFromRow(r sqlc.Mesh) (db.Mesh, error) {
	policy, err := conv.Decode[db.MeshPolicy]([]byte(r.Policy))
	if err != nil {
		return db.Mesh{}, err
	}
	return db.Mesh{
		ID:          r.ID,
		Slug:        r.Slug,
		Name:        r.Name,
		Template:    r.Template,
		OwnerPubkey: r.OwnerPubkey,
		Policy:      policy,
		PromptHint:  r.PromptHint,
		CreatedAt:   fromMicros(r.CreatedAt),
		ArchivedAt:  fromMicrosPtr(r.ArchivedAt),
	}, nil
}

func meshGroupFromRow(r sqlc.MeshGroup) (db.MeshGroup, error) {
	roles, err := conv.DecodeArray[string]([]byte(r.Roles))
	if err != nil {
		return db.MeshGroup{}, err
	}
	return db.MeshGroup{
		MeshID:    r.MeshID,
		Name:      r.Name,
		Roles:     roles,
		CreatedAt: fromMicros(r.CreatedAt),
	}, nil
}

// CreateMesh inserts a mesh; db.ErrConflict if the id or slug is taken.
func (q *queries) CreateMesh(ctx context.Context, m db.Mesh) error {
	policy, err := conv.Encode(m.Policy)
	if err != nil {
		return wrapErr("create mesh", err)
	}
	return wrapErr("create mesh", q.q.CreateMesh(ctx, q.dbtx, sqlc.CreateMeshParams{
		ID:          m.ID,
		Slug:        m.Slug,
		Name:        m.Name,
		Template:    m.Template,
		OwnerPubkey: m.OwnerPubkey,
		Policy:      string(policy),
		PromptHint:  m.PromptHint,
		CreatedAt:   micros(m.CreatedAt),
		ArchivedAt:  microsPtr(m.ArchivedAt),
	}))
}

// GetMesh returns a mesh by id, archived or not.
func (q *queries) GetMesh(ctx context.Context, id string) (db.Mesh, error) {
	r, err := q.q.GetMesh(ctx, q.dbtx, id)
	if err != nil {
		return db.Mesh{}, wrapErr("get mesh", err)
	}
	m, err := meshFromRow(r)
	return m, wrapErr("get mesh", err)
}

// GetMeshBySlug returns a mesh by slug.
func (q *queries) GetMeshBySlug(ctx context.Context, slug string) (db.Mesh, error) {
	r, err := q.q.GetMeshBySlug(ctx, q.dbtx, slug)
	if err != nil {
		return db.Mesh{}, wrapErr("get mesh by slug", err)
	}
	m, err := meshFromRow(r)
	return m, wrapErr("get mesh by slug", err)
}

// ListMeshes returns the meshes that are not archived, oldest first.
func (q *queries) ListMeshes(ctx context.Context) ([]db.Mesh, error) {
	rows, err := q.q.ListMeshes(ctx, q.dbtx)
	if err != nil {
		return nil, wrapErr("list meshes", err)
	}
	out, err := conv.MapRows(rows, meshFromRow)
	return out, wrapErr("list meshes", err)
}

// UpdateMeshPolicy replaces a mesh's policy; db.ErrNotFound if there is none.
func (q *queries) UpdateMeshPolicy(ctx context.Context, id string, policy db.MeshPolicy) error {
	p, err := conv.Encode(policy)
	if err != nil {
		return wrapErr("update mesh policy", err)
	}
	n, err := q.q.UpdateMeshPolicy(ctx, q.dbtx, sqlc.UpdateMeshPolicyParams{
		Policy: string(p),
		ID:     id,
	})
	return requireRows("update mesh policy", n, err)
}

// ArchiveMesh marks a mesh archived; db.ErrNotFound if there is none.
func (q *queries) ArchiveMesh(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.ArchiveMesh(ctx, q.dbtx, sqlc.ArchiveMeshParams{
		ArchivedAt: microsOf(at),
		ID:         id,
	})
	return requireRows("archive mesh", n, err)
}

// UpsertMeshGroup declares a group (or replaces its roles).
func (q *queries) UpsertMeshGroup(ctx context.Context, g db.MeshGroup) error {
	roles, err := conv.EncodeArray(g.Roles)
	if err != nil {
		return wrapErr("upsert mesh group", err)
	}
	return wrapErr("upsert mesh group", q.q.UpsertMeshGroup(ctx, q.dbtx, sqlc.UpsertMeshGroupParams{
		MeshID:    g.MeshID,
		Name:      g.Name,
		Roles:     string(roles),
		CreatedAt: micros(g.CreatedAt),
	}))
}

// ListMeshGroups returns a mesh's declared groups, by name.
func (q *queries) ListMeshGroups(ctx context.Context, meshID string) ([]db.MeshGroup, error) {
	rows, err := q.q.ListMeshGroups(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list mesh groups", err)
	}
	out, err := conv.MapRows(rows, meshGroupFromRow)
	return out, wrapErr("list mesh groups", err)
}
