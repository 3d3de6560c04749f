// Package edge is claudemesh's WebSocket edge: it accepts peers on GET /ws,
// decodes their classic JSON frames, turns each into one Connect RPC on the
// mesh services, and writes the answers and pushes back as frames.
//
// The edge keeps no mesh state. Per socket it holds only what it needs to
// speak for the session: the presence id returned by hello, a bounded send
// queue, and the push subscription.
//
// Close codes it uses: 1000 normal (and "session_replaced"), 1001 the broker
// is shutting down, 1008 policy (handshake refused, slow consumer), 1009 a
// frame over the read limit, 4001 kicked, 4002 revoked.
package edge

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/gen/pb/claudemesh/scheduler/v1/schedulerv1connect"
)

// Config configures the edge.
type Config struct {
	// Mesh is the client the edge calls the mesh service through. Required.
	Mesh meshv1connect.MeshServiceClient
	// Scheduler is the client the schedule frames call. Without it they are
	// answered "unimplemented".
	Scheduler schedulerv1connect.SchedulerServiceClient
	// InternalToken is sent with every RPC to prove the call comes from the
	// edge. Required.
	InternalToken string
	// Logger receives connection logs. Defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the edge's metrics. Defaults to none.
	Registerer prometheus.Registerer
	// ReadLimit is the largest frame accepted, in bytes; a larger one closes
	// the socket with 1009. Defaults to 65536.
	ReadLimit int64
	// SendQueueBytes bounds the frames waiting to be written to one socket;
	// a socket that falls further behind is closed with 1008 ("slow
	// consumer"). Defaults to 1 MiB.
	SendQueueBytes int
	// WriteTimeout bounds one frame write. Defaults to 5 s.
	WriteTimeout time.Duration
	// PingInterval is how often sockets are pinged; a socket that does not
	// answer within PingTimeout is closed. Defaults to 30 s.
	PingInterval time.Duration
	// PingTimeout defaults to 15 s.
	PingTimeout time.Duration
	// RPCTimeout bounds one RPC made for a frame. Defaults to 30 s.
	RPCTimeout time.Duration
	// OriginPatterns are the browser origins allowed besides the broker's
	// own host. Non-browser clients send no Origin and are always allowed.
	OriginPatterns []string
}

// WithDefaults returns the config with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 10
	}
	if c.SendQueueBytes == 0 {
		c.SendQueueBytes = 1 << 20
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 15 * time.Second
	}
	if c.RPCTimeout == 0 {
		c.RPCTimeout = 30 * time.Second
	}
	return c
}

// Handler serves GET /ws.
type Handler struct {
	cfg     Config
	metrics *metrics

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool
	// drained is closed once closing and the last socket is gone.
	drained chan struct{}
}

// New returns a Handler.
func New(cfg Config) *Handler {
	cfg = cfg.WithDefaults()
	return &Handler{
		cfg:     cfg,
		metrics: newMetrics(cfg.Registerer),
		conns:   map[*conn]struct{}{},
		drained: make(chan struct{}),
	}
}

// ServeHTTP upgrades the request and serves the socket until it closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		h.cfg.Logger.DebugContext(r.Context(), "websocket accept", "err", err)
		return
	}
	ws.SetReadLimit(h.cfg.ReadLimit)
	c := newConn(h, ws, r.RemoteAddr)
	if !h.track(c) {
		_ = ws.Close(websocket.StatusGoingAway, "shutting down")
		return
	}
	defer h.untrack(c)
	c.serve(r.Context())
}

func (h *Handler) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = struct{}{}
	h.metrics.active.Inc()
	h.metrics.accepted.Inc()
	return true
}

func (h *Handler) untrack(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	h.metrics.active.Dec()
	if h.closing && len(h.conns) == 0 {
		close(h.drained)
	}
}

// Shutdown closes every socket with 1001 ("shutting down") and refuses new
// ones. It returns when the sockets are closed or ctx is done.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closing {
		h.closing = true
		if len(h.conns) == 0 {
			close(h.drained)
		}
	}
	for c := range h.conns {
		c.close(websocket.StatusGoingAway, "shutting down")
	}
	h.mu.Unlock()
	select {
	case <-h.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Conns returns how many sockets are open.
func (h *Handler) Conns() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}
