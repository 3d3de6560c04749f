package mesh

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/rpcerr"
)

// Priorities as stored.
const (
	priorityNow  = "now"
	priorityNext = "next"
	priorityLow  = "low"
)

// deliveriesChannel is the NOTIFY channel that tells other replicas a
// member has new mail; the payload is "<meshId>:<memberId>:<replicaId>",
// replicaId being the sender's (which drains its own sessions itself).
const deliveriesChannel = "claudemesh_deliveries"

// sender is who sends a message.
type sender struct {
	meshID     string
	member     db.Member
	session    *session // nil for API keys
	name       string
	routeKey   string
	presenceID string
}

// Send validates a message, works out its recipients, stores one delivery
// per recipient in the same transaction as the message (batched with
// concurrent sends), and returns once it is durable. Recipients online on
// this broker whose status admits the priority get it pushed at once;
// others get it when they connect, go idle, or their broker hears of it.
func (s *Service) Send(ctx context.Context, req *meshv1.SendRequest) (*meshv1.SendResponse, error) {
	from, err := s.sender(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	var ticket sendTicket
	if from.session != nil {
		ticket = from.session.ticket(ctx)
		defer ticket.done() // a send that fails before it is queued
	}
	priority, err := priorityName(req.GetPriority())
	if err != nil {
		return nil, err
	}
	target := strings.TrimSpace(req.GetTargetSpec())
	if target == "" || len(target) > maxShortField*2 {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_target", "targetSpec must be a pubkey, @group, @all, * or a display name")
	}
	if size := len(req.GetCiphertext()) + len(req.GetNonce()) + len(target); size > s.cfg.MaxMessageBytes {
		return nil, rpcerr.WithReason(connect.CodeResourceExhausted, "too_large", "payload too large: %d bytes (limit %d)", size, s.cfg.MaxMessageBytes)
	}
	if cid := req.GetClientMessageId(); cid != "" {
		if prev, err := s.store.GetMessageByClientID(ctx, from.member.ID, cid); err == nil {
			return &meshv1.SendResponse{MessageId: prev.ID, Duplicate: true}, nil
		} else if !errors.Is(err, db.ErrNotFound) {
			return nil, rpcerr.From(ctx, s.log, "message", err)
		}
	}
	now := s.now()
	perMinute, burst, err := s.sendRate(ctx, from.meshID, now)
	if err != nil {
		return nil, err
	}
	if !s.sendLimit.Allow(from.meshID+":"+from.member.ID, now, perMinute, burst) {
		return nil, rpcerr.WithReason(connect.CodeResourceExhausted, "rate_limit", "rate limit: at most %d messages a minute (bursts of %d); slow down", perMinute, burst)
	}
	recipients, err := s.recipients(ctx, from, target)
	if err != nil {
		return nil, err
	}
	if err := s.loops.check(ctx, s, from, recipients, now); err != nil {
		return nil, err
	}
	// The socket's earlier sends go first; the message's time is taken in
	// that order too, so drains (by time) keep it.
	ticket.wait(ctx)
	now = s.now()
	msg := db.Message{
		ID:                  db.NewID(),
		MeshID:              from.meshID,
		SenderMemberID:      from.member.ID,
		SenderSessionPubkey: from.routeKey,
		SenderName:          from.name,
		TargetSpec:          target,
		Priority:            priority,
		Nonce:               req.GetNonce(),
		Ciphertext:          req.GetCiphertext(),
		ClientMessageID:     req.GetClientMessageId(),
		RequestFingerprint:  req.GetRequestFingerprint(),
		ReplyToID:           req.GetReplyToId(),
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.cfg.MessageTTL),
	}
	w, pushes := s.plan(msg, recipients, now)
	env := s.envelope(msg, from.member.Pubkey)
	// Pushed by the writer after the commit, in commit order.
	w.committed = func() {
		for _, sess := range pushes {
			s.push(sess, env)
		}
	}
	err = s.writer.enqueue(ctx, w)
	ticket.done()
	if err == nil {
		err = s.writer.wait(ctx, w)
	}
	if err != nil {
		if errors.Is(err, db.ErrConflict) && msg.ClientMessageID != "" {
			if prev, gerr := s.store.GetMessageByClientID(ctx, from.member.ID, msg.ClientMessageID); gerr == nil {
				return &meshv1.SendResponse{MessageId: prev.ID, Duplicate: true}, nil
			}
		}
		return nil, rpcerr.From(ctx, s.log, "message", err)
	}
	// New mail for a member is a drain trigger for its sessions here: a
	// message to a member key, or held for a session's status, is claimed
	// by whichever session may take it now.
	for _, n := range w.notify {
		s.drainMember(msg.MeshID, n.memberID)
	}
	return &meshv1.SendResponse{MessageId: msg.ID, Recipients: int32(len(recipients))}, nil //nolint:gosec // bounded by the mesh size
}

// sender resolves who sends: a session, or an API key (sending as the
// member that created it).
func (s *Service) sender(ctx context.Context, meshID string) (sender, error) {
	c, err := s.callerIn(ctx, meshID)
	if err != nil {
		return sender{}, err
	}
	if c.session != nil {
		// A session knows its member (a revoked member's sessions are closed),
		// so the hot path reads no member row.
		view := c.session.snapshot()
		return sender{
			meshID: c.meshID, member: db.Member{ID: c.memberID, Pubkey: c.session.memberPubkey},
			session: c.session, name: view.displayName,
			routeKey: c.session.routingKey(), presenceID: c.session.presenceID,
		}, nil
	}
	if c.id.Kind != auth.KindAPIKey {
		return sender{}, rpcerr.Denied("send from a session or with an API key")
	}
	member, err := s.apiKeyMember(ctx, c)
	if err != nil {
		return sender{}, err
	}
	return sender{meshID: c.meshID, member: member, name: member.DisplayName, routeKey: member.Pubkey}, nil
}

// apiKeyMember is the member an API key acts as: the one that created it.
func (s *Service) apiKeyMember(ctx context.Context, c caller) (db.Member, error) {
	keys, err := s.store.ListAPIKeys(ctx, c.meshID)
	if err != nil {
		return db.Member{}, rpcerr.From(ctx, s.log, "API keys", err)
	}
	for _, k := range keys {
		if k.ID != c.id.KeyID {
			continue
		}
		if k.CreatedByMemberID == "" {
			return db.Member{}, rpcerr.Denied("this API key was made by the operator and has no member to send as")
		}
		m, err := s.store.GetMember(ctx, k.CreatedByMemberID)
		if err != nil {
			return db.Member{}, rpcerr.From(ctx, s.log, "member", err)
		}
		if m.RevokedAt != nil {
			return db.Member{}, rpcerr.Denied("the member that made this API key was revoked")
		}
		return m, nil
	}
	return db.Member{}, connect.NewError(connect.CodeUnauthenticated, errors.New("unknown API key"))
}

func priorityName(p meshv1.Priority) (string, error) {
	switch p {
	case meshv1.Priority_PRIORITY_NOW:
		return priorityNow, nil
	case meshv1.Priority_PRIORITY_NEXT, meshv1.Priority_PRIORITY_UNSPECIFIED:
		return priorityNext, nil
	case meshv1.Priority_PRIORITY_LOW:
		return priorityLow, nil
	}
	return "", rpcerr.Invalid("priority must be now, next or low")
}

// recipient is one delivery to make: a member, and the session key it is
// for ("" for any session of the member). session is set when that session
// is served by this replica.
type recipient struct {
	memberID      string
	sessionPubkey string
	session       *session
	direct        bool
}

// recipients works out who a target reaches.
func (s *Service) recipients(ctx context.Context, from sender, target string) ([]recipient, error) {
	switch {
	case target == "*" || target == "@all":
		return s.multicast(ctx, from, "", true)
	case strings.HasPrefix(target, "@"):
		group := strings.TrimPrefix(target, "@")
		if err := checkGroupName(group); err != nil {
			return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_target", "%s", err.Error())
		}
		return s.multicast(ctx, from, group, false)
	case strings.HasPrefix(target, "#"):
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_target", "topics (#…) are not supported by this broker")
	case len(target) == 64 && identity.IsPublicHex(strings.ToLower(target)):
		return s.direct(ctx, from, strings.ToLower(target))
	default:
		return s.byName(ctx, from, target)
	}
}

// direct resolves a 64-hex key: a session of this replica, a live session of
// another, a member key, or the key of a session that is gone for now (its
// mail waits for it).
func (s *Service) direct(ctx context.Context, from sender, key string) ([]recipient, error) {
	if key == from.routeKey {
		return nil, rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_target", "that is your own session key")
	}
	if sess := s.hub.byKeyIn(from.meshID, key); sess != nil {
		return []recipient{{memberID: sess.memberID, sessionPubkey: key, session: sess, direct: true}}, nil
	}
	if m, found, err := s.memberByPubkey(ctx, from.meshID, key); err != nil {
		return nil, err
	} else if found && m.RevokedAt == nil {
		return []recipient{{memberID: m.ID, direct: true}}, nil
	}
	p, err := s.store.GetPresenceBySessionPubkey(ctx, from.meshID, key)
	if errors.Is(err, db.ErrNotFound) {
		return nil, rpcerr.WithReason(connect.CodeNotFound, "no_recipient", "no peer or member of this mesh has key %s…", key[:12])
	}
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "presence", err)
	}
	return []recipient{{memberID: p.MemberID, sessionPubkey: key, direct: true}}, nil
}

// multicast resolves @all (group "") and @group: every live session in the
// group (a member of eng/backend is in @eng), except hidden ones and the
// sender's own (for @all, every session of the sender's member); and every
// member without a live session whose saved or default groups match, so
// that offline members get the message when they return.
func (s *Service) multicast(ctx context.Context, from sender, group string, all bool) ([]recipient, error) {
	live, err := s.store.ListLivePresences(ctx, from.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "presences", err)
	}
	local := map[string]*session{}
	for _, sess := range s.hub.mesh(from.meshID) {
		local[sess.presenceID] = sess
	}
	var out []recipient
	withLive := map[string]bool{}
	for _, p := range live {
		withLive[p.MemberID] = true
		if (all && p.MemberID == from.member.ID) || p.ID == from.presenceID || !p.Visible {
			continue
		}
		groups := p.Groups
		if sess := local[p.ID]; sess != nil {
			groups = sess.snapshot().groups
		}
		if !all && !inGroup(groups, group) {
			continue
		}
		out = append(out, recipient{memberID: p.MemberID, sessionPubkey: p.SessionPubkey, session: local[p.ID]})
	}
	members, err := s.store.ListMembers(ctx, from.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "members", err)
	}
	var states map[string]db.PeerState
	for _, m := range members {
		if m.RevokedAt != nil || withLive[m.ID] || (all && m.ID == from.member.ID) {
			continue
		}
		if !all {
			if states == nil {
				if states, err = s.peerStates(ctx, from.meshID); err != nil {
					return nil, err
				}
			}
			groups := m.DefaultGroups
			if st, ok := states[m.ID]; ok && len(st.Groups) > 0 {
				groups = st.Groups
			}
			if !inGroup(groups, group) {
				continue
			}
		}
		out = append(out, recipient{memberID: m.ID})
	}
	if len(out) == 0 {
		what := "anyone else in the mesh"
		if !all {
			what = "anyone in @" + group
		}
		return nil, rpcerr.WithReason(connect.CodeNotFound, "no_recipient", "no recipient: there is not %s", what)
	}
	return out, nil
}

func (s *Service) peerStates(ctx context.Context, meshID string) (map[string]db.PeerState, error) {
	list, err := s.store.ListPeerStates(ctx, meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "peer states", err)
	}
	out := make(map[string]db.PeerState, len(list))
	for _, st := range list {
		out[st.MemberID] = st
	}
	return out, nil
}

// inGroup reports whether groups put a session in group: the group itself
// or any group below it (eng/backend is in eng).
func inGroup(groups []db.GroupRole, group string) bool {
	return slices.ContainsFunc(groups, func(g db.GroupRole) bool {
		return g.Name == group || strings.HasPrefix(g.Name, group+"/")
	})
}

// byName resolves a display name that is unique in the mesh: a live session
// first (several sessions of one member by that name are that member: any
// of them takes the message), else a member.
func (s *Service) byName(ctx context.Context, from sender, name string) ([]recipient, error) {
	live, err := s.store.ListLivePresences(ctx, from.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "presences", err)
	}
	var matches []db.Presence
	for _, p := range live {
		if strings.EqualFold(p.DisplayName, name) && p.ID != from.presenceID {
			matches = append(matches, p)
		}
	}
	switch {
	case len(matches) == 1:
		p := matches[0]
		// Without a session key a session takes its member's mail.
		return []recipient{{memberID: p.MemberID, sessionPubkey: p.SessionPubkey, session: s.hub.get(p.ID), direct: true}}, nil
	case len(matches) > 1 && !slices.ContainsFunc(matches, func(p db.Presence) bool { return p.MemberID != matches[0].MemberID }):
		return []recipient{{memberID: matches[0].MemberID, direct: true}}, nil
	case len(matches) > 1:
		members, err := s.memberIndex(ctx, from.meshID)
		if err != nil {
			return nil, err
		}
		return nil, ambiguous(name, len(matches), func(i int) string {
			return matches[i].DisplayName + " (" + shortKey(cmp.Or(matches[i].SessionPubkey, members[matches[i].MemberID].Pubkey)) + ")"
		})
	}
	members, err := s.store.ListMembers(ctx, from.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "members", err)
	}
	var found []db.Member
	for _, m := range members {
		if m.RevokedAt == nil && strings.EqualFold(m.DisplayName, name) && m.ID != from.member.ID {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return []recipient{{memberID: found[0].ID, direct: true}}, nil
	case 0:
		return nil, rpcerr.WithReason(connect.CodeNotFound, "no_recipient", "no peer named %q in this mesh", name)
	}
	return nil, ambiguous(name, len(found), func(i int) string { return found[i].DisplayName + " (" + shortKey(found[i].Pubkey) + ")" })
}

// shortKey is the start of a key, for messages.
func shortKey(key string) string {
	if len(key) <= 12 {
		return key
	}
	return key[:12] + "…"
}

func ambiguous(name string, n int, label func(int) string) error {
	labels := make([]string, 0, n)
	for i := range n {
		labels = append(labels, label(i))
	}
	return rpcerr.WithReason(connect.CodeInvalidArgument, "ambiguous", "%q matches %d peers: %s; use a pubkey", name, n, strings.Join(labels, ", "))
}

// plan builds the delivery rows of a message. A recipient session on this
// replica whose status admits the priority gets its row already claimed, to
// be pushed right after the commit; every other recipient member is
// announced to the other replicas.
func (s *Service) plan(msg db.Message, recipients []recipient, now time.Time) (*write, []*session) {
	w := &write{msg: &msg}
	var pushes []*session
	lease := now.Add(s.cfg.DeliveryLease)
	announced := map[string]bool{}
	planned := map[[2]string]bool{}
	for _, r := range recipients {
		// Sessions without a session key route by their member key: one row
		// serves them all.
		if key := [2]string{r.memberID, r.sessionPubkey}; planned[key] {
			continue
		} else {
			planned[key] = true
		}
		d := db.Delivery{
			MessageID:              msg.ID,
			MeshID:                 msg.MeshID,
			RecipientMemberID:      r.memberID,
			RecipientSessionPubkey: r.sessionPubkey,
			Priority:               msg.Priority,
			CreatedAt:              now,
			ExpiresAt:              msg.ExpiresAt,
		}
		if r.session != nil && r.session.admits(msg.Priority) {
			d.ClaimedBy, d.ClaimExpiresAt, d.PushedAt = r.session.presenceID, &lease, &now
			pushes = append(pushes, r.session)
		} else if !announced[r.memberID] {
			announced[r.memberID] = true
			w.notify = append(w.notify, notification{
				channel: deliveriesChannel, payload: msg.MeshID + ":" + r.memberID + ":" + s.cfg.ReplicaID, memberID: r.memberID,
			})
		}
		w.deliveries = append(w.deliveries, d)
	}
	return w, pushes
}

// admits reports whether a session takes a priority now: only with a
// socket attached (not in its grace period), and then "now" always, "next"
// and "low" only when idle.
func (s *session) admits(priority string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online && (priority == priorityNow || s.status == statusIdle)
}

// allowedPriorities are the priorities a session's status admits.
func (s *session) allowedPriorities() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == statusIdle {
		return []string{priorityNow, priorityNext, priorityLow}
	}
	return []string{priorityNow}
}

// policyTTL is how long a mesh policy is cached.
const policyTTL = 10 * time.Second

type cachedPolicy struct {
	policy db.MeshPolicy
	at     time.Time
}

// sendRate is a mesh's per-member send limit: its policy's, else the
// broker's.
func (s *Service) sendRate(ctx context.Context, meshID string, now time.Time) (perMinute, burst int, err error) {
	var p db.MeshPolicy
	if c, ok := s.policies.Load(meshID); ok && now.Sub(c.(cachedPolicy).at) < policyTTL { //nolint:forcetypeassert // only cachedPolicy is stored
		p = c.(cachedPolicy).policy //nolint:forcetypeassert // only cachedPolicy is stored
	} else {
		m, err := s.store.GetMesh(ctx, meshID)
		if err != nil {
			return 0, 0, rpcerr.From(ctx, s.log, "mesh", err)
		}
		p = m.Policy
		s.policies.Store(meshID, cachedPolicy{policy: p, at: now})
	}
	perMinute, burst = s.cfg.SendRatePerMinute, s.cfg.SendBurst
	if p.SendRatePerMinute > 0 {
		perMinute = int(p.SendRatePerMinute)
	}
	if p.SendBurst > 0 {
		burst = int(p.SendBurst)
	}
	return perMinute, burst, nil
}
