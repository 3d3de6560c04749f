package mesh

import (
	"context"
	"encoding/base64"
	"strings"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/rpcerr"
)

// Messages the broker sends on a member's behalf, with no session behind
// them: the scheduler's fires. They go through the same routing, delivery
// rows, pushes and notices as Send.

// ActingMember is the member an RPC acts as.
type ActingMember struct {
	MeshID   string
	MemberID string
	// SessionPubkey is the calling session's routing key (its session key,
	// else the member key); empty for callers without a session.
	SessionPubkey string
}

// CallerMember resolves the member the caller of an RPC acts as, in meshID
// ("" for the caller's own mesh): a peer session's member, a member that
// signed the request, or the member that made an API key. The operator acts
// as no member.
func (s *Service) CallerMember(ctx context.Context, meshID string) (ActingMember, error) {
	c, err := s.callerIn(ctx, meshID)
	if err != nil {
		return ActingMember{}, err
	}
	switch {
	case c.session != nil:
		return ActingMember{MeshID: c.meshID, MemberID: c.memberID, SessionPubkey: c.session.routingKey()}, nil
	case c.id.Kind == auth.KindAPIKey:
		m, err := s.apiKeyMember(ctx, c)
		if err != nil {
			return ActingMember{}, err
		}
		return ActingMember{MeshID: c.meshID, MemberID: m.ID}, nil
	case c.memberID != "":
		return ActingMember{MeshID: c.meshID, MemberID: c.memberID}, nil
	}
	return ActingMember{}, rpcerr.Denied("this RPC acts for a member: call it from a session, signed with a member key, or with a member's API key")
}

// CheckMemberTarget reports whether a member may address target: a pubkey
// or display name that resolves now (the errors Send gives: invalid_target,
// no_recipient, ambiguous), or a well-formed @group, @all or *, which may be
// empty now and fill up later. Empty target or the member's own key is the
// member itself and always valid.
func (s *Service) CheckMemberTarget(ctx context.Context, member db.Member, target string) error {
	target = strings.TrimSpace(target)
	switch {
	case isSelfTarget(member, target), target == "*", target == "@all":
		return nil
	case len(target) > maxShortField*2:
		return rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_target", "the target is longer than %d characters", maxShortField*2)
	case strings.HasPrefix(target, "@"):
		if err := checkGroupName(strings.TrimPrefix(target, "@")); err != nil {
			return rpcerr.WithReason(connect.CodeInvalidArgument, "invalid_target", "%s", err.Error())
		}
		return nil
	}
	_, err := s.recipients(ctx, memberSender(member), target)
	return err
}

// MemberMessage is a message sent as a member with no session: the sender
// is the member (its key and display name).
type MemberMessage struct {
	// Member sends the message; the caller has checked it is not revoked.
	Member db.Member
	// TargetSpec is a pubkey, @group, @all, * or a display name, resolved as
	// Send does. Empty, or the member's own key, is the member itself: the
	// message waits for whichever of its sessions takes it, now or later.
	TargetSpec string
	// Text is the plaintext body; it is sent base64 with no nonce, as group
	// and broadcast bodies are.
	Text     string
	Subtype  string
	Priority meshv1.Priority
	// InTx, if set, runs first in the transaction that stores the message;
	// its error rolls the transaction back (nothing is sent) and is
	// returned as is.
	InTx func(ctx context.Context, q db.Queries) error
}

// SendAsMember resolves a member message's recipients, stores it and its
// deliveries in one transaction (with m.InTx), and then pushes it to the
// recipients this replica serves and tells the other replicas. It returns
// the message id. Resolution errors are Send's Connect errors; m.InTx's
// and the database's come back unwrapped.
func (s *Service) SendAsMember(ctx context.Context, m MemberMessage) (string, error) {
	priority, err := priorityName(m.Priority)
	if err != nil {
		return "", err
	}
	from := memberSender(m.Member)
	target := strings.TrimSpace(m.TargetSpec)
	var recipients []recipient
	if isSelfTarget(m.Member, target) {
		target = m.Member.Pubkey
		recipients = []recipient{{memberID: m.Member.ID, direct: true}}
	} else if recipients, err = s.recipients(ctx, from, target); err != nil {
		return "", err
	}
	now := s.now()
	msg := db.Message{
		ID:             db.NewID(),
		MeshID:         m.Member.MeshID,
		SenderMemberID: m.Member.ID,
		SenderName:     m.Member.DisplayName,
		TargetSpec:     target,
		Priority:       priority,
		Ciphertext:     base64.StdEncoding.EncodeToString([]byte(m.Text)),
		Subtype:        m.Subtype,
		CreatedAt:      now,
		ExpiresAt:      now.Add(s.cfg.MessageTTL),
	}
	w, pushes := s.plan(msg, recipients, now)
	err = s.store.InTx(ctx, func(q db.Queries) error {
		if m.InTx != nil {
			if err := m.InTx(ctx, q); err != nil {
				return err
			}
		}
		return apply(ctx, q, []*write{w})
	})
	if err != nil {
		return "", err
	}
	env := s.envelope(msg, m.Member.Pubkey)
	for _, sess := range pushes {
		s.push(sess, env)
	}
	for _, n := range w.notify {
		s.drainMember(msg.MeshID, n.memberID)
	}
	return msg.ID, nil
}

// memberSender is a member sending with no session.
func memberSender(m db.Member) sender {
	return sender{meshID: m.MeshID, member: m, name: m.DisplayName, routeKey: m.Pubkey}
}

// isSelfTarget reports whether a target names the member itself.
func isSelfTarget(m db.Member, target string) bool {
	return target == "" || strings.EqualFold(target, m.Pubkey)
}
