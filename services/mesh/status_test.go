package mesh_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// statusOf returns the status and its source of the session sessionID as
// p's peer list shows them.
func statusOf(t *testing.T, p *meshtest.Peer, sessionID string) (string, string) {
	t.Helper()
	peer := meshtest.FindPeer(p.ListPeers(), "sessionId", sessionID)
	require.NotNil(t, peer, "no session %q", sessionID)
	return peer["status"].(string), peer["statusSource"].(string)
}

// hook posts a hook status with the session's hook token.
func hook(t *testing.T, b *meshtest.Broker, p *meshtest.Peer, status string) map[string]any {
	t.Helper()
	code, res := b.PostJSON(t, "/hook/set-status", map[string]any{
		"hook_token": p.Ack["hookToken"], "status": status, "cwd": "/work/project", "pid": 4242,
	}, nil)
	require.Equal(t, http.StatusOK, code, "answer %v", res)
	require.Equal(t, true, res["ok"], "answer %v", res)
	require.Equal(t, p.Ack["presenceId"], res["presence_id"])
	return res
}

func manual(p *meshtest.Peer, status string) {
	p.Send(map[string]any{"type": "set_status", "status": status})
}

func TestStatusModel(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			type status struct{ status, source string }
			type testBundle struct {
				*helloBundle
				clock *meshtest.Clock
				bob   *meshtest.Peer
			}
			setup := func(t *testing.T, opts ...func(*server.Config)) *testBundle {
				t.Helper()
				clock := meshtest.NewClock()
				hb := newHelloBundle(t, engine, append([]func(*server.Config){meshtest.WithClock(clock)}, opts...)...)
				return &testBundle{
					helloBundle: hb,
					clock:       clock,
					bob:         hb.b.Connect(t, hb.bob, meshtest.Hello{SessionID: "s-bob"}),
				}
			}
			get := func(t *testing.T, p *meshtest.Peer) status {
				t.Helper()
				s, src := statusOf(t, p, "s-bob")
				return status{s, src}
			}

			t.Run("StartsIdleInferred", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				require.Equal(t, status{"idle", "inferred"}, get(t, tb.bob))
			})

			t.Run("HookOutranksFreshManual", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				manual(tb.bob, "working")
				require.Equal(t, status{"working", "manual"}, get(t, tb.bob))
				hook(t, tb.b, tb.bob, "idle")
				require.Equal(t, status{"idle", "hook"}, get(t, tb.bob))
			})

			t.Run("ManualCannotChangeFreshHook", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				hook(t, tb.b, tb.bob, "working")
				tb.clock.Advance(29 * time.Second)
				manual(tb.bob, "idle")
				require.Equal(t, status{"working", "hook"}, get(t, tb.bob))
				// The same status from a lower source only refreshes it.
				manual(tb.bob, "working")
				require.Equal(t, status{"working", "hook"}, get(t, tb.bob))
				tb.clock.Advance(29 * time.Second)
				manual(tb.bob, "idle")
				require.Equal(t, status{"working", "hook"}, get(t, tb.bob), "the refresh restarted the freshness window")
			})

			t.Run("ManualChangesStaleHook", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				hook(t, tb.b, tb.bob, "working")
				tb.clock.Advance(31 * time.Second)
				manual(tb.bob, "idle")
				require.Equal(t, status{"idle", "manual"}, get(t, tb.bob))
			})

			t.Run("StaleHookDowngradedBySameStatus", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				hook(t, tb.b, tb.bob, "working")
				tb.clock.Advance(31 * time.Second)
				manual(tb.bob, "working")
				require.Equal(t, status{"working", "manual"}, get(t, tb.bob))
			})

			t.Run("HookChangesHook", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				hook(t, tb.b, tb.bob, "working")
				hook(t, tb.b, tb.bob, "idle")
				require.Equal(t, status{"idle", "hook"}, get(t, tb.bob))
			})

			t.Run("ManualChangesManual", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				manual(tb.bob, "working")
				manual(tb.bob, "idle")
				require.Equal(t, status{"idle", "manual"}, get(t, tb.bob))
			})

			t.Run("DNDNeverChangedByHook", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				manual(tb.bob, "dnd")
				require.Equal(t, status{"dnd", "manual"}, get(t, tb.bob))
				hook(t, tb.b, tb.bob, "working")
				require.Equal(t, status{"dnd", "manual"}, get(t, tb.bob))
				tb.clock.Advance(time.Hour)
				hook(t, tb.b, tb.bob, "idle")
				require.Equal(t, status{"dnd", "manual"}, get(t, tb.bob), "not even when stale")
				// It is changed by hand.
				manual(tb.bob, "idle")
				require.Equal(t, status{"idle", "manual"}, get(t, tb.bob))
			})

			t.Run("DNDChangedManuallyRightAway", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				manual(tb.bob, "dnd")
				manual(tb.bob, "working")
				require.Equal(t, status{"working", "manual"}, get(t, tb.bob))
			})

			t.Run("StatusVisibleToOthers", func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice", Timestamp: tb.clock.Now()})
				hook(t, tb.b, tb.bob, "working")
				peer := meshtest.FindPeer(alice.ListPeers(), "sessionId", "s-bob")
				require.Equal(t, "working", peer["status"])
				require.Equal(t, "hook", peer["statusSource"])
			})
		})
	}
}

func TestWorkingTTL(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			tb := newHelloBundle(t, engine, func(cfg *server.Config) { cfg.Mesh.WorkingTTL = 300 * time.Millisecond })
			alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
			bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
			// alice goes dnd before bob starts working: whenever bob's
			// working is old enough to expire, so is alice's dnd.
			manual(alice, "dnd")
			alice.ListPeers()
			hook(t, tb.b, bob, "working")

			meshtest.Eventually(t, "bob's working expires", func() bool {
				s, _ := statusOf(t, bob, "s-bob")
				return s == "idle"
			})
			s, src := statusOf(t, bob, "s-bob")
			require.Equal(t, "idle", s)
			require.Equal(t, "inferred", src)
			s, src = statusOf(t, alice, "s-alice")
			require.Equal(t, "dnd", s, "dnd is left alone")
			require.Equal(t, "manual", src)

			// A status set after the flip is the session's again.
			manual(bob, "working")
			s, src = statusOf(t, bob, "s-bob")
			require.Equal(t, "working", s)
			require.Equal(t, "manual", src)
		})
	}
}

func TestPendingHookStatus(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			pend := func(t *testing.T, b *meshtest.Broker, sessionID, status string) {
				t.Helper()
				code, res := b.PostJSON(t, "/hook/set-status", map[string]any{"session_id": sessionID, "status": status, "cwd": "/work/project", "pid": 4242}, nil)
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, map[string]any{"ok": true, "pending": true}, res)
			}

			t.Run("AppliedAtHello", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				pend(t, tb.b, "s-early", "working")
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-early"})
				s, src := statusOf(t, bob, "s-early")
				require.Equal(t, "working", s)
				require.Equal(t, "hook", src)
			})

			t.Run("NewestWins", func(t *testing.T) {
				t.Parallel()
				clock := meshtest.NewClock()
				tb := newHelloBundle(t, engine, meshtest.WithClock(clock))
				pend(t, tb.b, "s-early", "working")
				clock.Advance(time.Second)
				pend(t, tb.b, "s-early", "idle")
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-early", Timestamp: clock.Now()})
				s, src := statusOf(t, bob, "s-early")
				require.Equal(t, "idle", s)
				require.Equal(t, "hook", src)
			})

			t.Run("OtherSessionUnaffected", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine)
				pend(t, tb.b, "s-early", "working")
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-other"})
				s, _ := statusOf(t, bob, "s-other")
				require.Equal(t, "idle", s)
			})

			t.Run("AppliedOnce", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(50*time.Millisecond))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				pend(t, tb.b, "s-early", "working")
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-early"})
				manual(bob, "idle")
				bob.Drop()
				alice.ExpectEvent("peer_left")
				again := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-early"})
				s, _ := statusOf(t, again, "s-early")
				require.Equal(t, "idle", s)
			})

			t.Run("ExpiredNotApplied", func(t *testing.T) {
				t.Parallel()
				clock := meshtest.NewClock()
				tb := newHelloBundle(t, engine, meshtest.WithClock(clock))
				pend(t, tb.b, "s-early", "working")
				clock.Advance(11 * time.Second)
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-early", Timestamp: clock.Now()})
				s, src := statusOf(t, bob, "s-early")
				require.Equal(t, "idle", s)
				require.Equal(t, "inferred", src)
			})

			t.Run("TokenOfEndedSessionPends", func(t *testing.T) {
				t.Parallel()
				tb := newHelloBundle(t, engine, withGrace(50*time.Millisecond))
				alice := tb.b.Connect(t, tb.alice, meshtest.Hello{SessionID: "s-alice"})
				bob := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				bob.Drop()
				alice.ExpectEvent("peer_left")
				code, res := tb.b.PostJSON(t, "/hook/set-status", map[string]any{"hook_token": bob.Ack["hookToken"], "status": "working"}, nil)
				require.Equal(t, http.StatusOK, code)
				require.Equal(t, map[string]any{"ok": true, "pending": true}, res)
				again := tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob"})
				s, src := statusOf(t, again, "s-bob")
				require.Equal(t, "working", s)
				require.Equal(t, "hook", src)
			})
		})
	}
}
