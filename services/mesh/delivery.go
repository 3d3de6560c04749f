package mesh

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/rpcerr"
)

// drainBatch is how many deliveries one claim takes.
const drainBatch = 256

// envelope is a message as pushed to its recipients.
func (s *Service) envelope(m db.Message, senderMemberPubkey string) *meshv1.Envelope {
	return &meshv1.Envelope{
		MessageId:          m.ID,
		MeshId:             m.MeshID,
		SenderPubkey:       cmp.Or(m.SenderSessionPubkey, senderMemberPubkey),
		SenderMemberPubkey: senderMemberPubkey,
		SenderMemberId:     m.SenderMemberID,
		SenderName:         m.SenderName,
		TargetSpec:         m.TargetSpec,
		Priority:           priorityToProto(m.Priority),
		Nonce:              m.Nonce,
		Ciphertext:         m.Ciphertext,
		Subtype:            m.Subtype,
		ClientMessageId:    m.ClientMessageID,
		RequestFingerprint: m.RequestFingerprint,
		ReplyToId:          m.ReplyToID,
		CreateTime:         timestamp(m.CreatedAt),
	}
}

func priorityToProto(p string) meshv1.Priority {
	switch p {
	case priorityNow:
		return meshv1.Priority_PRIORITY_NOW
	case priorityLow:
		return meshv1.Priority_PRIORITY_LOW
	default:
		return meshv1.Priority_PRIORITY_NEXT
	}
}

// push hands a claimed message to a session. Until the session acks it, the
// claim's lease stands for it: when the lease lapses, the sweep finds the
// row and it is pushed again.
func (s *Service) push(sess *session, env *meshv1.Envelope) {
	if !sess.deliver(&meshv1.SubscribeResponse{Event: &meshv1.SubscribeResponse_Message{Message: env}}) {
		s.overflow(sess)
	}
}

// repush pushes again what a session holds in flight (its socket was
// replaced, so the pushes may not have arrived), then what waits for it. A
// claim skips rows under the claimer's own running lease, so the session's
// claims are released first.
func (s *Service) repush(ctx context.Context, sess *session) {
	if _, err := s.store.ReleaseClaims(ctx, sess.presenceID); err != nil {
		// The rows come back when their leases lapse.
		s.log.ErrorContext(ctx, "release claims", "presence_id", sess.presenceID, "err", err)
	}
	s.requestDrain(sess)
}

// requestDrain asks for what waits for a session to be claimed and pushed.
// Requests made while a drain runs make it run once more; one goroutine per
// session drains at a time.
func (s *Service) requestDrain(sess *session) {
	sess.drainWanted.Store(true)
	if sess.draining.CompareAndSwap(false, true) {
		s.wg.Add(1)
		go s.drainLoop(sess)
	}
}

func (s *Service) drainLoop(sess *session) {
	defer s.wg.Done()
	for {
		for sess.drainWanted.Swap(false) {
			s.drain(context.Background(), sess)
		}
		sess.draining.Store(false)
		// A request between the last Swap and the Store must not be lost.
		if !sess.drainWanted.Load() || !sess.draining.CompareAndSwap(false, true) {
			return
		}
	}
}

// drain claims the deliveries a session may take now (addressed to it or
// to its member, of a priority its status admits) and pushes them.
func (s *Service) drain(ctx context.Context, sess *session) {
	for {
		sess.mu.Lock()
		gone := sess.closed || !sess.online
		sess.mu.Unlock()
		if gone {
			return
		}
		// No status change between reading the priorities and the claim
		// (see claimMu).
		sess.claimMu.Lock()
		now := s.now()
		claimed, err := s.store.ClaimDeliveries(ctx, db.ClaimDeliveriesParams{
			MeshID:        sess.meshID,
			MemberID:      sess.memberID,
			SessionPubkey: sess.sessionPubkey,
			Priorities:    sess.allowedPriorities(),
			ClaimedBy:     sess.presenceID,
			Now:           now,
			LeaseUntil:    now.Add(s.cfg.DeliveryLease),
			Limit:         drainBatch,
		})
		sess.claimMu.Unlock()
		if err != nil {
			s.log.ErrorContext(ctx, "claim deliveries", "presence_id", sess.presenceID, "err", err)
			return
		}
		for _, c := range claimed {
			key, err := s.memberPubkey(ctx, c.Message.SenderMemberID)
			if err != nil {
				s.log.ErrorContext(ctx, "sender of a queued message", "message_id", c.Message.ID, "err", err)
				continue
			}
			s.push(sess, s.envelope(c.Message, key))
		}
		if len(claimed) < drainBatch {
			return
		}
	}
}

// memberPubkey returns a member's key (cached: keys never change).
func (s *Service) memberPubkey(ctx context.Context, memberID string) (string, error) {
	if key, ok := s.memberKeys.Load(memberID); ok {
		return key.(string), nil //nolint:forcetypeassert // only strings are stored
	}
	m, err := s.store.GetMember(ctx, memberID)
	if err != nil {
		return "", err
	}
	s.memberKeys.Store(memberID, m.Pubkey)
	return m.Pubkey, nil
}

// AckMessages records that messages reached the caller's model.
func (s *Service) AckMessages(ctx context.Context, req *meshv1.AckMessagesRequest) (*meshv1.AckMessagesResponse, error) {
	sess, err := s.sessionCaller(ctx, "")
	if err != nil {
		return nil, err
	}
	ids := req.GetMessageIds()
	if len(ids) > drainBatch {
		return nil, rpcerr.Invalid("ack at most %d messages at once", drainBatch)
	}
	if len(ids) == 0 {
		return &meshv1.AckMessagesResponse{}, nil
	}
	w := &write{ackBy: sess.presenceID, ackIDs: ids, ackAt: s.now()}
	if err := s.writer.do(ctx, w); err != nil {
		return nil, rpcerr.From(ctx, s.log, "ack", err)
	}
	return &meshv1.AckMessagesResponse{Acked: int32(w.acked)}, nil //nolint:gosec // at most drainBatch
}

// GetMessageStatus reports, for each recipient of a message the caller's
// member sent, whether it is queued, pushed, delivered (acked) or expired.
func (s *Service) GetMessageStatus(ctx context.Context, req *meshv1.GetMessageStatusRequest) (*meshv1.GetMessageStatusResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	msg, err := s.findMessage(ctx, c.meshID, strings.TrimSpace(req.GetMessageId()))
	if err != nil {
		return nil, err
	}
	if c.memberID != "" && c.memberID != msg.SenderMemberID && s.requireAdmin(ctx, c) != nil {
		return nil, rpcerr.WithReason(connect.CodeNotFound, "not_found", "no message %q sent by you", req.GetMessageId())
	}
	deliveries, err := s.store.ListDeliveries(ctx, msg.ID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "deliveries", err)
	}
	members, err := s.memberIndex(ctx, c.meshID)
	if err != nil {
		return nil, err
	}
	out := &meshv1.GetMessageStatusResponse{
		MessageId:  msg.ID,
		TargetSpec: msg.TargetSpec,
		CreateTime: timestamp(msg.CreatedAt),
		Delivered:  len(deliveries) > 0,
	}
	var last time.Time
	for _, d := range deliveries {
		m := members[d.RecipientMemberID]
		r := &meshv1.RecipientStatus{
			MemberId:    d.RecipientMemberID,
			Name:        m.DisplayName,
			Pubkey:      cmp.Or(d.RecipientSessionPubkey, m.Pubkey),
			State:       deliveryState(d),
			QueueTime:   timestamp(d.CreatedAt),
			PushTime:    timestampPtr(d.PushedAt),
			DeliverTime: timestampPtr(d.AckedAt),
			ExpireTime:  timestampPtr(d.ExpiredAt),
		}
		if d.AckedAt == nil {
			out.Delivered = false
		} else if d.AckedAt.After(last) {
			last = *d.AckedAt
		}
		out.Recipients = append(out.Recipients, r)
	}
	if out.Delivered {
		out.DeliverTime = timestamp(last)
	}
	return out, nil
}

func deliveryState(d db.Delivery) meshv1.DeliveryState {
	switch {
	case d.AckedAt != nil:
		return meshv1.DeliveryState_DELIVERY_STATE_DELIVERED
	case d.ExpiredAt != nil:
		return meshv1.DeliveryState_DELIVERY_STATE_EXPIRED
	case d.PushedAt != nil:
		return meshv1.DeliveryState_DELIVERY_STATE_PUSHED
	default:
		return meshv1.DeliveryState_DELIVERY_STATE_QUEUED
	}
}

// findMessage finds a message of a mesh by id or by a unique prefix of at
// least 8 characters.
func (s *Service) findMessage(ctx context.Context, meshID, id string) (db.Message, error) {
	if len(id) < 8 || len(id) > db.IDLength {
		return db.Message{}, rpcerr.Invalid("messageId must be 8 to %d characters", db.IDLength)
	}
	if len(id) == db.IDLength {
		m, err := s.store.GetMessage(ctx, id)
		if errors.Is(err, db.ErrNotFound) || (err == nil && m.MeshID != meshID) {
			return db.Message{}, rpcerr.WithReason(connect.CodeNotFound, "not_found", "no message %q", id)
		}
		if err != nil {
			return db.Message{}, rpcerr.From(ctx, s.log, "message", err)
		}
		return m, nil
	}
	found, err := s.store.FindMessagesByPrefix(ctx, meshID, id, 2)
	if err != nil {
		return db.Message{}, rpcerr.From(ctx, s.log, "message", err)
	}
	switch len(found) {
	case 0:
		return db.Message{}, rpcerr.WithReason(connect.CodeNotFound, "not_found", "no message %q", id)
	case 1:
		return found[0], nil
	}
	return db.Message{}, rpcerr.WithReason(connect.CodeInvalidArgument, "ambiguous_prefix", "%q matches several messages; give more characters", id)
}

// onDeliveryNotice drains the local sessions of a member another replica
// queued mail for ("<meshId>:<memberId>:<replicaId>"). This replica's own
// notices are skipped: Send drained its sessions already.
func (s *Service) onDeliveryNotice(payload string) {
	parts := strings.SplitN(payload, ":", 3)
	if len(parts) != 3 || parts[2] == s.cfg.ReplicaID {
		return
	}
	s.drainMember(parts[0], parts[1])
}

// drainMember drains this replica's sessions of a member.
func (s *Service) drainMember(meshID, memberID string) {
	for _, sess := range s.hub.mesh(meshID) {
		if sess.memberID == memberID {
			s.requestDrain(sess)
		}
	}
}

// drainAll drains every session of this replica.
func (s *Service) drainAll() {
	for _, sess := range s.hub.all() {
		s.requestDrain(sess)
	}
}

// leaveDeliveries hands the pending group and broadcast mail of a session
// gone for good to its member (see db.Queries.LeaveSessionDeliveries), and
// lets the member's sessions here take it: nothing a group was sent waits
// for a session that will not come back.
func (s *Service) leaveDeliveries(ctx context.Context, meshID, memberID, sessionPubkey string) {
	n, err := s.store.LeaveSessionDeliveries(ctx, meshID, memberID, sessionPubkey)
	if err != nil {
		s.log.ErrorContext(ctx, "hand a session's mail to its member", "mesh_id", meshID, "member_id", memberID, "err", err)
		return
	}
	if n > 0 {
		s.log.InfoContext(ctx, "a session's mail handed to its member", "mesh_id", meshID, "member_id", memberID, "deliveries", n)
		s.drainMember(meshID, memberID)
	}
}

// lapsedSweepLimit caps the recipients one lease sweep wakes.
const lapsedSweepLimit = 1000

// redeliver drains this replica's sessions of the members whose mail has a
// lapsed claim: pushed and not acked within the lease (the socket dropped,
// the client failed, or the broker that pushed it died).
func (s *Service) redeliver(ctx context.Context) {
	lapsed, err := s.store.ListLapsedClaims(ctx, s.now(), lapsedSweepLimit)
	if err != nil {
		s.log.ErrorContext(ctx, "list lapsed claims", "err", err)
		return
	}
	for _, r := range lapsed {
		s.drainMember(r.MeshID, r.MemberID)
	}
}
