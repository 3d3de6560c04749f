package meshsession_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/meshcrypto"
	"claudemesh.dev/cli/internal/meshsession"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/meshtest"
)

// bundle is a broker with a mesh of two members.
type bundle struct {
	b          *meshtest.Broker
	mesh       *meshtest.Mesh
	alice, bob meshtest.Member
	// aliceKey and bobKey are their session keys.
	aliceKey, bobKey identity.KeyPair
	// addr is the broker's host:port.
	addr string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := meshtest.Start(t, storetest.SQLite(t))
	m := b.CreateMesh(t, "team", "")
	return &bundle{
		b:        b,
		mesh:     m,
		alice:    m.AddMember(t, "alice"),
		bob:      m.AddMember(t, "bob"),
		aliceKey: meshtest.NewKey(t),
		bobKey:   meshtest.NewKey(t),
		addr:     strings.TrimSuffix(strings.TrimPrefix(b.WSURL, "ws://"), "/ws"),
	}
}

// meshConfig is member's joined-mesh config entry, reaching the broker at
// brokerURL.
func meshConfig(m *meshtest.Mesh, member meshtest.Member, brokerURL string) config.Mesh {
	return config.Mesh{
		MeshID:    member.MeshID,
		MemberID:  member.ID,
		Slug:      m.Slug,
		Name:      m.Slug,
		Pubkey:    member.Key.PublicHex(),
		SecretKey: member.Key.SecretHex(),
		BrokerURL: brokerURL,
	}
}

// peer is a Session with what its callbacks saw.
type peer struct {
	*meshsession.Session
	key identity.KeyPair
	log *logRecorder

	mu       sync.Mutex
	connects []*edgev1.HelloAck
	frames   []frame.Frame
}

// start starts a session of member with key, reaching the broker at url.
func (bu *bundle) start(t *testing.T, member meshtest.Member, key identity.KeyPair, url string, edit ...func(*meshsession.Options)) *peer {
	t.Helper()
	p := &peer{key: key, log: &logRecorder{}}
	opts := meshsession.Options{
		Mesh:        meshConfig(bu.mesh, member, url),
		SessionKey:  key,
		SessionID:   "claude-" + member.Name,
		DisplayName: member.Name,
		PeerType:    "ai",
		Channel:     "claude-code",
		Model:       "test-model",
		Logger:      slog.New(p.log),
		MinBackoff:  10 * time.Millisecond,
		MaxBackoff:  100 * time.Millisecond,
		OnConnect: func(ack *edgev1.HelloAck) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.connects = append(p.connects, ack)
		},
		OnFrame: func(f frame.Frame) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.frames = append(p.frames, f)
		},
	}
	for _, e := range edit {
		e(&opts)
	}
	p.Session = meshsession.Start(t.Context(), opts)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func (p *peer) connectCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.connects)
}

// messages returns the pushes of messages (not broker events) OnFrame got.
func (p *peer) messages() []*edgev1.Push {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*edgev1.Push
	for _, f := range p.frames {
		if push, ok := f.Msg.(*edgev1.Push); ok && push.GetSubtype() != "system" {
			out = append(out, push)
		}
	}
	return out
}

// waitReady waits for the first accepted hello.
func (p *peer) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-p.Ready():
	case <-time.After(meshtest.Patience):
		t.Fatalf("no accepted hello within %s (last error: %v)", meshtest.Patience, p.Err())
	}
}

// request sends msg and returns the reply, which must be a T.
func request[T proto.Message](t *testing.T, p *peer, msg proto.Message) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), meshtest.Patience)
	defer cancel()
	reply, err := p.Request(ctx, msg)
	require.NoError(t, err)
	out, ok := reply.Msg.(T)
	require.True(t, ok, "reply is %T", reply.Msg)
	return out
}

// sendText sends a direct message from p to the session key to and returns
// the broker's message id.
func sendText(t *testing.T, p *peer, to identity.KeyPair, text string) string {
	t.Helper()
	ack := request[*edgev1.Ack](t, p, sealed(t, p.key, to, text))
	require.True(t, ack.GetQueued(), "send refused: %s", ack.GetError())
	return ack.GetMessageId()
}

// sealed is a send of text from the session key from to the session key to.
func sealed(t *testing.T, from, to identity.KeyPair, text string) *edgev1.Send {
	t.Helper()
	pair, err := meshcrypto.NewPair(to.Public, from.Secret)
	require.NoError(t, err)
	nonce, ciphertext := pair.Seal([]byte(text))
	return &edgev1.Send{TargetSpec: to.PublicHex(), Priority: "now", Nonce: nonce, Ciphertext: ciphertext}
}

// open decrypts a push p received from the session key from.
func open(t *testing.T, p *peer, from identity.KeyPair, push *edgev1.Push) string {
	t.Helper()
	pair, err := meshcrypto.NewPair(from.Public, p.key.Secret)
	require.NoError(t, err)
	text, err := pair.Open(push.GetNonce(), push.GetCiphertext())
	require.NoError(t, err)
	return string(text)
}

// deliveryStatus returns the state of a message for its one recipient, as
// its sender p sees it.
func deliveryStatus(t *testing.T, p *peer, messageID string) string {
	t.Helper()
	st := request[*edgev1.MessageStatusResult](t, p, &edgev1.MessageStatus{MessageId: messageID})
	require.Len(t, st.GetRecipients(), 1)
	return st.GetRecipients()[0].GetStatus()
}

// logRecorder is a slog handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// has reports whether a record with msg has the attribute key=value.
func (r *logRecorder) has(msg, key string, value any) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		if rec.Message != msg {
			continue
		}
		found := false
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == key && a.Value.Equal(slog.AnyValue(value)) {
				found = true
				return false
			}
			return true
		})
		if found {
			return true
		}
	}
	return false
}

// proxy is a TCP proxy to the broker that a test can cut, close to new
// connections, and make swallow the bytes of one direction.
type proxy struct {
	ln     net.Listener
	target string
	// refusing closes new connections at once.
	refusing atomic.Bool
	// dropUp and dropDown swallow the bytes client→broker and
	// broker→client; dropped counts the bytes swallowed.
	dropUp, dropDown atomic.Bool
	dropped          atomic.Int64
	accepted         atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

// url is the broker's WebSocket URL through the proxy.
func (p *proxy) url() string { return "ws://" + p.ln.Addr().String() + "/ws" }

func (p *proxy) accept() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if p.refusing.Load() {
			_ = down.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = down.Close()
			continue
		}
		p.mu.Lock()
		p.conns[down], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(up, down, &p.dropUp) })
		p.wg.Go(func() { p.pipe(down, up, &p.dropDown) })
	}
}

// pipe copies from src to dst, swallowing while drop is set, and closes
// both when either side ends.
func (p *proxy) pipe(dst, src net.Conn, drop *atomic.Bool) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if drop.Load() {
				p.dropped.Add(int64(n))
			} else if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every proxied connection, as a network failure would.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}
