package mesh

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/rpcerr"
)

// Limits on what a session says about itself.
const (
	maxSummaryLen      = 1024
	maxProfileField    = 256
	maxBioLen          = 2048
	maxCapabilities    = 32
	maxGroupNameLen    = 128
	maxGroupDepth      = 8
	maxGroupRoleLen    = 32
	maxFilesForInfo    = 1000
	hookTokenSeparator = "."
)

var groupSegment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// checkGroups validates group names: hierarchical paths like "eng/backend"
// of 1 to 8 segments (letters, digits, "_", "." and "-", starting with a
// letter or digit), at most 128 characters, with short printable roles.
func checkGroups(gs []db.GroupRole) error {
	for _, g := range gs {
		if err := checkGroupName(g.Name); err != nil {
			return err
		}
		if len(g.Role) > maxGroupRoleLen || strings.ContainsFunc(g.Role, func(r rune) bool { return r < 0x20 }) {
			return fmt.Errorf("group %q: the role must be at most %d printable characters", g.Name, maxGroupRoleLen)
		}
	}
	return nil
}

func checkGroupName(name string) error {
	if name == "" || len(name) > maxGroupNameLen {
		return fmt.Errorf("group name %q: use 1-%d characters", name, maxGroupNameLen)
	}
	segments := strings.Split(name, "/")
	if len(segments) > maxGroupDepth {
		return fmt.Errorf("group name %q: at most %d levels", name, maxGroupDepth)
	}
	for _, seg := range segments {
		if !groupSegment.MatchString(seg) {
			return fmt.Errorf("group name %q: each level is letters, digits, '_', '.' or '-', starting with a letter or digit (like eng/backend)", name)
		}
	}
	return nil
}

func validateGroups(gs []db.GroupRole) error {
	if err := checkGroups(gs); err != nil {
		return rpcerr.Invalid("%s", err.Error())
	}
	return nil
}

// ListPeers lists a mesh's live sessions, the caller's included. Hidden
// sessions are listed only to sessions of their own member.
func (s *Service) ListPeers(ctx context.Context, req *meshv1.ListPeersRequest) (*meshv1.ListPeersResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	peers, err := s.peers(ctx, c)
	if err != nil {
		return nil, err
	}
	return &meshv1.ListPeersResponse{Peers: peers}, nil
}

// peers returns the live sessions of the caller's mesh that it may see.
func (s *Service) peers(ctx context.Context, c caller) ([]*meshv1.Peer, error) {
	live, err := s.store.ListLivePresences(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "presences", err)
	}
	members, err := s.memberIndex(ctx, c.meshID)
	if err != nil {
		return nil, err
	}
	out := make([]*meshv1.Peer, 0, len(live))
	for _, p := range live {
		if !p.Visible && p.MemberID != c.memberID {
			continue
		}
		out = append(out, peerToProto(p, members[p.MemberID]))
	}
	return out, nil
}

func (s *Service) memberIndex(ctx context.Context, meshID string) (map[string]db.Member, error) {
	members, err := s.store.ListMembers(ctx, meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "members", err)
	}
	out := make(map[string]db.Member, len(members))
	for _, m := range members {
		out[m.ID] = m
	}
	return out, nil
}

func peerToProto(p db.Presence, m db.Member) *meshv1.Peer {
	out := &meshv1.Peer{
		PresenceId:    p.ID,
		MemberId:      p.MemberID,
		MemberPubkey:  m.Pubkey,
		SessionPubkey: p.SessionPubkey,
		DisplayName:   cmp.Or(p.DisplayName, m.DisplayName),
		Status:        statusToProto(p.Status),
		StatusSource:  statusSourceToProto(p.StatusSource),
		Groups:        groupsToProto(p.Groups),
		SessionId:     p.SessionID,
		ConnectTime:   timestamp(p.ConnectedAt),
		Cwd:           p.Cwd,
		Hostname:      p.Hostname,
		PeerType:      p.PeerType,
		Channel:       p.Channel,
		Model:         p.Model,
		Stats:         statsToProto(p.Stats),
		Visible:       p.Visible,
		Profile:       profileToProto(p.Profile),
		PeerRole:      p.PeerRole,
	}
	if p.Summary != nil {
		out.Summary = *p.Summary
	}
	return out
}

// GetMeshInfo summarises the caller's mesh.
func (s *Service) GetMeshInfo(ctx context.Context, req *meshv1.GetMeshInfoRequest) (*meshv1.GetMeshInfoResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	mesh, err := s.meshProto(ctx, c.meshID)
	if err != nil {
		return nil, err
	}
	peers, err := s.peers(ctx, c)
	if err != nil {
		return nil, err
	}
	groups := map[string]bool{}
	for _, g := range mesh.GetGroups() {
		groups[g.GetName()] = true
	}
	out := &meshv1.GetMeshInfoResponse{Mesh: mesh, PeerCount: int32(len(peers))} //nolint:gosec // bounded by the connection cap
	for _, p := range peers {
		for _, g := range p.GetGroups() {
			groups[g.GetName()] = true
		}
		if c.session != nil && p.GetPresenceId() == c.session.presenceID {
			out.You = p
		}
	}
	for g := range groups {
		out.Groups = append(out.Groups, g)
	}
	sort.Strings(out.Groups)
	state, err := s.store.ListState(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "state", err)
	}
	for _, e := range state {
		out.StateKeys = append(out.StateKeys, e.Key)
	}
	files, err := s.store.ListFiles(ctx, c.meshID, maxFilesForInfo)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "files", err)
	}
	out.FileCount = int32(len(files)) //nolint:gosec // bounded by maxFilesForInfo
	members, err := s.store.ListMembers(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "members", err)
	}
	for _, m := range members {
		if m.RevokedAt == nil {
			out.MemberCount++
		}
	}
	return out, nil
}

// SetStatus sets the caller's status by hand (source "manual").
func (s *Service) SetStatus(ctx context.Context, req *meshv1.SetStatusRequest) (*meshv1.SetStatusResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	status := statusFromProto(req.GetStatus())
	if status == "" {
		return nil, rpcerr.Invalid("status must be idle, working or dnd")
	}
	if _, err := s.applyStatus(ctx, sess.presenceID, status, sourceManual); err != nil {
		return nil, err
	}
	return &meshv1.SetStatusResponse{}, nil
}

// SetHookStatus sets a session's status from a Claude Code hook. The hook
// proves which session it belongs to with the session's hook token; a hook
// that runs before its session said hello (no token yet) is kept pending
// for that Claude Code session id and applied when the session connects.
func (s *Service) SetHookStatus(ctx context.Context, req *meshv1.SetHookStatusRequest) (*meshv1.SetHookStatusResponse, error) {
	status := statusFromProto(req.GetStatus())
	if status == "" {
		return nil, rpcerr.Invalid("status must be idle, working or dnd")
	}
	if req.GetHookToken() == "" {
		return s.pendHookStatus(ctx, req, "", req.GetSessionId(), status)
	}
	presenceID, _, ok := strings.Cut(req.GetHookToken(), hookTokenSeparator)
	p, err := s.store.GetPresence(ctx, presenceID)
	if !ok || errors.Is(err, db.ErrNotFound) ||
		(err == nil && subtle.ConstantTimeCompare([]byte(p.HookTokenHash), []byte(auth.HashSecret(req.GetHookToken()))) != 1) {
		return nil, rpcerr.WithReason(connect.CodeUnauthenticated, "unauthorized", "unknown hook token")
	}
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	if req.GetSessionId() != "" && p.SessionID != "" && req.GetSessionId() != p.SessionID {
		return nil, rpcerr.WithReason(connect.CodePermissionDenied, "forbidden", "the hook token belongs to another Claude Code session")
	}
	if p.DisconnectedAt != nil {
		// The session ended: keep the status for its next hello, in its
		// mesh, under the session id the token was issued to.
		return s.pendHookStatus(ctx, req, p.MeshID, cmp.Or(p.SessionID, req.GetSessionId()), status)
	}
	if _, err := s.applyStatus(ctx, p.ID, status, sourceHook); err != nil {
		return nil, err
	}
	return &meshv1.SetHookStatusResponse{PresenceId: p.ID}, nil
}

// pendHookStatus keeps a hook status for the next hello of the Claude Code
// session sessionID, in meshID ("" for any mesh).
func (s *Service) pendHookStatus(ctx context.Context, req *meshv1.SetHookStatusRequest, meshID, sessionID, status string) (*meshv1.SetHookStatusResponse, error) {
	if sessionID == "" || len(sessionID) > maxSessionIDLen {
		return nil, rpcerr.Invalid("session_id (the Claude Code session id) or hook_token is required")
	}
	err := s.store.InsertPendingStatus(ctx, db.PendingStatus{
		ID:        db.NewID(),
		MeshID:    meshID,
		SessionID: sessionID,
		PID:       req.GetPid(),
		Cwd:       truncate(req.GetCwd(), maxPathLen),
		Status:    status,
		CreatedAt: s.now(),
	})
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "pending status", err)
	}
	return &meshv1.SetHookStatusResponse{Pending: true}, nil
}

// sourceRank orders status sources: hook > manual > inferred.
func sourceRank(src string) int {
	switch src {
	case sourceHook:
		return 3
	case sourceManual:
		return 2
	default:
		return 1
	}
}

// applyStatus writes a status under the status model: hooks never change
// "dnd"; a source ranked below the one that set the current status cannot
// change it while that status is fresh (it only refreshes an equal one);
// otherwise the status, its source and its time are written. It returns
// whether the status changed. A session that becomes idle gets the messages
// its status held back; a hook reporting "working" (a person prompted the
// session) resets the loop guard for its member.
func (s *Service) applyStatus(ctx context.Context, presenceID, status, source string) (bool, error) {
	now := s.now()
	cur, err := s.currentStatus(ctx, presenceID)
	if err != nil {
		return false, err
	}
	if cur.Status == statusDND && source == sourceHook {
		return false, nil
	}
	fresh := now.Sub(cur.UpdatedAt) < s.cfg.StatusFreshness
	next := db.PresenceStatus{Status: status, Source: source, UpdatedAt: now}
	if sourceRank(source) < sourceRank(cur.Source) && fresh {
		if status != cur.Status {
			return false, nil
		}
		next.Source = cur.Source
	}
	if err := s.store.UpdatePresenceStatus(ctx, presenceID, next); err != nil {
		return false, rpcerr.From(ctx, s.log, "presence", err)
	}
	if sess := s.hub.get(presenceID); sess != nil {
		sess.claimMu.Lock()
		sess.mu.Lock()
		sess.status, sess.statusSrc, sess.statusAt = next.Status, next.Source, next.UpdatedAt
		sess.mu.Unlock()
		sess.claimMu.Unlock()
		if source == sourceHook && status == statusWorking {
			s.loops.humanActivity(sess.meshID, sess.memberID)
		}
		if status == statusIdle && cur.Status != statusIdle {
			s.requestDrain(sess)
		}
	}
	return status != cur.Status, nil
}

func (s *Service) currentStatus(ctx context.Context, presenceID string) (db.PresenceStatus, error) {
	if sess := s.hub.get(presenceID); sess != nil {
		v := sess.snapshot()
		return db.PresenceStatus{Status: v.status, Source: v.statusSrc, UpdatedAt: v.statusAt}, nil
	}
	p, err := s.store.GetPresence(ctx, presenceID)
	if err != nil {
		return db.PresenceStatus{}, rpcerr.From(ctx, s.log, "presence", err)
	}
	return db.PresenceStatus{Status: p.Status, Source: p.StatusSource, UpdatedAt: p.StatusUpdatedAt}, nil
}

// SetSummary sets the caller's one-line summary ("" clears it).
func (s *Service) SetSummary(ctx context.Context, req *meshv1.SetSummaryRequest) (*meshv1.SetSummaryResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	summary := strings.TrimSpace(req.GetSummary())
	if len(summary) > maxSummaryLen {
		return nil, rpcerr.Invalid("summary: at most %d bytes", maxSummaryLen)
	}
	var value *string
	if summary != "" {
		value = &summary
	}
	if err := s.store.UpdatePresenceSummary(ctx, sess.presenceID, value); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	sess.mu.Lock()
	sess.summary = value
	sess.mu.Unlock()
	return &meshv1.SetSummaryResponse{}, nil
}

// SetVisibility shows or hides the caller and tells the other sessions.
func (s *Service) SetVisibility(ctx context.Context, req *meshv1.SetVisibilityRequest) (*meshv1.SetVisibilityResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdatePresenceVisible(ctx, sess.presenceID, req.GetVisible()); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	sess.mu.Lock()
	changed := sess.visible != req.GetVisible()
	sess.visible = req.GetVisible()
	name := sess.displayName
	sess.mu.Unlock()
	if changed {
		event := "peer_hidden"
		if req.GetVisible() {
			event = "peer_visible"
		}
		data := map[string]any{"name": name, "pubkey": sess.routingKey()}
		s.publish(sess.meshID, systemEvent(sess.meshID, event, data, meshv1.Priority_PRIORITY_LOW, s.now()),
			func(o *session) bool { return o != sess })
	}
	return &meshv1.SetVisibilityResponse{}, nil
}

// SetProfile merges the given fields into the caller's profile.
func (s *Service) SetProfile(ctx context.Context, req *meshv1.SetProfileRequest) (*meshv1.SetProfileResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	sess.mu.Lock()
	profile := sess.profile
	sess.mu.Unlock()
	profile.Capabilities = slices.Clone(profile.Capabilities)
	for _, f := range []struct {
		name  string
		value *string
		dst   *string
		max   int
	}{
		{"avatar", req.Avatar, &profile.Avatar, maxProfileField},
		{"title", req.Title, &profile.Title, maxProfileField},
		{"bio", req.Bio, &profile.Bio, maxBioLen},
	} {
		if f.value == nil {
			continue
		}
		if len(*f.value) > f.max {
			return nil, rpcerr.Invalid("%s: at most %d bytes", f.name, f.max)
		}
		*f.dst = *f.value
	}
	if req.GetSetCapabilities() {
		if len(req.GetCapabilities()) > maxCapabilities {
			return nil, rpcerr.Invalid("capabilities: at most %d", maxCapabilities)
		}
		for _, c := range req.GetCapabilities() {
			if c == "" || len(c) > maxGroupRoleLen*2 {
				return nil, rpcerr.Invalid("capability %q: use 1-%d characters", c, maxGroupRoleLen*2)
			}
		}
		profile.Capabilities = slices.Clone(req.GetCapabilities())
	}
	if err := s.store.UpdatePresenceProfile(ctx, sess.presenceID, profile); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	sess.mu.Lock()
	sess.profile = profile
	sess.mu.Unlock()
	return &meshv1.SetProfileResponse{Profile: profileToProto(profile)}, nil
}

// ReportStats records the caller's counters.
func (s *Service) ReportStats(ctx context.Context, req *meshv1.ReportStatsRequest) (*meshv1.ReportStatsResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	in := req.GetStats()
	stats := db.Stats{
		MessagesIn:  max(in.GetMessagesIn(), 0),
		MessagesOut: max(in.GetMessagesOut(), 0),
		ToolCalls:   max(in.GetToolCalls(), 0),
		Uptime:      max(in.GetUptimeSeconds(), 0),
		Errors:      max(in.GetErrors(), 0),
	}
	if err := s.store.UpdatePresenceStats(ctx, sess.presenceID, stats); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	sess.mu.Lock()
	sess.stats = stats
	sess.mu.Unlock()
	return &meshv1.ReportStatsResponse{}, nil
}

// JoinGroup adds the caller to a group, replacing an entry of the same name
// (so a role can be changed).
func (s *Service) JoinGroup(ctx context.Context, req *meshv1.JoinGroupRequest) (*meshv1.JoinGroupResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	g := db.GroupRole{Name: strings.TrimPrefix(strings.TrimSpace(req.GetGroup().GetName()), "@"), Role: strings.TrimSpace(req.GetGroup().GetRole())}
	if err := validateGroups([]db.GroupRole{g}); err != nil {
		return nil, err
	}
	groups, err := s.updateGroups(ctx, sess, func(gs []db.GroupRole) ([]db.GroupRole, error) {
		gs = slices.DeleteFunc(gs, func(x db.GroupRole) bool { return x.Name == g.Name })
		if len(gs) >= s.cfg.MaxGroupsPerSession {
			return nil, rpcerr.WithReason(connect.CodeResourceExhausted, "limit", "a session may join at most %d groups", s.cfg.MaxGroupsPerSession)
		}
		return append(gs, g), nil
	})
	if err != nil {
		return nil, err
	}
	return &meshv1.JoinGroupResponse{Groups: groupsToProto(groups)}, nil
}

// LeaveGroup removes the caller from a group.
func (s *Service) LeaveGroup(ctx context.Context, req *meshv1.LeaveGroupRequest) (*meshv1.LeaveGroupResponse, error) {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(strings.TrimSpace(req.GetName()), "@")
	groups, err := s.updateGroups(ctx, sess, func(gs []db.GroupRole) ([]db.GroupRole, error) {
		return slices.DeleteFunc(gs, func(x db.GroupRole) bool { return x.Name == name }), nil
	})
	if err != nil {
		return nil, err
	}
	return &meshv1.LeaveGroupResponse{Groups: groupsToProto(groups)}, nil
}

// updateGroups changes a session's groups under its lock, then stores them.
func (s *Service) updateGroups(ctx context.Context, sess *session, change func([]db.GroupRole) ([]db.GroupRole, error)) ([]db.GroupRole, error) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	groups, err := change(slices.Clone(sess.groups))
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdatePresenceGroups(ctx, sess.presenceID, groups); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	sess.groups = groups
	return groups, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
