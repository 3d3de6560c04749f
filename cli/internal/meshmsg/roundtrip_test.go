package meshmsg_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

func newKey(t *testing.T) identity.KeyPair {
	t.Helper()
	k, err := identity.Generate()
	require.NoError(t, err)
	return k
}

// pushOf is the push a broker makes of a send from a sender's session.
func pushOf(s *edgev1.Send, from identity.KeyPair, name string) *edgev1.Push {
	return &edgev1.Push{
		MessageId:    "msg-1",
		MeshId:       "mesh-1",
		SenderPubkey: from.PublicHex(),
		SenderName:   &name,
		Priority:     s.GetPriority(),
		Nonce:        s.GetNonce(),
		Ciphertext:   s.GetCiphertext(),
		CreatedAt:    "2026-03-01T14:03:07.123Z",
		TargetSpec:   &s.TargetSpec,
	}
}

func TestDirectRoundTrip(t *testing.T) {
	t.Parallel()
	alice, bobSession, bobMember := newKey(t), newKey(t), newKey(t)
	target, err := meshmsg.Resolve("bob", []*edgev1.PeerInfo{
		{DisplayName: "Bob", Pubkey: bobSession.PublicHex(), MemberPubkey: bobMember.PublicHex()},
	})
	require.NoError(t, err)

	send, err := meshmsg.NewSend(target, "ship it? ✓", "now", alice.Secret)
	require.NoError(t, err)
	require.Equal(t, bobSession.PublicHex(), send.GetTargetSpec())
	require.Equal(t, "now", send.GetPriority())
	require.NotEmpty(t, send.GetClientMessageId())
	require.Equal(t, send.GetClientMessageId(), send.GetId())
	// Sealed: the body is not the text.
	require.NotContains(t, send.GetCiphertext(), base64.StdEncoding.EncodeToString([]byte("ship it")))

	m := meshmsg.Decode(pushOf(send, alice, "Alice"), bobSession.Secret, bobMember.Secret)
	require.Equal(t, meshmsg.Message{
		ID: "msg-1", MeshID: "mesh-1", From: alice.PublicHex(), FromName: "Alice", Priority: "now",
		SentAt: time.Date(2026, 3, 1, 14, 3, 7, 123e6, time.UTC), Kind: "direct", Target: bobSession.PublicHex(),
		Text: "ship it? ✓",
	}, m)

	// Another session of Bob's member cannot open what was sealed to this
	// session, and says so.
	other := meshmsg.Decode(pushOf(send, alice, "Alice"), newKey(t).Secret, bobMember.Secret)
	require.True(t, other.Undecryptable)
	require.Equal(t, "⚠ could not decrypt a message from Alice", other.Text)
	require.Equal(t, "direct", other.Kind)
}

func TestDirectToMemberKey(t *testing.T) {
	t.Parallel()
	alice, bobMember := newKey(t), newKey(t)
	// Bob is offline: the key is sent as it is, and any session of his opens
	// it with the member key.
	target, err := meshmsg.Resolve(bobMember.PublicHex(), nil)
	require.NoError(t, err)
	require.True(t, target.Direct)
	send, err := meshmsg.NewSend(target, "while you were out", "", alice.Secret)
	require.NoError(t, err)
	require.Equal(t, "next", send.GetPriority())
	m := meshmsg.Decode(pushOf(send, alice, "Alice"), newKey(t).Secret, bobMember.Secret)
	require.False(t, m.Undecryptable)
	require.Equal(t, "while you were out", m.Text)
}

func TestMulticastRoundTrip(t *testing.T) {
	t.Parallel()
	alice := newKey(t)
	for _, tt := range []struct{ to, spec, kind string }{
		{"@eng/backend", "@eng/backend", "group"},
		{"*", "*", "broadcast"},
		{"@all", "*", "broadcast"},
	} {
		target, err := meshmsg.Resolve(tt.to, nil)
		require.NoError(t, err)
		send, err := meshmsg.NewSend(target, "standup in 5", "low", alice.Secret)
		require.NoError(t, err)
		require.Equal(t, tt.spec, send.GetTargetSpec())
		require.Equal(t, base64.StdEncoding.EncodeToString([]byte("standup in 5")), send.GetCiphertext())
		require.NotEmpty(t, send.GetNonce())
		// Anyone reads it, with any keys or none.
		m := meshmsg.Decode(pushOf(send, alice, "Alice"), nil, nil)
		require.Equal(t, "standup in 5", m.Text, tt.to)
		require.Equal(t, tt.kind, m.Kind, tt.to)
		require.Equal(t, "low", m.Priority)
	}
}

func TestNewSendRefuses(t *testing.T) {
	t.Parallel()
	alice := newKey(t)
	direct := meshmsg.Target{Spec: newKey(t).PublicHex(), Name: "Bob", Direct: true}
	for _, tt := range []struct {
		name     string
		target   meshmsg.Target
		text     string
		priority string
		session  []byte
		wantErr  string
	}{
		{"EmptyText", direct, " \n", "", alice.Secret, "empty"},
		{"BadPriority", direct, "hi", "urgent", alice.Secret, `priority "urgent": use now, next or low`},
		{"NoTarget", meshmsg.Target{}, "hi", "", alice.Secret, "no recipient"},
		{"NoSessionKey", direct, "hi", "", nil, "no session key"},
		{"BadKey", meshmsg.Target{Spec: "zz", Name: "zz", Direct: true}, "hi", "", alice.Secret, "seal the message to zz"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := meshmsg.NewSend(tt.target, tt.text, tt.priority, tt.session)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestNewSendFreshIDs(t *testing.T) {
	t.Parallel()
	target := meshmsg.Target{Spec: "*", Name: "*"}
	a, err := meshmsg.NewSend(target, "one", "", nil)
	require.NoError(t, err)
	b, err := meshmsg.NewSend(target, "one", "", nil)
	require.NoError(t, err)
	require.NotEqual(t, a.GetClientMessageId(), b.GetClientMessageId())
}

func TestDecodeUndecryptable(t *testing.T) {
	t.Parallel()
	alice := newKey(t)
	send, err := meshmsg.NewSend(meshmsg.Target{Spec: newKey(t).PublicHex(), Name: "x", Direct: true}, "secret", "", alice.Secret)
	require.NoError(t, err)
	p := pushOf(send, alice, "")
	p.SenderName = nil
	m := meshmsg.Decode(p, newKey(t).Secret, newKey(t).Secret)
	require.True(t, m.Undecryptable)
	require.Equal(t, "peer-"+alice.PublicHex()[:8], m.FromName)
	require.Equal(t, "⚠ could not decrypt a message from peer-"+alice.PublicHex()[:8], m.Text)

	// No target pushed and a body that opens with no step: unknown kind.
	p.TargetSpec = nil
	m = meshmsg.Decode(p, nil, nil)
	require.Equal(t, "unknown", m.Kind)
	require.True(t, m.Undecryptable)
}

func TestDecodeReminderAndMissingFields(t *testing.T) {
	t.Parallel()
	alice := newKey(t)
	send, err := meshmsg.NewSend(meshmsg.Target{Spec: alice.PublicHex(), Name: "me", Direct: true}, "check the deploy", "", alice.Secret)
	require.NoError(t, err)
	p := pushOf(send, alice, "Alice")
	subtype := "reminder"
	p.Subtype = &subtype
	p.Priority, p.CreatedAt = "", "not a time"
	m := meshmsg.Decode(p, alice.Secret, nil)
	require.Equal(t, "reminder", m.Kind)
	require.Equal(t, "check the deploy", m.Text)
	require.Equal(t, "next", m.Priority)
	require.True(t, m.SentAt.IsZero())

	// A nil push decodes to an empty message, without a panic.
	require.Equal(t, "system", meshmsg.Decode(nil, nil, nil).FromName)
}
