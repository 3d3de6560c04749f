package scheduler_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
)

func TestOneShot(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("FiresOnceAtItsTime", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice)
			at := tb.clock.Now().Add(time.Hour).Truncate(time.Millisecond)
			ack := scheduleOK(t, alice, map[string]any{"message": "stand up", "deliverAt": at.UnixMilli(), "subtype": "reminder"})
			require.Equal(t, ms(at), ack["deliverAt"])
			require.NotContains(t, ack, "cron")
			id, _ := ack["scheduledId"].(string)

			tb.advance(59 * time.Minute)
			alice.ExpectQuiet(quiet)
			tb.advance(time.Minute)
			firedAt := tb.clock.Now().UTC().Truncate(time.Microsecond)
			push := expectFire(t, alice, "stand up")
			require.Equal(t, "reminder", push["subtype"], "the MCP server marks reminders by this")
			require.Equal(t, "now", push["priority"])
			require.Empty(t, push["nonce"], "a plaintext body, as group messages carry")
			require.Equal(t, tb.alice.Key.PublicHex(), push["senderPubkey"], "sent as the member")
			require.Equal(t, tb.alice.Key.PublicHex(), push["targetSpec"], "to the member itself")
			require.Equal(t, tb.alice.Name, push["senderName"])

			// Once: a day later nothing more came, and it is no longer listed.
			tb.advance(24 * time.Hour)
			alice.ExpectQuiet(quiet)
			require.Empty(t, listScheduled(t, alice))
			sch := tb.schedule(t, id)
			require.Equal(t, int32(1), sch.FiredCount)
			require.Nil(t, sch.NextFireAt)
			require.False(t, sch.LastFireLate)
			require.Equal(t, firedAt, *sch.LastFiredAt)
			require.Equal(t, false, cancelScheduled(t, alice, id)["ok"], "a fired one-shot cannot be cancelled")
		})

		t.Run("PastTimeFiresAtOnce", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice)
			now := tb.clock.Now()
			// The fire and the ack race; both arrive, without moving the clock.
			alice.Send(scheduleFrame(map[string]any{"message": "overdue", "deliverAt": now.Add(-time.Hour).UnixMilli(), "_reqId": "r1"}))
			var ack, push map[string]any
			for ack == nil || push == nil {
				f := alice.Read()
				switch f["type"] {
				case "scheduled_ack":
					ack = f
				case "push":
					if f["subtype"] != "system" {
						push = f
					}
				default:
					t.Fatalf("unexpected frame %v", f)
				}
			}
			require.Equal(t, ms(now), ack["deliverAt"], "the first fire is now")
			require.Equal(t, b64("overdue"), push["ciphertext"])
			require.NotContains(t, push, "subtype", "not a reminder")
			require.Equal(t, "next", push["priority"], "scheduled messages that are not reminders are sent as next")
			id, _ := ack["scheduledId"].(string)
			require.False(t, tb.schedule(t, id).LastFireLate, "a schedule set in the past is not a catch-up")
		})

		t.Run("ToAnotherPeer", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice)
			bob := openSession(t, tb.b, tb.bob)
			at := tb.clock.Now().Add(10 * time.Minute)
			for _, to := range []string{"bob", tb.bob.Key.PublicHex(), "*"} {
				scheduleOK(t, alice, map[string]any{"to": to, "message": "for bob via " + to[:1], "deliverAt": at.UnixMilli()})
			}
			tb.advance(10 * time.Minute)
			got := map[string]bool{}
			for range 3 {
				push := nextPush(t, bob)
				body, _ := push["ciphertext"].(string)
				got[body] = true
				require.Equal(t, tb.alice.Key.PublicHex(), push["senderPubkey"])
			}
			require.Equal(t, map[string]bool{b64("for bob via b"): true, b64("for bob via " + tb.bob.Key.PublicHex()[:1]): true, b64("for bob via *"): true}, got)
			// A broadcast does not come back to its sender.
			alice.ExpectQuiet(quiet)
		})

		t.Run("ReachesTheMembersLaterSession", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			// A one-shot CLI connection sets a reminder to "itself" (its
			// session key) and hangs up, as `claudemesh remind` does.
			cli, sessionKey := connectWithKey(t, tb.b, tb.alice)
			at := tb.clock.Now().Add(10 * time.Minute)
			ack := scheduleOK(t, cli, map[string]any{"to": sessionKey, "message": "check the deploy", "deliverAt": at.UnixMilli(), "subtype": "reminder"})
			list := listScheduled(t, cli)
			require.Len(t, list, 1)
			require.Empty(t, list[0]["to"], "a schedule to the creating session is the member's")
			require.NoError(t, cli.WS.CloseNow())
			tb.b.WaitSockets(t, 0)

			// It fires while no session of alice is there: the message waits.
			tb.advance(10 * time.Minute)
			meshtest.Eventually(t, "the reminder fired", func() bool {
				id, _ := ack["scheduledId"].(string)
				return tb.schedule(t, id).FiredCount == 1
			})

			later := openSession(t, tb.b, tb.alice)
			push := nextPush(t, later)
			require.Equal(t, b64("check the deploy"), push["ciphertext"])
			require.Equal(t, "reminder", push["subtype"], "the subtype survives the queue")
			messageID, _ := push["messageId"].(string)

			// It is a normal message: its status is reported, and the ack
			// makes it delivered.
			status := messageStatus(t, later, messageID)
			require.Equal(t, false, status["delivered"])
			clientAck(t, later, messageID)
			status = messageStatus(t, later, messageID)
			require.Equal(t, true, status["delivered"], "status %v", status)
			recipients, _ := status["recipients"].([]any)
			require.Len(t, recipients, 1)
			r, _ := recipients[0].(map[string]any)
			require.Equal(t, "delivered", r["status"])
			require.Equal(t, tb.alice.Key.PublicHex(), r["pubkey"])
		})

		t.Run("HeldForAWorkingRecipientUnlessReminder", func(t *testing.T) {
			t.Parallel()
			tb := newBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice)
			bob := openSession(t, tb.b, tb.bob)
			bob.Send(map[string]any{"type": "set_status", "status": "working"})
			bob.ListPeers() // a socket's frames apply in order: bob is working now
			at := tb.clock.Now().Add(time.Minute)
			scheduleOK(t, alice, map[string]any{"to": "bob", "message": "when you are free", "deliverAt": at.UnixMilli()})
			scheduleOK(t, alice, map[string]any{"to": "bob", "message": "now!", "deliverAt": at.UnixMilli(), "subtype": "reminder"})
			tb.advance(time.Minute)
			expectFire(t, bob, "now!") // a reminder is priority now
			bob.ExpectQuiet(quiet)
			bob.Send(map[string]any{"type": "set_status", "status": "idle"})
			require.Equal(t, b64("when you are free"), nextPush(t, bob)["ciphertext"])
		})
	})
}
