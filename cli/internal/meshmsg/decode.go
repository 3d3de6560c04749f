package meshmsg

import (
	"crypto/ed25519"
	"strings"
	"time"

	"claudemesh.dev/cli/internal/meshcrypto"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// Kinds of message.
const (
	kindDirect    = "direct"
	kindBroadcast = "broadcast"
	kindGroup     = "group"
	kindSystem    = "system"
	kindReminder  = "reminder"
	kindWebhook   = "webhook"
	kindUnknown   = "unknown"
)

// systemSender is the sender of broker events; webhookSender prefixes the
// sender of webhook pushes ("webhook:<name>").
const (
	systemSender  = "system"
	webhookSender = "webhook:"
)

// Message is a decoded push.
type Message struct {
	ID     string `json:"id"`
	MeshID string `json:"meshId"`
	// From is the sender's pubkey as pushed ("system" for broker events).
	From string `json:"from"`
	// FromName is the sender's display name, else "peer-<first 8 hex>",
	// else "system".
	FromName string    `json:"fromName"`
	Priority string    `json:"priority"`
	SentAt   time.Time `json:"sentAt,omitzero"`
	// Kind is "direct", "broadcast", "group", "system", "reminder",
	// "webhook" or "unknown".
	Kind string `json:"kind"`
	// Target is the target_spec as pushed.
	Target  string `json:"target,omitempty"`
	Subtype string `json:"subtype,omitempty"`
	Event   string `json:"event,omitempty"`
	// Text is the plaintext, the rendered system event, or a warning that
	// the message could not be decrypted.
	Text string `json:"text"`
	// Undecryptable says Text is that warning.
	Undecryptable bool `json:"undecryptable,omitempty"`
}

// Decode reads a push with the session and member keys, trying them (and
// then a plain body) in meshcrypto.Open's order. Broker events (subtype
// "system" or sender "system") become one readable line, webhooks
// "[webhook:<name>] <json>". A body that opens with neither key gives an
// Undecryptable message whose Text says so.
func Decode(p *edgev1.Push, session, member ed25519.PrivateKey) Message {
	m := Message{
		ID:       p.GetMessageId(),
		MeshID:   p.GetMeshId(),
		From:     p.GetSenderPubkey(),
		Priority: p.GetPriority(),
		Target:   p.GetTargetSpec(),
		Subtype:  p.GetSubtype(),
		Event:    p.GetEvent(),
	}
	if m.Priority == "" {
		m.Priority = priorityNext
	}
	if t, err := time.Parse(time.RFC3339Nano, p.GetCreatedAt()); err == nil {
		m.SentAt = t
	}
	m.FromName = senderName(p)
	switch {
	case m.Subtype == kindSystem || m.From == systemSender:
		m.Kind = kindSystem
		m.Text = renderSystem(m.Event, p.GetEventData().AsMap(), m.SentAt)
		return m
	case m.Subtype == kindWebhook || strings.HasPrefix(m.From, webhookSender):
		m.Kind = kindWebhook
		name := m.Event
		if name == "" {
			name = strings.TrimPrefix(m.From, webhookSender)
		}
		m.Text = "[webhook:" + name + "] " + compactJSON(p.GetEventData().AsMap())
		return m
	}
	text, how, err := meshcrypto.Open(p.GetNonce(), p.GetCiphertext(), m.From, session, member)
	if err != nil {
		m.Text, m.Undecryptable = "⚠ could not decrypt a message from "+m.FromName, true
	} else {
		m.Text = text
	}
	m.Kind = kindOf(m.Subtype, m.Target, how)
	return m
}

// senderName is the pushed sender name, else a name made from the key.
func senderName(p *edgev1.Push) string {
	from := p.GetSenderPubkey()
	switch {
	case p.GetSenderName() != "":
		return p.GetSenderName()
	case strings.HasPrefix(from, webhookSender):
		return from
	case identity.IsPublicHex(strings.ToLower(from)):
		return "peer-" + strings.ToLower(from[:8])
	}
	return systemSender
}

// kindOf tells a peer message's kind from its subtype and target, or, with
// no target pushed, from how its body opened.
func kindOf(subtype, target string, how meshcrypto.Method) string {
	switch {
	case subtype == kindReminder:
		return kindReminder
	case target == "*" || strings.EqualFold(target, "@all"):
		return kindBroadcast
	case strings.HasPrefix(target, "@"):
		return kindGroup
	case len(target) == 64 && identity.IsPublicHex(strings.ToLower(target)):
		return kindDirect
	case target == "" && (how == meshcrypto.MethodSession || how == meshcrypto.MethodMember):
		return kindDirect
	}
	return kindUnknown
}
