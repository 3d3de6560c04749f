package dbsqlite

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func scheduleFromRow(r sqlc.Schedule) (db.Schedule, error) {
	return db.Schedule{
		ID:           r.ID,
		MeshID:       r.MeshID,
		MemberID:     r.MemberID,
		TargetSpec:   r.TargetSpec,
		Message:      r.Message,
		Subtype:      r.Subtype,
		Cron:         r.Cron,
		Timezone:     r.Timezone,
		NextFireAt:   fromMicrosPtr(r.NextFireAt),
		FiredCount:   int32(r.FiredCount),
		LastFiredAt:  fromMicrosPtr(r.LastFiredAt),
		LastFireLate: r.LastFireLate,
		CreatedAt:    fromMicros(r.CreatedAt),
		CancelledAt:  fromMicrosPtr(r.CancelledAt),
	}, nil
}

// CreateSchedule inserts a schedule.
func (q *queries) CreateSchedule(ctx context.Context, s db.Schedule) error {
	return wrapErr("create schedule", q.q.CreateSchedule(ctx, q.dbtx, sqlc.CreateScheduleParams{
		ID:           s.ID,
		MeshID:       s.MeshID,
		MemberID:     s.MemberID,
		TargetSpec:   s.TargetSpec,
		Message:      s.Message,
		Subtype:      s.Subtype,
		Cron:         s.Cron,
		Timezone:     s.Timezone,
		NextFireAt:   microsPtr(s.NextFireAt),
		FiredCount:   int64(s.FiredCount),
		LastFiredAt:  microsPtr(s.LastFiredAt),
		LastFireLate: s.LastFireLate,
		CreatedAt:    micros(s.CreatedAt),
		CancelledAt:  microsPtr(s.CancelledAt),
	}))
}

// GetSchedule returns a schedule by id.
func (q *queries) GetSchedule(ctx context.Context, id string) (db.Schedule, error) {
	r, err := q.q.GetSchedule(ctx, q.dbtx, id)
	if err != nil {
		return db.Schedule{}, wrapErr("get schedule", err)
	}
	s, err := scheduleFromRow(r)
	return s, wrapErr("get schedule", err)
}

// ListSchedules returns a member's active schedules (not cancelled, not
// done), by next fire time.
func (q *queries) ListSchedules(ctx context.Context, meshID, memberID string) ([]db.Schedule, error) {
	rows, err := q.q.ListSchedules(ctx, q.dbtx, sqlc.ListSchedulesParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return nil, wrapErr("list schedules", err)
	}
	out, err := conv.MapRows(rows, scheduleFromRow)
	return out, wrapErr("list schedules", err)
}

// CountSchedules counts a member's active schedules.
func (q *queries) CountSchedules(ctx context.Context, meshID, memberID string) (int64, error) {
	n, err := q.q.CountSchedules(ctx, q.dbtx, sqlc.CountSchedulesParams{MeshID: meshID, MemberID: memberID})
	return n, wrapErr("count schedules", err)
}

// CancelSchedule cancels a member's active schedule; db.ErrNotFound if it is
// not theirs or not active.
func (q *queries) CancelSchedule(ctx context.Context, id, memberID string, at time.Time) error {
	n, err := q.q.CancelSchedule(ctx, q.dbtx, sqlc.CancelScheduleParams{
		CancelledAt: microsOf(at),
		ID:          id,
		MemberID:    memberID,
	})
	return requireRows("cancel schedule", n, err)
}

// ClaimDueSchedules returns up to limit active schedules due at now, oldest
// due first.
//
// It is a plain SELECT: SQLite has no FOR UPDATE SKIP LOCKED and needs none.
// Inside InTx (a BEGIN IMMEDIATE transaction) the caller holds the
// database's only write lock until it commits its AdvanceSchedule calls, so
// a concurrent caller waits and then sees the schedules advanced.
func (q *queries) ClaimDueSchedules(ctx context.Context, now time.Time, lim int32) ([]db.Schedule, error) {
	rows, err := q.q.ClaimDueSchedules(ctx, q.dbtx, sqlc.ClaimDueSchedulesParams{
		Now:   microsOf(now),
		Limit: limit(lim),
	})
	if err != nil {
		return nil, wrapErr("claim due schedules", err)
	}
	out, err := conv.MapRows(rows, scheduleFromRow)
	return out, wrapErr("claim due schedules", err)
}

// AdvanceSchedule records the fire p.Due and sets the next one, if the
// schedule is still active and due then; db.ErrNotFound otherwise.
func (q *queries) AdvanceSchedule(ctx context.Context, p db.AdvanceScheduleParams) error {
	n, err := q.q.AdvanceSchedule(ctx, q.dbtx, sqlc.AdvanceScheduleParams{
		LastFiredAt:  microsOf(p.FiredAt),
		NextFireAt:   microsPtr(p.NextFireAt),
		LastFireLate: p.Late,
		ID:           p.ID,
		Due:          microsOf(p.Due),
	})
	return requireRows("advance schedule", n, err)
}

// NextScheduleDue returns the earliest next fire time of any active
// schedule; db.ErrNotFound if there is none.
func (q *queries) NextScheduleDue(ctx context.Context) (time.Time, error) {
	next, err := q.q.NextScheduleDue(ctx, q.dbtx)
	if err != nil {
		return time.Time{}, wrapErr("next schedule due", err)
	}
	if next == nil { // excluded by the query; kept for safety
		return time.Time{}, fmt.Errorf("next schedule due: %w", db.ErrNotFound)
	}
	return fromMicros(*next), nil
}
