package meshsession_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/meshsession"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/meshtest"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	alice := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL, func(o *meshsession.Options) {
		o.Groups = []config.Group{{Name: "eng", Role: "lead"}}
	})
	alice.waitReady(t)

	// Ready closes after OnConnect has run.
	require.Equal(t, 1, alice.connectCount())
	require.True(t, alice.Connected())
	require.NoError(t, alice.Err())
	ack := alice.HelloAck()
	require.NotNil(t, ack)
	require.NotEmpty(t, ack.GetPresenceId())
	require.Equal(t, "team", ack.GetMeshSlug())
	alice.mu.Lock()
	require.Same(t, ack, alice.connects[0])
	alice.mu.Unlock()

	// The hello said who this session is.
	bob := bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL)
	bob.waitReady(t)
	peers := request[*edgev1.PeersList](t, bob, &edgev1.ListPeers{})
	i := slices.IndexFunc(peers.GetPeers(), func(p *edgev1.PeerInfo) bool { return p.GetPubkey() == bu.aliceKey.PublicHex() })
	require.GreaterOrEqual(t, i, 0, "alice's session key is listed: %v", peers.GetPeers())
	p := peers.GetPeers()[i]
	require.Equal(t, bu.alice.Key.PublicHex(), p.GetMemberPubkey())
	require.Equal(t, "alice", p.GetDisplayName())
	require.Equal(t, "claude-alice", p.GetSessionId())
	require.Equal(t, "ai", p.GetPeerType())
	require.Equal(t, "claude-code", p.GetChannel())
	require.Equal(t, "test-model", p.GetModel())
	require.Len(t, p.GetGroups(), 1)
	require.Equal(t, "eng", p.GetGroups()[0].GetName())
	require.Equal(t, "lead", p.GetGroups()[0].GetRole())

	require.NoError(t, alice.Close())
	require.NoError(t, alice.Close(), "Close is idempotent")
	require.False(t, alice.Connected())
	_, err := alice.Request(t.Context(), &edgev1.ListPeers{})
	require.ErrorContains(t, err, "closed")
}

func TestMessages(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	alice := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
	bob := bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL)
	alice.waitReady(t)
	bob.waitReady(t)

	t.Run("DirectMessageDeliveredAndAcked", func(t *testing.T) {
		id := sendText(t, alice, bu.bobKey, "hello bob")
		meshtest.Eventually(t, "bob gets the message", func() bool { return len(bob.messages()) == 1 })
		push := bob.messages()[0]
		require.Equal(t, id, push.GetMessageId())
		require.Equal(t, bu.aliceKey.PublicHex(), push.GetSenderPubkey())
		require.Equal(t, "hello bob", open(t, bob, bu.aliceKey, push))
		require.Equal(t, "pushed", deliveryStatus(t, alice, id))

		bob.Ack(id)
		meshtest.Eventually(t, "the message is delivered", func() bool { return deliveryStatus(t, alice, id) == "delivered" })
	})

	t.Run("SendWithoutReply", func(t *testing.T) {
		alice.Send(&edgev1.SetSummary{Summary: "first"})
		alice.Send(&edgev1.SetSummary{Summary: "second"})
		meshtest.Eventually(t, "bob sees alice's last summary", func() bool { return summaryOf(t, bob, bu.aliceKey.PublicHex()) == "second" })
	})

	t.Run("RefusedRequest", func(t *testing.T) {
		_, err := alice.Request(t.Context(), &edgev1.MessageStatus{MessageId: "nosuchmessage"})
		var be *brokerclient.Error
		require.ErrorAs(t, err, &be)
		require.Equal(t, "not_found", be.Code)
	})
}

// summaryOf returns the summary of the peer with the session key pubkey, as
// p lists it.
func summaryOf(t *testing.T, p *peer, pubkey string) string {
	t.Helper()
	for _, info := range request[*edgev1.PeersList](t, p, &edgev1.ListPeers{}).GetPeers() {
		if info.GetPubkey() == pubkey {
			return info.GetSummary()
		}
	}
	return ""
}

// TestReconnect cuts a session's connection and keeps the broker out of
// reach for a while: the session retries, queues what is sent meanwhile,
// holds requests, and takes its presence back once the broker is reachable.
func TestReconnect(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	px := newProxy(t, bu.addr)
	alice := bu.start(t, bu.alice, bu.aliceKey, px.url())
	bob := bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL)
	alice.waitReady(t)
	bob.waitReady(t)
	presence := alice.HelloAck().GetPresenceId()
	bu.b.WaitSockets(t, 2)

	px.refusing.Store(true)
	px.cut()
	meshtest.Eventually(t, "alice notices", func() bool { return !alice.Connected() && alice.Err() != nil })
	bu.b.WaitSockets(t, 1)
	tries := px.accepted.Load()
	meshtest.Eventually(t, "alice keeps trying", func() bool { return px.accepted.Load() >= tries+3 })
	require.NotContains(t, alice.Err().Error(), "not reconnecting", "a refused TCP connection is worth retrying")

	// While disconnected: a request waits (here, until its deadline), sends
	// are queued.
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err := alice.Request(short, &edgev1.ListPeers{})
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "last failure")
	alice.Send(&edgev1.SetSummary{Summary: "written while offline"})
	alice.Send(&edgev1.SetSummary{Summary: "written while offline, later"})
	waiting := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), meshtest.Patience)
		defer cancel()
		_, err := alice.Request(ctx, &edgev1.ListPeers{})
		waiting <- err
	}()

	px.refusing.Store(false)
	meshtest.Eventually(t, "alice reconnects", func() bool { return alice.connectCount() == 2 && alice.Connected() })
	require.NoError(t, alice.Err())
	require.Equal(t, presence, alice.HelloAck().GetPresenceId(), "the broker reattached the presence")
	require.NoError(t, <-waiting, "the request waiting for the connection went through")
	meshtest.Eventually(t, "the queued frames arrived in order", func() bool {
		return summaryOf(t, bob, bu.aliceKey.PublicHex()) == "written while offline, later"
	})
}

// TestSendResentAfterDrop loses the ack of a send: the session sends it
// again after the reconnect with the same client_message_id, and the broker
// answers with the first message's id without queueing it twice.
func TestSendResentAfterDrop(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	px := newProxy(t, bu.addr)
	alice := bu.start(t, bu.alice, bu.aliceKey, px.url())
	bob := bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL)
	alice.waitReady(t)
	bob.waitReady(t)

	px.dropDown.Store(true)
	msg := sealed(t, bu.aliceKey, bu.bobKey, "first")
	acked := make(chan *edgev1.Ack, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), meshtest.Patience)
		defer cancel()
		reply, err := alice.Request(ctx, msg)
		if err != nil {
			t.Errorf("send: %v", err)
			acked <- nil
			return
		}
		ack, _ := reply.Msg.(*edgev1.Ack)
		acked <- ack
	}()
	meshtest.Eventually(t, "the broker queued the send and pushed it", func() bool { return len(bob.messages()) == 1 })
	px.dropDown.Store(false)
	px.cut()

	ack := <-acked
	require.NotNil(t, ack)
	require.True(t, ack.GetQueued())
	require.Equal(t, bob.messages()[0].GetMessageId(), ack.GetMessageId(), "the resend is acked with the first message's id")
	require.NotEmpty(t, msg.GetClientMessageId(), "Request set a client_message_id")
	require.Equal(t, 2, alice.connectCount())

	sendText(t, alice, bu.bobKey, "second")
	meshtest.Eventually(t, "bob gets the second message", func() bool { return len(bob.messages()) >= 2 })
	got := bob.messages()
	texts := make([]string, 0, len(got))
	for _, p := range got {
		texts = append(texts, open(t, bob, bu.aliceKey, p))
	}
	require.Equal(t, []string{"first", "second"}, texts, "the first message was queued once")
}

// TestRequestFailsOnDrop loses the reply of a request that is not a send:
// it fails with ErrDisconnected.
func TestRequestFailsOnDrop(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	px := newProxy(t, bu.addr)
	alice := bu.start(t, bu.alice, bu.aliceKey, px.url())
	alice.waitReady(t)

	px.dropDown.Store(true)
	failed := make(chan error, 1)
	go func() {
		_, err := alice.Request(context.Background(), &edgev1.ListPeers{})
		failed <- err
	}()
	meshtest.Eventually(t, "the reply is swallowed", func() bool { return px.dropped.Load() > 0 })
	px.dropDown.Store(false)
	px.cut()
	require.ErrorIs(t, <-failed, meshsession.ErrDisconnected)
	meshtest.Eventually(t, "alice reconnects", func() bool { return alice.connectCount() == 2 && alice.Connected() })
}

// TestRedeliveredPush reconnects a session that holds an unacked message and
// one whose ack was lost: the broker pushes both again; neither reaches
// OnFrame twice, and the acked one is acked again.
func TestRedeliveredPush(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	px := newProxy(t, bu.addr)
	alice := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
	bob := bu.start(t, bu.bob, bu.bobKey, px.url())
	alice.waitReady(t)
	bob.waitReady(t)
	bu.b.WaitSockets(t, 2)

	unacked := sendText(t, alice, bu.bobKey, "not acked")
	lost := sendText(t, alice, bu.bobKey, "acked, but the ack is lost")
	meshtest.Eventually(t, "bob gets both", func() bool { return len(bob.messages()) == 2 })

	px.dropUp.Store(true)
	bob.Ack(lost)
	meshtest.Eventually(t, "the ack is swallowed", func() bool { return px.dropped.Load() > 0 })
	px.refusing.Store(true)
	px.cut()
	bu.b.WaitSockets(t, 1)
	px.dropUp.Store(false)
	px.refusing.Store(false)
	meshtest.Eventually(t, "bob reconnects", func() bool { return bob.connectCount() == 2 })

	const dropped = "dropping a push already passed on"
	meshtest.Eventually(t, "the broker pushed both again", func() bool {
		return bob.log.has(dropped, "message_id", unacked) && bob.log.has(dropped, "message_id", lost)
	})
	meshtest.Eventually(t, "the lost ack was sent again", func() bool { return deliveryStatus(t, alice, lost) == "delivered" })
	require.Equal(t, "pushed", deliveryStatus(t, alice, unacked))
	got := bob.messages()
	ids := make([]string, 0, len(got))
	for _, p := range got {
		ids = append(ids, p.GetMessageId())
	}
	require.Equal(t, []string{unacked, lost}, ids, "OnFrame got each message once")

	bob.Ack(unacked)
	meshtest.Eventually(t, "the other is delivered", func() bool { return deliveryStatus(t, alice, unacked) == "delivered" })
}

// TestRefusedForGood checks that the session stops reconnecting when the
// broker will never take it back.
func TestRefusedForGood(t *testing.T) {
	t.Parallel()

	t.Run("RevokedWhileConnected", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		alice := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
		alice.waitReady(t)
		_, err := bu.b.Mesh.RevokeMember(meshtest.Bearer(t.Context(), bu.b.Operator), &meshv1.RevokeMemberRequest{MeshId: bu.mesh.ID, Member: bu.alice.ID})
		require.NoError(t, err)
		requireStopped(t, alice, "removed from the mesh")

		// A new session of the revoked member stops at its first hello.
		again := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
		requireStopped(t, again, "removed from the mesh")
		require.Equal(t, 0, again.connectCount())
	})

	t.Run("UnknownMember", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		stranger := meshtest.Member{ID: bu.alice.ID, MeshID: bu.mesh.ID, Name: "stranger", Key: meshtest.NewKey(t)}
		s := bu.start(t, stranger, meshtest.NewKey(t), bu.b.WSURL)
		requireStopped(t, s, "does not know this member")
	})

	t.Run("BadMemberKey", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		s := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL, func(o *meshsession.Options) { o.Mesh.SecretKey = "nothex" })
		requireStopped(t, s, "member key")
	})

	t.Run("SessionReplaced", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		first := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
		first.waitReady(t)
		second := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
		second.waitReady(t)
		requireStopped(t, first, "took over")
		require.True(t, second.Connected())
		require.Equal(t, 1, first.connectCount())
	})
}

// requireStopped waits until p gave up, and checks that a request fails at
// once with the reason instead of waiting for a connection.
func requireStopped(t *testing.T, p *peer, reason string) {
	t.Helper()
	meshtest.Eventually(t, "the session gives up", func() bool {
		err := p.Err()
		return err != nil && strings.Contains(err.Error(), reason)
	})
	require.False(t, p.Connected())
	ctx, cancel := context.WithTimeout(t.Context(), meshtest.Patience)
	defer cancel()
	_, err := p.Request(ctx, &edgev1.ListPeers{})
	require.ErrorContains(t, err, reason)
	require.NoError(t, ctx.Err())
}

func TestEnds(t *testing.T) {
	t.Parallel()

	t.Run("ContextCancelled", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		s := meshsession.Start(ctx, meshsession.Options{Mesh: meshConfig(bu.mesh, bu.alice, bu.b.WSURL), SessionKey: bu.aliceKey})
		<-s.Ready()
		cancel()
		meshtest.Eventually(t, "the session ends", func() bool { return !s.Connected() })
		_, err := s.Request(t.Context(), &edgev1.ListPeers{})
		require.ErrorContains(t, err, "closed")
		require.NoError(t, s.Close())
		bu.b.WaitSockets(t, 0)
	})

	t.Run("CloseWhileUnreachable", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		px := newProxy(t, bu.addr)
		px.refusing.Store(true)
		s := bu.start(t, bu.alice, bu.aliceKey, px.url())
		meshtest.Eventually(t, "it tries", func() bool { return px.accepted.Load() >= 2 })
		require.Error(t, s.Err())
		require.NoError(t, s.Close())
		select {
		case <-s.Ready():
			t.Fatal("ready without a hello")
		default:
		}
	})

	t.Run("FramesBeforeOnConnect", func(t *testing.T) {
		t.Parallel()
		bu := setup(t)
		// Bob says hello once so that the broker knows his session key,
		// and goes away; a message waits for him.
		bob := bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL)
		bob.waitReady(t)
		require.NoError(t, bob.Close())
		alice := bu.start(t, bu.alice, bu.aliceKey, bu.b.WSURL)
		alice.waitReady(t)
		sendText(t, alice, bu.bobKey, "waiting for bob")

		// The broker pushes it right after the hello_ack; a slow OnConnect
		// still sees its connection before the push.
		var mu sync.Mutex
		var events []string
		bob = bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL, func(o *meshsession.Options) {
			onFrame := o.OnFrame
			o.OnConnect = func(*edgev1.HelloAck) {
				time.Sleep(200 * time.Millisecond)
				mu.Lock()
				defer mu.Unlock()
				events = append(events, "connect")
			}
			o.OnFrame = func(f frame.Frame) {
				mu.Lock()
				events = append(events, f.Type)
				mu.Unlock()
				onFrame(f)
			}
		})
		meshtest.Eventually(t, "bob gets the waiting message", func() bool { return len(bob.messages()) == 1 })
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, "connect", events[0], "OnConnect runs before the connection's frames: %v", events)
	})
}

// TestSilentBrokerDetected loses every byte from the broker without closing
// the connection (a network that dropped it without a word): the session's
// pings go unanswered, it drops the connection and makes a new one once the
// network is back, where mail sent meanwhile reaches it.
func TestSilentBrokerDetected(t *testing.T) {
	t.Parallel()
	bu := setup(t)
	px := newProxy(t, bu.addr)
	alice := bu.start(t, bu.alice, bu.aliceKey, px.url(), func(o *meshsession.Options) {
		o.KeepAlive = 100 * time.Millisecond
	})
	bob := bu.start(t, bu.bob, bu.bobKey, bu.b.WSURL)
	alice.waitReady(t)
	bob.waitReady(t)

	px.dropDown.Store(true)
	meshtest.Eventually(t, "alice notices the silent broker", func() bool { return !alice.Connected() })
	require.ErrorContains(t, alice.Err(), "stopped answering pings")
	sendText(t, bob, bu.aliceKey, "while you were away")
	px.dropDown.Store(false)
	meshtest.Eventually(t, "alice reconnects", func() bool { return alice.connectCount() >= 2 && alice.Connected() })
	meshtest.Eventually(t, "alice gets the message", func() bool { return len(alice.messages()) == 1 })
	require.Equal(t, "while you were away", open(t, alice, bu.bobKey, alice.messages()[0]))
}
