package edge

import (
	"context"
	"time"

	"github.com/coder/websocket"

	"claudemesh.dev/edge/internal/rpccode"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// handshakeCodes are the hello rejections that close the socket (with 1008,
// or 4002 for a revoked member), as the classic broker does.
//
//nolint:gochecknoglobals // read-only table.
var handshakeCodes = map[string]websocket.StatusCode{
	"capacity":           websocket.StatusPolicyViolation,
	"timestamp_skew":     websocket.StatusPolicyViolation,
	"bad_signature":      websocket.StatusPolicyViolation,
	"malformed":          websocket.StatusPolicyViolation,
	"unauthorized":       websocket.StatusPolicyViolation,
	"bad_session_pubkey": websocket.StatusPolicyViolation,
	"replayed":           websocket.StatusPolicyViolation,
	"revoked":            4002,
}

// hello authenticates the socket through MeshService.Hello.
func (c *conn) hello(ctx context.Context, reqID string, msg *edgev1.Hello) {
	if c.presenceID != "" {
		c.sendError(reqID, "invalid_argument", "already said hello on this socket", nil)
		return
	}
	rctx, cancel := c.rpcContext(ctx)
	defer cancel()
	res, err := c.h.cfg.Mesh.Hello(rctx, helloRequest(msg))
	if err != nil {
		code := rpccode.Classic(err)
		c.h.metrics.hellos.WithLabelValues(code).Inc()
		c.sendError(reqID, code, "hello rejected: "+errorMessage(err), nil)
		if status, ok := handshakeCodes[code]; ok {
			c.close(status, code)
		}
		return
	}
	c.h.metrics.hellos.WithLabelValues("ok").Inc()
	c.presenceID = res.GetPresenceId()
	c.log = c.log.With("presence_id", c.presenceID)
	c.send(reqID, helloAck(res))
	c.wg.Go(func() { c.subscribe(ctx) })
}

// CloseReasonGoodbye is the close reason of a client whose session ends for
// good (a one-shot command): with a normal close it ends the session at
// once, instead of keeping it listed and reattachable for the grace period
// as after any other close.
const CloseReasonGoodbye = "goodbye"

// goodbye tells the services the socket is gone.
func (c *conn) goodbye() {
	ctx, cancel := c.rpcContext(context.Background())
	defer cancel()
	if _, err := c.h.cfg.Mesh.Goodbye(ctx, &meshv1.GoodbyeRequest{PresenceId: c.presenceID, Reason: "socket closed", Final: c.leaving}); err != nil {
		c.log.Warn("goodbye", "err", err)
	}
}

func helloRequest(m *edgev1.Hello) *meshv1.HelloRequest {
	return &meshv1.HelloRequest{
		MeshId:        m.GetMeshId(),
		MemberId:      m.GetMemberId(),
		Pubkey:        m.GetPubkey(),
		SessionPubkey: m.GetSessionPubkey(),
		DisplayName:   m.GetDisplayName(),
		SessionId:     m.GetSessionId(),
		Pid:           m.GetPid(),
		Cwd:           m.GetCwd(),
		Hostname:      m.GetHostname(),
		PeerType:      m.GetPeerType(),
		Channel:       m.GetChannel(),
		Model:         m.GetModel(),
		Groups:        groupsToMesh(m.GetGroups()),
		TimestampMs:   m.GetTimestamp(),
		Signature:     m.GetSignature(),
	}
}

func helloAck(r *meshv1.HelloResponse) *edgev1.HelloAck {
	member := r.GetMember()
	ack := &edgev1.HelloAck{
		PresenceId:        r.GetPresenceId(),
		MemberDisplayName: r.GetDisplayName(),
		MemberProfile: &edgev1.MemberProfile{
			RoleTag:     optional(member.GetRoleTag()),
			Groups:      groupsToEdge(member.GetDefaultGroups()),
			MessageMode: messageModeName(member.GetMessageMode()),
		},
		MeshSlug:  r.GetMesh().GetSlug(),
		HookToken: r.GetHookToken(),
		Services:  servicesToEdge(r.GetServices()),
	}
	if se := r.GetMesh().GetPolicy().GetSelfEditable(); se != nil {
		ack.MeshPolicy = &edgev1.MeshPolicy{SelfEditable: &edgev1.SelfEditable{
			DisplayName: se.GetDisplayName(),
			RoleTag:     se.GetRoleTag(),
			Groups:      se.GetGroups(),
			MessageMode: se.GetMessageMode(),
		}}
	}
	if hint := r.GetMesh().GetPromptHint(); hint != "" {
		ack.PromptHint = &hint
	}
	if rs := r.GetRestored(); rs != nil {
		restored := true
		ack.Restored = &restored
		ack.LastSummary = optional(rs.GetLastSummary())
		if t := rs.GetLastSeenTime(); t != nil {
			ack.LastSeenAt = optional(isoTime(t.AsTime()))
		}
		ack.RestoredGroups = groupsToEdge(rs.GetGroups())
		if s := rs.GetStats(); s != nil {
			ack.RestoredStats = &edgev1.Stats{
				MessagesIn:  &s.MessagesIn,
				MessagesOut: &s.MessagesOut,
				ToolCalls:   &s.ToolCalls,
				Errors:      &s.Errors,
			}
		}
	}
	return ack
}

func servicesToEdge(in []*meshv1.CatalogService) []*edgev1.ServiceSummary {
	out := make([]*edgev1.ServiceSummary, 0, len(in))
	for _, s := range in {
		tools := make([]*edgev1.ToolInfo, 0, len(s.GetTools()))
		for _, t := range s.GetTools() {
			tools = append(tools, &edgev1.ToolInfo{Name: t.GetName(), Description: t.GetDescription(), InputSchema: t.GetInputSchema()})
		}
		out = append(out, &edgev1.ServiceSummary{
			Name:        s.GetName(),
			Description: s.GetDescription(),
			Status:      s.GetStatus(),
			Tools:       tools,
			DeployedBy:  s.GetDeployedBy(),
		})
	}
	return out
}

func groupsToMesh(in []*edgev1.GroupRef) []*meshv1.GroupMembership {
	out := make([]*meshv1.GroupMembership, 0, len(in))
	for _, g := range in {
		out = append(out, &meshv1.GroupMembership{Name: g.GetName(), Role: g.GetRole()})
	}
	return out
}

func groupsToEdge(in []*meshv1.GroupMembership) []*edgev1.GroupRef {
	out := make([]*edgev1.GroupRef, 0, len(in))
	for _, g := range in {
		out = append(out, &edgev1.GroupRef{Name: g.GetName(), Role: optional(g.GetRole())})
	}
	return out
}

func messageModeName(m meshv1.MessageMode) string {
	switch m {
	case meshv1.MessageMode_MESSAGE_MODE_INBOX:
		return "inbox"
	case meshv1.MessageMode_MESSAGE_MODE_OFF:
		return "off"
	default:
		return "push"
	}
}

// optional returns a pointer to s, or nil for "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// isoTime formats a time as the classic protocol does: ISO-8601 in UTC with
// milliseconds.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
