package mesh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// helloBundle is a broker with a dev-team mesh whose admin is alice, and
// bob, a second member.
type helloBundle struct {
	b     *meshtest.Broker
	mesh  *meshtest.Mesh
	alice meshtest.Member
	bob   meshtest.Member
}

func newHelloBundle(t *testing.T, engine storetest.Engine, opts ...func(*server.Config)) *helloBundle {
	t.Helper()
	b := meshtest.Start(t, engine.Open(t), opts...)
	m := b.CreateMesh(t, "team", "dev-team")
	return &helloBundle{b: b, mesh: m, alice: m.Admin, bob: m.AddMember(t, "bob")}
}

func newKeyPair(t *testing.T) identity.KeyPair {
	t.Helper()
	k, err := identity.Generate()
	require.NoError(t, err)
	return k
}

// expectRejected reads the error frame of a refused hello, then the close.
func expectRejected(t *testing.T, c *meshtest.Conn, code string, closeCode websocket.StatusCode) map[string]any {
	t.Helper()
	f := c.Read()
	require.Equal(t, "error", f["type"], "the error frame comes before the close: %v", f)
	require.Equal(t, code, f["code"])
	require.True(t, strings.HasPrefix(f["message"].(string), "hello rejected: "), "message %q", f["message"])
	ce := c.ExpectCloseError()
	require.Equal(t, closeCode, ce.Code)
	require.Equal(t, code, ce.Reason)
	return f
}

func TestHelloRejected(t *testing.T) {
	t.Parallel()

	const policy = websocket.StatusPolicyViolation
	tests := []struct {
		name      string
		frame     func(t *testing.T, tb *helloBundle) map[string]any
		code      string
		closeCode websocket.StatusCode
	}{
		{
			name: "BadSessionPubkeyShort",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1", Extra: map[string]any{"sessionPubkey": "abcd"}})
			},
			code: "bad_session_pubkey", closeCode: policy,
		},
		{
			name: "BadSessionPubkeyUppercase",
			frame: func(t *testing.T, tb *helloBundle) map[string]any {
				key := strings.ToUpper(newKeyPair(t).PublicHex())
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1", Extra: map[string]any{"sessionPubkey": key}})
			},
			code: "bad_session_pubkey", closeCode: policy,
		},
		{
			name: "BadSignatureOtherKey",
			frame: func(t *testing.T, tb *helloBundle) map[string]any {
				f := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				f["signature"] = identity.SignHello(newKeyPair(t), tb.bob.MeshID, tb.bob.ID, f["timestamp"].(int64))
				return f
			},
			code: "bad_signature", closeCode: policy,
		},
		{
			name: "BadSignatureOtherMemberID",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				f := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				f["signature"] = identity.SignHello(tb.bob.Key, tb.bob.MeshID, tb.alice.ID, f["timestamp"].(int64))
				return f
			},
			code: "bad_signature", closeCode: policy,
		},
		{
			name: "MalformedGroupName",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1", Groups: []map[string]string{{"name": "../etc"}}})
			},
			code: "malformed", closeCode: policy,
		},
		{
			name: "MalformedLongSessionID",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: strings.Repeat("s", 300)})
			},
			code: "malformed", closeCode: policy,
		},
		{
			name: "MalformedNonHexPubkey",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				f := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				f["pubkey"] = "zz" + tb.bob.Key.PublicHex()[2:]
				return f
			},
			code: "malformed", closeCode: policy,
		},
		{
			name: "MalformedNonHexSignature",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				f := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				f["signature"] = "zz" + f["signature"].(string)[2:]
				return f
			},
			code: "malformed", closeCode: policy,
		},
		{
			name: "MalformedShortPubkey",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				f := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				f["pubkey"] = tb.bob.Key.PublicHex()[:62]
				return f
			},
			code: "malformed", closeCode: policy,
		},
		{
			name: "MalformedShortSignature",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				f := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				f["signature"] = f["signature"].(string)[:126]
				return f
			},
			code: "malformed", closeCode: policy,
		},
		{
			name: "RevokedInStore",
			frame: func(t *testing.T, tb *helloBundle) map[string]any {
				require.NoError(t, tb.b.Store.RevokeMember(t.Context(), tb.bob.ID, time.Now(), "left the team"))
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
			},
			code: "revoked", closeCode: 4002,
		},
		{
			name: "RevokedByRPC",
			frame: func(t *testing.T, tb *helloBundle) map[string]any {
				_, err := tb.b.Mesh.RevokeMember(meshtest.Bearer(t.Context(), tb.b.Operator),
					&meshv1.RevokeMemberRequest{MeshId: tb.mesh.ID, Member: tb.bob.ID, Reason: "left the team"})
				require.NoError(t, err)
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
			},
			code: "revoked", closeCode: 4002,
		},
		{
			name: "TimestampSkewFuture",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1", Timestamp: time.Now().Add(61 * time.Second)})
			},
			code: "timestamp_skew", closeCode: policy,
		},
		{
			name: "TimestampSkewPast",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1", Timestamp: time.Now().Add(-61 * time.Second)})
			},
			code: "timestamp_skew", closeCode: policy,
		},
		{
			name: "UnauthorizedMemberIDOfAnotherMember",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				// Signed correctly by bob, but claiming alice's member id.
				return meshtest.HelloFrame(meshtest.Member{ID: tb.alice.ID, MeshID: tb.mesh.ID, Key: tb.bob.Key}, meshtest.Hello{SessionID: "s1"})
			},
			code: "unauthorized", closeCode: policy,
		},
		{
			name: "UnauthorizedPubkeyNotInMesh",
			frame: func(t *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(meshtest.Member{ID: tb.bob.ID, MeshID: tb.mesh.ID, Key: newKeyPair(t)}, meshtest.Hello{SessionID: "s1"})
			},
			code: "unauthorized", closeCode: policy,
		},
		{
			name: "UnauthorizedPubkeyOfAnotherMesh",
			frame: func(t *testing.T, tb *helloBundle) map[string]any {
				other := tb.b.CreateMesh(t, "other", "personal")
				return meshtest.HelloFrame(meshtest.Member{ID: other.Admin.ID, MeshID: tb.mesh.ID, Key: other.Admin.Key}, meshtest.Hello{SessionID: "s1"})
			},
			code: "unauthorized", closeCode: policy,
		},
		{
			name: "UnauthorizedUnknownMesh",
			frame: func(_ *testing.T, tb *helloBundle) map[string]any {
				return meshtest.HelloFrame(meshtest.Member{ID: tb.bob.ID, MeshID: "nosuchmesh0000000000000000000000", Key: tb.bob.Key}, meshtest.Hello{SessionID: "s1"})
			},
			code: "unauthorized", closeCode: policy,
		},
	}
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tb := newHelloBundle(t, engine)
					c := tb.b.Dial(t)
					c.Send(tt.frame(t, tb))
					f := expectRejected(t, c, tt.code, tt.closeCode)
					if tt.code == "revoked" {
						require.Contains(t, f["message"], `You've been removed from "team"`)
					}
				})
			}
		})
	}
}

func TestHello(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("AckFields", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				roleTag := "backend-lead"
				mode := meshv1.MessageMode_MESSAGE_MODE_INBOX
				_, err := tb.b.Mesh.UpdateMember(meshtest.Bearer(t.Context(), tb.b.Operator), &meshv1.UpdateMemberRequest{
					MeshId: tb.mesh.ID, MemberId: tb.bob.ID, RoleTag: &roleTag, MessageMode: &mode,
					SetDefaultGroups: true, DefaultGroups: []*meshv1.GroupMembership{{Name: "backend", Role: "lead"}, {Name: "qa"}},
				})
				require.NoError(t, err)

				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", DisplayName: "bob-laptop"})
				ack := bob.Ack
				require.NotEmpty(t, ack["presenceId"])
				require.Equal(t, "bob-laptop", ack["memberDisplayName"], "the hello's displayName overrides the member's")
				require.Equal(t, map[string]any{
					"roleTag":     "backend-lead",
					"groups":      []any{map[string]any{"name": "backend", "role": "lead"}, map[string]any{"name": "qa"}},
					"messageMode": "inbox",
				}, ack["memberProfile"])
				require.Equal(t, map[string]any{"selfEditable": map[string]any{
					"displayName": true, "roleTag": true, "groups": true, "messageMode": true,
				}}, ack["meshPolicy"])
				require.Equal(t, "team", ack["meshSlug"])
				require.Equal(t, []any{}, ack["services"])
				require.Contains(t, ack["promptHint"], "You are part of a dev team")
				token, _ := ack["hookToken"].(string)
				require.True(t, strings.HasPrefix(token, ack["presenceId"].(string)+"."), "hook token %q", token)
				require.NotContains(t, ack, "restored")
				require.NotContains(t, ack, "lastSummary")
				require.NotContains(t, ack, "lastSeenAt")

				peers := bob.ListPeers()
				require.Len(t, peers, 1)
				require.Equal(t, "bob-laptop", peers[0]["displayName"])
				require.Equal(t, []any{map[string]any{"name": "backend", "role": "lead"}, map[string]any{"name": "qa"}},
					peers[0]["groups"], "without hello groups the member's default groups apply")
			})

			t.Run("AckDisplayNameDefaultsToMember", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				require.Equal(t, "bob", bob.Ack["memberDisplayName"])
				require.Equal(t, map[string]any{"groups": []any{}, "messageMode": "push"}, bob.Ack["memberProfile"])
			})

			t.Run("ClockSkewWithinWindow", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-past", Timestamp: time.Now().Add(-59 * time.Second)})
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-future", Timestamp: time.Now().Add(59 * time.Second)})
			})

			t.Run("ClockSkewFollowsBrokerClock", func(t *testing.T) {
				t.Parallel()
				clock := meshtest.NewClock()
				tb := newHelloBundle(t, engine, meshtest.WithClock(clock))
				clock.Advance(2 * time.Minute)
				c := tb.b.Dial(t)
				c.Send(meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"}))
				expectRejected(t, c, "timestamp_skew", websocket.StatusPolicyViolation)
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s1", Timestamp: clock.Now().Add(-30 * time.Second)})
			})

			t.Run("FramesBeforeHello", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				c := tb.b.Dial(t)
				for _, typ := range []string{"list_peers", "set_status", "join_group", "mesh_info"} {
					c.Send(map[string]any{"type": typ, "_reqId": "r-" + typ, "status": "idle", "name": "qa"})
					f := c.ExpectError("no_hello")
					require.Equal(t, "must send hello first", f["message"])
					require.Equal(t, "r-"+typ, f["_reqId"])
				}
				// The socket stays open and can still say hello.
				c.Send(meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"}))
				c.Expect("hello_ack")
			})

			t.Run("HelloTwiceOnOneSocket", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s1"})
				bob.Send(meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"}))
				bob.ExpectError("invalid_argument")
				require.Len(t, bob.ListPeers(), 1)
			})

			t.Run("Replayed", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				frame := meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s1"})
				first := tb.b.Dial(t)
				first.Send(frame)
				first.Expect("hello_ack")

				second := tb.b.Dial(t)
				second.Send(frame)
				expectRejected(t, second, "replayed", websocket.StatusPolicyViolation)
				first.ExpectQuiet(100 * time.Millisecond)
				require.Len(t, first.ListPeers(), 1)
			})

			t.Run("RevokedWhileConnected", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				alice.ExpectEvent("peer_joined")

				res, err := tb.b.Mesh.RevokeMember(meshtest.Bearer(t.Context(), tb.b.Operator),
					&meshv1.RevokeMemberRequest{MeshId: tb.mesh.ID, Member: "bob"})
				require.NoError(t, err)
				require.Equal(t, int32(1), res.GetClosedSessions())
				ce := bob.ExpectCloseError()
				require.Equal(t, websocket.StatusCode(4002), ce.Code)
				require.Equal(t, "revoked", ce.Reason)
				left := alice.ExpectEvent("peer_left")
				require.Equal(t, "bob", left["eventData"].(map[string]any)["name"])
				require.Len(t, alice.ListPeers(), 1)

				again := tb.b.Dial(t)
				again.Send(meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s-bob"}))
				expectRejected(t, again, "revoked", 4002)
			})
		})
	}
}

func TestHelloCapacity(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			setup := func(t *testing.T) *helloBundle {
				t.Helper()
				return newHelloBundle(t, engine, func(cfg *server.Config) {
					cfg.Mesh.MaxConnectionsPerMesh = 2
					cfg.Mesh.GracePeriod = 10 * time.Second
				})
			}

			t.Run("ThirdRefused", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s1"})
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s2"})
				c := tb.b.Dial(t)
				c.Send(meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s3"}))
				expectRejected(t, c, "capacity", websocket.StatusPolicyViolation)
			})

			t.Run("OtherMeshUnaffected", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s1"})
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s2"})
				other := tb.b.CreateMesh(t, "other", "personal")
				tb.b.Connect(t, other.Admin, meshtest.Hello{SessionID: "s1"})
			})

			t.Run("ReattachWithinGraceNotRefused", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s1"})
				key := newKeyPair(t)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s2", SessionKey: &key})
				bob.Drop()
				tb.b.WaitSockets(t, 1)

				// The session in its grace period still counts...
				c := tb.b.Dial(t)
				c.Send(meshtest.HelloFrame(tb.bob, meshtest.Hello{SessionID: "s3"}))
				expectRejected(t, c, "capacity", websocket.StatusPolicyViolation)
				// ...but taking it back is not a new connection.
				back := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s2", SessionKey: &key})
				require.Equal(t, bob.Ack["presenceId"], back.Ack["presenceId"])
			})

			t.Run("FreedSlotAfterGrace", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, func(cfg *server.Config) {
					cfg.Mesh.MaxConnectionsPerMesh = 2
					cfg.Mesh.GracePeriod = 100 * time.Millisecond
				})
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s1"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s2"})
				bob.Drop()
				alice.ExpectEvent("peer_left")
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s3"})
			})
		})
	}
}
