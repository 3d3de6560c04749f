package mesh_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/meshtest"
)

func TestMessagingSmoke(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			b := meshtest.Start(t, engine.Open(t))
			m := b.CreateMesh(t, "team", "")
			bob := m.AddMember(t, "bob")
			carol := m.AddMember(t, "carol")
			ka, _ := identity.Generate()
			kb, _ := identity.Generate()
			alice := b.Connect(t, m.Admin, meshtest.Hello{SessionID: "a", SessionKey: &ka})
			bobPeer := b.Connect(t, bob, meshtest.Hello{SessionID: "b", SessionKey: &kb})
			alice.Send(map[string]any{"type": "send", "id": "c1", "targetSpec": kb.PublicHex(), "priority": "now", "nonce": "", "ciphertext": "aGVsbG8="})
			ack := alice.Expect("ack")
			require.Equal(t, true, ack["queued"], ack)
			push := bobPeer.Expect("push")
			require.Equal(t, "aGVsbG8=", push["ciphertext"])
			require.Equal(t, ack["messageId"], push["messageId"])
			alice.Send(map[string]any{"type": "message_status", "messageId": ack["messageId"], "_reqId": "s1"})
			st := alice.Expect("message_status_result")
			require.Equal(t, "pushed", st["recipients"].([]any)[0].(map[string]any)["status"], st)
			bobPeer.Send(map[string]any{"type": "client_ack", "brokerMessageId": push["messageId"]})
			require.Eventually(t, func() bool {
				alice.Send(map[string]any{"type": "message_status", "messageId": ack["messageId"], "_reqId": "s2"})
				st := alice.Expect("message_status_result")
				return st["delivered"] == true
			}, 5e9, 1e8)
			// Broadcast reaches carol, who is offline, when she connects.
			alice.Send(map[string]any{"type": "send", "id": "c2", "targetSpec": "*", "priority": "next", "nonce": "", "ciphertext": "YWxs"})
			require.Equal(t, true, alice.Expect("ack")["queued"])
			require.Equal(t, "YWxs", bobPeer.Expect("push")["ciphertext"])
			carolPeer := b.Connect(t, carol, meshtest.Hello{SessionID: "c"})
			require.Equal(t, "YWxs", carolPeer.Expect("push")["ciphertext"])
			// State.
			alice.Send(map[string]any{"type": "set_state", "key": "k", "value": map[string]any{"x": 1}})
			sc := bobPeer.Expect("state_change")
			require.Equal(t, "k", sc["key"])
			bobPeer.Send(map[string]any{"type": "get_state", "key": "k", "_reqId": "g"})
			require.Equal(t, map[string]any{"x": float64(1)}, bobPeer.Expect("state_result")["value"])
		})
	}
}
