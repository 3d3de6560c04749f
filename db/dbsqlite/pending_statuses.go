package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
)

func pendingStatusFromRow(r sqlc.PendingStatus) db.PendingStatus {
	return db.PendingStatus{
		ID:        r.ID,
		MeshID:    r.MeshID,
		SessionID: r.SessionID,
		PID:       int32(r.Pid),
		Cwd:       r.Cwd,
		Status:    r.Status,
		CreatedAt: fromMicros(r.CreatedAt),
		AppliedAt: fromMicrosPtr(r.AppliedAt),
	}
}

// InsertPendingStatus stores a hook status.
func (q *queries) InsertPendingStatus(ctx context.Context, p db.PendingStatus) error {
	return wrapErr("insert pending status", q.q.InsertPendingStatus(ctx, q.dbtx, sqlc.InsertPendingStatusParams{
		ID:        p.ID,
		MeshID:    p.MeshID,
		SessionID: p.SessionID,
		Pid:       int64(p.PID),
		Cwd:       p.Cwd,
		Status:    p.Status,
		CreatedAt: micros(p.CreatedAt),
		AppliedAt: microsPtr(p.AppliedAt),
	}))
}

// TakePendingStatus returns the newest unapplied status of a session created
// at or after since (stored for that mesh or for no mesh), marks it applied
// at at, and returns it; db.ErrNotFound if there is none. It is one
// statement, so two callers never take the same status.
func (q *queries) TakePendingStatus(ctx context.Context, meshID, sessionID string, since, at time.Time) (db.PendingStatus, error) {
	r, err := q.q.TakePendingStatus(ctx, q.dbtx, sqlc.TakePendingStatusParams{
		AppliedAt: microsOf(at),
		SessionID: sessionID,
		MeshID:    meshID,
		Since:     micros(since),
	})
	if err != nil {
		return db.PendingStatus{}, wrapErr("take pending status", err)
	}
	return pendingStatusFromRow(r), nil
}

// DeletePendingStatuses deletes statuses created before before, or applied,
// and returns how many.
func (q *queries) DeletePendingStatuses(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.q.DeletePendingStatuses(ctx, q.dbtx, micros(before))
	return n, wrapErr("delete pending statuses", err)
}
