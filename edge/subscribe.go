package edge

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"github.com/coder/websocket"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// subscribe copies the session's events to the socket until the socket or
// the subscription ends. It runs beside the read loop.
func (c *conn) subscribe(ctx context.Context) {
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set(HeaderInternalToken, c.h.cfg.InternalToken)
	info.RequestHeader().Set(HeaderPresence, c.presenceID)
	// The call returns with the first event: a socket that closes before
	// one (a one-shot command) ends it, which is no error.
	stream, err := c.h.cfg.Mesh.Subscribe(ctx, &meshv1.SubscribeRequest{PresenceId: c.presenceID})
	if err != nil && ctx.Err() != nil {
		return
	}
	if err != nil {
		c.log.Error("subscribe", "err", err)
		c.close(websocket.StatusInternalError, "subscription failed")
		return
	}
	defer func() { _ = stream.Close() }()
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().(type) {
		case *meshv1.SubscribeResponse_Message:
			c.send("", messagePush(ev.Message))
		case *meshv1.SubscribeResponse_System:
			c.send("", systemPush(ev.System))
		case *meshv1.SubscribeResponse_StateChange:
			c.send("", &edgev1.StateChange{Key: ev.StateChange.GetKey(), Value: ev.StateChange.GetValue(), UpdatedBy: ev.StateChange.GetUpdatedBy()})
		case *meshv1.SubscribeResponse_Close:
			c.close(websocket.StatusCode(ev.Close.GetCode()), ev.Close.GetReason())
			return
		}
	}
	if err := stream.Err(); err != nil && !errors.Is(err, context.Canceled) && connect.CodeOf(err) != connect.CodeCanceled {
		if connect.CodeOf(err) == connect.CodeResourceExhausted {
			c.h.metrics.slow.Inc()
			c.close(websocket.StatusPolicyViolation, "slow consumer")
			return
		}
		c.log.Warn("subscription ended", "err", err)
		c.close(websocket.StatusInternalError, "subscription ended")
	}
}

// systemPush is the classic push of a broker event.
func systemPush(ev *meshv1.SystemEvent) *edgev1.Push {
	subtype, event := "system", ev.GetEvent()
	return &edgev1.Push{
		MessageId:    ev.GetId(),
		MeshId:       ev.GetMeshId(),
		SenderPubkey: "system",
		Priority:     priorityName(ev.GetPriority()),
		CreatedAt:    isoTime(ev.GetCreateTime().AsTime()),
		Subtype:      &subtype,
		Event:        &event,
		EventData:    ev.GetData(),
	}
}

func priorityName(p meshv1.Priority) string {
	switch p {
	case meshv1.Priority_PRIORITY_NOW:
		return "now"
	case meshv1.Priority_PRIORITY_LOW:
		return "low"
	default:
		return "next"
	}
}
