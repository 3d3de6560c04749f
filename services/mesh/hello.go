package mesh

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/rpcerr"
)

// Hello limits on free-text fields.
const (
	maxSessionIDLen = 256
	maxPathLen      = 4096
	maxShortField   = 128
)

// Hello opens a session. The checks run in the classic order: session key
// shape, clock skew, key and signature shape, signature, replay, member
// (unknown or revoked), then capacity; then the session reattaches a
// presence within its grace period or replaces the presences of the same
// Claude Code session, and peers are told it joined (or returned).
func (s *Service) Hello(ctx context.Context, req *meshv1.HelloRequest) (*meshv1.HelloResponse, error) {
	now := s.now()
	sessionPubkey := req.GetSessionPubkey()
	if sessionPubkey != "" && !identity.IsPublicHex(sessionPubkey) {
		return nil, helloError(connect.CodeInvalidArgument, "bad_session_pubkey", "sessionPubkey must be 64 lowercase hex characters")
	}
	if skew := now.Sub(time.UnixMilli(req.GetTimestampMs())); skew > s.cfg.HelloSkew || skew < -s.cfg.HelloSkew {
		return nil, helloError(connect.CodeInvalidArgument, "timestamp_skew", "timestamp is %s off the broker's clock (allowed ±%s)", skew.Round(time.Second), s.cfg.HelloSkew)
	}
	pubkey := req.GetPubkey()
	err := identity.VerifyHello(pubkey, req.GetSignature(), req.GetMeshId(), req.GetMemberId(), req.GetTimestampMs())
	switch {
	case errors.Is(err, identity.ErrMalformed):
		return nil, helloError(connect.CodeInvalidArgument, "malformed", "pubkey must be 64 hex and signature 128 hex characters")
	case err != nil:
		return nil, helloError(connect.CodeUnauthenticated, "bad_signature", "the hello signature does not verify")
	}
	if s.replay.Seen(req.GetSignature(), now) {
		return nil, helloError(connect.CodeUnauthenticated, "replayed", "this hello was already used; sign a fresh one")
	}
	if err := validateHelloFields(req); err != nil {
		return nil, err
	}
	mesh, member, err := s.helloMember(ctx, req.GetMeshId(), strings.ToLower(pubkey), req.GetMemberId())
	if err != nil {
		return nil, err
	}
	groups := groupsFromProto(req.GetGroups())
	if err := checkGroups(groups); err != nil {
		return nil, helloError(connect.CodeInvalidArgument, "malformed", "%s", err.Error())
	}

	if sess := s.reattachable(mesh.ID, member, sessionPubkey, req.GetSessionId()); sess != nil {
		return s.reattach(ctx, sess, mesh, member, now)
	}
	if s.hub.count(mesh.ID) >= s.cfg.MaxConnectionsPerMesh {
		return nil, helloError(connect.CodeResourceExhausted, "capacity", "the mesh has %d connections, its limit", s.cfg.MaxConnectionsPerMesh)
	}
	if req.GetSessionId() != "" {
		if err := s.replaceSession(ctx, mesh.ID, member.ID, req.GetSessionId(), now); err != nil {
			return nil, err
		}
	}

	restored, err := s.peerState(ctx, mesh.ID, member.ID)
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		if restored != nil && len(restored.Groups) > 0 {
			groups = restored.Groups
		} else {
			groups = member.DefaultGroups
		}
	}
	p := db.Presence{
		ID:              db.NewID(),
		MeshID:          mesh.ID,
		MemberID:        member.ID,
		ReplicaID:       s.cfg.ReplicaID,
		SessionID:       req.GetSessionId(),
		SessionPubkey:   sessionPubkey,
		DisplayName:     cmp.Or(strings.TrimSpace(req.GetDisplayName()), member.DisplayName),
		PID:             req.GetPid(),
		Cwd:             req.GetCwd(),
		Hostname:        req.GetHostname(),
		PeerType:        req.GetPeerType(),
		Channel:         req.GetChannel(),
		Model:           req.GetModel(),
		PeerRole:        "session",
		Status:          statusIdle,
		StatusSource:    sourceInferred,
		StatusUpdatedAt: now,
		Groups:          groups,
		Visible:         true,
		ConnectedAt:     now,
		HeartbeatAt:     now,
	}
	if restored != nil {
		p.Visible, p.Profile = restored.Visible, restored.Profile
	}
	hookToken := newHookToken(p.ID)
	p.HookTokenHash = auth.HashSecret(hookToken)
	if p.SessionID != "" {
		pending, err := s.store.TakePendingStatus(ctx, mesh.ID, p.SessionID, now.Add(-s.cfg.PendingStatusTTL), now)
		switch {
		case err == nil:
			p.Status, p.StatusSource, p.StatusUpdatedAt = pending.Status, sourceHook, pending.CreatedAt
		case !errors.Is(err, db.ErrNotFound):
			return nil, rpcerr.From(ctx, s.log, "pending status", err)
		}
	}
	if err := s.store.CreatePresence(ctx, p); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	if err := s.store.TouchMember(ctx, member.ID, now); err != nil {
		s.log.WarnContext(ctx, "record member seen", "member_id", member.ID, "err", err)
	}
	sess := newSession(p, member.Pubkey)
	sess.hookToken = hookToken
	s.hub.add(sess)
	s.announceJoin(sess, restored)
	s.requestDrain(sess)
	s.log.InfoContext(ctx, "session opened", "mesh_id", mesh.ID, "presence_id", p.ID, "member_id", member.ID, "session_id", p.SessionID)

	res := &meshv1.HelloResponse{
		PresenceId:  p.ID,
		Member:      memberToProto(member, true),
		DisplayName: p.DisplayName,
		HookToken:   sess.hookToken,
		Groups:      groupsToProto(groups),
	}
	if res.Mesh, err = s.meshProto(ctx, mesh.ID); err != nil {
		return nil, err
	}
	if restored != nil {
		res.Restored = &meshv1.RestoredState{
			LastSummary:  restored.LastSummary,
			LastSeenTime: timestamp(restored.LastSeenAt),
			Stats:        statsToProto(restored.CumulativeStats),
		}
		if len(req.GetGroups()) == 0 {
			res.Restored.Groups = groupsToProto(restored.Groups)
		}
	}
	return res, nil
}

// helloMember finds the member a hello speaks for.
func (s *Service) helloMember(ctx context.Context, meshID, pubkey, memberID string) (db.Mesh, db.Member, error) {
	mesh, err := s.store.GetMesh(ctx, meshID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && mesh.ArchivedAt != nil) {
		return db.Mesh{}, db.Member{}, helloError(connect.CodeUnauthenticated, "unauthorized", "pubkey not found in mesh")
	}
	if err != nil {
		return db.Mesh{}, db.Member{}, rpcerr.From(ctx, s.log, "mesh", err)
	}
	member, found, err := s.memberByPubkey(ctx, meshID, pubkey)
	switch {
	case err != nil:
		return db.Mesh{}, db.Member{}, err
	case !found:
		return db.Mesh{}, db.Member{}, helloError(connect.CodeUnauthenticated, "unauthorized", "pubkey not found in mesh")
	case member.RevokedAt != nil:
		return db.Mesh{}, db.Member{}, helloError(connect.CodePermissionDenied, "revoked",
			"You've been removed from %q. Contact the mesh owner to rejoin.", cmp.Or(mesh.Name, mesh.Slug))
	case member.ID != memberID:
		return db.Mesh{}, db.Member{}, helloError(connect.CodeUnauthenticated, "unauthorized", "memberId does not belong to this pubkey")
	}
	return mesh, member, nil
}

func validateHelloFields(req *meshv1.HelloRequest) error {
	for _, f := range []struct {
		name  string
		value string
		max   int
	}{
		{"sessionId", req.GetSessionId(), maxSessionIDLen},
		{"cwd", req.GetCwd(), maxPathLen},
		{"hostname", req.GetHostname(), maxShortField},
		{"peerType", req.GetPeerType(), maxShortField},
		{"channel", req.GetChannel(), maxShortField},
		{"model", req.GetModel(), maxShortField},
	} {
		if len(f.value) > f.max {
			return helloError(connect.CodeInvalidArgument, "malformed", "%s is longer than %d bytes", f.name, f.max)
		}
	}
	if name := strings.TrimSpace(req.GetDisplayName()); name != "" {
		if err := validateDisplayName(name); err != nil {
			return helloError(connect.CodeInvalidArgument, "malformed", "displayName: use 1-64 printable characters")
		}
	}
	return nil
}

// reattachable returns the session in its grace period that a hello takes
// back: same mesh and member, and the same session key (or, without one,
// the same Claude Code session id).
func (s *Service) reattachable(meshID string, member db.Member, sessionPubkey, sessionID string) *session {
	for _, sess := range s.hub.mesh(meshID) {
		if sess.memberID != member.ID {
			continue
		}
		same := sessionPubkey != "" && sess.sessionPubkey == sessionPubkey
		if sessionPubkey == "" && sess.sessionPubkey == "" {
			same = sessionID != "" && sess.sessionID == sessionID
		}
		if !same {
			continue
		}
		sess.mu.Lock()
		offline := !sess.online && !sess.closed
		sess.mu.Unlock()
		if offline {
			return sess
		}
	}
	return nil
}

// reattach puts a socket back on a session in its grace period, silently.
func (s *Service) reattach(ctx context.Context, sess *session, mesh db.Mesh, member db.Member, now time.Time) (*meshv1.HelloResponse, error) {
	sess.mu.Lock()
	if sess.grace != nil {
		if sess.grace.Stop() {
			s.wg.Done()
		}
		sess.grace = nil
	}
	sess.online = true
	sess.sub = make(chan struct{})
	sess.mu.Unlock()
	if err := s.store.ReattachPresence(ctx, sess.presenceID, s.cfg.ReplicaID, now); err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	// What was pushed to the old socket may not have arrived: push again.
	s.repush(ctx, sess)
	view := sess.snapshot()
	s.log.InfoContext(ctx, "session reattached", "mesh_id", mesh.ID, "presence_id", sess.presenceID)
	meshProto, err := s.meshProto(ctx, mesh.ID)
	if err != nil {
		return nil, err
	}
	return &meshv1.HelloResponse{
		PresenceId:  sess.presenceID,
		Mesh:        meshProto,
		Member:      memberToProto(member, true),
		DisplayName: view.displayName,
		Reattached:  true,
		HookToken:   sess.hookToken,
		Groups:      groupsToProto(view.groups),
	}, nil
}

// replaceSession closes the member's other presences of a Claude Code
// session: one Claude Code session is one presence. Only the member's own:
// session ids are listed to every peer, so another member could otherwise
// close anyone's session by saying hello with its id.
func (s *Service) replaceSession(ctx context.Context, meshID, memberID, sessionID string, now time.Time) error {
	for _, sess := range s.hub.mesh(meshID) {
		if sess.sessionID == sessionID && sess.memberID == memberID {
			s.endSession(ctx, sess, endReplaced)
		}
	}
	rows, err := s.store.ListLiveSessionPresences(ctx, meshID, sessionID)
	if err != nil {
		return rpcerr.From(ctx, s.log, "presences", err)
	}
	for _, p := range rows {
		if p.MemberID != memberID {
			continue
		}
		if err := s.store.DisconnectPresence(ctx, p.ID, now); err != nil && !errors.Is(err, db.ErrNotFound) {
			return rpcerr.From(ctx, s.log, "presence", err)
		}
	}
	return nil
}

// peerState returns the member's saved state, or nil.
func (s *Service) peerState(ctx context.Context, meshID, memberID string) (*db.PeerState, error) {
	ps, err := s.store.GetPeerState(ctx, meshID, memberID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil //nolint:nilnil // no saved state is not an error
	}
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "peer state", err)
	}
	return &ps, nil
}

// newHookToken returns the secret a session's hooks present: the presence
// id, a dot, and 24 random bytes (base64url). The broker keeps its hash.
func newHookToken(presenceID string) string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return presenceID + "." + base64.RawURLEncoding.EncodeToString(b[:])
}

// helloError is a hello rejection with its classic code.
func helloError(code connect.Code, reason, format string, args ...any) error {
	return rpcerr.WithReason(code, reason, format, args...)
}

// Goodbye detaches a session's socket. The session stays listed, and
// reattachable, for the grace period; then peers are told it left. A final
// goodbye (the client said its session ends) ends the session at once.
func (s *Service) Goodbye(ctx context.Context, req *meshv1.GoodbyeRequest) (*meshv1.GoodbyeResponse, error) {
	if id := auth.FromContext(ctx); id.Kind == auth.KindPeer && s.hub.get(id.PresenceID) == nil {
		// The session already ended (replaced, revoked, or swept).
		return &meshv1.GoodbyeResponse{}, nil
	}
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		return nil, err
	}
	if req.GetFinal() {
		s.endSession(ctx, sess, endLeft)
	} else {
		s.detach(sess)
	}
	return &meshv1.GoodbyeResponse{}, nil
}

// detach starts a session's grace period.
func (s *Service) detach(sess *session) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if !sess.online || sess.closed {
		return
	}
	sess.online = false
	close(sess.sub)
	sess.sub = make(chan struct{})
	s.wg.Add(1)
	sess.grace = time.AfterFunc(s.cfg.GracePeriod, func() {
		defer s.wg.Done()
		s.endSession(context.Background(), sess, endLeft)
	})
}

// How a session ends.
type endReason int

const (
	// endLeft: the client said its session ends, or the grace period
	// passed without a reattach.
	endLeft endReason = iota
	// endReplaced: a new hello of the same Claude Code session took over.
	endReplaced
	// endRevoked: the member was revoked.
	endRevoked
	// endShutdown: this broker is stopping.
	endShutdown
)

// endSession closes a session for good: its socket (if any) is told why, its
// presence row is closed, what it leaves behind is saved for the member's
// next session, and (unless replaced) peers are told it left.
func (s *Service) endSession(ctx context.Context, sess *session, reason endReason) {
	sess.mu.Lock()
	if sess.closed {
		sess.mu.Unlock()
		return
	}
	sess.closed = true
	if sess.grace != nil {
		if sess.grace.Stop() {
			s.wg.Done()
		}
		sess.grace = nil
	}
	switch reason {
	case endReplaced:
		sess.deliver(closeEvent(1000, "session_replaced"))
	case endRevoked:
		sess.deliver(closeEvent(4002, "revoked"))
	case endLeft, endShutdown:
	}
	sess.mu.Unlock()
	s.hub.remove(sess)

	now := s.now()
	if err := s.store.DisconnectPresence(ctx, sess.presenceID, now); err != nil && !errors.Is(err, db.ErrNotFound) {
		s.log.ErrorContext(ctx, "close presence", "presence_id", sess.presenceID, "err", err)
	}
	if err := s.savePeerState(ctx, sess, now); err != nil {
		s.log.ErrorContext(ctx, "save peer state", "presence_id", sess.presenceID, "err", err)
	}
	if reason != endReplaced && reason != endShutdown {
		s.announceLeave(sess, now)
	}
	if reason == endLeft {
		s.leaveDeliveries(ctx, sess.meshID, sess.memberID, sess.sessionPubkey)
	}
	s.log.InfoContext(ctx, "session ended", "mesh_id", sess.meshID, "presence_id", sess.presenceID, "reason", reason.String())
}

func (r endReason) String() string {
	switch r {
	case endLeft:
		return "left"
	case endReplaced:
		return "replaced"
	case endRevoked:
		return "revoked"
	case endShutdown:
		return "shutdown"
	}
	return fmt.Sprintf("endReason(%d)", int(r))
}

// savePeerState keeps what a member's session leaves behind.
func (s *Service) savePeerState(ctx context.Context, sess *session, now time.Time) error {
	view := sess.snapshot()
	prev, err := s.store.GetPeerState(ctx, sess.meshID, sess.memberID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	created := now
	if err == nil {
		created = prev.CreatedAt
	}
	summary := ""
	if view.summary != nil {
		summary = *view.summary
	}
	return s.store.UpsertPeerState(ctx, db.PeerState{
		MeshID:          sess.meshID,
		MemberID:        sess.memberID,
		Groups:          view.groups,
		Profile:         view.profile,
		Visible:         view.visible,
		LastSummary:     summary,
		LastDisplayName: view.displayName,
		CumulativeStats: db.Stats{
			MessagesIn:  prev.CumulativeStats.MessagesIn + view.stats.MessagesIn,
			MessagesOut: prev.CumulativeStats.MessagesOut + view.stats.MessagesOut,
			ToolCalls:   prev.CumulativeStats.ToolCalls + view.stats.ToolCalls,
			Errors:      prev.CumulativeStats.Errors + view.stats.Errors,
		},
		LastSeenAt: now,
		CreatedAt:  created,
		UpdatedAt:  now,
	})
}

// closeRevokedSessions ends every session of a revoked member (their
// sockets close with 4002) and returns how many.
func (s *Service) closeRevokedSessions(ctx context.Context, m db.Member) int {
	n := 0
	for _, sess := range s.hub.mesh(m.MeshID) {
		if sess.memberID == m.ID {
			s.endSession(ctx, sess, endRevoked)
			n++
		}
	}
	return n
}

// Subscribe streams a session's events to the edge until the socket goes,
// a new socket takes the session over, or the session ends.
func (s *Service) Subscribe(ctx context.Context, req *meshv1.SubscribeRequest, stream *connect.ServerStream[meshv1.SubscribeResponse]) error {
	sess, err := s.sessionCaller(ctx, req.GetPresenceId())
	if err != nil {
		// The edge subscribes after sending hello_ack, so a session may end
		// (replaced or revoked) before its socket subscribes.
		id := auth.FromContext(ctx)
		if ended := s.hub.getEnded(id.PresenceID); id.Kind == auth.KindPeer && ended != nil &&
			(req.GetPresenceId() == "" || req.GetPresenceId() == id.PresenceID) {
			return streamEnded(ended, stream)
		}
		return err
	}
	sess.mu.Lock()
	if sess.closed {
		sess.mu.Unlock()
		return streamEnded(sess, stream)
	}
	// A second Subscribe takes over from the first.
	close(sess.sub)
	sub := make(chan struct{})
	sess.sub = sub
	sess.mu.Unlock()
	for {
		if done, err := sendEvents(sess, stream); done || err != nil {
			return err
		}
		select {
		case <-sess.events.Ready():
		case <-sub:
			if sess.overflowed.Load() {
				return rpcerr.WithReason(connect.CodeResourceExhausted, "slow_consumer", "the session fell too far behind its events")
			}
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// sendEvents streams the session's queued events, and reports done after a
// close instruction. Events a failed send leaves behind go back to the
// queue for the session's next socket.
func sendEvents(sess *session, stream *connect.ServerStream[meshv1.SubscribeResponse]) (bool, error) {
	evs := sess.events.Take()
	for i, ev := range evs {
		if err := stream.Send(ev); err != nil {
			sess.events.Requeue(evs[i:])
			return false, err
		}
		if ev.GetClose() != nil {
			sess.events.Requeue(evs[i+1:])
			return true, nil
		}
	}
	return false, nil
}

// streamEnded sends what an ended session still holds for its socket, up to
// the instruction to close it (a replaced or revoked session has one).
func streamEnded(sess *session, stream *connect.ServerStream[meshv1.SubscribeResponse]) error {
	if done, err := sendEvents(sess, stream); done || err != nil {
		return err
	}
	return rpcerr.WithReason(connect.CodeFailedPrecondition, "session_closed", "the session has ended")
}

func closeEvent(code int32, reason string) *meshv1.SubscribeResponse {
	return &meshv1.SubscribeResponse{Event: &meshv1.SubscribeResponse_Close{Close: &meshv1.CloseInstruction{Code: code, Reason: reason}}}
}
