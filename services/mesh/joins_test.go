package mesh_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/edge"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// TestJoinsCoalesced: in a connect storm each peer is told about each join
// once, in fewer announcements than joins; a session that comes and goes
// within the window is never announced.
func TestJoinsCoalesced(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine, func(cfg *server.Config) { cfg.Mesh.JoinWindow = 2 * time.Second })
		watcher := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
		// A brief session inside the window: it connects and says goodbye.
		brief := tb.b.Connect(t, tb.dave, meshtest.Hello{SessionID: "s-dave", DisplayName: "dave-brief"})
		tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", DisplayName: "bob"})
		tb.b.Connect(t, tb.carol, meshtest.Hello{SessionID: "s-carol", DisplayName: "carol"})
		tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2", DisplayName: "bob-2"})
		require.NoError(t, brief.WS.Close(websocket.StatusNormalClosure, edge.CloseReasonGoodbye))

		announced := map[string]int{}
		events := 0
		deadline := time.Now().Add(15 * time.Second)
		for len(announced) < 3 && time.Now().Before(deadline) {
			f, err := watcher.ReadWithin(time.Until(deadline))
			require.NoError(t, err)
			switch f["event"] {
			case "peer_joined":
				events++
				announced[eventData(t, f)["name"].(string)]++
			case "peers_joined":
				events++
				data := eventData(t, f)
				peers := data["peers"].([]any)
				require.EqualValues(t, len(peers), data["count"])
				for _, p := range peers {
					announced[p.(map[string]any)["name"].(string)]++
				}
			case "peer_left":
				t.Fatalf("a session never announced is not announced leaving: %v", f)
			}
		}
		require.Equal(t, map[string]int{"bob": 1, "carol": 1, "bob-2": 1}, announced)
		require.Less(t, events, 3, "the joins after the first share an announcement")
		watcher.ExpectNoEvent(300*time.Millisecond, "peer_joined", "peers_joined", "peer_left")
	})
}
