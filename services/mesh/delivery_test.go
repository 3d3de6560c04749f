package mesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

func TestPriorityGating(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		for _, tt := range []struct {
			name string
			// busy makes bob busy, idle makes him idle again.
			busy, idle func(t *testing.T, b *meshtest.Broker, bob *session)
		}{
			{
				"WorkingByHook",
				func(t *testing.T, b *meshtest.Broker, bob *session) { hook(t, b, bob.Peer, "working") },
				func(t *testing.T, b *meshtest.Broker, bob *session) { hook(t, b, bob.Peer, "idle") },
			},
			{
				"WorkingBySetStatus",
				func(t *testing.T, _ *meshtest.Broker, bob *session) { setStatus(t, bob.Peer, "working") },
				func(_ *testing.T, _ *meshtest.Broker, bob *session) { sendStatus(bob.Peer, "idle") },
			},
			{
				"DoNotDisturb",
				func(t *testing.T, _ *meshtest.Broker, bob *session) { setStatus(t, bob.Peer, "dnd") },
				func(_ *testing.T, _ *meshtest.Broker, bob *session) { sendStatus(bob.Peer, "idle") },
			},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				bob := openSession(t, tb.b, tb.bob, hello{})
				to := bob.key.PublicHex()
				tt.busy(t, tb.b, bob)

				next := sendOK(t, alice.Peer, to, "next", "next")
				low := sendOK(t, alice.Peer, "*", "low", "low")
				bob.ExpectQuiet(quiet)
				require.Equal(t, "queued", states(t, alice.Peer, next)[to])
				require.Equal(t, "queued", states(t, alice.Peer, low)[to])

				// "now" goes through at once.
				now := sendOK(t, alice.Peer, to, "now", "now")
				require.Equal(t, now, expectMessage(t, bob.Peer, "now")["messageId"])
				bob.ExpectQuiet(quiet)

				// Idle again, bob gets what was held, in order.
				tt.idle(t, tb.b, bob)
				pushes := expectMessages(t, bob.Peer, "next", "low")
				require.Equal(t, next, pushes[0]["messageId"])
				require.Equal(t, "next", pushes[0]["priority"])
				require.Equal(t, low, pushes[1]["messageId"])
				require.Equal(t, "low", pushes[1]["priority"])

				// And, idle, gets every priority at once.
				sendOK(t, alice.Peer, to, "low", "low again")
				expectMessage(t, bob.Peer, "low again")
			})
		}

		t.Run("HookDoesNotEndDoNotDisturb", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			setStatus(t, bob.Peer, "dnd")
			sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "held")
			hook(t, tb.b, bob.Peer, "idle")
			bob.ExpectQuiet(quiet)
			sendStatus(bob.Peer, "idle")
			expectMessage(t, bob.Peer, "held")
		})
	})
}

func TestDrainTriggers(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("Hello", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			id := sendOK(t, alice.Peer, tb.bob.Key.PublicHex(), "next", "waiting")
			bob := openSession(t, tb.b, tb.bob, hello{})
			require.Equal(t, id, expectMessage(t, bob.Peer, "waiting")["messageId"])
		})

		t.Run("Reattach", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, withGrace(time.Minute))
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{id: "s-bob"})
			bob.Drop()
			tb.b.WaitSockets(t, 1)

			// In its grace period the session is listed but has no socket:
			// its mail waits.
			id := sendOK(t, alice.Peer, bob.key.PublicHex(), "now", "while you were away")
			require.Equal(t, "queued", states(t, alice.Peer, id)[bob.key.PublicHex()])
			back := openSession(t, tb.b, tb.bob, hello{id: "s-bob", key: &bob.key})
			require.Equal(t, bob.Ack["presenceId"], back.Ack["presenceId"], "the session was taken back")
			require.Equal(t, id, expectMessage(t, back.Peer, "while you were away")["messageId"])
		})

		t.Run("HookIdle", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			hook(t, tb.b, bob.Peer, "working")
			sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "after your turn")
			bob.ExpectQuiet(quiet)
			hook(t, tb.b, bob.Peer, "idle")
			expectMessage(t, bob.Peer, "after your turn")
		})

		t.Run("SetStatusIdle", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			setStatus(t, bob.Peer, "working")
			sendOK(t, alice.Peer, bob.key.PublicHex(), "low", "when idle")
			bob.ExpectQuiet(quiet)
			sendStatus(bob.Peer, "idle")
			expectMessage(t, bob.Peer, "when idle")
		})

		t.Run("WorkingTTL", func(t *testing.T) {
			t.Parallel()
			clock := meshtest.NewClock()
			tb := newMsgBundle(t, engine, meshtest.WithClock(clock), func(cfg *server.Config) {
				cfg.Mesh.WorkingTTL = time.Second
				cfg.Mesh.PendingStatusTTL = time.Second
			})
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{id: "s-bob"})
			hook(t, tb.b, bob.Peer, "working")
			id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "stuck working")
			require.Equal(t, "queued", states(t, alice.Peer, id)[bob.key.PublicHex()])

			// The hook that would have set bob idle never came: the working
			// status runs out, and that drains.
			clock.Advance(2 * time.Second)
			require.Equal(t, id, expectMessage(t, bob.Peer, "stuck working")["messageId"])
			s, _ := statusOf(t, alice.Peer, "s-bob")
			require.Equal(t, "idle", s)
		})

		t.Run("NewMail", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			// A message to bob's member key is for whichever of his sessions
			// may take it: its arrival drains them.
			id := sendOK(t, alice.Peer, tb.bob.Key.PublicHex(), "next", "to the member")
			require.Equal(t, id, expectMessage(t, bob.Peer, "to the member")["messageId"])
		})

		t.Run("LapsedLease", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, func(cfg *server.Config) { cfg.Mesh.DeliveryLease = 300 * time.Millisecond })
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "ack me")
			require.Equal(t, id, expectMessage(t, bob.Peer, "ack me")["messageId"])
			require.Equal(t, id, expectMessage(t, bob.Peer, "ack me")["messageId"], "pushed again once the lease lapsed")
		})
	})
}

func TestDeliveryLease(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		shortLease := func(cfg *server.Config) { cfg.Mesh.DeliveryLease = 300 * time.Millisecond }

		t.Run("RedeliveredUntilAcked", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, shortLease)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			for _, target := range []string{bob.key.PublicHex(), tb.bob.Key.PublicHex(), "*"} {
				id := sendOK(t, alice.Peer, target, "next", "to "+target)
				for range 2 {
					require.Equal(t, id, expectMessage(t, bob.Peer, "to "+target)["messageId"])
				}
				clientAck(t, bob.Peer, id)
				// Nothing after the ack (but a push claimed just before it),
				// though the lease ran out three times over.
				skipPushes(t, bob.Peer, 300*time.Millisecond, id)
				bob.ExpectQuiet(3 * 300 * time.Millisecond)
				for _, r := range recipients(t, messageStatus(t, alice.Peer, id)) {
					if r["memberId"] == tb.bob.ID {
						require.Equal(t, "delivered", r["status"])
					}
				}
			}
		})

		t.Run("NotPushedAgainWhileLeaseHolds", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "once")
			expectMessage(t, bob.Peer, "once")
			// Drains while the push is in flight do not push it again.
			setStatus(t, bob.Peer, "working")
			setStatus(t, bob.Peer, "idle")
			sendOK(t, alice.Peer, tb.bob.Key.PublicHex(), "next", "new mail")
			expectMessage(t, bob.Peer, "new mail")
			bob.ExpectQuiet(quiet)
		})

		t.Run("ReattachPushesAgain", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, withGrace(time.Minute))
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{id: "s-bob"})
			id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "did it arrive?")
			expectMessage(t, bob.Peer, "did it arrive?")
			bob.Drop()
			tb.b.WaitSockets(t, 1)

			// The push may have died with the socket: the new socket gets it
			// again, within the lease.
			back := openSession(t, tb.b, tb.bob, hello{id: "s-bob", key: &bob.key})
			require.Equal(t, id, expectMessage(t, back.Peer, "did it arrive?")["messageId"])
			clientAck(t, back.Peer, id)
			require.Equal(t, "delivered", states(t, alice.Peer, id)[bob.key.PublicHex()])
		})

		t.Run("ManyInFlight", func(t *testing.T) {
			t.Parallel()
			// More than one claim's worth (256) waits for bob; each is pushed
			// once.
			const n = 300
			tb := newMsgBundle(t, engine, func(cfg *server.Config) {
				cfg.Mesh.SendBurst = n
				cfg.Mesh.LoopGuardMax = n
			})
			alice := openSession(t, tb.b, tb.alice, hello{})
			for i := range n {
				alice.Send(sendFrame(tb.bob.Key.PublicHex(), "next", fmt.Sprint(i)))
			}
			for range n {
				require.Equal(t, true, alice.Expect("ack")["queued"])
			}
			bob := openSession(t, tb.b, tb.bob, hello{})
			for i := range n {
				expectMessage(t, bob.Peer, fmt.Sprint(i))
			}
			bob.ExpectQuiet(quiet)
		})
	})
}

func TestAckMessages(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine)
		alice := openSession(t, tb.b, tb.alice, hello{})
		bob1 := openSession(t, tb.b, tb.bob, hello{})
		bob2 := openSession(t, tb.b, tb.bob, hello{})
		carol := openSession(t, tb.b, tb.carol, hello{})
		id := sendOK(t, alice.Peer, bob1.key.PublicHex(), "next", "for bob1")
		expectMessage(t, bob1.Peer, "for bob1")

		// Sessions it was not pushed to ack nothing: another session of the
		// member, another member, the sender.
		for _, p := range []*session{bob2, carol, alice} {
			clientAck(t, p.Peer, id)
			require.Equal(t, "pushed", states(t, alice.Peer, id)[bob1.key.PublicHex()])
		}
		// Unknown ids are ignored.
		clientAck(t, bob1.Peer, db.NewID())
		require.Equal(t, "pushed", states(t, alice.Peer, id)[bob1.key.PublicHex()])

		clientAck(t, bob1.Peer, id)
		res := messageStatus(t, alice.Peer, id)
		require.Equal(t, true, res["delivered"])
		r := recipients(t, res)[bob1.key.PublicHex()]
		require.Equal(t, "delivered", r["status"])
		require.Equal(t, res["deliveredAt"], r["deliveredAt"])

		// Acking twice keeps the first time.
		clientAck(t, bob1.Peer, id)
		require.Equal(t, r["deliveredAt"], recipients(t, messageStatus(t, alice.Peer, id))[bob1.key.PublicHex()]["deliveredAt"])
	})
}

func TestDedup(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine)
		alice := openSession(t, tb.b, tb.alice, hello{})
		bob := openSession(t, tb.b, tb.bob, hello{})
		carol := openSession(t, tb.b, tb.carol, hello{})

		frame := sendFrame(bob.key.PublicHex(), "next", "exactly once")
		frame["client_message_id"] = "cm-1"
		frame["request_fingerprint"] = "fp-1"
		first := sendAck(t, alice.Peer, frame)
		require.Equal(t, true, first["queued"])
		push := expectMessage(t, bob.Peer, "exactly once")
		require.Equal(t, first["messageId"], push["messageId"])
		require.Equal(t, "cm-1", push["client_message_id"])
		require.Equal(t, "fp-1", push["request_fingerprint"])

		// A retry (a new frame id, the same client message id) is the same
		// message, not pushed again.
		frame["id"] = "c-retry"
		again := sendAck(t, alice.Peer, frame)
		require.Equal(t, true, again["queued"])
		require.Equal(t, first["messageId"], again["messageId"])
		bob.ExpectQuiet(quiet)
		require.Len(t, states(t, alice.Peer, first["messageId"].(string)), 1)

		// Client message ids belong to their sender.
		frame["id"] = "c-carol"
		other := sendAck(t, carol.Peer, frame)
		require.Equal(t, true, other["queued"])
		require.NotEqual(t, first["messageId"], other["messageId"])
		require.Equal(t, other["messageId"], expectMessage(t, bob.Peer, "exactly once")["messageId"])
	})
}

func TestMessageTTL(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		clock := meshtest.NewClock()
		tb := newMsgBundle(t, engine, meshtest.WithClock(clock), func(cfg *server.Config) { cfg.Mesh.MessageTTL = time.Hour })
		alice := openSession(t, tb.b, tb.alice, hello{at: clock.Now()})
		carol := openSession(t, tb.b, tb.carol, hello{at: clock.Now()})
		queued := sendOK(t, alice.Peer, "bob", "next", "never read")
		pushed := sendOK(t, alice.Peer, carol.key.PublicHex(), "next", "never acked")
		expectMessage(t, carol.Peer, "never acked")
		acked := sendOK(t, alice.Peer, carol.key.PublicHex(), "next", "read")
		expectMessage(t, carol.Peer, "read")
		clientAck(t, carol.Peer, acked)

		// Not yet.
		n, err := tb.b.Store.ExpireDeliveries(t.Context(), clock.Now().Add(59*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n)

		clock.Advance(2 * time.Hour)
		n, err = tb.b.Store.ExpireDeliveries(t.Context(), clock.Now())
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		for _, tt := range []struct {
			id, pubkey, state string
		}{
			{queued, tb.bob.Key.PublicHex(), "expired"},
			{pushed, carol.key.PublicHex(), "expired"},
			{acked, carol.key.PublicHex(), "delivered"},
		} {
			res := messageStatus(t, alice.Peer, tt.id)
			r := recipients(t, res)[tt.pubkey]
			require.Equal(t, tt.state, r["status"], "status %v", res)
			if tt.state == "expired" {
				require.Equal(t, false, res["delivered"])
				at, err := time.Parse(time.RFC3339Nano, r["expiredAt"].(string))
				require.NoError(t, err)
				require.WithinDuration(t, clock.Now(), at, time.Second)
			}
		}

		// An expired message is not delivered late.
		bob := openSession(t, tb.b, tb.bob, hello{at: clock.Now()})
		bob.ExpectQuiet(quiet)
	})
}

func TestMessageStatus(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine)
		alice := openSession(t, tb.b, tb.alice, hello{})
		bob := openSession(t, tb.b, tb.bob, hello{})
		carol := openSession(t, tb.b, tb.carol, hello{})

		t.Run("QueuedPushedDelivered", func(t *testing.T) {
			id := sendOK(t, alice.Peer, "*", "next", "status check")
			expectMessage(t, bob.Peer, "status check")
			expectMessage(t, carol.Peer, "status check")
			clientAck(t, carol.Peer, id)

			res := messageStatus(t, alice.Peer, id)
			require.Equal(t, id, res["messageId"])
			require.Equal(t, "*", res["targetSpec"])
			require.Equal(t, false, res["delivered"])
			require.NotContains(t, res, "deliveredAt")
			rs := recipients(t, res)
			require.Len(t, rs, 3)

			dave := rs[tb.dave.Key.PublicHex()]
			require.Equal(t, "queued", dave["status"])
			require.Equal(t, "dave", dave["name"])
			require.Equal(t, tb.dave.ID, dave["memberId"])
			require.NotEmpty(t, dave["queuedAt"])
			require.NotContains(t, dave, "pushedAt")

			b := rs[bob.key.PublicHex()]
			require.Equal(t, "pushed", b["status"])
			require.Equal(t, "bob", b["name"])
			require.NotEmpty(t, b["pushedAt"])
			require.NotContains(t, b, "deliveredAt")

			c := rs[carol.key.PublicHex()]
			require.Equal(t, "delivered", c["status"])
			require.NotEmpty(t, c["deliveredAt"])

			// Delivered once every recipient acked.
			clientAck(t, bob.Peer, id)
			d := openSession(t, tb.b, tb.dave, hello{})
			expectMessage(t, d.Peer, "status check")
			clientAck(t, d.Peer, id)
			res = messageStatus(t, alice.Peer, id)
			require.Equal(t, true, res["delivered"])
			last := ""
			for _, r := range recipients(t, res) {
				require.Equal(t, "delivered", r["status"])
				if s := r["deliveredAt"].(string); s > last {
					last = s
				}
			}
			require.Equal(t, last, res["deliveredAt"], "delivered when the last recipient acked")
			d.Drop()
		})

		t.Run("ByPrefix", func(t *testing.T) {
			id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "prefix")
			expectMessage(t, bob.Peer, "prefix")
			for _, n := range []int{8, 12, db.IDLength} {
				require.Equal(t, id, messageStatus(t, alice.Peer, id[:n])["messageId"])
			}
			alice.Send(map[string]any{"type": "message_status", "messageId": id[:7], "_reqId": "short"})
			require.Equal(t, "short", alice.ExpectError("invalid_argument")["_reqId"])
		})

		t.Run("AmbiguousPrefix", func(t *testing.T) {
			prefix := "Zz" + db.NewID()[:6]
			msgs := make([]db.Message, 0, 2)
			for range 2 {
				msgs = append(msgs, db.Message{
					ID: prefix + db.NewID()[8:], MeshID: tb.mesh.ID, SenderMemberID: tb.alice.ID, TargetSpec: "*",
					Priority: "next", CreatedAt: time.Now().UTC(), ExpiresAt: time.Now().UTC().Add(time.Hour),
				})
			}
			require.NoError(t, tb.b.Store.InsertMessages(t.Context(), msgs))
			alice.Send(map[string]any{"type": "message_status", "messageId": prefix, "_reqId": "amb"})
			require.Equal(t, "amb", alice.ExpectError("ambiguous_prefix")["_reqId"])
			require.Equal(t, msgs[0].ID, messageStatus(t, alice.Peer, msgs[0].ID)["messageId"])
		})

		t.Run("NotFound", func(t *testing.T) {
			mine := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "mine")
			expectMessage(t, bob.Peer, "mine")
			other := tb.b.CreateMesh(t, "other", "")
			elsewhere := openSession(t, tb.b, other.Admin, hello{})
			other.AddMember(t, "bob")
			foreign := sendOK(t, elsewhere.Peer, "bob", "next", "elsewhere")
			for _, tt := range []struct {
				name  string
				asker *session
				id    string
			}{
				{"Unknown", alice, db.NewID()},
				{"UnknownPrefix", alice, "00000000"},
				{"OtherMembersMessage", carol, mine},
				{"OtherMembersMessageByPrefix", bob, mine[:10]},
				{"OtherMeshsMessage", alice, foreign},
			} {
				t.Run(tt.name, func(t *testing.T) {
					tt.asker.Send(map[string]any{"type": "message_status", "messageId": tt.id, "_reqId": "nf"})
					require.Equal(t, "nf", tt.asker.ExpectError("not_found")["_reqId"])
				})
			}
		})
	})
}

func TestPushFields(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine)
		alice := openSession(t, tb.b, tb.alice, hello{name: "alice-laptop"})
		bob := openSession(t, tb.b, tb.bob, hello{})
		keyless := tb.b.Connect(t, tb.carol, meshtest.Hello{SessionID: "s-carol"})

		check := func(t *testing.T, push map[string]any, id, target, senderPubkey, senderMember, senderName string, memberID string) {
			t.Helper()
			require.Equal(t, id, push["messageId"])
			require.Equal(t, tb.mesh.ID, push["meshId"])
			require.Equal(t, senderPubkey, push["senderPubkey"])
			require.Equal(t, senderMember, push["senderMemberPubkey"])
			require.Equal(t, memberID, push["senderMemberId"])
			require.Equal(t, senderName, push["senderName"])
			require.Equal(t, "next", push["priority"])
			require.Equal(t, nonce, push["nonce"])
			require.Equal(t, target, push["targetSpec"])
			_, err := time.Parse(time.RFC3339Nano, push["createdAt"].(string))
			require.NoError(t, err)
			require.NotContains(t, push, "subtype")
		}

		t.Run("Live", func(t *testing.T) {
			id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "live")
			check(t, expectMessage(t, bob.Peer, "live"), id, bob.key.PublicHex(), alice.key.PublicHex(), tb.alice.Key.PublicHex(), "alice-laptop", tb.alice.ID)
		})

		t.Run("Drained", func(t *testing.T) {
			id := sendOK(t, alice.Peer, "dave", "next", "drained")
			dave := openSession(t, tb.b, tb.dave, hello{})
			check(t, expectMessage(t, dave.Peer, "drained"), id, "dave", alice.key.PublicHex(), tb.alice.Key.PublicHex(), "alice-laptop", tb.alice.ID)
		})

		t.Run("SenderWithoutSessionKey", func(t *testing.T) {
			id := sendOK(t, keyless, bob.key.PublicHex(), "next", "keyless")
			check(t, expectMessage(t, bob.Peer, "keyless"), id, bob.key.PublicHex(), tb.carol.Key.PublicHex(), tb.carol.Key.PublicHex(), "carol", tb.carol.ID)
		})
	})
}
