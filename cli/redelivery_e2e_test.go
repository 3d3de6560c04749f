package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/meshcrypto"
	"claudemesh.dev/db/pgtest"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/identity"
)

// TestKillNineRedelivery checks that what a broker acked survives kill -9:
// 200 messages acked while their receiver was away, and 200 pushed to it
// but not client_acked, all reach the receiver once the broker is
// restarted on the same database, intact; acked then, they report
// delivered.
func TestKillNineRedelivery(t *testing.T) {
	t.Parallel()

	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewURL(t)
		dataDir := t.TempDir()
		killNineRedelivery(t, dataDir, func(listen string) *broker {
			return startBroker(t, nil, "broker", "--listen", listen, "--db", url, "--data-dir", dataDir, "--log-level", "warn", "--loop-guard-max", "1000")
		})
	})

	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		dataDir := t.TempDir()
		env := []string{"CLAUDEMESH_DATA_DIR=" + dataDir, "CLAUDEMESH_CONFIG_DIR=" + t.TempDir()}
		killNineRedelivery(t, dataDir, func(listen string) *broker {
			return startBroker(t, env, "up", "--listen", listen, "--log-level", "warn", "--loop-guard-max", "1000")
		})
	})
}

// redeliveryWait bounds the wait for redelivered messages after the
// restart. The broker's delivery lease is 30 s, so a broker that only
// re-pushes once a lease lapses passes, slowly; one that loses them fails.
const redeliveryWait = 60 * time.Second

// killNineRedelivery runs the test against brokers that start returns,
// all on one database. 400 direct messages between two members are over
// the loop guard's default, hence --loop-guard-max.
func killNineRedelivery(t *testing.T, dataDir string, start func(listen string) *broker) {
	t.Helper()
	b := start("127.0.0.1:0")
	addr := b.addr
	token, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	require.NoError(t, err)

	owner, senderDir, receiverDir := t.TempDir(), t.TempDir(), t.TempDir()
	run(t, owner, "mesh", "create", "kill nine", "--broker", "ws://"+addr+"/ws", "--token", strings.TrimSpace(string(token)))
	raiseSendRate(t, addr, strings.TrimSpace(string(token)), "kill-nine")
	var inv map[string]any
	runJSON(t, owner, &inv, "invite", "--mesh", "kill-nine", "--max-uses", "2")
	run(t, senderDir, "join", inv["joinUrl"].(string), "--name", "sender")
	run(t, receiverDir, "join", inv["joinUrl"].(string), "--name", "receiver")

	sender := newSession(t, senderDir, "kill-nine", "sender")
	receiver := newSession(t, receiverDir, "kill-nine", "receiver")
	seal, err := meshcrypto.NewPair(receiver.key.Public, sender.key.Secret)
	require.NoError(t, err)
	open, err := meshcrypto.NewPair(sender.key.Public, receiver.key.Secret)
	require.NoError(t, err)

	// The receiver says hello once, so that its session key is known, and
	// goes away.
	receiver.connect(t, nil)
	receiver.close()
	sender.connect(t, nil)

	sent := map[string]string{} // message id → text
	sendGroup := func(group string) []string {
		t.Helper()
		ids := make([]string, 0, 200)
		for i := range 200 {
			text := fmt.Sprintf("kill-nine %s #%03d: acked means durable", group, i)
			nonce, ciphertext := seal.Seal([]byte(text))
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			reply, err := sender.client.Request(ctx, &edgev1.Send{TargetSpec: receiver.key.PublicHex(), Priority: "next", Nonce: nonce, Ciphertext: ciphertext, Id: fmt.Sprint(i)})
			cancel()
			require.NoError(t, err)
			ack, ok := reply.Msg.(*edgev1.Ack)
			require.True(t, ok, "got %T", reply.Msg)
			require.True(t, ack.GetQueued(), "send %s #%d refused: %s", group, i, ack.GetError())
			sent[ack.GetMessageId()] = text
			ids = append(ids, ack.GetMessageId())
		}
		return ids
	}

	// Group 1 waits for the receiver, which then connects (and does not
	// client_ack): it gets them in order. Group 2 is pushed to it live.
	offline := sendGroup("offline")
	inbox := newInbox(open)
	receiver.connect(t, inbox.add)
	inbox.wait(t, offline, sent, 10*time.Second)
	require.Equal(t, offline, inbox.order()[:len(offline)], "the messages that waited arrive in the order they were sent")
	pushed := sendGroup("pushed")
	inbox.wait(t, pushed, sent, 10*time.Second)

	// kill -9, and a restart on the same database and port (the configs
	// name this broker URL).
	require.NoError(t, b.cmd.Process.Kill())
	<-b.exited
	sender.close()
	receiver.close()
	b = start(addr)
	require.Equal(t, addr, b.addr)

	after := newInbox(open)
	receiver.connect(t, after.add)
	all := append(slices.Clone(offline), pushed...)
	began := time.Now()
	after.wait(t, all, sent, redeliveryWait)
	t.Logf("all %d acked messages were pushed again %s after the restarted broker's hello", len(all), time.Since(began).Round(time.Millisecond))

	for _, id := range all {
		require.NoError(t, receiver.client.Send(t.Context(), &edgev1.ClientAck{BrokerMessageId: &id}))
	}
	sender.connect(t, nil)
	for _, id := range []string{offline[0], offline[99], offline[199], pushed[0], pushed[99], pushed[199]} {
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			reply, err := sender.client.Request(ctx, &edgev1.MessageStatus{MessageId: id})
			require.NoError(t, err)
			st, ok := reply.Msg.(*edgev1.MessageStatusResult)
			require.True(t, ok, "got %T", reply.Msg)
			require.Len(t, st.GetRecipients(), 1)
			return st.GetDelivered() && st.GetRecipients()[0].GetStatus() == "delivered"
		}, 10*time.Second, 50*time.Millisecond, "message %s is not reported delivered", id)
	}
	require.NoError(t, b.stop(t))
}

// raiseSendRate lifts a mesh's send rate (600 a minute by default) with
// the operator token.
func raiseSendRate(t *testing.T, addr, token, mesh string) {
	t.Helper()
	bearer := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	})
	client := meshv1connect.NewMeshServiceClient(http.DefaultClient, "http://"+addr, connect.WithInterceptors(bearer))
	got, err := client.GetMesh(t.Context(), &meshv1.GetMeshRequest{Mesh: mesh})
	require.NoError(t, err)
	_, err = client.UpdateMeshPolicy(t.Context(), &meshv1.UpdateMeshPolicyRequest{
		MeshId: got.GetMesh().GetId(),
		Policy: &meshv1.MeshPolicy{SelfEditable: got.GetMesh().GetPolicy().GetSelfEditable(), SendRatePerMinute: 60000, SendBurst: 1000},
	})
	require.NoError(t, err)
}

// session is a member's Claude Code session, reconnectable with the same
// session key and id.
type session struct {
	mesh   config.Mesh
	name   string
	key    identity.KeyPair
	client *brokerclient.Client
}

func newSession(t *testing.T, configDir, slug, name string) *session {
	t.Helper()
	cfg, err := config.Load(configDir)
	require.NoError(t, err)
	m, ok := cfg.Find(slug)
	require.True(t, ok)
	key, err := identity.Generate()
	require.NoError(t, err)
	s := &session{mesh: *m, name: name, key: key}
	t.Cleanup(s.close)
	return s
}

func (s *session) connect(t *testing.T, events func(frame.Frame)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := brokerclient.Dial(ctx, brokerclient.Options{
		Mesh: s.mesh, SessionKey: &s.key, SessionID: "session-" + s.name, DisplayName: s.name,
		PeerType: "ai", Channel: "claude-code", EventFunc: events,
	})
	require.NoError(t, err)
	s.client = c
}

func (s *session) close() {
	if s.client != nil {
		_ = s.client.Close()
		s.client = nil
	}
}

// inbox collects the messages pushed to a session, opened; wait checks
// them against what was sent.
type inbox struct {
	open *meshcrypto.Pair

	mu      sync.Mutex
	arrived []string
	texts   map[string]string
	bad     []string
}

func newInbox(open *meshcrypto.Pair) *inbox {
	return &inbox{open: open, texts: map[string]string{}}
}

func (in *inbox) add(f frame.Frame) {
	p, ok := f.Msg.(*edgev1.Push)
	if !ok || p.GetSenderPubkey() == "system" {
		return
	}
	text, err := in.open.Open(p.GetNonce(), p.GetCiphertext())
	in.mu.Lock()
	defer in.mu.Unlock()
	if err != nil {
		in.bad = append(in.bad, p.GetMessageId()+": "+err.Error())
		return
	}
	if prev, dup := in.texts[p.GetMessageId()]; dup {
		if prev != string(text) {
			in.bad = append(in.bad, fmt.Sprintf("%s: pushed again as %q, first as %q", p.GetMessageId(), text, prev))
		}
		return
	}
	in.texts[p.GetMessageId()] = string(text)
	in.arrived = append(in.arrived, p.GetMessageId())
}

func (in *inbox) order() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.arrived)
}

// wait waits until every id arrived, then checks each one's text against
// what was sent and fails with the missing ones.
func (in *inbox) wait(t *testing.T, ids []string, sent map[string]string, timeout time.Duration) {
	t.Helper()
	missing := func() []string {
		in.mu.Lock()
		defer in.mu.Unlock()
		var out []string
		for _, id := range ids {
			if _, ok := in.texts[id]; !ok {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(timeout)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	in.mu.Lock()
	bad := slices.Clone(in.bad)
	for id, text := range in.texts {
		if want, ok := sent[id]; !ok {
			bad = append(bad, id+": not a message the sender had acked")
		} else if text != want {
			bad = append(bad, fmt.Sprintf("%s: got %q, sent %q", id, text, want))
		}
	}
	in.mu.Unlock()
	require.Empty(t, bad, "pushes that did not check out")
	m := missing()
	require.Empty(t, m, "%d of %d acked messages did not arrive within %s", len(m), len(ids), timeout)
}
