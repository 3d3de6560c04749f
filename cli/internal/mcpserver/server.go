// Package mcpserver is `claudemesh mcp`: the stdio MCP server Claude Code
// spawns. It holds one broker session per joined mesh and brings the
// messages peers send to the model — as channel notifications, through the
// session's hooks, or when the model calls check_messages — and acks each
// one to the broker only once it reached the model.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/hooklink"
	"claudemesh.dev/cli/internal/meshsession"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// Name is the server's MCP name. It must be "claudemesh": Claude Code
// matches it against --dangerously-load-development-channels
// server:claudemesh, and tools appear as mcp__claudemesh__<tool>.
const Name = "claudemesh"

// Message modes: how messages reach the model (classic §5.6).
const (
	// ModePush writes each message as a channel notification when the
	// session has channels, else leaves it for the hooks and
	// check_messages.
	ModePush = "push"
	// ModeInbox writes a short notice per message; the model reads it with
	// check_messages (or a hook prints it).
	ModeInbox = "inbox"
	// ModeOff writes nothing; messages wait for check_messages and hooks.
	ModeOff = "off"
)

// supportedProtocolVersions pins the MCP versions this server speaks. Claude
// Code does not register a channel server that negotiates 2026-07-28, and
// it first probes with server/discover: a server that refuses the probe
// (-32022) gets the legacy initialize handshake.
//
//nolint:gochecknoglobals // read-only list.
var supportedProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// Options configure the server.
type Options struct {
	// Meshes are the meshes to connect, one broker session each.
	Meshes []config.Mesh
	// ConfigDir is the claudemesh config directory: session keys, the hook
	// link socket and cached mesh hints live under it.
	ConfigDir string
	// SessionID is the Claude Code session id. It keeps the session's
	// identity across --resume and joins the server to its hooks; empty
	// runs an anonymous session without hooks.
	SessionID string
	// DisplayName, Role and Groups describe this session to its peers.
	DisplayName string
	Role        string
	Groups      []config.Group
	// Mode is ModePush (the default), ModeInbox or ModeOff.
	Mode string
	// Channels says channel notifications reach the model: the session was
	// started with the development-channels flag naming this server.
	Channels bool
	// ConfirmChannel acks a channelled message only once the session's
	// transcript shows it (under Claude Code); otherwise writing the
	// notification is taken as delivery.
	ConfirmChannel bool
	// TranscriptDirs are Claude Code's projects directories, where the
	// session's transcript is <dir>/<project>/<SessionID>.jsonl.
	TranscriptDirs []string
	// ConfirmWait is how long a channelled message waits for the
	// transcript before the hooks and check_messages hand it over as well.
	// Defaults to 5 s.
	ConfirmWait time.Duration
	// Model is the Claude model, for the peer list.
	Model string
	// Version is reported as the server version.
	Version string
	// ChannelGrace is how long to wait after notifications/initialized
	// before the first channel notification: Claude Code registers its
	// channel handler slightly after the handshake. Defaults to 2 s.
	ChannelGrace time.Duration
	// Logger defaults to discarding. It must not write to stdout.
	Logger *slog.Logger
	// HTTPClient posts hook statuses to brokers; defaults to one with a 2 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// Server is a running MCP server.
type Server struct {
	opts  Options
	log   *slog.Logger
	links []*meshLink
	inbox inbox
	mcp   *mcp.Server
	tr    *notifyTransport
	// transcript confirms channelled messages (ConfirmChannel).
	transcript *transcript
	// kick wakes the channel writer.
	kick chan struct{}
	// readyCh is closed when the channel opens; done when Run ends.
	readyCh   chan struct{}
	readyOnce sync.Once
	done      chan struct{}

	mu sync.Mutex
	// ready is set once notifications/initialized arrived and the grace
	// passed: channel notifications may be written.
	ready bool
}

// meshLink is one joined mesh: its config, keys and broker session.
type meshLink struct {
	mesh    config.Mesh
	member  identity.KeyPair
	session *meshsession.Session
	// sessionKey is this session's key in the mesh.
	sessionKey identity.KeyPair
	// once guards the welcome.
	once sync.Once
}

// New prepares a server. It does not touch the network.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ChannelGrace == 0 {
		opts.ChannelGrace = 2 * time.Second
	}
	if opts.ConfirmWait == 0 {
		opts.ConfirmWait = 5 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	}
	switch opts.Mode {
	case "":
		opts.Mode = ModePush
	case ModePush, ModeInbox, ModeOff:
	default:
		return nil, fmt.Errorf("message mode %q: want push, inbox or off", opts.Mode)
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		inbox:      inbox{now: opts.Now},
		kick:       make(chan struct{}, 1),
		transcript: &transcript{sessionID: opts.SessionID, dirs: opts.TranscriptDirs},
		readyCh:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	for _, m := range opts.Meshes {
		member, err := identity.ParseKeyPair(m.Pubkey, m.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("mesh %s: member key: %w", m.Slug, err)
		}
		key, err := meshsession.LoadKey(opts.ConfigDir, m.MeshID, opts.SessionID)
		if err != nil {
			return nil, fmt.Errorf("mesh %s: session key: %w", m.Slug, err)
		}
		s.links = append(s.links, &meshLink{mesh: m, member: member, sessionKey: key})
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: Name, Version: opts.Version}, &mcp.ServerOptions{
		Instructions: instructions(s.instructionFacts()),
		Logger:       opts.Logger,
		InitializedHandler: func(context.Context, *mcp.InitializedRequest) {
			time.AfterFunc(opts.ChannelGrace, s.markReady)
		},
		Capabilities: &mcp.ServerCapabilities{
			Experimental: map[string]any{"claude/channel": map[string]any{}},
			Tools:        &mcp.ToolCapabilities{ListChanged: true},
		},
		SupportedProtocolVersions: supportedProtocolVersions,
	})
	s.addTools()
	return s, nil
}

// Run serves MCP on the transport (stdio in production) until the client
// disconnects or ctx ends, with the broker sessions and the hook link
// running beside it. It returns nil on a normal end.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer close(s.done)
	s.tr = &notifyTransport{inner: t}
	ss, err := s.mcp.Connect(ctx, s.tr, nil)
	if err != nil {
		return fmt.Errorf("start the MCP session: %w", err)
	}
	// The handshake is under way; the brokers connect in the background.
	for _, l := range s.links {
		s.startLink(ctx, l)
	}
	defer s.closeLinks()
	if s.opts.SessionID != "" {
		hl, err := hooklink.Listen(s.opts.ConfigDir, s.opts.SessionID, hookHandler{s}, s.log)
		if err != nil {
			s.log.Warn("hooks cannot reach this session; messages arrive through channels and check_messages only", "err", err)
		} else {
			defer func() { _ = hl.Close() }()
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.pushLoop(ctx) })
	if s.opts.ConfirmChannel {
		wg.Go(func() { s.confirmLoop(ctx) })
	}

	waited := make(chan error, 1)
	go func() { waited <- ss.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = ss.Close()
		if werr := <-waited; werr != nil {
			s.log.Debug("MCP session closed on shutdown", "err", werr)
		}
	}
	cancel()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("MCP session: %w", err)
	}
	return nil
}

func (s *Server) startLink(ctx context.Context, l *meshLink) {
	l.session = meshsession.Start(ctx, meshsession.Options{
		Mesh:        l.mesh,
		SessionKey:  l.sessionKey,
		SessionID:   s.opts.SessionID,
		DisplayName: s.opts.DisplayName,
		PeerType:    "ai",
		Channel:     "claude-code",
		Model:       s.opts.Model,
		Groups:      s.opts.Groups,
		Logger:      s.log,
		OnConnect:   func(ack *edgev1.HelloAck) { s.onConnect(l, ack) },
		OnFrame:     func(f frame.Frame) { s.onFrame(l, f) },
	})
}

func (s *Server) closeLinks() {
	var wg sync.WaitGroup
	for _, l := range s.links {
		if l.session != nil {
			wg.Go(func() { _ = l.session.Close() })
		}
	}
	wg.Wait()
}

// markReady allows channel notifications and writes what waited for them.
func (s *Server) markReady() {
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
	s.readyOnce.Do(func() { close(s.readyCh) })
	s.wake()
}

// channelOpen reports whether a channel notification written now reaches
// the model.
func (s *Server) channelOpen() bool {
	if !s.opts.Channels {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// wake asks the channel writer to look at the inbox.
func (s *Server) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// connectedLinks returns the meshes whose broker session is up.
func (s *Server) connectedLinks() []*meshLink {
	var out []*meshLink
	for _, l := range s.links {
		if l.session != nil && l.session.Connected() {
			out = append(out, l)
		}
	}
	return out
}
