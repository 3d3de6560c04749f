package dbsqlite

import (
	"context"
	"encoding/json"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// The services columns' defaults, used for a nil json.RawMessage.
const (
	defaultServiceSource = `{}`
	defaultServiceConfig = `{}`
	defaultServiceScope  = `"peer"`
	defaultServiceTools  = `[]`
)

func serviceFromRow(r sqlc.Service) (db.Service, error) {
	return db.Service{
		ID:                 r.ID,
		MeshID:             r.MeshID,
		Name:               r.Name,
		Type:               r.Type,
		Description:        r.Description,
		Source:             json.RawMessage(r.Source),
		Runtime:            r.Runtime,
		Config:             json.RawMessage(r.Config),
		EnvSealed:          r.EnvSealed,
		Scope:              json.RawMessage(r.Scope),
		Status:             r.Status,
		StatusError:        r.StatusError,
		Tools:              json.RawMessage(r.Tools),
		RestartCount:       int32(r.RestartCount),
		DeployedByMemberID: r.DeployedByMemberID,
		DeployedByName:     r.DeployedByName,
		CreatedAt:          fromMicros(r.CreatedAt),
		UpdatedAt:          fromMicros(r.UpdatedAt),
	}, nil
}

// UpsertService inserts a service or replaces the one with the same mesh and
// name (keeping its id and creation time), and returns the row as stored.
// A nil Source, Config, Scope or Tools stores the column default.
func (q *queries) UpsertService(ctx context.Context, s db.Service) (db.Service, error) {
	source, err := rawJSON(s.Source, defaultServiceSource)
	if err != nil {
		return db.Service{}, wrapErr("upsert service: source", err)
	}
	config, err := rawJSON(s.Config, defaultServiceConfig)
	if err != nil {
		return db.Service{}, wrapErr("upsert service: config", err)
	}
	scope, err := rawJSON(s.Scope, defaultServiceScope)
	if err != nil {
		return db.Service{}, wrapErr("upsert service: scope", err)
	}
	tools, err := rawJSON(s.Tools, defaultServiceTools)
	if err != nil {
		return db.Service{}, wrapErr("upsert service: tools", err)
	}
	r, err := q.q.UpsertService(ctx, q.dbtx, sqlc.UpsertServiceParams{
		ID:                 s.ID,
		MeshID:             s.MeshID,
		Name:               s.Name,
		Type:               s.Type,
		Description:        s.Description,
		Source:             source,
		Runtime:            s.Runtime,
		Config:             config,
		EnvSealed:          s.EnvSealed,
		Scope:              scope,
		Status:             s.Status,
		StatusError:        s.StatusError,
		Tools:              tools,
		RestartCount:       int64(s.RestartCount),
		DeployedByMemberID: s.DeployedByMemberID,
		DeployedByName:     s.DeployedByName,
		CreatedAt:          micros(s.CreatedAt),
		UpdatedAt:          micros(s.UpdatedAt),
	})
	if err != nil {
		return db.Service{}, wrapErr("upsert service", err)
	}
	out, err := serviceFromRow(r)
	return out, wrapErr("upsert service", err)
}

// GetService returns a mesh's service by name.
func (q *queries) GetService(ctx context.Context, meshID, name string) (db.Service, error) {
	r, err := q.q.GetService(ctx, q.dbtx, sqlc.GetServiceParams{MeshID: meshID, Name: name})
	if err != nil {
		return db.Service{}, wrapErr("get service", err)
	}
	s, err := serviceFromRow(r)
	return s, wrapErr("get service", err)
}

// ListServices returns a mesh's services, by name.
func (q *queries) ListServices(ctx context.Context, meshID string) ([]db.Service, error) {
	rows, err := q.q.ListServices(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list services", err)
	}
	out, err := conv.MapRows(rows, serviceFromRow)
	return out, wrapErr("list services", err)
}

// ListServicesByStatus returns the services of every mesh in a status, by
// mesh and name.
func (q *queries) ListServicesByStatus(ctx context.Context, status string) ([]db.Service, error) {
	rows, err := q.q.ListServicesByStatus(ctx, q.dbtx, status)
	if err != nil {
		return nil, wrapErr("list services by status", err)
	}
	out, err := conv.MapRows(rows, serviceFromRow)
	return out, wrapErr("list services by status", err)
}

// CountServices counts a mesh's services.
func (q *queries) CountServices(ctx context.Context, meshID string) (int64, error) {
	n, err := q.q.CountServices(ctx, q.dbtx, meshID)
	return n, wrapErr("count services", err)
}

// UpdateServiceStatus records a service's status, tools and restarts. Nil
// Tools stores the column default ([]); db.ErrNotFound if there is none.
func (q *queries) UpdateServiceStatus(ctx context.Context, p db.UpdateServiceStatusParams) error {
	tools, err := rawJSON(p.Tools, defaultServiceTools)
	if err != nil {
		return wrapErr("update service status: tools", err)
	}
	n, err := q.q.UpdateServiceStatus(ctx, q.dbtx, sqlc.UpdateServiceStatusParams{
		Status:       p.Status,
		StatusError:  p.StatusError,
		Tools:        tools,
		RestartCount: int64(p.RestartCount),
		UpdatedAt:    micros(p.UpdatedAt),
		ID:           p.ID,
	})
	return requireRows("update service status", n, err)
}

// UpdateServiceScope replaces a service's scope. A nil scope stores the
// column default ("peer"); db.ErrNotFound if there is none.
func (q *queries) UpdateServiceScope(ctx context.Context, id string, scope []byte, at time.Time) error {
	s, err := rawJSON(scope, defaultServiceScope)
	if err != nil {
		return wrapErr("update service scope", err)
	}
	n, err := q.q.UpdateServiceScope(ctx, q.dbtx, sqlc.UpdateServiceScopeParams{
		Scope:     s,
		UpdatedAt: micros(at),
		ID:        id,
	})
	return requireRows("update service scope", n, err)
}

// DeleteService deletes a service; db.ErrNotFound if there is none.
func (q *queries) DeleteService(ctx context.Context, id string) error {
	n, err := q.q.DeleteService(ctx, q.dbtx, id)
	return requireRows("delete service", n, err)
}
