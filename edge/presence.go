package edge

import (
	"cmp"
	"context"

	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/edge/internal/rpccode"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// The presence frames: each is one MeshService RPC acting for the socket's
// session. Frames the classic broker does not answer get no reply on
// success, only an error frame on failure.

func (c *conn) setStatus(ctx context.Context, reqID string, m *edgev1.SetStatus) {
	status, ok := statusValues[m.GetStatus()]
	if !ok {
		c.sendError(reqID, "invalid_argument", "status must be idle, working or dnd", nil)
		return
	}
	call(ctx, c, reqID, c.h.cfg.Mesh.SetStatus, &meshv1.SetStatusRequest{PresenceId: c.presenceID, Status: status}, nil)
}

//nolint:gochecknoglobals // read-only table.
var statusValues = map[string]meshv1.PeerStatus{
	"idle":    meshv1.PeerStatus_PEER_STATUS_IDLE,
	"working": meshv1.PeerStatus_PEER_STATUS_WORKING,
	"dnd":     meshv1.PeerStatus_PEER_STATUS_DND,
}

func (c *conn) setSummary(ctx context.Context, reqID string, m *edgev1.SetSummary) {
	call(ctx, c, reqID, c.h.cfg.Mesh.SetSummary, &meshv1.SetSummaryRequest{PresenceId: c.presenceID, Summary: m.GetSummary()}, nil)
}

func (c *conn) setVisible(ctx context.Context, reqID string, m *edgev1.SetVisible) {
	call(ctx, c, reqID, c.h.cfg.Mesh.SetVisibility, &meshv1.SetVisibilityRequest{PresenceId: c.presenceID, Visible: m.GetVisible()},
		func(*meshv1.SetVisibilityResponse) { c.send(reqID, genericAck(reqID)) })
}

func (c *conn) setProfile(ctx context.Context, reqID string, m *edgev1.SetProfile) {
	req := &meshv1.SetProfileRequest{PresenceId: c.presenceID, Avatar: m.Avatar, Title: m.Title, Bio: m.Bio}
	if caps := m.GetCapabilities(); caps != nil {
		req.SetCapabilities = true
		for _, v := range caps.GetValues() {
			sv, ok := v.GetKind().(*structpb.Value_StringValue)
			if !ok || sv.StringValue == "" {
				c.sendError(reqID, "invalid_argument", "capabilities must be an array of strings", nil)
				return
			}
			req.Capabilities = append(req.Capabilities, sv.StringValue)
		}
	}
	call(ctx, c, reqID, c.h.cfg.Mesh.SetProfile, req, func(*meshv1.SetProfileResponse) { c.send(reqID, genericAck(reqID)) })
}

func (c *conn) setStats(ctx context.Context, reqID string, m *edgev1.SetStats) {
	s := m.GetStats()
	stats := &meshv1.PeerStats{
		MessagesIn:    s.GetMessagesIn(),
		MessagesOut:   s.GetMessagesOut(),
		ToolCalls:     s.GetToolCalls(),
		UptimeSeconds: s.GetUptime(),
		Errors:        s.GetErrors(),
	}
	call(ctx, c, reqID, c.h.cfg.Mesh.ReportStats, &meshv1.ReportStatsRequest{PresenceId: c.presenceID, Stats: stats}, nil)
}

func (c *conn) joinGroup(ctx context.Context, reqID string, m *edgev1.JoinGroup) {
	group := &meshv1.GroupMembership{Name: m.GetName(), Role: m.GetRole()}
	call(ctx, c, reqID, c.h.cfg.Mesh.JoinGroup, &meshv1.JoinGroupRequest{PresenceId: c.presenceID, Group: group}, nil)
}

func (c *conn) leaveGroup(ctx context.Context, reqID string, m *edgev1.LeaveGroup) {
	call(ctx, c, reqID, c.h.cfg.Mesh.LeaveGroup, &meshv1.LeaveGroupRequest{PresenceId: c.presenceID, Name: m.GetName()}, nil)
}

func (c *conn) listPeers(ctx context.Context, reqID string, _ *edgev1.ListPeers) {
	call(ctx, c, reqID, c.h.cfg.Mesh.ListPeers, &meshv1.ListPeersRequest{}, func(res *meshv1.ListPeersResponse) {
		out := &edgev1.PeersList{Peers: make([]*edgev1.PeerInfo, 0, len(res.GetPeers()))}
		for _, p := range res.GetPeers() {
			out.Peers = append(out.Peers, peerInfo(p))
		}
		c.send(reqID, out)
	})
}

func peerInfo(p *meshv1.Peer) *edgev1.PeerInfo {
	out := &edgev1.PeerInfo{
		Pubkey:       cmp.Or(p.GetSessionPubkey(), p.GetMemberPubkey()),
		MemberPubkey: p.GetMemberPubkey(),
		MemberId:     p.GetMemberId(),
		DisplayName:  p.GetDisplayName(),
		Status:       statusName(p.GetStatus()),
		StatusSource: sourceName(p.GetStatusSource()),
		Summary:      optional(p.GetSummary()),
		Groups:       groupsToEdge(p.GetGroups()),
		SessionId:    p.GetSessionId(),
		ConnectedAt:  isoTime(p.GetConnectTime().AsTime()),
		Cwd:          p.GetCwd(),
		PeerRole:     p.GetPeerRole(),
		Hostname:     optional(p.GetHostname()),
		PeerType:     optional(p.GetPeerType()),
		Channel:      optional(p.GetChannel()),
		Model:        optional(p.GetModel()),
		Visible:      p.GetVisible(),
	}
	if s := p.GetStats(); s != nil {
		out.Stats = &edgev1.Stats{
			MessagesIn:  &s.MessagesIn,
			MessagesOut: &s.MessagesOut,
			ToolCalls:   &s.ToolCalls,
			Uptime:      &s.UptimeSeconds,
			Errors:      &s.Errors,
		}
	}
	if pr := p.GetProfile(); pr.GetAvatar() != "" || pr.GetTitle() != "" || pr.GetBio() != "" || len(pr.GetCapabilities()) > 0 {
		out.Profile = &edgev1.Profile{
			Avatar:       optional(pr.GetAvatar()),
			Title:        optional(pr.GetTitle()),
			Bio:          optional(pr.GetBio()),
			Capabilities: pr.GetCapabilities(),
		}
	}
	return out
}

func statusName(s meshv1.PeerStatus) string {
	switch s {
	case meshv1.PeerStatus_PEER_STATUS_WORKING:
		return "working"
	case meshv1.PeerStatus_PEER_STATUS_DND:
		return "dnd"
	default:
		return "idle"
	}
}

func sourceName(s meshv1.StatusSource) string {
	switch s {
	case meshv1.StatusSource_STATUS_SOURCE_HOOK:
		return "hook"
	case meshv1.StatusSource_STATUS_SOURCE_MANUAL:
		return "manual"
	default:
		return "inferred"
	}
}

func (c *conn) meshInfo(ctx context.Context, reqID string, _ *edgev1.MeshInfo) {
	call(ctx, c, reqID, c.h.cfg.Mesh.GetMeshInfo, &meshv1.GetMeshInfoRequest{}, func(res *meshv1.GetMeshInfoResponse) {
		out := &edgev1.MeshInfoResult{
			Mesh:        res.GetMesh().GetId(),
			Peers:       int64(res.GetPeerCount()),
			StateKeys:   res.GetStateKeys(),
			FileCount:   int64(res.GetFileCount()),
			Tasks:       &edgev1.TaskCounts{},
			Streams:     []string{},
			Tables:      []string{},
			Collections: []string{},
			YourName:    res.GetYou().GetDisplayName(),
			YourGroups:  groupsToEdge(res.GetYou().GetGroups()),
			Slug:        res.GetMesh().GetSlug(),
			Template:    res.GetMesh().GetTemplate(),
		}
		for _, g := range res.GetGroups() {
			out.Groups = append(out.Groups, "@"+g)
		}
		c.send(reqID, out)
	})
}

// genericAck is the classic "ack" used as an OK for set_visible and
// set_profile.
func genericAck(reqID string) *edgev1.Ack {
	return &edgev1.Ack{Id: reqID}
}

// call makes one RPC for a frame: on failure it sends the error frame, on
// success it hands the response to then (nil: no reply).
func call[Req, Res any](ctx context.Context, c *conn, reqID string, rpc func(context.Context, *Req) (*Res, error), req *Req, then func(*Res)) {
	rctx, cancel := c.rpcContext(ctx)
	defer cancel()
	res, err := rpc(rctx, req)
	if err != nil {
		c.sendError(reqID, rpccode.Classic(err), errorMessage(err), nil)
		return
	}
	if then != nil {
		then(res)
	}
}
