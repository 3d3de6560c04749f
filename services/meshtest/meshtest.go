// Package meshtest runs real brokers for tests and speaks to them as peers
// do: meshes created through the Connect API with the operator token,
// members enrolled with signed v1 invites, and sessions opened over real
// WebSocket dials with signed hellos.
package meshtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/coder/websocket"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
	"claudemesh.dev/services/server"
)

// Broker is a broker serving on a free loopback port until the test ends.
type Broker struct {
	Server *server.Server
	Store  db.Store
	// URL is the broker's HTTP base, WSURL its peer endpoint.
	URL   string
	WSURL string
	// Operator is the operator token.
	Operator string
	// Mesh is a MeshService client without credentials; use Operator or a
	// member's context for credentials.
	Mesh meshv1connect.MeshServiceClient

	now func() time.Time
	// signed is the last timestamp (ms) a MemberClient signed at.
	signed atomic.Int64
	cancel context.CancelFunc
	done   chan error
}

// Start runs a broker over store. opts adjust its config (grace period,
// limits, clock).
func Start(t testing.TB, store db.Store, opts ...func(*server.Config)) *Broker {
	t.Helper()
	cfg := server.Config{Listen: "127.0.0.1:0", Store: store, Version: "test"}
	// Tests expect one peer_joined per join unless they test coalescing.
	cfg.Mesh.JoinWindow = -1
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start broker: %v", err)
	}
	token, _, err := server.OperatorToken(ctx, store, filepath.Join(t.TempDir(), "operator-token"), time.Now())
	if err != nil {
		cancel()
		t.Fatalf("operator token: %v", err)
	}
	b := &Broker{
		Server:   srv,
		Store:    store,
		URL:      "http://" + srv.Addr().String(),
		WSURL:    "ws://" + srv.Addr().String() + "/ws",
		Operator: token,
		now:      cfg.NowFunc,
		cancel:   cancel,
		done:     make(chan error, 1),
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.Mesh = meshv1connect.NewMeshServiceClient(http.DefaultClient, b.URL)
	go func() { b.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { b.Stop(t) })
	return b
}

// Stop shuts the broker down (idempotent).
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	b.cancel()
	if err, ok := <-b.done; ok {
		close(b.done)
		if err != nil {
			t.Errorf("broker: %v", err)
		}
	}
}

// Bearer returns a context whose RPCs carry secret as a bearer token.
func Bearer(ctx context.Context, secret string) context.Context {
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set("Authorization", "Bearer "+secret)
	return ctx
}

// Member is an enrolled member: its ids and key.
type Member struct {
	ID     string
	MeshID string
	Name   string
	Key    identity.KeyPair
}

// Mesh is a mesh created by a test, with its owner key and first member.
type Mesh struct {
	ID    string
	Slug  string
	Owner identity.KeyPair
	Admin Member
	b     *Broker
}

// CreateMesh creates a mesh with the operator token.
func (b *Broker) CreateMesh(t testing.TB, slug, template string) *Mesh {
	t.Helper()
	return b.NewMesh(t, MeshOptions{Slug: slug, Template: template})
}

// InviteOptions shape an invite.
type InviteOptions struct {
	Role    string
	MaxUses int32
	Expires time.Duration
	Preset  *meshv1.InvitePreset
}

// SignInvite returns a v1 invite token signed by the mesh owner, without
// registering it.
func (m *Mesh) SignInvite(t testing.TB, opts InviteOptions) string {
	t.Helper()
	if opts.Role == "" {
		opts.Role = "member"
	}
	if opts.Expires == 0 {
		opts.Expires = 24 * time.Hour
	}
	p := invite.Sign(invite.Payload{
		V:           1,
		MeshID:      m.ID,
		MeshSlug:    m.Slug,
		BrokerURL:   m.b.WSURL,
		ExpiresAt:   m.b.Now().Add(opts.Expires).Unix(),
		MeshRootKey: invite.NewRootKey(),
		Role:        opts.Role,
	}, m.Owner)
	token, err := invite.Encode(p)
	if err != nil {
		t.Fatalf("encode invite: %v", err)
	}
	return token
}

// Invite signs and registers an invite and returns its token.
func (m *Mesh) Invite(t testing.TB, opts InviteOptions) string {
	t.Helper()
	token := m.SignInvite(t, opts)
	_, err := m.b.Mesh.CreateInvite(t.Context(), &meshv1.CreateInviteRequest{
		MeshId: m.ID, Token: token, MaxUses: opts.MaxUses, Preset: opts.Preset,
	})
	if err != nil {
		t.Fatalf("register invite: %v", err)
	}
	return token
}

// Join enrolls a new member with an invite token.
func (m *Mesh) Join(t testing.TB, token, name string) Member {
	t.Helper()
	key := newKey(t)
	res, err := m.b.Mesh.JoinMesh(t.Context(), &meshv1.JoinMeshRequest{InviteToken: token, MemberPubkey: key.PublicHex(), DisplayName: name})
	if err != nil {
		t.Fatalf("join %s: %v", m.Slug, err)
	}
	return Member{ID: res.GetMember().GetId(), MeshID: m.ID, Name: name, Key: key}
}

// AddMember invites and enrolls a member in one step.
func (m *Mesh) AddMember(t testing.TB, name string) Member {
	t.Helper()
	return m.Join(t, m.Invite(t, InviteOptions{}), name)
}

func newKey(t testing.TB) identity.KeyPair {
	t.Helper()
	k, err := identity.Generate()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

// Hello describes the hello a session sends.
type Hello struct {
	SessionID   string
	SessionKey  *identity.KeyPair
	DisplayName string
	Groups      []map[string]string
	// Timestamp defaults to now.
	Timestamp time.Time
	// Extra fields are merged into the frame, overriding.
	Extra map[string]any
}

// HelloFrame builds a signed hello for member.
func HelloFrame(member Member, h Hello) map[string]any {
	ts := h.Timestamp
	if ts.IsZero() {
		ts = helloNow()
	}
	f := map[string]any{
		"type":      "hello",
		"meshId":    member.MeshID,
		"memberId":  member.ID,
		"pubkey":    member.Key.PublicHex(),
		"sessionId": h.SessionID,
		"pid":       4242,
		"cwd":       "/work/project",
		"hostname":  "testhost",
		"peerType":  "ai",
		"channel":   "claude-code",
		"timestamp": ts.UnixMilli(),
		"signature": identity.SignHello(member.Key, member.MeshID, member.ID, ts.UnixMilli()),
	}
	if h.SessionKey != nil {
		f["sessionPubkey"] = h.SessionKey.PublicHex()
	}
	if h.DisplayName != "" {
		f["displayName"] = h.DisplayName
	}
	if h.Groups != nil {
		f["groups"] = h.Groups
	}
	for k, v := range h.Extra {
		f[k] = v
	}
	return f
}

// Conn is a raw peer socket. A goroutine reads it, so waiting for a frame
// with a timeout does not close the socket. A Conn belongs to the test
// goroutine that dialed it.
type Conn struct {
	t      testing.TB
	WS     *websocket.Conn
	frames chan []byte
	// err is the read error that ended the socket, set before frames closes.
	err error
	// skipped holds the system pushes Expect passed over, oldest first, for
	// ExpectEvent and ExpectNoEvent.
	skipped []map[string]any
}

// Dial opens a socket to the broker.
func (b *Broker) Dial(t testing.TB) *Conn {
	t.Helper()
	ws, res, err := websocket.Dial(t.Context(), b.WSURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", b.WSURL, err)
	}
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	ws.SetReadLimit(1 << 20)
	c := &Conn{t: t, WS: ws, frames: make(chan []byte, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.frames)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			c.frames <- data
		}
	}()
	t.Cleanup(func() {
		_ = ws.CloseNow()
		<-done
	})
	return c
}

// Peer is a socket that said hello.
type Peer struct {
	*Conn
	Member Member
	// Ack is the hello_ack.
	Ack map[string]any
}

// Connect dials and says hello, failing the test unless it is accepted.
func (b *Broker) Connect(t testing.TB, member Member, h Hello) *Peer {
	t.Helper()
	c := b.Dial(t)
	c.Send(HelloFrame(member, h))
	ack := c.Expect("hello_ack")
	return &Peer{Conn: c, Member: member, Ack: ack}
}

// Send writes a frame: a map or struct marshalled as JSON, or a string as is.
func (c *Conn) Send(frame any) {
	c.t.Helper()
	var data []byte
	if s, ok := frame.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(frame); err != nil {
			c.t.Fatalf("marshal frame: %v", err)
		}
	}
	if err := c.WS.Write(c.t.Context(), websocket.MessageText, data); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// Read returns the next frame, failing after Patience.
func (c *Conn) Read() map[string]any {
	c.t.Helper()
	f, err := c.ReadWithin(Patience)
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// ReadWithin returns the next frame, or the error that closed the socket,
// or a timeout error.
func (c *Conn) ReadWithin(d time.Duration) (map[string]any, error) {
	select {
	case data, ok := <-c.frames:
		if !ok {
			return nil, c.err
		}
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, err
		}
		return f, nil
	case <-time.After(d):
		return nil, errTimeout
	}
}

// errTimeout is ReadWithin's error when no frame came in time.
var errTimeout = errors.New("no frame in time")

// Expect reads frames until one of type typ arrives, skipping system pushes
// (joins, leaves), and fails on an error frame of another request.
func (c *Conn) Expect(typ string) map[string]any {
	c.t.Helper()
	for {
		f := c.Read()
		switch {
		case f["type"] == typ:
			return f
		case f["type"] == "push" && f["subtype"] == "system":
			c.skipped = append(c.skipped, f)
		default:
			c.t.Fatalf("expected %q, got %v", typ, f)
		}
	}
}

// ExpectEvent returns the first system push with the event that Expect
// passed over, else reads frames until one arrives. Frames before it are
// dropped.
func (c *Conn) ExpectEvent(event string) map[string]any {
	c.t.Helper()
	for i, f := range c.skipped {
		if f["event"] == event {
			c.skipped = c.skipped[i+1:]
			return f
		}
	}
	c.skipped = nil
	for {
		f := c.Read()
		if f["type"] == "push" && f["event"] == event {
			return f
		}
	}
}

// ExpectError reads the next frame and requires an error with code.
func (c *Conn) ExpectError(code string) map[string]any {
	c.t.Helper()
	f := c.Expect("error")
	if f["code"] != code {
		c.t.Fatalf("expected error %q, got %v", code, f)
	}
	return f
}

// ExpectClose reads until the socket closes and returns the close code.
func (c *Conn) ExpectClose() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.ReadWithin(Patience)
		if errors.Is(err, errTimeout) {
			c.t.Fatalf("the socket did not close within %s", Patience)
		}
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// ExpectQuiet requires that no frame but system pushes arrives for d.
func (c *Conn) ExpectQuiet(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, err := c.ReadWithin(time.Until(deadline))
		if errors.Is(err, errTimeout) {
			return
		}
		if err != nil {
			c.t.Fatalf("socket closed: %v", err)
		}
		if f["type"] != "push" || f["subtype"] != "system" {
			c.t.Fatalf("expected no frame, got %v", f)
		}
	}
}
