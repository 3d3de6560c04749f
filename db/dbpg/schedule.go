package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreateSchedule inserts a schedule.
func (q *queries) CreateSchedule(ctx context.Context, s db.Schedule) error {
	err := q.q.CreateSchedule(ctx, q.dbtx, sqlc.CreateScheduleParams{
		ID:           s.ID,
		MeshID:       s.MeshID,
		MemberID:     s.MemberID,
		TargetSpec:   s.TargetSpec,
		Message:      s.Message,
		Subtype:      s.Subtype,
		Cron:         s.Cron,
		Timezone:     s.Timezone,
		NextFireAt:   s.NextFireAt,
		FiredCount:   s.FiredCount,
		LastFiredAt:  s.LastFiredAt,
		LastFireLate: s.LastFireLate,
		CreatedAt:    s.CreatedAt,
		CancelledAt:  s.CancelledAt,
	})
	if err != nil {
		return fmt.Errorf("create schedule: %w", interpretError(err))
	}
	return nil
}

// GetSchedule returns a schedule by id.
func (q *queries) GetSchedule(ctx context.Context, id string) (db.Schedule, error) {
	row, err := q.q.GetSchedule(ctx, q.dbtx, id)
	if err != nil {
		return db.Schedule{}, fmt.Errorf("get schedule: %w", interpretError(err))
	}
	return scheduleFromRow(row)
}

// ListSchedules returns a member's active schedules (not cancelled, not
// done), by next fire time.
func (q *queries) ListSchedules(ctx context.Context, meshID, memberID string) ([]db.Schedule, error) {
	rows, err := q.q.ListSchedules(ctx, q.dbtx, sqlc.ListSchedulesParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", interpretError(err))
	}
	return conv.MapRows(rows, scheduleFromRow)
}

// CountSchedules counts a member's active schedules.
func (q *queries) CountSchedules(ctx context.Context, meshID, memberID string) (int64, error) {
	n, err := q.q.CountSchedules(ctx, q.dbtx, sqlc.CountSchedulesParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return 0, fmt.Errorf("count schedules: %w", interpretError(err))
	}
	return n, nil
}

// CancelSchedule cancels a member's active schedule; db.ErrNotFound if it
// is not theirs or not active.
func (q *queries) CancelSchedule(ctx context.Context, id, memberID string, at time.Time) error {
	n, err := q.q.CancelSchedule(ctx, q.dbtx, sqlc.CancelScheduleParams{ID: id, MemberID: memberID, CancelledAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("cancel schedule: %w", err)
	}
	return nil
}

// ClaimDueSchedules locks and returns up to limit active schedules due at
// now, oldest due first. Concurrent callers get disjoint rows (FOR UPDATE
// SKIP LOCKED); the locks last until the transaction ends, so call it inside
// InTx together with AdvanceSchedule.
func (q *queries) ClaimDueSchedules(ctx context.Context, now time.Time, limit int32) ([]db.Schedule, error) {
	rows, err := q.q.ClaimDueSchedules(ctx, q.dbtx, sqlc.ClaimDueSchedulesParams{Now: now, Lim: limit})
	if err != nil {
		return nil, fmt.Errorf("claim due schedules: %w", interpretError(err))
	}
	return conv.MapRows(rows, scheduleFromRow)
}

// AdvanceSchedule records the fire p.Due and sets the next one, if the
// schedule is still active and due then; db.ErrNotFound otherwise.
func (q *queries) AdvanceSchedule(ctx context.Context, p db.AdvanceScheduleParams) error {
	n, err := q.q.AdvanceSchedule(ctx, q.dbtx, sqlc.AdvanceScheduleParams{
		ID:           p.ID,
		Due:          p.Due,
		LastFiredAt:  p.FiredAt,
		NextFireAt:   p.NextFireAt,
		LastFireLate: p.Late,
	})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("advance schedule: %w", err)
	}
	return nil
}

// NextScheduleDue returns the earliest next fire time of any active
// schedule; db.ErrNotFound if there is none.
func (q *queries) NextScheduleDue(ctx context.Context) (time.Time, error) {
	next, err := q.q.NextScheduleDue(ctx, q.dbtx)
	if err != nil {
		return time.Time{}, fmt.Errorf("next schedule due: %w", interpretError(err))
	}
	if next == nil { // excluded by the query; kept for safety
		return time.Time{}, fmt.Errorf("next schedule due: %w", db.ErrNotFound)
	}
	return next.UTC(), nil
}

func scheduleFromRow(row sqlc.Schedule) (db.Schedule, error) {
	return db.Schedule{
		ID:           row.ID,
		MeshID:       row.MeshID,
		MemberID:     row.MemberID,
		TargetSpec:   row.TargetSpec,
		Message:      row.Message,
		Subtype:      row.Subtype,
		Cron:         row.Cron,
		Timezone:     row.Timezone,
		NextFireAt:   utcPtr(row.NextFireAt),
		FiredCount:   row.FiredCount,
		LastFiredAt:  utcPtr(row.LastFiredAt),
		LastFireLate: row.LastFireLate,
		CreatedAt:    row.CreatedAt.UTC(),
		CancelledAt:  utcPtr(row.CancelledAt),
	}, nil
}
