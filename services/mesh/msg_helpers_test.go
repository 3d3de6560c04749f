package mesh_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// quiet is how long a test watches a socket to see that nothing arrives.
const quiet = 300 * time.Millisecond

// msgBundle is a broker with a mesh of four members: alice (the admin),
// bob, carol and dave.
type msgBundle struct {
	b                       *meshtest.Broker
	mesh                    *meshtest.Mesh
	alice, bob, carol, dave meshtest.Member
}

func newMsgBundle(t *testing.T, engine storetest.Engine, opts ...func(*server.Config)) *msgBundle {
	t.Helper()
	b := meshtest.Start(t, engine.Open(t), opts...)
	return newMsgBundleOn(t, b)
}

func newMsgBundleOn(t *testing.T, b *meshtest.Broker) *msgBundle {
	t.Helper()
	m := b.CreateMesh(t, "team", "")
	return &msgBundle{
		b: b, mesh: m, alice: m.Admin,
		bob: m.AddMember(t, "bob"), carol: m.AddMember(t, "carol"), dave: m.AddMember(t, "dave"),
	}
}

// session is a connected peer with its session key.
type session struct {
	*meshtest.Peer
	key identity.KeyPair
}

// hello describes a session to open.
type hello struct {
	id     string
	key    *identity.KeyPair
	name   string
	groups []string
	at     time.Time
}

// openSession opens a session of member with a fresh session key (or h.key), in
// h.groups (none given: the member's saved or default groups).
func openSession(t *testing.T, b *meshtest.Broker, member meshtest.Member, h hello) *session {
	t.Helper()
	key := newKeyPair(t)
	if h.key != nil {
		key = *h.key
	}
	if h.id == "" {
		h.id = "s-" + member.Name + "-" + db.NewID()[:6]
	}
	groups := make([]map[string]string, 0, len(h.groups))
	for _, g := range h.groups {
		groups = append(groups, map[string]string{"name": g})
	}
	if len(groups) == 0 {
		groups = nil // no groups in the hello
	}
	p := b.Connect(t, member, meshtest.Hello{SessionID: h.id, SessionKey: &key, DisplayName: h.name, Groups: groups, Timestamp: h.at})
	return &session{Peer: p, key: key}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// nonce is a 24-byte nonce, base64.
var nonce = base64.StdEncoding.EncodeToString(make([]byte, 24))

// sendFrame is a send of body (as its ciphertext) to target.
func sendFrame(target, priority, body string) map[string]any {
	return map[string]any{
		"type": "send", "id": "c-" + db.NewID()[:8], "targetSpec": target, "priority": priority,
		"nonce": nonce, "ciphertext": b64(body),
	}
}

// sendAck sends a send frame and returns its ack.
func sendAck(t *testing.T, p *meshtest.Peer, frame map[string]any) map[string]any {
	t.Helper()
	p.Send(frame)
	ack := p.Expect("ack")
	require.Equal(t, frame["id"], ack["id"], "the ack echoes the send's id")
	return ack
}

// sendOK sends body to target and requires it queued; it returns the
// message id.
func sendOK(t *testing.T, p *meshtest.Peer, target, priority, body string) string {
	t.Helper()
	ack := sendAck(t, p, sendFrame(target, priority, body))
	require.Equal(t, true, ack["queued"], "ack %v", ack)
	require.NotContains(t, ack, "error")
	id, _ := ack["messageId"].(string)
	require.Len(t, id, db.IDLength)
	return id
}

// sendRefused sends body to target and requires it refused with the error
// code; it returns the error text.
func sendRefused(t *testing.T, p *meshtest.Peer, target, priority, body, code string) string {
	t.Helper()
	ack := sendAck(t, p, sendFrame(target, priority, body))
	require.Equal(t, false, ack["queued"], "ack %v", ack)
	require.Empty(t, ack["messageId"], "ack %v", ack)
	msg, _ := ack["error"].(string)
	require.True(t, strings.HasPrefix(msg, code+": "), "error %q, want code %q", msg, code)
	return msg
}

// nextMessage reads the next message push, dropping system events; any
// other frame fails the test.
func nextMessage(t *testing.T, p *meshtest.Peer) map[string]any {
	t.Helper()
	for {
		f := p.Read()
		if f["type"] == "push" && f["subtype"] == "system" {
			continue
		}
		require.Equal(t, "push", f["type"], "expected a message push, got %v", f)
		return f
	}
}

// expectMessage reads the next message push (system events are dropped)
// and requires its body.
func expectMessage(t *testing.T, p *meshtest.Peer, body string) map[string]any {
	t.Helper()
	f := nextMessage(t, p)
	require.Equal(t, b64(body), f["ciphertext"], "push %v", f)
	require.NotContains(t, f, "subtype", "a message push has no subtype")
	return f
}

// expectMessages reads message pushes and requires their bodies, in order.
func expectMessages(t *testing.T, p *meshtest.Peer, bodies ...string) []map[string]any {
	t.Helper()
	out := make([]map[string]any, 0, len(bodies))
	for _, body := range bodies {
		out = append(out, expectMessage(t, p, body))
	}
	return out
}

// firstMessage waits for a message push on any of peers and returns which
// one got it, and the push.
func firstMessage(t *testing.T, peers ...*meshtest.Peer) (int, map[string]any) {
	t.Helper()
	deadline := time.Now().Add(meshtest.Patience)
	for time.Now().Before(deadline) {
		for i, p := range peers {
			f, err := p.ReadWithin(20 * time.Millisecond)
			if isTimeout(err) {
				continue
			}
			require.NoError(t, err)
			if f["type"] == "push" && f["subtype"] == nil {
				return i, f
			}
			require.True(t, f["type"] == "push" && f["subtype"] == "system", "unexpected frame %v", f)
		}
	}
	require.FailNow(t, "no message pushed in time")
	return -1, nil
}

// skipPushes reads p's frames for d, allowing only system events and
// pushes of the message id.
func skipPushes(t *testing.T, p *meshtest.Peer, d time.Duration, id string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, err := p.ReadWithin(time.Until(deadline))
		if isTimeout(err) {
			return
		}
		require.NoError(t, err)
		require.True(t, f["type"] == "push" && (f["subtype"] == "system" || f["messageId"] == id), "unexpected frame %v", f)
	}
}

// clientAck acks pushes, and waits until the broker handled the acks.
func clientAck(t *testing.T, p *meshtest.Peer, messageIDs ...string) {
	t.Helper()
	for _, id := range messageIDs {
		p.Send(map[string]any{"type": "client_ack", "brokerMessageId": id})
	}
	settle(t, p, messageIDs...)
}

// settle waits until the broker handled every frame p sent before (frames of
// a socket are handled in order). Meanwhile only system events and pushes
// of the allowed message ids may arrive (a lapsed lease pushes again).
func settle(t *testing.T, p *meshtest.Peer, allow ...string) {
	t.Helper()
	reqID := "sync-" + db.NewID()
	p.Send(map[string]any{"type": "get_state", "key": "sync", "_reqId": reqID})
	for {
		f := p.Read()
		id, _ := f["messageId"].(string)
		switch {
		case f["type"] == "state_result" && f["_reqId"] == reqID:
			return
		case f["type"] == "push" && (f["subtype"] == "system" || slices.Contains(allow, id)):
		default:
			require.FailNow(t, "unexpected frame", "%v", f)
		}
	}
}

// messageStatus asks p for a message's status.
func messageStatus(t *testing.T, p *meshtest.Peer, messageID string) map[string]any {
	t.Helper()
	return p.Request(map[string]any{"type": "message_status", "messageId": messageID}, "message_status_result")
}

// recipients returns the recipients of a message_status_result, by pubkey.
func recipients(t *testing.T, res map[string]any) map[string]map[string]any {
	t.Helper()
	raw, ok := res["recipients"].([]any)
	require.True(t, ok, "recipients of %v", res)
	out := make(map[string]map[string]any, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		require.True(t, ok)
		out[m["pubkey"].(string)] = m
	}
	return out
}

// states returns the recipients' states of a message, by pubkey.
func states(t *testing.T, p *meshtest.Peer, messageID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, r := range recipients(t, messageStatus(t, p, messageID)) {
		out[k] = r["status"].(string)
	}
	return out
}

// sendStatus sets p's status by hand, without waiting.
func sendStatus(p *meshtest.Peer, status string) {
	p.Send(map[string]any{"type": "set_status", "status": status})
}

// setStatus sets p's status by hand and waits until it is applied; it must
// not push anything to p.
func setStatus(t *testing.T, p *meshtest.Peer, status string) {
	t.Helper()
	p.Send(map[string]any{"type": "set_status", "status": status})
	settle(t, p)
}

// setDefaultGroups sets a member's default groups as the operator.
func setDefaultGroups(t *testing.T, tb *msgBundle, member meshtest.Member, groups ...string) {
	t.Helper()
	gs := make([]*meshv1.GroupMembership, 0, len(groups))
	for _, g := range groups {
		gs = append(gs, &meshv1.GroupMembership{Name: g})
	}
	_, err := tb.b.Mesh.UpdateMember(asOperator(t, tb.b), &meshv1.UpdateMemberRequest{
		MeshId: tb.mesh.ID, MemberId: member.ID, SetDefaultGroups: true, DefaultGroups: gs,
	})
	require.NoError(t, err)
}

// leave drops a session's socket and waits until the session ended (the
// broker's grace period must be short).
func leave(t *testing.T, s *session, watcher *meshtest.Peer) {
	t.Helper()
	s.Drop()
	meshtest.Eventually(t, "the session ended", func() bool {
		return meshtest.FindPeer(watcher.ListPeers(), "pubkey", s.key.PublicHex()) == nil
	})
}

// isTimeout reports whether err is ReadWithin's "no frame in time".
func isTimeout(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no frame in time")
}
