package mesh_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/edge"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// withGrace sets the broker's grace period.
func withGrace(d time.Duration) func(*server.Config) {
	return func(cfg *server.Config) { cfg.Mesh.GracePeriod = d }
}

// eventData returns a system push's eventData.
func eventData(t *testing.T, f map[string]any) map[string]any {
	t.Helper()
	d, ok := f["eventData"].(map[string]any)
	require.True(t, ok, "push without eventData: %v", f)
	return d
}

func TestWelcomeBack(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			// leave runs a first session of bob that sets what a session
			// leaves behind, then ends it (past the grace period) and returns
			// alice's socket, which saw it leave.
			leave := func(t *testing.T, tb *helloBundle, hide bool) *meshtest.Peer {
				t.Helper()
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-1"})
				joined := alice.ExpectEvent("peer_joined")
				require.Equal(t, "bob", eventData(t, joined)["name"])

				bob.Send(map[string]any{"type": "set_summary", "summary": "refactoring the send pipeline"})
				bob.Send(map[string]any{"type": "join_group", "name": "backend", "role": "lead"})
				bob.Send(map[string]any{"type": "join_group", "name": "eng/review"})
				bob.Send(map[string]any{"type": "set_stats", "stats": map[string]any{"messagesIn": 3, "messagesOut": 2, "toolCalls": 10, "errors": 1, "uptime": 60}})
				bob.Request(map[string]any{"type": "set_profile", "title": "Backend", "capabilities": []string{"go"}}, "ack")
				if hide {
					bob.Request(map[string]any{"type": "set_visible", "visible": false}, "ack")
					alice.ExpectEvent("peer_hidden")
				}
				bob.Drop()
				if hide {
					// A hidden session leaves unannounced: wait out its grace.
					meshtest.Eventually(t, "bob's presence closed", func() bool {
						live, err := tb.b.Store.ListLivePresences(t.Context(), tb.mesh.ID)
						require.NoError(t, err)
						return len(live) == 1
					})
					alice.ExpectNoEvent(50*time.Millisecond, "peer_left")
					return alice
				}
				left := alice.ExpectEvent("peer_left")
				require.Equal(t, map[string]any{"name": "bob", "pubkey": tb.bob.Key.PublicHex()}, eventData(t, left))
				return alice
			}

			t.Run("Restored", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(200*time.Millisecond))
				alice := leave(t, tb, false)

				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2"})
				ack := bob.Ack
				require.Equal(t, true, ack["restored"])
				require.Equal(t, "refactoring the send pipeline", ack["lastSummary"])
				lastSeen, err := time.Parse(time.RFC3339Nano, ack["lastSeenAt"].(string))
				require.NoError(t, err)
				require.WithinDuration(t, time.Now(), lastSeen, time.Minute)
				require.Equal(t, []any{map[string]any{"name": "backend", "role": "lead"}, map[string]any{"name": "eng/review"}}, ack["restoredGroups"])
				require.Equal(t, map[string]any{"messagesIn": 3.0, "messagesOut": 2.0, "toolCalls": 10.0, "errors": 1.0}, ack["restoredStats"])

				returned := alice.ExpectEvent("peer_returned")
				data := eventData(t, returned)
				require.Equal(t, "bob", data["name"])
				require.Equal(t, tb.bob.Key.PublicHex(), data["pubkey"])
				require.Equal(t, ack["lastSeenAt"], data["lastSeenAt"])
				require.Equal(t, "refactoring the send pipeline", data["summary"])
				require.Equal(t, []any{map[string]any{"name": "backend", "role": "lead"}, map[string]any{"name": "eng/review"}}, data["groups"])
				alice.ExpectNoEvent(50*time.Millisecond, "peer_joined")

				// Groups and profile come back with the session.
				peer := meshtest.FindPeer(alice.ListPeers(), "memberPubkey", tb.bob.Key.PublicHex())
				require.NotNil(t, peer)
				require.Equal(t, true, peer["visible"])
				require.Equal(t, map[string]any{"title": "Backend", "capabilities": []any{"go"}}, peer["profile"])
				require.Equal(t, ack["restoredGroups"], peer["groups"])
			})

			t.Run("HiddenStaysHidden", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(100*time.Millisecond))
				alice := leave(t, tb, true)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2"})
				require.Equal(t, true, bob.Ack["restored"])
				me := meshtest.FindPeer(bob.ListPeers(), "memberPubkey", tb.bob.Key.PublicHex())
				require.NotNil(t, me)
				require.Equal(t, false, me["visible"])
				require.Nil(t, meshtest.FindPeer(alice.ListPeers(), "memberPubkey", tb.bob.Key.PublicHex()))
			})

			t.Run("HelloGroupsWin", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(200*time.Millisecond))
				leave(t, tb, false)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2", Groups: []map[string]string{{"name": "qa"}}})
				require.Equal(t, true, bob.Ack["restored"])
				require.Empty(t, bob.Ack["restoredGroups"], "restoredGroups only when the hello has no groups")
				me := meshtest.FindPeer(bob.ListPeers(), "memberPubkey", tb.bob.Key.PublicHex())
				require.Equal(t, []any{map[string]any{"name": "qa"}}, me["groups"])
			})

			t.Run("StatsAccumulate", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(100*time.Millisecond))
				alice := leave(t, tb, false)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2"})
				bob.Send(map[string]any{"type": "set_stats", "stats": map[string]any{"messagesIn": 4, "messagesOut": 1, "toolCalls": 5, "errors": 0}})
				bob.ListPeers()
				bob.Drop()
				alice.ExpectEvent("peer_left")

				again := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-3"})
				require.Equal(t, map[string]any{"messagesIn": 7.0, "messagesOut": 3.0, "toolCalls": 15.0, "errors": 1.0}, again.Ack["restoredStats"])
			})

			t.Run("FirstSessionNotRestored", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				require.NotContains(t, bob.Ack, "restored")
				require.NotContains(t, bob.Ack, "restoredStats")
				joined := alice.ExpectEvent("peer_joined")
				require.Equal(t, map[string]any{"name": "bob", "pubkey": tb.bob.Key.PublicHex(), "groups": []any{}}, eventData(t, joined))
			})
		})
	}
}

func TestReattach(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("WithinGraceSameSessionKey", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				key := newKeyPair(t)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &key})
				alice.ExpectEvent("peer_joined")
				bob.Send(map[string]any{"type": "set_summary", "summary": "on it"})
				bob.Send(map[string]any{"type": "join_group", "name": "backend"})
				bob.ListPeers()

				bob.Drop()
				tb.b.WaitSockets(t, 1)
				// Listed during the grace period, as it was.
				peer := meshtest.FindPeer(alice.ListPeers(), "pubkey", key.PublicHex())
				require.NotNil(t, peer)
				require.Equal(t, "on it", peer["summary"])

				back := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &key})
				require.Equal(t, bob.Ack["presenceId"], back.Ack["presenceId"])
				require.Equal(t, bob.Ack["hookToken"], back.Ack["hookToken"])
				require.NotContains(t, back.Ack, "restored")
				alice.ExpectNoEvent(300*time.Millisecond, "peer_left", "peer_joined", "peer_returned")

				peers := alice.ListPeers()
				require.Len(t, peers, 2)
				peer = meshtest.FindPeer(peers, "pubkey", key.PublicHex())
				require.Equal(t, "on it", peer["summary"])
				require.Equal(t, []any{map[string]any{"name": "backend"}}, peer["groups"])

				// The new socket gets the session's events.
				alice.Request(map[string]any{"type": "set_visible", "visible": false}, "ack")
				back.ExpectEvent("peer_hidden")
			})

			t.Run("WithinGraceBySessionIDWithoutKey", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				alice.ExpectEvent("peer_joined")
				bob.Drop()
				tb.b.WaitSockets(t, 1)

				back := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				require.Equal(t, bob.Ack["presenceId"], back.Ack["presenceId"])
				alice.ExpectNoEvent(300*time.Millisecond, "peer_left", "peer_joined", "peer_returned")
				require.Len(t, alice.ListPeers(), 2)
			})

			t.Run("DifferentSessionKeyDoesNotReattach", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				key, other := newKeyPair(t), newKeyPair(t)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-1", SessionKey: &key})
				alice.ExpectEvent("peer_joined")
				bob.Drop()
				tb.b.WaitSockets(t, 1)

				fresh := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2", SessionKey: &other})
				require.NotEqual(t, bob.Ack["presenceId"], fresh.Ack["presenceId"])
				joined := alice.ExpectEvent("peer_joined")
				require.Equal(t, other.PublicHex(), eventData(t, joined)["pubkey"])
				// The first session is still in its grace period.
				peers := alice.ListPeers()
				require.Len(t, peers, 3)
				require.NotNil(t, meshtest.FindPeer(peers, "pubkey", key.PublicHex()))
			})

			t.Run("OtherMemberDoesNotReattach", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-shared"})
				bob.Drop()
				tb.b.WaitSockets(t, 0)
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				require.NotEqual(t, bob.Ack["presenceId"], alice.Ack["presenceId"])
			})

			t.Run("AfterGrace", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(200*time.Millisecond))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				key := newKeyPair(t)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &key})
				alice.ExpectEvent("peer_joined")
				bob.Drop()

				left := alice.ExpectEvent("peer_left")
				require.Equal(t, map[string]any{"name": "bob", "pubkey": key.PublicHex()}, eventData(t, left))
				require.Nil(t, meshtest.FindPeer(alice.ListPeers(), "pubkey", key.PublicHex()))
				p, err := tb.b.Store.GetPresence(t.Context(), bob.Ack["presenceId"].(string))
				require.NoError(t, err)
				require.NotNil(t, p.DisconnectedAt)

				back := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &key})
				require.NotEqual(t, bob.Ack["presenceId"], back.Ack["presenceId"])
				require.Equal(t, true, back.Ack["restored"])
				alice.ExpectEvent("peer_returned")
			})

			t.Run("ExplicitCloseAlsoWaitsForGrace", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				alice.ExpectEvent("peer_joined")
				require.NoError(t, bob.WS.Close(websocket.StatusNormalClosure, "bye"))
				tb.b.WaitSockets(t, 1)
				alice.ExpectNoEvent(200*time.Millisecond, "peer_left")
				require.Len(t, alice.ListPeers(), 2)
			})

			t.Run("GoodbyeEndsAtOnce", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				alice.ExpectEvent("peer_joined")
				// A one-shot command says its session ends: no grace period.
				require.NoError(t, bob.WS.Close(websocket.StatusNormalClosure, edge.CloseReasonGoodbye))
				alice.ExpectEvent("peer_left")
				require.Len(t, alice.ListPeers(), 1)
				p, err := tb.b.Store.GetPresence(t.Context(), bob.Ack["presenceId"].(string))
				require.NoError(t, err)
				require.NotNil(t, p.DisconnectedAt)
			})
		})
	}
}

func TestSessionReplaced(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("SameSessionIDClosesFirst", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				k1, k2 := newKeyPair(t), newKeyPair(t)
				first := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &k1})
				alice.ExpectEvent("peer_joined")

				second := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &k2})
				ce := first.ExpectCloseError()
				require.Equal(t, websocket.StatusNormalClosure, ce.Code)
				require.Equal(t, "session_replaced", ce.Reason)
				require.NotEqual(t, first.Ack["presenceId"], second.Ack["presenceId"])

				peers := alice.ListPeers()
				require.Len(t, peers, 2)
				bobs := meshtest.FindPeer(peers, "sessionId", "s-bob")
				require.Equal(t, k2.PublicHex(), bobs["pubkey"])
				p, err := tb.b.Store.GetPresence(t.Context(), first.Ack["presenceId"].(string))
				require.NoError(t, err)
				require.NotNil(t, p.DisconnectedAt)
			})

			t.Run("SessionInGraceReplaced", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(time.Minute))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				k1, k2 := newKeyPair(t), newKeyPair(t)
				first := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &k1})
				first.Drop()
				tb.b.WaitSockets(t, 1)
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", SessionKey: &k2})
				peers := alice.ListPeers()
				require.Len(t, peers, 2)
				require.Nil(t, meshtest.FindPeer(peers, "pubkey", k1.PublicHex()))
			})

			t.Run("OtherMeshesIndependent", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				other := tb.b.CreateMesh(t, "other", "personal")
				first := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-same"})
				second := tb.b.Connect(t, other.Admin, meshtest.Hello{SessionID: "s-same"})
				first.ExpectQuiet(200 * time.Millisecond)
				require.Len(t, first.ListPeers(), 1)
				require.Len(t, second.ListPeers(), 1)
			})

			t.Run("OtherMemberNotReplaced", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				// Session ids are listed to every peer: another member
				// reusing one must not take the session over.
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-bob"})
				bob.ExpectQuiet(200 * time.Millisecond)
				require.Len(t, alice.ListPeers(), 2)
			})
		})
	}
}

func TestShutdownClosesSessions(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			tb := newHelloBundle(t, engine, withGrace(time.Minute))
			alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
			bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
			live, err := tb.b.Store.ListLivePresences(t.Context(), tb.mesh.ID)
			require.NoError(t, err)
			require.Len(t, live, 2)

			tb.b.Stop(t)
			for _, c := range []*meshtest.Peer{alice, bob} {
				ce := c.ExpectCloseError()
				require.Equal(t, websocket.StatusGoingAway, ce.Code)
				require.Equal(t, "shutting down", ce.Reason)
			}
			live, err = tb.b.Store.ListLivePresences(t.Context(), tb.mesh.ID)
			require.NoError(t, err)
			require.Empty(t, live)
			// What the sessions leave behind is saved for the next start.
			_, err = tb.b.Store.GetPeerState(t.Context(), tb.mesh.ID, tb.bob.ID)
			require.NoError(t, err)
		})
	}
}

func TestStalePresenceSweep(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			tb := newHelloBundle(t, engine, func(cfg *server.Config) {
				cfg.Mesh.HeartbeatInterval = 50 * time.Millisecond
				cfg.Mesh.StaleAfter = time.Second
			})
			alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
			// A presence of a replica that died ten minutes ago.
			old := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Microsecond)
			dead := db.Presence{
				ID: db.NewID(), MeshID: tb.mesh.ID, MemberID: tb.bob.ID, ReplicaID: "dead-replica",
				SessionID: "s-dead", DisplayName: "bob", PeerRole: "session",
				Status: "idle", StatusSource: "inferred", StatusUpdatedAt: old,
				Groups: []db.GroupRole{}, Visible: true, ConnectedAt: old, HeartbeatAt: old,
			}
			require.NoError(t, tb.b.Store.CreatePresence(t.Context(), dead))

			meshtest.Eventually(t, "the dead replica's presence is swept", func() bool {
				return meshtest.FindPeer(alice.ListPeers(), "sessionId", "s-dead") == nil
			})
			p, err := tb.b.Store.GetPresence(t.Context(), dead.ID)
			require.NoError(t, err)
			require.NotNil(t, p.DisconnectedAt)
			// This replica's own sessions are kept alive by its heartbeat,
			// past StaleAfter.
			id := alice.Ack["presenceId"].(string)
			meshtest.Eventually(t, "alice's heartbeat passes StaleAfter", func() bool {
				p, err := tb.b.Store.GetPresence(t.Context(), id)
				require.NoError(t, err)
				return p.HeartbeatAt.After(p.ConnectedAt.Add(1500 * time.Millisecond))
			})
			require.NotNil(t, meshtest.FindPeer(alice.ListPeers(), "sessionId", "s-alice"))
		})
	}
}
