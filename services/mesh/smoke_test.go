package mesh_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	b := meshtest.Start(t, storetest.SQLite(t))
	m := b.CreateMesh(t, "team", "dev-team")
	bob := m.AddMember(t, "bob")
	alice := b.Connect(t, m.Admin, meshtest.Hello{SessionID: "s-alice", DisplayName: "alice"})
	t.Logf("ack: %v", alice.Ack)
	bobPeer := b.Connect(t, bob, meshtest.Hello{SessionID: "s-bob"})
	ev := alice.ExpectEvent("peer_joined")
	t.Logf("event: %v", ev)
	bobPeer.Send(map[string]any{"type": "list_peers", "_reqId": "1"})
	pl := bobPeer.Expect("peers_list")
	t.Logf("peers: %v", pl)
	require.Len(t, pl["peers"], 2)
	bobPeer.Send(map[string]any{"type": "mesh_info", "_reqId": "2"})
	t.Logf("info: %v", bobPeer.Expect("mesh_info_result"))
}
