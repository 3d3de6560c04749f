// Package mesh implements claudemesh.mesh.v1.MeshService: meshes, invites,
// members, API keys, sessions (hello), presence, messaging, shared state and
// files.
//
// Presence lives twice, by design: in the presences table (so that any
// replica can list peers and hooks can find them) and in this replica's hub
// of sessions (so that routing reads no rows). A session's socket may drop
// and come back within the grace period without other peers noticing.
package mesh

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/ratelimit"
)

// Config configures the mesh service.
type Config struct {
	// Store is the database. Required.
	Store db.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
	// ReplicaID names this broker among the replicas sharing the database.
	// Required.
	ReplicaID string
	// PublicURL is the broker's base URL as peers reach it
	// (http://host:port); join links are built from it. Defaults to
	// http://127.0.0.1:7900.
	PublicURL string
	// MaxConnectionsPerMesh caps the sessions of one mesh on this replica.
	// Defaults to 100.
	MaxConnectionsPerMesh int
	// HelloSkew is how far a hello's timestamp may be from the broker's
	// clock. Defaults to 60 s.
	HelloSkew time.Duration
	// GracePeriod is how long a session whose socket dropped stays
	// reattachable (and listed) before peers are told it left. Defaults to
	// 90 s.
	GracePeriod time.Duration
	// StatusFreshness is how long a status set by a higher-ranked source
	// (hook > manual > inferred) keeps lower-ranked ones from changing it.
	// Defaults to 30 s.
	StatusFreshness time.Duration
	// WorkingTTL flips a session stuck in "working" back to "idle". Defaults
	// to 60 s.
	WorkingTTL time.Duration
	// PendingStatusTTL is how long a hook status that arrived before its
	// session waits to be applied. Defaults to 10 s.
	PendingStatusTTL time.Duration
	// HeartbeatInterval is how often this replica refreshes its presences'
	// heartbeats (one statement for all of them). Defaults to 30 s.
	HeartbeatInterval time.Duration
	// StaleAfter marks presences whose heartbeat is older than this
	// disconnected (their replica died). Defaults to 90 s.
	StaleAfter time.Duration
	// MaxGroupsPerSession caps the groups one session joins. Defaults to 64.
	MaxGroupsPerSession int
	// MaxMessageBytes caps a message (ciphertext, nonce and target). Defaults
	// to 65536.
	MaxMessageBytes int
	// MessageTTL is how long an undelivered message waits before it is
	// reported expired. Defaults to 7 days.
	MessageTTL time.Duration
	// DeliveryLease is how long a pushed message waits for the recipient's
	// ack before it is pushed again. Defaults to 30 s.
	DeliveryLease time.Duration
	// SendRatePerMinute and SendBurst limit each member's sends (a token
	// bucket). Default to 600 a minute with bursts of 100; a mesh policy may
	// set its own.
	SendRatePerMinute int
	SendBurst         int
	// LoopGuardMax is how many direct messages two members may exchange
	// within LoopGuardWindow without a human prompting either of them
	// before further messages between them are held. Defaults to 50 in 60 s.
	LoopGuardMax    int
	LoopGuardWindow time.Duration
	// MaxBatch caps how many concurrent sends are written in one
	// transaction. Defaults to 256.
	MaxBatch int
	// JoinWindow paces join announcements: the joins that follow one
	// within this window are announced together at its end. Defaults to
	// 250 ms; negative announces every join at once.
	JoinWindow time.Duration
}

// WithDefaults returns the config with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:7900"
	}
	setDefault(&c.MaxConnectionsPerMesh, 100)
	setDefault(&c.MaxGroupsPerSession, 64)
	setDefault(&c.HelloSkew, 60*time.Second)
	setDefault(&c.GracePeriod, 90*time.Second)
	setDefault(&c.StatusFreshness, 30*time.Second)
	setDefault(&c.WorkingTTL, 60*time.Second)
	setDefault(&c.PendingStatusTTL, 10*time.Second)
	setDefault(&c.HeartbeatInterval, 30*time.Second)
	setDefault(&c.StaleAfter, 90*time.Second)
	setDefault(&c.MaxMessageBytes, 64<<10)
	setDefault(&c.JoinWindow, 250*time.Millisecond)
	setDefault(&c.MessageTTL, 7*24*time.Hour)
	setDefault(&c.DeliveryLease, 30*time.Second)
	setDefault(&c.SendRatePerMinute, 600)
	setDefault(&c.SendBurst, 100)
	setDefault(&c.LoopGuardMax, 50)
	setDefault(&c.LoopGuardWindow, 60*time.Second)
	setDefault(&c.MaxBatch, 256)
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Service implements MeshService.
type Service struct {
	// UnimplementedMeshServiceHandler answers the RPCs whose issue has not
	// landed yet (messaging, state, files) with CodeUnimplemented; it goes
	// away once every RPC is implemented, so that a new RPC becomes a
	// compile error.
	meshv1connect.UnimplementedMeshServiceHandler

	cfg    Config
	store  db.Store
	log    *slog.Logger
	hub    *hub
	replay *auth.ReplayCache
	writer *writer
	// sendLimit limits each member's sends; loops holds ping-pong.
	sendLimit *ratelimit.Limiter
	loops     *loopGuard
	joins     *joinCoalescer
	// memberKeys caches member pubkeys by member id (they never change);
	// policies caches mesh policies for a few seconds.
	memberKeys sync.Map
	policies   sync.Map

	// wg tracks grace timers, so that shutdown waits for them.
	wg sync.WaitGroup
}

var _ meshv1connect.MeshServiceHandler = (*Service)(nil)

// New returns a mesh service. Run its background work with Run.
func New(cfg Config) *Service {
	cfg = cfg.WithDefaults()
	s := &Service{
		cfg:       cfg,
		store:     cfg.Store,
		log:       cfg.Logger,
		hub:       newHub(),
		replay:    auth.NewReplayCache(2 * cfg.HelloSkew),
		writer:    newWriter(cfg.Store, cfg.MaxBatch),
		sendLimit: ratelimit.New(),
		loops:     newLoopGuard(cfg.LoopGuardMax, cfg.LoopGuardWindow),
	}
	s.joins = newJoinCoalescer(cfg.JoinWindow, s.publishJoins)
	return s
}

func (s *Service) now() time.Time { return s.cfg.NowFunc().UTC().Truncate(time.Microsecond) }

// Run runs the service's background work until ctx is done: heartbeats,
// the stale-presence sweep, the working-status TTL and the pending-status
// sweep. On return every presence of this replica is marked disconnected.
// Recover must have run before.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.writer.run(ctx) })
	if l, ok := s.store.(db.Listener); ok {
		// Mail announced while the listen was down waits no longer than its
		// return: every session here drains then.
		wg.Go(func() { s.listen(ctx, l, deliveriesChannel, s.drainAll, s.onDeliveryNotice) })
		wg.Go(func() { s.listen(ctx, l, stateChannel, nil, s.onStateNotice) })
	}
	s.sweepLoop(ctx)
	wg.Wait()
}

// listen follows a notification channel of the other replicas.
func (s *Service) listen(ctx context.Context, l db.Listener, channel string, listening func(), handle func(string)) {
	if err := l.Listen(ctx, channel, listening, handle); err != nil {
		s.log.ErrorContext(ctx, "listen for other replicas", "channel", channel, "err", err)
	}
}
