package edge

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/edge/internal/rpccode"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
)

// The messaging and state frames.

//nolint:gochecknoglobals // read-only table.
var priorityValues = map[string]meshv1.Priority{
	"":     meshv1.Priority_PRIORITY_NEXT,
	"now":  meshv1.Priority_PRIORITY_NOW,
	"next": meshv1.Priority_PRIORITY_NEXT,
	"low":  meshv1.Priority_PRIORITY_LOW,
}

// send queues a message and answers with an ack: queued with the message
// id once it is durable, or not queued with the reason.
func (c *conn) sendMessage(ctx context.Context, reqID string, m *edgev1.Send, seq uint64) {
	refuse := func(reason string) {
		c.send(reqID, &edgev1.Ack{Id: m.GetId(), Error: &reason})
	}
	priority, ok := priorityValues[m.GetPriority()]
	if !ok {
		refuse("invalid_argument: priority must be now, next or low")
		return
	}
	rctx, cancel := c.rpcContext(ctx, HeaderSendSeq, c.epoch+":"+strconv.FormatUint(seq, 10))
	defer cancel()
	res, err := c.h.cfg.Mesh.Send(rctx, &meshv1.SendRequest{
		TargetSpec:         m.GetTargetSpec(),
		Priority:           priority,
		Nonce:              m.GetNonce(),
		Ciphertext:         m.GetCiphertext(),
		ClientMessageId:    m.GetClientMessageId(),
		RequestFingerprint: m.GetRequestFingerprint(),
		ReplyToId:          m.GetReplyToId(),
		Mentions:           m.GetMentions(),
	})
	if err != nil {
		refuse(rpccode.Classic(err) + ": " + errorMessage(err))
		return
	}
	c.send(reqID, &edgev1.Ack{Id: m.GetId(), MessageId: res.GetMessageId(), Queued: true})
}

// clientAck confirms messages reached the model. It has no reply.
func (c *conn) clientAck(ctx context.Context, reqID string, m *edgev1.ClientAck) {
	if m.GetBrokerMessageId() == "" {
		// Only broker ids are tracked; a classic client sends both.
		return
	}
	call(ctx, c, reqID, c.h.cfg.Mesh.AckMessages, &meshv1.AckMessagesRequest{MessageIds: []string{m.GetBrokerMessageId()}}, nil)
}

func (c *conn) messageStatus(ctx context.Context, reqID string, m *edgev1.MessageStatus) {
	call(ctx, c, reqID, c.h.cfg.Mesh.GetMessageStatus, &meshv1.GetMessageStatusRequest{MessageId: m.GetMessageId()}, func(res *meshv1.GetMessageStatusResponse) {
		out := &edgev1.MessageStatusResult{
			MessageId:  res.GetMessageId(),
			TargetSpec: res.GetTargetSpec(),
			Delivered:  res.GetDelivered(),
			Recipients: make([]*edgev1.RecipientStatus, 0, len(res.GetRecipients())),
		}
		if t := res.GetDeliverTime(); t != nil {
			out.DeliveredAt = optional(isoTime(t.AsTime()))
		}
		for _, r := range res.GetRecipients() {
			rs := &edgev1.RecipientStatus{
				Name:     r.GetName(),
				Pubkey:   r.GetPubkey(),
				Status:   deliveryStateName(r.GetState()),
				MemberId: optional(r.GetMemberId()),
			}
			if t := r.GetQueueTime(); t != nil {
				rs.QueuedAt = optional(isoTime(t.AsTime()))
			}
			if t := r.GetPushTime(); t != nil {
				rs.PushedAt = optional(isoTime(t.AsTime()))
			}
			if t := r.GetDeliverTime(); t != nil {
				rs.DeliveredAt = optional(isoTime(t.AsTime()))
			}
			if t := r.GetExpireTime(); t != nil {
				rs.ExpiredAt = optional(isoTime(t.AsTime()))
			}
			out.Recipients = append(out.Recipients, rs)
		}
		c.send(reqID, out)
	})
}

func deliveryStateName(s meshv1.DeliveryState) string {
	switch s {
	case meshv1.DeliveryState_DELIVERY_STATE_PUSHED:
		return "pushed"
	case meshv1.DeliveryState_DELIVERY_STATE_DELIVERED:
		return "delivered"
	case meshv1.DeliveryState_DELIVERY_STATE_EXPIRED:
		return "expired"
	default:
		return "queued"
	}
}

// setState writes a shared key. As in the classic protocol it has no reply
// (a reply would confuse classic clients' correlation of get_state); the
// other peers get a state_change.
func (c *conn) setState(ctx context.Context, reqID string, m *edgev1.SetState) {
	call(ctx, c, reqID, c.h.cfg.Mesh.SetState, &meshv1.SetStateRequest{Key: m.GetKey(), Value: valueOrNull(m.GetValue())}, nil)
}

func valueOrNull(v *structpb.Value) *structpb.Value {
	if v == nil {
		return structpb.NewNullValue()
	}
	return v
}

func (c *conn) getState(ctx context.Context, reqID string, m *edgev1.GetState) {
	call(ctx, c, reqID, c.h.cfg.Mesh.GetState, &meshv1.GetStateRequest{Key: m.GetKey()}, func(res *meshv1.GetStateResponse) {
		e := res.GetEntry()
		out := &edgev1.StateResult{Key: m.GetKey(), Value: structpb.NewNullValue()}
		if e != nil {
			out.Value, out.UpdatedBy, out.UpdatedAt = e.GetValue(), e.GetUpdatedBy(), isoTime(e.GetUpdateTime().AsTime())
		}
		c.send(reqID, out)
	})
}

func (c *conn) listState(ctx context.Context, reqID string, _ *edgev1.ListState) {
	call(ctx, c, reqID, c.h.cfg.Mesh.ListState, &meshv1.ListStateRequest{}, func(res *meshv1.ListStateResponse) {
		out := &edgev1.StateList{Entries: make([]*edgev1.StateEntry, 0, len(res.GetEntries()))}
		for _, e := range res.GetEntries() {
			out.Entries = append(out.Entries, &edgev1.StateEntry{
				Key: e.GetKey(), Value: e.GetValue(), UpdatedBy: e.GetUpdatedBy(), UpdatedAt: isoTime(e.GetUpdateTime().AsTime()),
			})
		}
		c.send(reqID, out)
	})
}

// messagePush is the classic push of a message.
func messagePush(env *meshv1.Envelope) *edgev1.Push {
	return &edgev1.Push{
		MessageId:          env.GetMessageId(),
		MeshId:             env.GetMeshId(),
		SenderPubkey:       env.GetSenderPubkey(),
		SenderMemberPubkey: optional(env.GetSenderMemberPubkey()),
		SenderMemberId:     optional(env.GetSenderMemberId()),
		SenderName:         optional(env.GetSenderName()),
		Priority:           priorityName(env.GetPriority()),
		Nonce:              env.GetNonce(),
		Ciphertext:         env.GetCiphertext(),
		CreatedAt:          isoTime(env.GetCreateTime().AsTime()),
		ClientMessageId:    optional(env.GetClientMessageId()),
		RequestFingerprint: optional(env.GetRequestFingerprint()),
		ReplyToId:          optional(env.GetReplyToId()),
		Subtype:            optional(env.GetSubtype()),
		TargetSpec:         optional(env.GetTargetSpec()),
	}
}
