package edge

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"claudemesh.dev/edge/internal/rpccode"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	schedulerv1 "claudemesh.dev/gen/pb/claudemesh/scheduler/v1"
)

// The scheduling frames: schedule, list_scheduled and cancel_scheduled, each
// one SchedulerService RPC acting for the socket's session. Schedules belong
// to the session's member, so they outlive the socket.

// schedule creates a schedule and answers scheduled_ack with its id and
// first fire; a bad cron is error invalid_cron.
func (c *conn) schedule(ctx context.Context, reqID string, m *edgev1.Schedule) {
	if c.h.cfg.Scheduler == nil {
		c.sendError(reqID, "unimplemented", "this broker has no scheduler", nil)
		return
	}
	req := &schedulerv1.CreateScheduleRequest{
		TargetSpec: m.GetTo(),
		Message:    m.GetMessage(),
		Cron:       m.GetCron(),
		Timezone:   m.GetTimezone(),
		Subtype:    m.GetSubtype(),
	}
	if m.GetCron() == "" {
		if m.GetRecurring() {
			c.sendError(reqID, "invalid_cron", "a recurring schedule needs a cron expression", nil)
			return
		}
		if m.GetDeliverAt() != 0 {
			req.DeliverTime = timestamppb.New(time.UnixMilli(m.GetDeliverAt()))
		}
	}
	call(ctx, c, reqID, c.h.cfg.Scheduler.CreateSchedule, req, func(res *schedulerv1.CreateScheduleResponse) {
		sch := res.GetSchedule()
		c.send(reqID, &edgev1.ScheduledAck{
			ScheduledId: sch.GetId(),
			DeliverAt:   sch.GetNextFireTime().AsTime().UnixMilli(),
			Cron:        optional(sch.GetCron()),
		})
	})
}

// listScheduled answers scheduled_list: the member's active schedules,
// soonest first.
func (c *conn) listScheduled(ctx context.Context, reqID string, _ *edgev1.ListScheduled) {
	if c.h.cfg.Scheduler == nil {
		c.sendError(reqID, "unimplemented", "this broker has no scheduler", nil)
		return
	}
	call(ctx, c, reqID, c.h.cfg.Scheduler.ListSchedules, &schedulerv1.ListSchedulesRequest{}, func(res *schedulerv1.ListSchedulesResponse) {
		out := &edgev1.ScheduledList{Messages: make([]*edgev1.ScheduledMessage, 0, len(res.GetSchedules()))}
		for _, sch := range res.GetSchedules() {
			out.Messages = append(out.Messages, scheduledMessage(sch))
		}
		c.send(reqID, out)
	})
}

// scheduledMessage is a schedule as scheduled_list shows it: cron,
// firedCount and timezone for recurring schedules only.
func scheduledMessage(sch *schedulerv1.Schedule) *edgev1.ScheduledMessage {
	out := &edgev1.ScheduledMessage{
		Id:        sch.GetId(),
		To:        sch.GetTargetSpec(),
		Message:   sch.GetMessage(),
		DeliverAt: sch.GetNextFireTime().AsTime().UnixMilli(),
		CreatedAt: sch.GetCreateTime().AsTime().UnixMilli(),
		Subtype:   optional(sch.GetSubtype()),
	}
	if sch.GetCron() != "" {
		fired := int64(sch.GetFiredCount())
		out.Cron, out.FiredCount, out.Timezone = optional(sch.GetCron()), &fired, optional(sch.GetTimezone())
	}
	return out
}

// cancelScheduled cancels a schedule by id or unique prefix and answers
// cancel_scheduled_ack; an unknown or foreign id is ok:false, an ambiguous
// or malformed one an error.
func (c *conn) cancelScheduled(ctx context.Context, reqID string, m *edgev1.CancelScheduled) {
	if c.h.cfg.Scheduler == nil {
		c.sendError(reqID, "unimplemented", "this broker has no scheduler", nil)
		return
	}
	rctx, cancel := c.rpcContext(ctx)
	defer cancel()
	res, err := c.h.cfg.Scheduler.CancelSchedule(rctx, &schedulerv1.CancelScheduleRequest{ScheduleId: m.GetScheduledId()})
	var ce *connect.Error
	switch {
	case err == nil:
		c.send(reqID, &edgev1.CancelScheduledAck{ScheduledId: res.GetScheduleId(), Ok: true})
	case errors.As(err, &ce) && ce.Code() == connect.CodeNotFound:
		c.send(reqID, &edgev1.CancelScheduledAck{ScheduledId: m.GetScheduledId(), Ok: false})
	default:
		c.sendError(reqID, rpccode.Classic(err), errorMessage(err), nil)
	}
}
