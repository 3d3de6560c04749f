package scheduler

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"claudemesh.dev/db"
	schedulerv1 "claudemesh.dev/gen/pb/claudemesh/scheduler/v1"
	"claudemesh.dev/services/mesh"
	"claudemesh.dev/services/rpcerr"
)

// Field limits.
const (
	maxCronLen     = 128
	maxTimezoneLen = 64
	// minIDPrefix is the shortest id prefix CancelSchedule accepts.
	minIDPrefix = 4
)

// CreateSchedule schedules a one-shot or cron message owned by the caller's
// member. The schedule fires whether or not the creating session is still
// connected; an empty target (or the creating session's own key) is the
// member itself, so that a reminder reaches whichever of its sessions is
// there when it fires.
func (s *Service) CreateSchedule(ctx context.Context, req *schedulerv1.CreateScheduleRequest) (*schedulerv1.CreateScheduleResponse, error) {
	who, err := s.cfg.Mesh.CallerMember(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	member, err := s.store.GetMember(ctx, who.MemberID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "member", err)
	}
	if member.RevokedAt != nil {
		return nil, rpcerr.Denied("member revoked")
	}
	sch, err := s.newSchedule(ctx, who, member, req)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(q db.Queries) error {
		n, err := q.CountSchedules(ctx, sch.MeshID, sch.MemberID)
		if err != nil {
			return err
		}
		if n >= int64(s.cfg.MaxSchedulesPerMember) {
			return rpcerr.WithReason(connect.CodeResourceExhausted, "limit",
				"you have %d active schedules, the limit; cancel one first", n)
		}
		if err := q.CreateSchedule(ctx, sch); err != nil {
			return err
		}
		return q.Notify(ctx, schedulesChannel, sch.ID)
	})
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "schedule", err)
	}
	s.Wake()
	s.log.InfoContext(ctx, "schedule created", "schedule_id", sch.ID, "mesh_id", sch.MeshID, "member_id", sch.MemberID,
		"cron", sch.Cron, "timezone", sch.Timezone, "next", sch.NextFireAt)
	return &schedulerv1.CreateScheduleResponse{Schedule: toProto(sch)}, nil
}

// newSchedule validates a request into a schedule.
func (s *Service) newSchedule(ctx context.Context, who mesh.ActingMember, member db.Member, req *schedulerv1.CreateScheduleRequest) (db.Schedule, error) {
	now := s.now()
	sch := db.Schedule{
		ID:        db.NewID(),
		MeshID:    who.MeshID,
		MemberID:  who.MemberID,
		Message:   req.GetMessage(),
		Subtype:   req.GetSubtype(),
		CreatedAt: now,
	}
	if strings.TrimSpace(sch.Message) == "" {
		return db.Schedule{}, rpcerr.Invalid("message is required")
	}
	if sch.Subtype != "" && sch.Subtype != subtypeReminder {
		return db.Schedule{}, rpcerr.Invalid("subtype must be %q or empty", subtypeReminder)
	}
	target := strings.TrimSpace(req.GetTargetSpec())
	if (who.SessionPubkey != "" && strings.EqualFold(target, who.SessionPubkey)) || strings.EqualFold(target, member.Pubkey) {
		// The creating session goes away; its member stays.
		target = ""
	}
	sch.TargetSpec = target
	if size := base64.StdEncoding.EncodedLen(len(sch.Message)) + len(target); size > s.cfg.MaxMessageBytes {
		return db.Schedule{}, rpcerr.WithReason(connect.CodeResourceExhausted, "too_large",
			"message too large: %d bytes once encoded (limit %d)", size, s.cfg.MaxMessageBytes)
	}
	loc, err := location(req.GetTimezone())
	if err != nil {
		return db.Schedule{}, err
	}
	sch.Timezone = loc.String()
	first, err := s.firstFire(req, loc, now)
	if err != nil {
		return db.Schedule{}, err
	}
	sch.NextFireAt, sch.Cron = &first, strings.Join(strings.Fields(req.GetCron()), " ")
	if err := s.cfg.Mesh.CheckMemberTarget(ctx, member, target); err != nil {
		return db.Schedule{}, err
	}
	return sch, nil
}

// location loads a schedule's IANA time zone; empty is UTC.
func location(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return time.UTC, nil
	}
	// "Local" would be the broker host's zone, which means nothing to a peer.
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" || len(name) > maxTimezoneLen {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_timezone",
			"unknown time zone %q: give an IANA name such as Europe/Berlin or UTC", name)
	}
	return loc, nil
}

// firstFire is a new schedule's first fire: the cron expression's next
// slot, or the one-shot time (now if it is past).
func (s *Service) firstFire(req *schedulerv1.CreateScheduleRequest, loc *time.Location, now time.Time) (time.Time, error) {
	if expr := strings.TrimSpace(req.GetCron()); expr != "" {
		if len(expr) > maxCronLen {
			return time.Time{}, invalidCron(expr[:maxCronLen]+"…", "longer than %d characters", maxCronLen)
		}
		spec, err := parseCron(expr, loc)
		if err != nil {
			return time.Time{}, invalidCron(expr, "%s", err.Error())
		}
		first := spec.next(now)
		if first.IsZero() {
			return time.Time{}, invalidCron(expr, "it never fires (no matching time within five years)")
		}
		return first, nil
	}
	deliver := req.GetDeliverTime()
	if deliver == nil {
		return time.Time{}, rpcerr.Invalid("give a deliver time (deliverAt) for a one-shot schedule, or a cron expression")
	}
	if err := deliver.CheckValid(); err != nil {
		return time.Time{}, rpcerr.Invalid("deliver time: %v", err)
	}
	at := deliver.AsTime().UTC().Truncate(time.Microsecond)
	if at.After(now.Add(s.cfg.MaxLeadTime)) {
		return time.Time{}, rpcerr.WithReason(connect.CodeInvalidArgument, "limit",
			"deliver time %s is more than %d days ahead, the limit", at.Format(time.RFC3339), int(s.cfg.MaxLeadTime.Hours()/24))
	}
	if at.Before(now) {
		return now, nil // a past time fires at once
	}
	return at, nil
}

func invalidCron(expr, format string, args ...any) error {
	return rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_cron", "invalid cron expression %q: "+format, append([]any{expr}, args...)...)
}

// ListSchedules lists the active schedules of the caller's member (made by
// any of its sessions), soonest first.
func (s *Service) ListSchedules(ctx context.Context, req *schedulerv1.ListSchedulesRequest) (*schedulerv1.ListSchedulesResponse, error) {
	who, err := s.cfg.Mesh.CallerMember(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListSchedules(ctx, who.MeshID, who.MemberID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "schedules", err)
	}
	out := &schedulerv1.ListSchedulesResponse{Schedules: make([]*schedulerv1.Schedule, 0, len(list))}
	for _, sch := range list {
		out.Schedules = append(out.Schedules, toProto(sch))
	}
	return out, nil
}

// CancelSchedule cancels one of the caller member's active schedules, by id
// or by a unique prefix of at least four characters. Another member's
// schedule is not found.
func (s *Service) CancelSchedule(ctx context.Context, req *schedulerv1.CancelScheduleRequest) (*schedulerv1.CancelScheduleResponse, error) {
	who, err := s.cfg.Mesh.CallerMember(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSpace(req.GetScheduleId())
	if len(prefix) < minIDPrefix || len(prefix) > db.IDLength {
		return nil, rpcerr.Invalid("scheduledId must be %d to %d characters", minIDPrefix, db.IDLength)
	}
	list, err := s.store.ListSchedules(ctx, who.MeshID, who.MemberID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "schedules", err)
	}
	var found []string
	for _, sch := range list {
		if strings.HasPrefix(sch.ID, prefix) {
			found = append(found, sch.ID)
		}
	}
	notFound := rpcerr.WithReason(connect.CodeNotFound, "not_found", "no active schedule %q of yours", prefix)
	switch len(found) {
	case 0:
		return nil, notFound
	case 1:
	default:
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "ambiguous_prefix", "%q matches %d of your schedules; give more characters", prefix, len(found))
	}
	err = s.store.CancelSchedule(ctx, found[0], who.MemberID, s.now())
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFound // it fired its last time meanwhile
	}
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "schedule", err)
	}
	s.log.InfoContext(ctx, "schedule cancelled", "schedule_id", found[0], "member_id", who.MemberID)
	return &schedulerv1.CancelScheduleResponse{ScheduleId: found[0]}, nil
}

// toProto is a schedule as the API shows it.
func toProto(sch db.Schedule) *schedulerv1.Schedule {
	out := &schedulerv1.Schedule{
		Id:           sch.ID,
		MeshId:       sch.MeshID,
		MemberId:     sch.MemberID,
		TargetSpec:   sch.TargetSpec,
		Message:      sch.Message,
		Subtype:      sch.Subtype,
		Cron:         sch.Cron,
		Timezone:     sch.Timezone,
		FiredCount:   sch.FiredCount,
		LastFireLate: sch.LastFireLate,
		CreateTime:   timestamppb.New(sch.CreatedAt),
	}
	if sch.NextFireAt != nil {
		out.NextFireTime = timestamppb.New(*sch.NextFireAt)
	}
	if sch.LastFiredAt != nil {
		out.LastFireTime = timestamppb.New(*sch.LastFiredAt)
	}
	return out
}
