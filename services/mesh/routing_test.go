package mesh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// shortGrace ends a session 100 ms after its socket drops.
func shortGrace(cfg *server.Config) { cfg.Mesh.GracePeriod = 100 * time.Millisecond }

func TestSendTargets(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("SessionKey", func(t *testing.T) {
			t.Parallel()
			for _, tt := range []struct {
				name   string
				target func(key string) string
			}{
				{"Lowercase", func(key string) string { return key }},
				{"Uppercase", strings.ToUpper},
			} {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tb := newMsgBundle(t, engine)
					alice := openSession(t, tb.b, tb.alice, hello{})
					bob1 := openSession(t, tb.b, tb.bob, hello{})
					bob2 := openSession(t, tb.b, tb.bob, hello{})
					target := tt.target(bob1.key.PublicHex())

					id := sendOK(t, alice.Peer, target, "now", "hi bob1")
					push := expectMessage(t, bob1.Peer, "hi bob1")
					require.Equal(t, id, push["messageId"])
					require.Equal(t, target, push["targetSpec"])
					bob2.ExpectQuiet(quiet)
					require.Equal(t, map[string]string{bob1.key.PublicHex(): "pushed"}, states(t, alice.Peer, id))
				})
			}
		})

		t.Run("MemberKeyAnySession", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob1 := openSession(t, tb.b, tb.bob, hello{})
			bob2 := openSession(t, tb.b, tb.bob, hello{})

			id := sendOK(t, alice.Peer, tb.bob.Key.PublicHex(), "next", "to bob, any session")
			i, push := firstMessage(t, bob1.Peer, bob2.Peer)
			require.Equal(t, id, push["messageId"])
			require.Equal(t, b64("to bob, any session"), push["ciphertext"])
			[]*session{bob1, bob2}[1-i].ExpectQuiet(quiet)
			require.Equal(t, map[string]string{tb.bob.Key.PublicHex(): "pushed"}, states(t, alice.Peer, id))
		})

		t.Run("OfflineSessionKey", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, shortGrace)
			alice := openSession(t, tb.b, tb.alice, hello{})
			key := newKeyPair(t)
			bob := openSession(t, tb.b, tb.bob, hello{key: &key})
			leave(t, bob, alice.Peer)

			id := sendOK(t, alice.Peer, key.PublicHex(), "next", "for that session")
			require.Equal(t, map[string]string{key.PublicHex(): "queued"}, states(t, alice.Peer, id))
			// Another session of bob does not take it: it waits for the key.
			other := openSession(t, tb.b, tb.bob, hello{})
			other.ExpectQuiet(quiet)
			require.Equal(t, map[string]string{key.PublicHex(): "queued"}, states(t, alice.Peer, id))

			back := openSession(t, tb.b, tb.bob, hello{key: &key})
			require.Equal(t, id, expectMessage(t, back.Peer, "for that session")["messageId"])
			require.Equal(t, map[string]string{key.PublicHex(): "pushed"}, states(t, alice.Peer, id))
		})

		t.Run("Broadcast", func(t *testing.T) {
			t.Parallel()
			for _, target := range []string{"@all", "*"} {
				t.Run(map[string]string{"@all": "AtAll", "*": "Star"}[target], func(t *testing.T) {
					t.Parallel()
					tb := newMsgBundle(t, engine)
					alice := openSession(t, tb.b, tb.alice, hello{})
					bob := openSession(t, tb.b, tb.bob, hello{})
					carol := openSession(t, tb.b, tb.carol, hello{})

					id := sendOK(t, alice.Peer, target, "next", "hello all")
					for _, p := range []*session{bob, carol} {
						push := expectMessage(t, p.Peer, "hello all")
						require.Equal(t, id, push["messageId"])
						require.Equal(t, target, push["targetSpec"])
					}
					alice.ExpectQuiet(quiet)
					// dave is offline: his copy waits for him.
					require.Equal(t, map[string]string{
						bob.key.PublicHex():     "pushed",
						carol.key.PublicHex():   "pushed",
						tb.dave.Key.PublicHex(): "queued",
					}, states(t, alice.Peer, id))
				})
			}
		})

		t.Run("DisplayName", func(t *testing.T) {
			t.Parallel()

			t.Run("Unique", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				carol := openSession(t, tb.b, tb.carol, hello{})
				bob := openSession(t, tb.b, tb.bob, hello{name: "bob-laptop"})

				id := sendOK(t, alice.Peer, "CAROL", "next", "by name")
				push := expectMessage(t, carol.Peer, "by name")
				require.Equal(t, id, push["messageId"])
				require.Equal(t, "CAROL", push["targetSpec"])
				require.Equal(t, map[string]string{carol.key.PublicHex(): "pushed"}, states(t, alice.Peer, id))

				// A session's own display name counts.
				sendOK(t, alice.Peer, "bob-laptop", "next", "by session name")
				expectMessage(t, bob.Peer, "by session name")
			})

			t.Run("OfflineMember", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				id := sendOK(t, alice.Peer, "carol", "next", "when you are back")
				require.Equal(t, map[string]string{tb.carol.Key.PublicHex(): "queued"}, states(t, alice.Peer, id))
				carol := openSession(t, tb.b, tb.carol, hello{})
				require.Equal(t, id, expectMessage(t, carol.Peer, "when you are back")["messageId"])
			})

			t.Run("SessionsOfOneMember", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				bob1 := openSession(t, tb.b, tb.bob, hello{})
				bob2 := openSession(t, tb.b, tb.bob, hello{})
				// Both are "bob": the name is the member's, and one of its
				// sessions takes the message.
				id := sendOK(t, alice.Peer, "bob", "next", "to bob")
				i, push := firstMessage(t, bob1.Peer, bob2.Peer)
				require.Equal(t, id, push["messageId"])
				[]*session{bob1, bob2}[1-i].ExpectQuiet(quiet)
			})

			t.Run("AmbiguousSessions", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				bob := openSession(t, tb.b, tb.bob, hello{name: "dev"})
				carol := openSession(t, tb.b, tb.carol, hello{name: "DEV"})
				msg := sendRefused(t, alice.Peer, "dev", "next", "who?", "ambiguous")
				require.Contains(t, msg, `"dev" matches 2 peers`)
				require.Contains(t, msg, bob.key.PublicHex()[:12])
				require.Contains(t, msg, carol.key.PublicHex()[:12])
				bob.ExpectQuiet(quiet)
				carol.ExpectQuiet(quiet)
			})

			t.Run("AmbiguousSessionsWithoutKeys", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				tb.b.Connect(t, tb.bob, meshtest.Hello{SessionID: "s-bob", DisplayName: "dev"})
				tb.b.Connect(t, tb.carol, meshtest.Hello{SessionID: "s-carol", DisplayName: "dev"})
				msg := sendRefused(t, alice.Peer, "dev", "next", "who?", "ambiguous")
				require.Contains(t, msg, tb.bob.Key.PublicHex()[:12])
				require.Contains(t, msg, tb.carol.Key.PublicHex()[:12])
			})

			t.Run("AmbiguousMembers", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				eve1 := tb.mesh.AddMember(t, "eve")
				eve2 := tb.mesh.AddMember(t, "eve")
				alice := openSession(t, tb.b, tb.alice, hello{})
				msg := sendRefused(t, alice.Peer, "eve", "next", "which eve?", "ambiguous")
				require.Contains(t, msg, eve1.Key.PublicHex()[:12])
				require.Contains(t, msg, eve2.Key.PublicHex()[:12])
			})

			t.Run("Unknown", func(t *testing.T) {
				t.Parallel()
				tb := newMsgBundle(t, engine)
				alice := openSession(t, tb.b, tb.alice, hello{})
				msg := sendRefused(t, alice.Peer, "nobody", "next", "hello?", "no_recipient")
				require.Contains(t, msg, `no peer named "nobody"`)
			})
		})

		t.Run("Refused", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			for _, tt := range []struct {
				name, target, code, contains string
			}{
				{"OwnSessionKey", alice.key.PublicHex(), "invalid_target", "your own session key"},
				{"Topic", "#general", "invalid_target", "topics"},
				{"EmptyGroup", "@", "invalid_target", "group name"},
				{"BadGroupName", "@bad group!", "invalid_target", "group name"},
				{"EmptyGroupLevel", "@eng//backend", "invalid_target", "group name"},
				{"GroupTooDeep", "@a/b/c/d/e/f/g/h/i", "invalid_target", "at most 8 levels"},
				{"Empty", "  ", "invalid_target", "targetSpec"},
				{"UnknownKey", newKeyPair(t).PublicHex(), "no_recipient", "no peer or member"},
				{"EmptyGroupNobodyIn", "@nobody-here", "no_recipient", "@nobody-here"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					msg := sendRefused(t, alice.Peer, tt.target, "next", "x", tt.code)
					require.Contains(t, msg, tt.contains)
				})
			}
			t.Run("BadPriority", func(t *testing.T) {
				ack := sendAck(t, alice.Peer, sendFrame(bob.key.PublicHex(), "urgent", "x"))
				require.Equal(t, false, ack["queued"])
				require.True(t, strings.HasPrefix(ack["error"].(string), "invalid_argument: "), "ack %v", ack)
			})
			bob.ExpectQuiet(quiet)
		})
	})
}

func TestGroupRouting(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("Live", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{groups: []string{"eng/backend"}})
			carol := openSession(t, tb.b, tb.carol, hello{groups: []string{"eng"}})
			dave := openSession(t, tb.b, tb.dave, hello{groups: []string{"design"}})

			// A member of eng/backend is in @eng: a message to a parent group
			// reaches its sub-teams.
			id := sendOK(t, alice.Peer, "@eng", "next", "to eng")
			for _, p := range []*session{bob, carol} {
				push := expectMessage(t, p.Peer, "to eng")
				require.Equal(t, id, push["messageId"])
				require.Equal(t, "@eng", push["targetSpec"])
			}
			require.Equal(t, map[string]string{bob.key.PublicHex(): "pushed", carol.key.PublicHex(): "pushed"}, states(t, alice.Peer, id))

			// The sub-team alone: not its parent.
			sendOK(t, alice.Peer, "@eng/backend", "next", "to backend")
			expectMessage(t, bob.Peer, "to backend")

			// Groups match by whole levels.
			sendRefused(t, alice.Peer, "@en", "next", "x", "no_recipient")
			sendRefused(t, alice.Peer, "@eng/backend/api", "next", "x", "no_recipient")
			carol.ExpectQuiet(quiet)
			dave.ExpectQuiet(quiet)

			// Joining a group counts at once.
			dave.Send(map[string]any{"type": "join_group", "name": "eng/frontend"})
			settle(t, dave.Peer)
			sendOK(t, alice.Peer, "@eng", "next", "to eng again")
			for _, p := range []*session{bob, carol, dave} {
				expectMessage(t, p.Peer, "to eng again")
			}
		})

		t.Run("Queued", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine, shortGrace)
			alice := openSession(t, tb.b, tb.alice, hello{})
			// bob was last in eng/backend (his saved groups); carol never
			// connected, her default groups put her in eng/frontend; dave's in
			// design.
			bob := openSession(t, tb.b, tb.bob, hello{groups: []string{"eng/backend"}})
			leave(t, bob, alice.Peer)
			setDefaultGroups(t, tb, tb.carol, "eng/frontend")
			setDefaultGroups(t, tb, tb.dave, "design")

			toEng := sendOK(t, alice.Peer, "@eng", "next", "to eng")
			require.Equal(t, map[string]string{
				tb.bob.Key.PublicHex():   "queued",
				tb.carol.Key.PublicHex(): "queued",
			}, states(t, alice.Peer, toEng))
			toBackend := sendOK(t, alice.Peer, "@eng/backend", "low", "to backend")
			require.Equal(t, map[string]string{tb.bob.Key.PublicHex(): "queued"}, states(t, alice.Peer, toBackend))

			bob = openSession(t, tb.b, tb.bob, hello{})
			pushes := expectMessages(t, bob.Peer, "to eng", "to backend")
			require.Equal(t, toEng, pushes[0]["messageId"])
			require.Equal(t, "@eng", pushes[0]["targetSpec"])
			require.Equal(t, toBackend, pushes[1]["messageId"])
			carol := openSession(t, tb.b, tb.carol, hello{})
			expectMessage(t, carol.Peer, "to eng")
			dave := openSession(t, tb.b, tb.dave, hello{})
			for _, p := range []*session{bob, carol, dave} {
				p.ExpectQuiet(quiet)
			}
		})
	})
}

func TestSenderSelfSkip(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		t.Run("Broadcast", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice1 := openSession(t, tb.b, tb.alice, hello{})
			alice2 := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{})
			for _, target := range []string{"*", "@all"} {
				id := sendOK(t, alice1.Peer, target, "next", "broadcast "+target)
				expectMessage(t, bob.Peer, "broadcast "+target)
				rs := states(t, alice1.Peer, id)
				require.NotContains(t, rs, alice1.key.PublicHex())
				require.NotContains(t, rs, alice2.key.PublicHex())
				require.NotContains(t, rs, tb.alice.Key.PublicHex())
			}
			// Never, not even when a sibling connects later.
			alice3 := openSession(t, tb.b, tb.alice, hello{})
			for _, p := range []*session{alice1, alice2, alice3} {
				p.ExpectQuiet(quiet)
			}
		})

		t.Run("GroupReachesSiblingSession", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice1 := openSession(t, tb.b, tb.alice, hello{groups: []string{"eng"}})
			alice2 := openSession(t, tb.b, tb.alice, hello{groups: []string{"eng"}})
			bob := openSession(t, tb.b, tb.bob, hello{groups: []string{"eng"}})
			id := sendOK(t, alice1.Peer, "@eng", "next", "to eng")
			expectMessage(t, alice2.Peer, "to eng")
			expectMessage(t, bob.Peer, "to eng")
			alice1.ExpectQuiet(quiet)
			require.Equal(t, map[string]string{alice2.key.PublicHex(): "pushed", bob.key.PublicHex(): "pushed"}, states(t, alice1.Peer, id))
		})

		t.Run("DirectToSiblingSession", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice1 := openSession(t, tb.b, tb.alice, hello{})
			alice2 := openSession(t, tb.b, tb.alice, hello{})
			sendOK(t, alice1.Peer, alice2.key.PublicHex(), "next", "note to self")
			expectMessage(t, alice2.Peer, "note to self")
			alice1.ExpectQuiet(quiet)
		})

		t.Run("HiddenSessionsSkipped", func(t *testing.T) {
			t.Parallel()
			tb := newMsgBundle(t, engine)
			alice := openSession(t, tb.b, tb.alice, hello{})
			bob := openSession(t, tb.b, tb.bob, hello{groups: []string{"eng"}})
			carol := openSession(t, tb.b, tb.carol, hello{groups: []string{"eng"}})
			carol.Request(map[string]any{"type": "set_visible", "visible": false}, "ack")
			for _, target := range []string{"*", "@eng"} {
				id := sendOK(t, alice.Peer, target, "next", "not for hidden "+target)
				expectMessage(t, bob.Peer, "not for hidden "+target)
				require.NotContains(t, states(t, alice.Peer, id), carol.key.PublicHex())
			}
			carol.ExpectQuiet(quiet)
		})
	})
}

func TestOfflineDelivery(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine)
		setDefaultGroups(t, tb, tb.bob, "eng")
		alice := openSession(t, tb.b, tb.alice, hello{})

		// Direct, group and broadcast messages, all while bob and carol are
		// offline.
		sent := []struct{ target, priority, body string }{
			{"bob", "next", "direct by name"},
			{"@eng", "low", "to the group"},
			{"*", "now", "to everyone"},
			{tb.bob.Key.PublicHex(), "next", "direct by member key"},
			{"@all", "next", "to all"},
		}
		ids := make([]string, len(sent))
		for i, s := range sent {
			ids[i] = sendOK(t, alice.Peer, s.target, s.priority, s.body)
			require.Equal(t, "queued", states(t, alice.Peer, ids[i])[tb.bob.Key.PublicHex()])
		}

		// In the order they were sent, each with its own time.
		bob := openSession(t, tb.b, tb.bob, hello{})
		var last time.Time
		for i, s := range sent {
			push := expectMessage(t, bob.Peer, s.body)
			require.Equal(t, ids[i], push["messageId"])
			require.Equal(t, s.target, push["targetSpec"])
			require.Equal(t, s.priority, push["priority"])
			at, err := time.Parse(time.RFC3339Nano, push["createdAt"].(string))
			require.NoError(t, err)
			require.False(t, at.Before(last), "pushes in created_at order")
			last = at
		}
		bob.ExpectQuiet(quiet)
		clientAck(t, bob.Peer, ids...)
		for _, id := range ids {
			require.Equal(t, "delivered", states(t, alice.Peer, id)[tb.bob.Key.PublicHex()])
		}

		// carol, in no group, gets the broadcasts.
		carol := openSession(t, tb.b, tb.carol, hello{})
		expectMessages(t, carol.Peer, "to everyone", "to all")
		carol.ExpectQuiet(quiet)
	})
}

// TestGroupMailOfAGoneSessionGoesToItsMember: group and broadcast messages
// held for a busy session, or pushed to it and never acked, do not wait for
// that session once it is gone for good: its member's next session, with a
// new key, gets them. A direct message sealed to the session's key stays
// for that key (a resumed session brings it back).
func TestGroupMailOfAGoneSessionGoesToItsMember(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newMsgBundle(t, engine, shortGrace)
		alice := openSession(t, tb.b, tb.alice, hello{})
		first := openSession(t, tb.b, tb.bob, hello{groups: []string{"eng"}})
		setStatus(t, first.Peer, "working")

		held := sendOK(t, alice.Peer, "@eng", "next", "held for a busy session")
		pushed := sendOK(t, alice.Peer, "*", "now", "pushed, never acked")
		expectMessage(t, first.Peer, "pushed, never acked")
		sealed := sendOK(t, alice.Peer, first.key.PublicHex(), "next", "for that session only")
		leave(t, first, alice.Peer)

		next := openSession(t, tb.b, tb.bob, hello{})
		msgs := expectMessages(t, next.Peer, "held for a busy session", "pushed, never acked")
		require.Equal(t, held, msgs[0]["messageId"])
		require.Equal(t, pushed, msgs[1]["messageId"])
		next.ExpectQuiet(quiet)
		clientAck(t, next.Peer, held, pushed)
		require.Equal(t, "delivered", states(t, alice.Peer, held)[tb.bob.Key.PublicHex()])
		require.Equal(t, "queued", states(t, alice.Peer, sealed)[first.key.PublicHex()])
	})
}
