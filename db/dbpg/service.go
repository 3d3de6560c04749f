package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// UpsertService inserts a service or replaces the one with the same mesh and
// name (keeping its id and creation time), and returns the stored row. Nil
// JSON fields take their column defaults.
func (q *queries) UpsertService(ctx context.Context, s db.Service) (db.Service, error) {
	row, err := q.q.UpsertService(ctx, q.dbtx, sqlc.UpsertServiceParams{
		ID:                 s.ID,
		MeshID:             s.MeshID,
		Name:               s.Name,
		Type:               s.Type,
		Description:        s.Description,
		Source:             rawOr(s.Source, jsonEmptyObject),
		Runtime:            s.Runtime,
		Config:             rawOr(s.Config, jsonEmptyObject),
		EnvSealed:          s.EnvSealed,
		Scope:              rawOr(s.Scope, jsonScopePeer),
		Status:             s.Status,
		StatusError:        s.StatusError,
		Tools:              rawOr(s.Tools, jsonEmptyArray),
		RestartCount:       s.RestartCount,
		DeployedByMemberID: s.DeployedByMemberID,
		DeployedByName:     s.DeployedByName,
		CreatedAt:          s.CreatedAt,
		UpdatedAt:          s.UpdatedAt,
	})
	if err != nil {
		return db.Service{}, fmt.Errorf("upsert service: %w", interpretError(err))
	}
	return serviceFromRow(row)
}

// GetService returns a mesh's service by name.
func (q *queries) GetService(ctx context.Context, meshID, name string) (db.Service, error) {
	row, err := q.q.GetService(ctx, q.dbtx, sqlc.GetServiceParams{MeshID: meshID, Name: name})
	if err != nil {
		return db.Service{}, fmt.Errorf("get service: %w", interpretError(err))
	}
	return serviceFromRow(row)
}

// ListServices returns a mesh's services, by name.
func (q *queries) ListServices(ctx context.Context, meshID string) ([]db.Service, error) {
	rows, err := q.q.ListServices(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", interpretError(err))
	}
	return conv.MapRows(rows, serviceFromRow)
}

// ListServicesByStatus returns the services of every mesh in a status, by
// mesh id and name.
func (q *queries) ListServicesByStatus(ctx context.Context, status string) ([]db.Service, error) {
	rows, err := q.q.ListServicesByStatus(ctx, q.dbtx, status)
	if err != nil {
		return nil, fmt.Errorf("list services by status: %w", interpretError(err))
	}
	return conv.MapRows(rows, serviceFromRow)
}

// CountServices counts a mesh's services.
func (q *queries) CountServices(ctx context.Context, meshID string) (int64, error) {
	n, err := q.q.CountServices(ctx, q.dbtx, meshID)
	if err != nil {
		return 0, fmt.Errorf("count services: %w", interpretError(err))
	}
	return n, nil
}

// UpdateServiceStatus records a service's status, tools and restarts; nil
// tools are stored as []. db.ErrNotFound if there is no such service.
func (q *queries) UpdateServiceStatus(ctx context.Context, p db.UpdateServiceStatusParams) error {
	n, err := q.q.UpdateServiceStatus(ctx, q.dbtx, sqlc.UpdateServiceStatusParams{
		ID:           p.ID,
		Status:       p.Status,
		StatusError:  p.StatusError,
		Tools:        rawOr(p.Tools, jsonEmptyArray),
		RestartCount: p.RestartCount,
		UpdatedAt:    p.UpdatedAt,
	})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update service status: %w", err)
	}
	return nil
}

// UpdateServiceScope replaces a service's scope; a nil scope is stored as
// the default "peer". db.ErrNotFound if there is no such service.
func (q *queries) UpdateServiceScope(ctx context.Context, id string, scope []byte, at time.Time) error {
	n, err := q.q.UpdateServiceScope(ctx, q.dbtx, sqlc.UpdateServiceScopeParams{
		ID:        id,
		Scope:     rawOr(scope, jsonScopePeer),
		UpdatedAt: at,
	})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update service scope: %w", err)
	}
	return nil
}

// DeleteService deletes a service; db.ErrNotFound if there is none.
func (q *queries) DeleteService(ctx context.Context, id string) error {
	n, err := q.q.DeleteService(ctx, q.dbtx, id)
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	return nil
}

func serviceFromRow(row sqlc.Service) (db.Service, error) {
	return db.Service{
		ID:                 row.ID,
		MeshID:             row.MeshID,
		Name:               row.Name,
		Type:               row.Type,
		Description:        row.Description,
		Source:             rawJSON(row.Source),
		Runtime:            row.Runtime,
		Config:             rawJSON(row.Config),
		EnvSealed:          row.EnvSealed,
		Scope:              rawJSON(row.Scope),
		Status:             row.Status,
		StatusError:        row.StatusError,
		Tools:              rawJSON(row.Tools),
		RestartCount:       row.RestartCount,
		DeployedByMemberID: row.DeployedByMemberID,
		DeployedByName:     row.DeployedByName,
		CreatedAt:          row.CreatedAt.UTC(),
		UpdatedAt:          row.UpdatedAt.UTC(),
	}, nil
}
