// Package server assembles the claudemesh broker: one http.Server on one
// port speaking HTTP/1.1 and h2c, serving the Connect services (Connect,
// gRPC and gRPC-Web protocols) with gRPC reflection and health, the
// WebSocket edge on GET /ws, and the health and metrics endpoints.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"claudemesh.dev/db"
	"claudemesh.dev/edge"
	"claudemesh.dev/gen/pb/claudemesh/catalog/v1/catalogv1connect"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/gen/pb/claudemesh/scheduler/v1/schedulerv1connect"
	"claudemesh.dev/gen/pb/claudemesh/vault/v1/vaultv1connect"
	"claudemesh.dev/services/auth"
	"claudemesh.dev/services/catalog"
	"claudemesh.dev/services/httpapi"
	"claudemesh.dev/services/mesh"
	"claudemesh.dev/services/scheduler"
	"claudemesh.dev/services/vault"
)

// Config configures a broker.
type Config struct {
	// Listen is the TCP address to serve on. Defaults to "127.0.0.1:7900".
	Listen string
	// Store is the database. Required.
	Store db.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Version is reported by /health.
	Version string
	// ReplicaID names this broker process among the replicas sharing a
	// database. Defaults to a random id.
	ReplicaID string
	// PublicURL is the broker's base URL as peers reach it; join links are
	// built from it. Defaults to http:// and the address listened on.
	PublicURL string
	// Mesh tunes the mesh service (limits, grace period, status windows);
	// its Store, Logger, NowFunc, ReplicaID and PublicURL are filled in by
	// the server.
	Mesh mesh.Config
	// Scheduler tunes the scheduler (limits, lateness); its Store, Mesh,
	// Logger, NowFunc and Registerer are filled in by the server, and its
	// MaxMessageBytes defaults to the mesh service's.
	Scheduler scheduler.Config
	// Edge tunes the WebSocket edge; its Mesh, Scheduler, InternalToken,
	// Logger and Registerer are filled in by the server.
	Edge edge.Config
	// HookRatePerMinute caps the POST /hook/set-status calls of one session;
	// one client address may make ten times as many. Defaults to 30.
	HookRatePerMinute int
	// ShutdownTimeout bounds the graceful shutdown. Defaults to 10 s.
	ShutdownTimeout time.Duration
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
}

// WithDefaults returns the config with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:7900"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ReplicaID == "" {
		c.ReplicaID = randomHex(8)
	}

	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	return c
}

// serviceNames are the Connect services the broker serves, for reflection
// and health.
//
//nolint:gochecknoglobals // read-only list.
var serviceNames = []string{
	meshv1connect.MeshServiceName,
	schedulerv1connect.SchedulerServiceName,
	vaultv1connect.VaultServiceName,
	catalogv1connect.CatalogServiceName,
}

// Server is a running broker.
type Server struct {
	cfg      Config
	log      *slog.Logger
	ln       net.Listener
	inproc   *inProcess
	public   *http.Server
	edge     *edge.Handler
	registry *prometheus.Registry
	started  time.Time
	mesh     *mesh.Service
	meshDone chan struct{}
	stopMesh context.CancelFunc
	sched    *scheduler.Service
	// schedDone is closed when the scheduler loop has stopped.
	schedDone chan struct{}
	stopSched context.CancelFunc

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds a broker and binds its port; Serve starts it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if cfg.Store == nil {
		return nil, errors.New("server: a Store is required")
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		inproc:    newInProcess(nil, cfg.Logger.With("component", "in-process")),
		registry:  prometheus.NewRegistry(),
		started:   cfg.NowFunc(),
		meshDone:  make(chan struct{}),
		schedDone: make(chan struct{}),
	}
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s.ln = ln
	if s.cfg.PublicURL == "" {
		s.cfg.PublicURL = "http://" + ln.Addr().String()
	}
	handler := s.routes(randomHex(32))
	s.inproc.handler = handler

	var public http.Protocols
	public.SetHTTP1(true)
	public.SetUnencryptedHTTP2(true)
	s.public = &http.Server{
		Handler:           handler,
		Protocols:         &public,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// routes builds the handler that serves the public listener and the edge's
// in-process clients.
func (s *Server) routes(internalToken string) http.Handler {
	rpc := newRPCObserver(s.log, s.registry)
	opts := []connect.HandlerOption{connect.WithCompressMinBytes(1024), connect.WithInterceptors(
		rpc,
		auth.NewInterceptor(auth.Config{
			Policies:      policies(),
			InternalToken: internalToken,
			Keys:          s.cfg.Store,
			Logger:        s.log,
			NowFunc:       s.cfg.NowFunc,
		}),
	)}
	meshCfg := s.cfg.Mesh
	meshCfg.Store, meshCfg.Logger, meshCfg.NowFunc = s.cfg.Store, s.log.With("service", "mesh"), s.cfg.NowFunc
	meshCfg.ReplicaID, meshCfg.PublicURL = s.cfg.ReplicaID, s.cfg.PublicURL
	meshSvc := mesh.New(meshCfg)
	s.mesh = meshSvc
	schedCfg := s.cfg.Scheduler
	schedCfg.Store, schedCfg.Mesh, schedCfg.Logger = s.cfg.Store, meshSvc, s.log.With("service", "scheduler")
	schedCfg.NowFunc, schedCfg.Registerer = s.cfg.NowFunc, s.registry
	if schedCfg.MaxMessageBytes == 0 {
		schedCfg.MaxMessageBytes = meshCfg.WithDefaults().MaxMessageBytes
	}
	schedSvc := scheduler.New(schedCfg)
	s.sched = schedSvc
	vaultSvc := vault.New(vault.Config{Store: s.cfg.Store, Logger: s.log.With("service", "vault"), NowFunc: s.cfg.NowFunc})
	catalogSvc := catalog.New(catalog.Config{Store: s.cfg.Store, Logger: s.log.With("service", "catalog"), NowFunc: s.cfg.NowFunc})

	mux := http.NewServeMux()
	mux.Handle(meshv1connect.NewMeshServiceHandler(meshSvc, opts...))
	mux.Handle(schedulerv1connect.NewSchedulerServiceHandler(schedSvc, opts...))
	mux.Handle(vaultv1connect.NewVaultServiceHandler(vaultSvc, opts...))
	mux.Handle(catalogv1connect.NewCatalogServiceHandler(catalogSvc, opts...))

	reflector := grpcreflect.NewStaticReflector(serviceNames...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(grpchealth.NewHandler(&healthChecker{store: s.cfg.Store}))

	edgeCfg := s.cfg.Edge
	// The in-process hop carries no compression: it would only burn CPU.
	edgeCfg.Mesh = meshv1connect.NewMeshServiceClient(s.inproc.client(), inProcessBaseURL,
		connect.WithAcceptCompression("gzip", nil, nil))
	edgeCfg.Scheduler = schedulerv1connect.NewSchedulerServiceClient(s.inproc.client(), inProcessBaseURL,
		connect.WithAcceptCompression("gzip", nil, nil))
	edgeCfg.InternalToken = internalToken
	edgeCfg.Logger = s.log.With("component", "edge")
	edgeCfg.Registerer = s.registry
	s.edge = edge.New(edgeCfg)
	mux.Handle("GET /ws", s.edge)

	httpapi.New(httpapi.Config{
		Mesh:              meshSvc,
		Logger:            s.log.With("component", "http"),
		HookRatePerMinute: s.cfg.HookRatePerMinute,
		NowFunc:           s.cfg.NowFunc,
	}).Register(mux)
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /health/ready", s.ready)
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "claudemesh_db_up",
		Help: "1 when the database answered a ping within a second.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if s.cfg.Store.Ping(ctx) != nil {
			return 0
		}
		return 1
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	return mux
}

// WakeScheduler makes the scheduler look for due schedules now. It sleeps
// on real timers until the next fire time; a test that moves an injected
// clock (Config.NowFunc) calls this after moving it.
func (s *Server) WakeScheduler() { s.sched.Wake() }

// Addr is the address the broker listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx is done, then shuts down gracefully: every
// WebSocket is closed with 1001, in-flight requests finish (bounded by the
// shutdown timeout). It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	s.mesh.Recover(ctx)
	meshCtx, stopMesh := context.WithCancel(context.WithoutCancel(ctx))
	s.stopMesh = stopMesh
	go func() {
		defer close(s.meshDone)
		s.mesh.Run(meshCtx)
	}()
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	s.stopSched = stopSched
	go func() {
		defer close(s.schedDone)
		s.sched.Run(schedCtx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- serveErr(s.public.Serve(s.ln)) }()
	s.log.InfoContext(ctx, "broker listening", "addr", s.ln.Addr().String(), "engine", s.cfg.Store.Engine(), "replica", s.cfg.ReplicaID)
	select {
	case <-ctx.Done():
		return s.Shutdown(context.WithoutCancel(ctx))
	case err := <-errc:
		_ = s.Shutdown(context.WithoutCancel(ctx))
		return err
	}
}

// Shutdown stops the broker: it closes every WebSocket with 1001, then lets
// in-flight HTTP requests finish, bounded by the shutdown timeout.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
		defer cancel()
		s.log.InfoContext(ctx, "broker shutting down", "sockets", s.edge.Conns())
		// Sockets first (their goodbyes still reach the services), then the
		// scheduler stops firing, then the mesh service ends this replica's
		// sessions, then the listeners.
		errs := []error{s.edge.Shutdown(ctx)}
		if s.stopSched != nil {
			s.stopSched()
			select {
			case <-s.schedDone:
			case <-ctx.Done():
				errs = append(errs, ctx.Err())
			}
		}
		if s.stopMesh != nil {
			s.stopMesh()
			select {
			case <-s.meshDone:
			case <-ctx.Done():
				errs = append(errs, ctx.Err())
			}
		}
		errs = append(errs, s.inproc.Close(ctx), s.public.Shutdown(ctx))
		s.shutdownErr = errors.Join(errs...)
	})
	return s.shutdownErr
}

func serveErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
