package mesh_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

func TestPresenceEvents(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("JoinedToOtherMembersOnly", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice-1"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", Groups: []map[string]string{{"name": "backend", "role": "lead"}}})
				joined := alice.ExpectEvent("peer_joined")
				require.Equal(t, "push", joined["type"])
				require.Equal(t, "system", joined["subtype"])
				require.Equal(t, "system", joined["senderPubkey"])
				require.Equal(t, "low", joined["priority"])
				require.Equal(t, tb.mesh.ID, joined["meshId"])
				require.NotEmpty(t, joined["messageId"])
				require.Equal(t, map[string]any{
					"name": "bob", "pubkey": tb.bob.Key.PublicHex(),
					"groups": []any{map[string]any{"name": "backend", "role": "lead"}},
				}, eventData(t, joined))

				key := newKeyPair(t)
				tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice-2", SessionKey: &key, DisplayName: "alice-2"})
				joined = bob.ExpectEvent("peer_joined")
				require.Equal(t, key.PublicHex(), eventData(t, joined)["pubkey"])
				require.Equal(t, "alice-2", eventData(t, joined)["name"])
				// alice's first session is not told about her second one.
				alice.ExpectNoEvent(200*time.Millisecond, "peer_joined")
			})

			t.Run("Visibility", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				bob2 := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob-2"})
				alice.ExpectEvent("peer_joined")

				bob.Send(map[string]any{"type": "set_visible", "visible": false, "_reqId": "vis-1"})
				ack := bob.Expect("ack")
				require.Equal(t, "vis-1", ack["_reqId"])
				require.Equal(t, "vis-1", ack["id"])
				hidden := alice.ExpectEvent("peer_hidden")
				require.Equal(t, map[string]any{"name": "bob", "pubkey": tb.bob.Key.PublicHex()}, eventData(t, hidden))
				bob.ExpectNoEvent(100*time.Millisecond, "peer_hidden")

				require.Nil(t, meshtest.FindPeer(alice.ListPeers(), "sessionId", "s-bob"))
				require.Len(t, alice.ListPeers(), 2)
				// The member's own sessions still see it.
				own := meshtest.FindPeer(bob2.ListPeers(), "sessionId", "s-bob")
				require.NotNil(t, own)
				require.Equal(t, false, own["visible"])
				require.NotNil(t, meshtest.FindPeer(bob.ListPeers(), "sessionId", "s-bob"))

				// Hiding again changes nothing and tells no one.
				bob.Request(map[string]any{"type": "set_visible", "visible": false}, "ack")
				bob.Request(map[string]any{"type": "set_visible", "visible": true}, "ack")
				visible := alice.ExpectEvent("peer_visible")
				require.Equal(t, map[string]any{"name": "bob", "pubkey": tb.bob.Key.PublicHex()}, eventData(t, visible))
				peer := meshtest.FindPeer(alice.ListPeers(), "sessionId", "s-bob")
				require.NotNil(t, peer)
				require.Equal(t, true, peer["visible"])
			})

			t.Run("LeftAfterGrace", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(100*time.Millisecond))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				alice2 := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice-2"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				alice.ExpectEvent("peer_joined")
				alice2.Drop()
				bob.ExpectEvent("peer_left")
				alice.ExpectNoEvent(300*time.Millisecond, "peer_left")
			})
		})
	}
}

func TestPresenceFrames(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("ListPeersFields", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				key := newKeyPair(t)
				before := time.Now().Add(-time.Second)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{
					SessionID: "s-bob", SessionKey: &key, DisplayName: "bob-laptop",
					Groups: []map[string]string{{"name": "backend", "role": "lead"}, {"name": "qa"}},
					Extra:  map[string]any{"model": "claude-opus", "cwd": "/home/bob/api", "hostname": "bobs-mac"},
				})
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob.Send(map[string]any{"type": "set_summary", "summary": "fixing the flaky test"})
				bob.Send(map[string]any{"type": "set_stats", "stats": map[string]any{"messagesIn": 5, "messagesOut": 4, "toolCalls": 30, "uptime": 120, "errors": 2}})
				bob.ListPeers()

				peers := alice.ListPeers()
				require.Len(t, peers, 2, "the caller is listed too")
				require.Equal(t, "s-bob", peers[0]["sessionId"], "ordered by connection time")
				p := peers[0]
				connectedAt, err := time.Parse(time.RFC3339Nano, p["connectedAt"].(string))
				require.NoError(t, err)
				require.True(t, connectedAt.After(before), "connectedAt %v", connectedAt)
				require.True(t, strings.HasSuffix(p["connectedAt"].(string), "Z"), "connectedAt is UTC ISO: %v", p["connectedAt"])
				delete(p, "connectedAt")
				require.Equal(t, map[string]any{
					"pubkey":       key.PublicHex(),
					"memberPubkey": tb.bob.Key.PublicHex(),
					"memberId":     tb.bob.ID,
					"displayName":  "bob-laptop",
					"status":       "idle",
					"statusSource": "inferred",
					"summary":      "fixing the flaky test",
					"groups":       []any{map[string]any{"name": "backend", "role": "lead"}, map[string]any{"name": "qa"}},
					"sessionId":    "s-bob",
					"cwd":          "/home/bob/api",
					"peerRole":     "session",
					"hostname":     "bobs-mac",
					"peerType":     "ai",
					"channel":      "claude-code",
					"model":        "claude-opus",
					"stats":        map[string]any{"messagesIn": 5.0, "messagesOut": 4.0, "toolCalls": 30.0, "uptime": 120.0, "errors": 2.0},
					"visible":      true,
				}, p, "no profile while it is empty")

				// Without a session key, the pubkey is the member's.
				a := peers[1]
				require.Equal(t, tb.alice.Key.PublicHex(), a["pubkey"])
				require.Equal(t, tb.alice.Key.PublicHex(), a["memberPubkey"])
				require.NotContains(t, a, "summary")
			})

			t.Run("SetSummary", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				bob.Send(map[string]any{"type": "set_summary", "summary": "  reviewing PR 12  "})
				require.Equal(t, "reviewing PR 12", bob.ListPeers()[0]["summary"])
				bob.Send(map[string]any{"type": "set_summary", "summary": ""})
				require.NotContains(t, bob.ListPeers()[0], "summary")
				bob.Send(map[string]any{"type": "set_summary", "summary": strings.Repeat("x", 2000), "_reqId": "long"})
				require.Equal(t, "long", bob.ExpectError("invalid_argument")["_reqId"])
			})

			t.Run("SetProfileMerges", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				ack := bob.Request(map[string]any{"type": "set_profile", "title": "Backend lead", "avatar": "🦀", "capabilities": []string{"go", "sql"}}, "ack")
				require.Equal(t, ack["_reqId"], ack["id"])
				require.Equal(t, map[string]any{"title": "Backend lead", "avatar": "🦀", "capabilities": []any{"go", "sql"}}, bob.ListPeers()[0]["profile"])

				bob.Request(map[string]any{"type": "set_profile", "bio": "Writes the broker."}, "ack")
				require.Equal(t, map[string]any{"title": "Backend lead", "avatar": "🦀", "bio": "Writes the broker.", "capabilities": []any{"go", "sql"}},
					bob.ListPeers()[0]["profile"], "only the given fields change")

				bob.Request(map[string]any{"type": "set_profile", "capabilities": []string{}, "title": ""}, "ack")
				require.Equal(t, map[string]any{"avatar": "🦀", "bio": "Writes the broker.", "capabilities": []any{}}, bob.ListPeers()[0]["profile"])

				bob.Send(map[string]any{"type": "set_profile", "capabilities": []any{"go", 3}, "_reqId": "bad"})
				require.Equal(t, "bad", bob.ExpectError("invalid_argument")["_reqId"])
				bob.Send(map[string]any{"type": "set_profile", "bio": strings.Repeat("b", 5000), "_reqId": "long"})
				bob.ExpectError("invalid_argument")
				require.Equal(t, map[string]any{"avatar": "🦀", "bio": "Writes the broker.", "capabilities": []any{}}, bob.ListPeers()[0]["profile"])

				bob.Request(map[string]any{"type": "set_profile", "avatar": "", "bio": ""}, "ack")
				require.NotContains(t, bob.ListPeers()[0], "profile", "an empty profile is left out")
			})

			t.Run("SetStats", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				require.Equal(t, map[string]any{"messagesIn": 0.0, "messagesOut": 0.0, "toolCalls": 0.0, "uptime": 0.0, "errors": 0.0}, bob.ListPeers()[0]["stats"])
				bob.Send(map[string]any{"type": "set_stats", "stats": map[string]any{"messagesIn": 1, "toolCalls": 7}})
				require.Equal(t, map[string]any{"messagesIn": 1.0, "messagesOut": 0.0, "toolCalls": 7.0, "uptime": 0.0, "errors": 0.0}, bob.ListPeers()[0]["stats"])
				bob.Send(map[string]any{"type": "set_stats", "stats": map[string]any{"messagesIn": -5, "uptime": 30}})
				require.Equal(t, map[string]any{"messagesIn": 0.0, "messagesOut": 0.0, "toolCalls": 0.0, "uptime": 30.0, "errors": 0.0}, bob.ListPeers()[0]["stats"],
					"each report replaces the last; negative counters are zero")
			})

			t.Run("Groups", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				groups := func() any { return bob.ListPeers()[0]["groups"] }

				bob.Send(map[string]any{"type": "join_group", "name": "backend", "role": "lead"})
				bob.Send(map[string]any{"type": "join_group", "name": "eng/backend"})
				bob.Send(map[string]any{"type": "join_group", "name": "@qa", "role": "member"})
				require.Equal(t, []any{
					map[string]any{"name": "backend", "role": "lead"},
					map[string]any{"name": "eng/backend"},
					map[string]any{"name": "qa", "role": "member"},
				}, groups())

				// The same name replaces the entry: the role changes, or goes.
				bob.Send(map[string]any{"type": "join_group", "name": "backend", "role": "reviewer"})
				bob.Send(map[string]any{"type": "join_group", "name": "qa"})
				require.Equal(t, []any{
					map[string]any{"name": "eng/backend"},
					map[string]any{"name": "backend", "role": "reviewer"},
					map[string]any{"name": "qa"},
				}, groups())

				bob.Send(map[string]any{"type": "leave_group", "name": "@backend"})
				bob.Send(map[string]any{"type": "leave_group", "name": "never-joined"})
				require.Equal(t, []any{map[string]any{"name": "eng/backend"}, map[string]any{"name": "qa"}}, groups())

				for _, name := range []string{"../x", "a//b", "/abs", "trailing/", strings.Repeat("g", 200), "", "with space", "-dash"} {
					bob.Send(map[string]any{"type": "join_group", "name": name, "_reqId": "bad"})
					f := bob.ExpectError("invalid_argument")
					require.Equal(t, "bad", f["_reqId"], "group %q", name)
				}
				bob.Send(map[string]any{"type": "join_group", "name": "qa", "role": strings.Repeat("r", 40), "_reqId": "role"})
				bob.ExpectError("invalid_argument")
				require.Equal(t, []any{map[string]any{"name": "eng/backend"}, map[string]any{"name": "qa"}}, groups())
			})

			t.Run("GroupLimit", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, func(cfg *server.Config) { cfg.Mesh.MaxGroupsPerSession = 3 })
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				for _, g := range []string{"a", "b", "c"} {
					bob.Send(map[string]any{"type": "join_group", "name": g})
				}
				bob.Send(map[string]any{"type": "join_group", "name": "d", "_reqId": "over"})
				require.Equal(t, "over", bob.ExpectError("limit")["_reqId"])
				// Replacing an entry is not a new group.
				bob.Send(map[string]any{"type": "join_group", "name": "c", "role": "lead"})
				require.Len(t, bob.ListPeers()[0]["groups"], 3)
			})

			t.Run("MeshInfo", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				require.NoError(t, tb.b.Store.UpsertState(t.Context(), db.StateEntry{
					MeshID: tb.mesh.ID, Key: "deploy-freeze", Value: json.RawMessage(`true`),
					UpdatedByMemberID: tb.alice.ID, UpdatedByName: "alice", UpdatedAt: time.Now().UTC().Truncate(time.Microsecond),
				}))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice", DisplayName: "alice-desk"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				bob.Send(map[string]any{"type": "join_group", "name": "eng/backend", "role": "lead"})
				bob.ListPeers() // bob's frames are handled in order
				alice.Send(map[string]any{"type": "join_group", "name": "frontend"})

				info := alice.Request(map[string]any{"type": "mesh_info"}, "mesh_info_result")
				require.Equal(t, tb.mesh.ID, info["mesh"])
				require.Equal(t, "team", info["slug"])
				require.Equal(t, "dev-team", info["template"])
				require.Equal(t, 2.0, info["peers"])
				require.Equal(t, "alice-desk", info["yourName"])
				require.Equal(t, []any{map[string]any{"name": "frontend"}}, info["yourGroups"])
				require.Contains(t, info["stateKeys"], "deploy-freeze")
				require.Subset(t, info["groups"], []any{"@frontend", "@backend", "@devops", "@qa", "@eng/backend"},
					"the template's groups and the joined ones")
				for _, g := range info["groups"].([]any) {
					require.True(t, strings.HasPrefix(g.(string), "@"), "group %v", g)
				}
			})

			t.Run("StatusFrameErrors", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				bob.Send(map[string]any{"type": "set_status", "status": "busy", "_reqId": "st"})
				require.Equal(t, "st", bob.ExpectError("invalid_argument")["_reqId"])
				require.Equal(t, "idle", bob.ListPeers()[0]["status"])
			})
		})
	}
}
