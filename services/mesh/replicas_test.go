package mesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg"
	"claudemesh.dev/db/pgtest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// replicasBundle is two brokers sharing one Postgres database, and a mesh
// (made on a) with members alice (the admin), bob, carol and dave.
type replicasBundle struct {
	*msgBundle
	a, b *meshtest.Broker
}

// startReplicas starts replicas "replica-a" and "replica-b" on one fresh
// Postgres database, and waits until each hears the other.
func startReplicas(t *testing.T, opts ...func(*server.Config)) *replicasBundle {
	t.Helper()
	url := pgtest.NewURL(t)
	start := func(id string) *meshtest.Broker {
		store, err := dbpg.Open(t.Context(), url, dbpg.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		return meshtest.Start(t, store, append([]func(*server.Config){func(cfg *server.Config) { cfg.ReplicaID = id }}, opts...)...)
	}
	a, b := start("replica-a"), start("replica-b")
	rb := &replicasBundle{msgBundle: newMsgBundleOn(t, a), a: a, b: b}
	// A replica listens for the other's notifications shortly after it
	// starts: wait for that, both ways, so that no test loses the first.
	probe := rb.mesh.AddMember(t, "probe")
	for _, pair := range [][2]*meshtest.Broker{{a, b}, {b, a}} {
		from := openSession(t, pair[0], rb.alice, hello{})
		to := openSession(t, pair[1], probe, hello{groups: []string{"probe"}})
		waitHeard(t, from, to)
		from.Drop()
		to.Drop()
	}
	return rb
}

// waitHeard waits until messages and state changes from a session on one
// replica reach a session on another.
func waitHeard(t *testing.T, from, to *session) {
	t.Helper()
	got := func(typ string) bool {
		for {
			f, err := to.ReadWithin(100 * time.Millisecond)
			if isTimeout(err) {
				return false
			}
			require.NoError(t, err)
			if f["type"] == typ {
				return true
			}
		}
	}
	meshtest.Eventually(t, "a group message crosses replicas", func() bool {
		sendOK(t, from.Peer, "@probe", "now", "probe")
		return got("push")
	})
	meshtest.Eventually(t, "a state change crosses replicas", func() bool {
		setState(from.Peer, "probe", db.NewID())
		return got("state_change")
	})
	// Drop what the probes left behind.
	sendOK(t, from.Peer, "@probe", "now", "done")
	for {
		if f := to.Read(); f["type"] == "push" && f["ciphertext"] == b64("done") {
			return
		}
	}
}

func TestTwoReplicas(t *testing.T) {
	t.Parallel()

	t.Run("DirectMessages", func(t *testing.T) {
		t.Parallel()
		rb := startReplicas(t)
		alice := openSession(t, rb.a, rb.alice, hello{name: "alice-laptop"})
		bob := openSession(t, rb.b, rb.bob, hello{})

		for i, target := range []string{bob.key.PublicHex(), rb.bob.Key.PublicHex(), "bob"} {
			body := fmt.Sprint("dm ", i)
			id := sendOK(t, alice.Peer, target, "next", body)
			push := expectMessage(t, bob.Peer, body)
			require.Equal(t, id, push["messageId"])
			require.Equal(t, rb.mesh.ID, push["meshId"])
			require.Equal(t, alice.key.PublicHex(), push["senderPubkey"])
			require.Equal(t, rb.alice.Key.PublicHex(), push["senderMemberPubkey"])
			require.Equal(t, rb.alice.ID, push["senderMemberId"])
			require.Equal(t, "alice-laptop", push["senderName"])
			require.Equal(t, target, push["targetSpec"])

			// Acked on b, delivered as a sees it.
			clientAck(t, bob.Peer, id)
			res := messageStatus(t, alice.Peer, id)
			require.Equal(t, true, res["delivered"], "status %v", res)
		}

		// And back.
		id := sendOK(t, bob.Peer, alice.key.PublicHex(), "now", "reply")
		require.Equal(t, id, expectMessage(t, alice.Peer, "reply")["messageId"])
		require.Equal(t, "pushed", states(t, bob.Peer, id)[alice.key.PublicHex()])
	})

	t.Run("BroadcastAndGroup", func(t *testing.T) {
		t.Parallel()
		rb := startReplicas(t)
		alice := openSession(t, rb.a, rb.alice, hello{})
		dave := openSession(t, rb.a, rb.dave, hello{groups: []string{"eng"}})
		bob := openSession(t, rb.b, rb.bob, hello{groups: []string{"eng/backend"}})
		carol := openSession(t, rb.b, rb.carol, hello{})

		id := sendOK(t, alice.Peer, "*", "next", "to all")
		for _, p := range []*session{bob, carol, dave} {
			require.Equal(t, id, expectMessage(t, p.Peer, "to all")["messageId"])
		}
		sendOK(t, alice.Peer, "@eng", "next", "to eng")
		expectMessage(t, bob.Peer, "to eng")
		expectMessage(t, dave.Peer, "to eng")
		alice.ExpectQuiet(quiet)
		carol.ExpectQuiet(quiet)
	})

	t.Run("SharedState", func(t *testing.T) {
		t.Parallel()
		rb := startReplicas(t)
		alice1 := openSession(t, rb.a, rb.alice, hello{})
		alice2 := openSession(t, rb.a, rb.alice, hello{})
		bob := openSession(t, rb.b, rb.bob, hello{})

		setState(alice1.Peer, "plan", map[string]any{"step": float64(2)})
		for _, p := range []*session{alice2, bob} {
			expectStateChange(t, p.Peer, "plan", map[string]any{"step": float64(2)}, "team-admin")
		}
		setState(bob.Peer, "owner", "bob")
		for _, p := range []*session{alice1, alice2} {
			expectStateChange(t, p.Peer, "owner", "bob", "bob")
		}
		// Once each, and never to the writer.
		for _, p := range []*session{alice1, alice2, bob} {
			p.ExpectQuiet(quiet)
		}
		require.Equal(t, map[string]any{"step": float64(2)}, getState(bob.Peer, "plan")["value"])
		require.Equal(t, "bob", getState(alice1.Peer, "owner")["value"])
	})

	t.Run("OfflineRecipientReturnsToTheOtherReplica", func(t *testing.T) {
		t.Parallel()
		rb := startReplicas(t, shortGrace)
		alice := openSession(t, rb.a, rb.alice, hello{})
		key := newKeyPair(t)
		bob := openSession(t, rb.a, rb.bob, hello{key: &key})
		leave(t, bob, alice.Peer)

		ids := []string{
			sendOK(t, alice.Peer, "bob", "next", "direct"),
			sendOK(t, alice.Peer, "*", "next", "broadcast"),
			sendOK(t, alice.Peer, key.PublicHex(), "next", "to the session key"),
		}
		back := openSession(t, rb.b, rb.bob, hello{key: &key})
		for i, body := range []string{"direct", "broadcast", "to the session key"} {
			require.Equal(t, ids[i], expectMessage(t, back.Peer, body)["messageId"])
		}
	})

	t.Run("HeldUntilIdleOnTheOtherReplica", func(t *testing.T) {
		t.Parallel()
		rb := startReplicas(t)
		alice := openSession(t, rb.a, rb.alice, hello{})
		bob := openSession(t, rb.b, rb.bob, hello{})
		setStatus(t, bob.Peer, "working")
		id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "held")
		now := sendOK(t, alice.Peer, bob.key.PublicHex(), "now", "urgent")
		require.Equal(t, now, expectMessage(t, bob.Peer, "urgent")["messageId"])
		require.Equal(t, "queued", states(t, alice.Peer, id)[bob.key.PublicHex()])
		sendStatus(bob.Peer, "idle")
		require.Equal(t, id, expectMessage(t, bob.Peer, "held")["messageId"])
	})

	t.Run("LeaseLapsesOnTheOtherReplica", func(t *testing.T) {
		t.Parallel()
		rb := startReplicas(t, func(cfg *server.Config) { cfg.Mesh.DeliveryLease = 300 * time.Millisecond })
		alice := openSession(t, rb.a, rb.alice, hello{})
		bob := openSession(t, rb.b, rb.bob, hello{})
		id := sendOK(t, alice.Peer, bob.key.PublicHex(), "next", "ack me")
		for range 2 {
			require.Equal(t, id, expectMessage(t, bob.Peer, "ack me")["messageId"])
		}
		clientAck(t, bob.Peer, id)
		skipPushes(t, bob.Peer, 300*time.Millisecond, id)
		bob.ExpectQuiet(3 * 300 * time.Millisecond)
		require.Equal(t, "delivered", states(t, alice.Peer, id)[bob.key.PublicHex()])
	})
}
