package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
)

// InsertPendingStatus stores a hook status.
func (q *queries) InsertPendingStatus(ctx context.Context, p db.PendingStatus) error {
	err := q.q.InsertPendingStatus(ctx, q.dbtx, sqlc.InsertPendingStatusParams{
		ID:        p.ID,
		MeshID:    p.MeshID,
		SessionID: p.SessionID,
		Pid:       p.PID,
		Cwd:       p.Cwd,
		Status:    p.Status,
		CreatedAt: p.CreatedAt,
		AppliedAt: p.AppliedAt,
	})
	if err != nil {
		return fmt.Errorf("insert pending status: %w", interpretError(err))
	}
	return nil
}

// TakePendingStatus returns the newest unapplied status of a session
// created at or after since, in meshID or stored without a mesh, marks it
// applied at at, and returns it; db.ErrNotFound if there is none.
func (q *queries) TakePendingStatus(ctx context.Context, meshID, sessionID string, since, at time.Time) (db.PendingStatus, error) {
	row, err := q.q.TakePendingStatus(ctx, q.dbtx, sqlc.TakePendingStatusParams{
		MeshID:    meshID,
		SessionID: sessionID,
		Since:     since,
		AppliedAt: at,
	})
	if err != nil {
		return db.PendingStatus{}, fmt.Errorf("take pending status: %w", interpretError(err))
	}
	return db.PendingStatus{
		ID:        row.ID,
		MeshID:    row.MeshID,
		SessionID: row.SessionID,
		PID:       row.Pid,
		Cwd:       row.Cwd,
		Status:    row.Status,
		CreatedAt: row.CreatedAt.UTC(),
		AppliedAt: utcPtr(row.AppliedAt),
	}, nil
}

// DeletePendingStatuses deletes statuses created before before, or applied,
// and returns how many.
func (q *queries) DeletePendingStatuses(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.q.DeletePendingStatuses(ctx, q.dbtx, before)
	if err != nil {
		return 0, fmt.Errorf("delete pending statuses: %w", interpretError(err))
	}
	return n, nil
}
