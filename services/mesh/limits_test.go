package mesh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

func TestLoopGuard(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		guard := func(cfg *server.Config) {
			cfg.Mesh.LoopGuardMax = 3
			cfg.Mesh.LoopGuardWindow = time.Minute
		}
		type testBundle struct {
			*msgBundle
			alice, bob, carol *session
		}
		setup := func(t *testing.T, opts ...func(*server.Config)) *testBundle {
			t.Helper()
			mb := newMsgBundle(t, engine, append([]func(*server.Config){guard}, opts...)...)
			return &testBundle{
				msgBundle: mb,
				alice:     openSession(t, mb.b, mb.alice, hello{}),
				bob:       openSession(t, mb.b, mb.bob, hello{groups: []string{"eng"}}),
				carol:     openSession(t, mb.b, mb.carol, hello{}),
			}
		}
		// exchange sends the three messages the guard allows between alice
		// and bob, both ways.
		exchange := func(t *testing.T, tb *testBundle) {
			t.Helper()
			for i, dir := range []struct{ from, to *session }{{tb.alice, tb.bob}, {tb.bob, tb.alice}, {tb.alice, tb.bob}} {
				body := "ping " + string(rune('1'+i))
				sendOK(t, dir.from.Peer, dir.to.key.PublicHex(), "now", body)
				expectMessage(t, dir.to.Peer, body)
			}
		}

		t.Run("HoldsThePair", func(t *testing.T) {
			t.Parallel()
			tb := setup(t)
			exchange(t, tb)

			msg := sendRefused(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "ping 4", "loop_guard")
			require.Contains(t, msg, "more than 3 messages")
			for _, p := range []*session{tb.alice, tb.bob} {
				ev := p.ExpectEvent("loop_guard")
				require.Equal(t, "now", ev["priority"])
				require.Equal(t, "system", ev["senderPubkey"])
				data := eventData(t, ev)
				require.ElementsMatch(t, []any{tb.msgBundle.alice.ID, tb.msgBundle.bob.ID}, data["members"])
				require.InDelta(t, 3, data["count"], 0)
			}

			// Either way, by any target form; both were told once.
			sendRefused(t, tb.bob.Peer, tb.alice.key.PublicHex(), "now", "pong", "loop_guard")
			sendRefused(t, tb.bob.Peer, tb.msgBundle.alice.Key.PublicHex(), "now", "pong", "loop_guard")
			sendRefused(t, tb.alice.Peer, "bob", "now", "ping", "loop_guard")
			tb.alice.ExpectNoEvent(quiet, "loop_guard")
			tb.bob.ExpectNoEvent(quiet, "loop_guard")
			tb.carol.ExpectNoEvent(quiet, "loop_guard")

			// Other pairs, and broadcasts, go on.
			sendOK(t, tb.alice.Peer, tb.carol.key.PublicHex(), "now", "hi carol")
			expectMessage(t, tb.carol.Peer, "hi carol")
			sendOK(t, tb.alice.Peer, "*", "now", "hi all")
			expectMessage(t, tb.bob.Peer, "hi all")
		})

		for _, tt := range []struct {
			name     string
			prompted func(tb *testBundle) *session
		}{
			{"ResetByPromptingTheSender", func(tb *testBundle) *session { return tb.alice }},
			{"ResetByPromptingTheRecipient", func(tb *testBundle) *session { return tb.bob }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tb := setup(t)
				exchange(t, tb)
				sendRefused(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "held", "loop_guard")
				p := tt.prompted(tb)

				// Neither a Stop hook nor a status set by hand is a person
				// prompting.
				hook(t, tb.b, p.Peer, "idle")
				setStatus(t, p.Peer, "working")
				sendRefused(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "held", "loop_guard")

				// A UserPromptSubmit hook is.
				hook(t, tb.b, p.Peer, "working")
				sendOK(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "after a prompt")
				expectMessage(t, tb.bob.Peer, "after a prompt")
			})
		}

		t.Run("WindowEnds", func(t *testing.T) {
			t.Parallel()
			clock := meshtest.NewClock()
			tb := setup(t, meshtest.WithClock(clock))
			exchange(t, tb)
			sendRefused(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "held", "loop_guard")
			clock.Advance(time.Minute + time.Second)
			sendOK(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "a minute later")
			expectMessage(t, tb.bob.Peer, "a minute later")
		})

		t.Run("BroadcastsAndGroupsDoNotCount", func(t *testing.T) {
			t.Parallel()
			tb := setup(t)
			for range 5 {
				for _, target := range []string{"*", "@all", "@eng"} {
					sendOK(t, tb.alice.Peer, target, "now", "to "+target)
					expectMessage(t, tb.bob.Peer, "to "+target)
				}
			}
			exchange(t, tb)
			sendRefused(t, tb.alice.Peer, tb.bob.key.PublicHex(), "now", "one too many", "loop_guard")
		})
	})
}

func TestSendLimits(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		rate := func(perMinute, burst int) func(*server.Config) {
			return func(cfg *server.Config) {
				cfg.Mesh.SendRatePerMinute = perMinute
				cfg.Mesh.SendBurst = burst
			}
		}

		t.Run("RateLimit", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, rate(1, 3))
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			to := bob.key.PublicHex()

			retry := sendFrame(to, "next", "0")
			retry["client_message_id"] = "cm-retry"
			first := sendAck(t, alice.Peer, retry)
			require.Equal(t, true, first["queued"])
			for _, body := range []string{"1", "2"} {
				sendOK(t, alice.Peer, to, "next", body)
			}
			expectMessages(t, bob.Peer, "0", "1", "2")

			msg := sendRefused(t, alice.Peer, to, "next", "3", "rate_limit")
			require.Contains(t, msg, "at most 1 messages a minute (bursts of 3)")
			bob.ExpectQuiet(quiet)

			// A retry of a message already sent is answered, not limited.
			retry["id"] = "c-again"
			again := sendAck(t, alice.Peer, retry)
			require.Equal(t, true, again["queued"])
			require.Equal(t, first["messageId"], again["messageId"])

			// The limit is per member.
			sendOK(t, bob.Peer, alice.key.PublicHex(), "next", "bob is not limited")
			expectMessage(t, alice.Peer, "bob is not limited")
			other := openSession(t, tb.b, tb.alice, hello{})
			sendRefused(t, other.Peer, to, "next", "nor is a new session", "rate_limit")
		})

		t.Run("MeshPolicyOverrides", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, rate(1, 2))
			_, err := tb.b.Mesh.UpdateMeshPolicy(asOperator(t, tb.b), &meshv1.UpdateMeshPolicyRequest{
				MeshId: tb.mesh.ID, Policy: &meshv1.MeshPolicy{SendRatePerMinute: 1, SendBurst: 4},
			})
			require.NoError(t, err)
			alice := openSession(t, tb.b, tb.alice, hello{})
			for range 4 {
				sendOK(t, alice.Peer, "*", "next", "x")
			}
			msg := sendRefused(t, alice.Peer, "*", "next", "x", "rate_limit")
			require.Contains(t, msg, "(bursts of 4)")
		})

		t.Run("TooLarge", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, func(cfg *server.Config) { cfg.Mesh.MaxMessageBytes = 200 })
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			to := bob.key.PublicHex()
			// Ciphertext, nonce and target count.
			fits := 200 - len(to) - len(nonce)

			frame := sendFrame(to, "next", "")
			frame["ciphertext"] = strings.Repeat("A", fits)
			require.Equal(t, true, sendAck(t, alice.Peer, frame)["queued"])
			require.Equal(t, frame["ciphertext"], nextMessage(t, bob.Peer)["ciphertext"])

			frame = sendFrame(to, "next", "")
			frame["ciphertext"] = strings.Repeat("A", fits+1)
			ack := sendAck(t, alice.Peer, frame)
			require.Equal(t, false, ack["queued"])
			require.Equal(t, "too_large: payload too large: 201 bytes (limit 200)", ack["error"])
			bob.ExpectQuiet(quiet)
		})
	})
}
