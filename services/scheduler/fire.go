package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/mesh"
)

// subtypeReminder marks reminders.
const subtypeReminder = "reminder"

// errFiredElsewhere says that a fire was recorded by another scheduler, or
// that the schedule was cancelled, since it was read.
var errFiredElsewhere = errors.New("the schedule was fired elsewhere or cancelled")

// fire sends a due schedule's message and advances the schedule in one
// transaction: the advance is a compare-and-set on the fire time, so when
// several replicas fire the same schedule one commits and the others roll
// back, message and all.
//
// A fire more than LateAfter behind its time is a catch-up (the broker was
// down, or busy): it is sent once and marked late, and a cron schedule's
// next fire is the first slot after now, so missed slots are not replayed.
// A fire whose target no longer resolves (the peer left, the name became
// ambiguous, the group is empty) sends nothing; the schedule moves on. A
// revoked member's schedules end at their next fire.
func (s *Service) fire(ctx context.Context, sch db.Schedule) error {
	if sch.NextFireAt == nil {
		return nil // not active; ClaimDueSchedules returns none such
	}
	due, now := *sch.NextFireAt, s.now()
	adv := db.AdvanceScheduleParams{
		ID:         sch.ID,
		Due:        due,
		FiredAt:    now,
		NextFireAt: s.nextFire(ctx, sch, now),
		Late:       now.Sub(due) >= s.cfg.LateAfter,
	}
	advance := func(ctx context.Context, q db.Queries) error {
		err := q.AdvanceSchedule(ctx, adv)
		if errors.Is(err, db.ErrNotFound) {
			return errFiredElsewhere
		}
		return err
	}
	member, err := s.store.GetMember(ctx, sch.MemberID)
	if err != nil {
		return fmt.Errorf("read the schedule's member: %w", err)
	}
	if member.RevokedAt != nil {
		adv.NextFireAt = nil
		return s.skip(ctx, sch, advance, "its member was revoked")
	}
	messageID, err := s.cfg.Mesh.SendAsMember(ctx, mesh.MemberMessage{
		Member:     member,
		TargetSpec: sch.TargetSpec,
		Text:       sch.Message,
		Subtype:    sch.Subtype,
		Priority:   priority(sch.Subtype),
		InTx:       advance,
	})
	switch {
	case err == nil:
		s.metrics.fires.WithLabelValues("sent").Inc()
		s.metrics.lateness.Observe(now.Sub(due).Seconds())
		s.log.InfoContext(ctx, "schedule fired", "schedule_id", sch.ID, "message_id", messageID,
			"due", due, "late", adv.Late, "next", adv.NextFireAt)
		return nil
	case errors.Is(err, errFiredElsewhere):
		return nil
	case undeliverable(err):
		return s.skip(ctx, sch, advance, err.Error())
	}
	return fmt.Errorf("send the scheduled message: %w", err)
}

// skip records a fire that sends nothing.
func (s *Service) skip(ctx context.Context, sch db.Schedule, advance func(context.Context, db.Queries) error, why string) error {
	err := s.store.InTx(ctx, func(q db.Queries) error { return advance(ctx, q) })
	switch {
	case errors.Is(err, errFiredElsewhere):
		return nil
	case err != nil:
		return fmt.Errorf("advance the schedule: %w", err)
	}
	s.metrics.fires.WithLabelValues("skipped").Inc()
	s.log.WarnContext(ctx, "schedule fired with nothing sent", "schedule_id", sch.ID, "member_id", sch.MemberID, "reason", why)
	return nil
}

// undeliverable reports whether a send failed for good (its target does not
// resolve) rather than for now (the database).
func undeliverable(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Code() {
	case connect.CodeNotFound, connect.CodeInvalidArgument, connect.CodePermissionDenied, connect.CodeFailedPrecondition:
		return true
	default:
		return false
	}
}

// nextFire is a schedule's fire after now: the next cron slot, or nil for a
// one-shot schedule (done) and a cron schedule that cannot fire again.
func (s *Service) nextFire(ctx context.Context, sch db.Schedule, now time.Time) *time.Time {
	if sch.Cron == "" {
		return nil
	}
	loc, err := time.LoadLocation(sch.Timezone)
	if err != nil {
		s.log.WarnContext(ctx, "schedule time zone unknown; reading it in UTC", "schedule_id", sch.ID, "timezone", sch.Timezone, "err", err)
		loc = time.UTC
	}
	spec, err := parseCron(sch.Cron, loc)
	if err != nil {
		s.log.WarnContext(ctx, "stored cron expression does not parse; the schedule ends", "schedule_id", sch.ID, "err", err)
		return nil
	}
	next := spec.next(now)
	if next.IsZero() {
		return nil
	}
	return &next
}

// priority is a fired message's priority: reminders are "now" (they reach a
// session even while it works: the time is the point), other scheduled
// messages "next", as a plain send.
func priority(subtype string) meshv1.Priority {
	if subtype == subtypeReminder {
		return meshv1.Priority_PRIORITY_NOW
	}
	return meshv1.Priority_PRIORITY_NEXT
}
