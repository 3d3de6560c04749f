package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/db"
	"claudemesh.dev/db/dbopen"
	"claudemesh.dev/services/mesh"
	"claudemesh.dev/services/server"
)

// brokerOptions are the flags of "broker" and "up".
type brokerOptions struct {
	listen    string
	dbURL     string
	dataDir   string
	migrate   bool
	logLevel  string
	logFormat string
	publicURL string
	// pprofListen serves net/http/pprof when set.
	pprofListen string
	// maxConnsPerMesh and loopGuardMax tune the mesh service; 0 keeps its
	// defaults.
	maxConnsPerMesh int
	loopGuardMax    int
	// localMesh makes sure this machine has a local mesh on the broker
	// ("claudemesh up").
	localMesh bool
}

func (o *brokerOptions) bind(cmd *cobra.Command, env *Env) {
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:7900", "address to serve HTTP, Connect, gRPC and WebSocket on")
	f.StringVar(&o.dataDir, "data-dir", "", "directory for the operator token and the default SQLite database (default: "+defaultDataDir(env)+")")
	f.BoolVar(&o.migrate, "migrate", true, "apply database migrations at start (always on for SQLite)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "auto", "auto (text on a terminal, else JSON), text or json")
	f.StringVar(&o.pprofListen, "pprof-listen", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060); off by default")
	f.StringVar(&o.publicURL, "public-url", "", "the broker's base URL as peers reach it, for invite links (default http://<listen address>)")
	f.IntVar(&o.maxConnsPerMesh, "max-connections-per-mesh", 0, "sessions one mesh may have on this broker (default 100)")
	f.IntVar(&o.loopGuardMax, "loop-guard-max", 0, "direct messages two members may exchange in a minute without a person prompting either before further ones are held (default 50; raise it for benchmarks)")
}

func newUpCommand(env *Env) *cobra.Command {
	var opts brokerOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a local broker with an embedded SQLite database (zero setup)",
		Long: `Run a broker on 127.0.0.1:7900 with its data in an embedded SQLite database in
your state directory. Nothing to install: this is the way to start.`,
		Example: "  claudemesh up\n  claudemesh up --listen 127.0.0.1:7901 --data-dir /tmp/mesh",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.localMesh = true
			return runBroker(cmd.Context(), env, opts)
		},
	}
	opts.bind(cmd, env)
	cmd.Flags().StringVar(&opts.dbURL, "db", "", "database URL, postgres://… or sqlite://PATH (default: sqlite://<data-dir>/claudemesh.db)")
	return cmd
}

func newBrokerCommand(env *Env) *cobra.Command {
	var opts brokerOptions
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a broker on a database of your choice",
		Long: `Run a broker. --db picks the storage engine by URL scheme: postgres://… for
Postgres (production, several replicas on one database) or sqlite://PATH.`,
		Example: "  claudemesh broker --listen 0.0.0.0:7900 --db postgres://claudemesh@db/claudemesh\n" +
			"  claudemesh broker --db sqlite:///var/lib/claudemesh/claudemesh.db",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.dbURL == "" {
				return &ExitError{Code: ExitUsage, Err: errors.New("--db is required (postgres://… or sqlite://PATH); for a zero-setup local broker run \"claudemesh up\"")}
			}
			return runBroker(cmd.Context(), env, opts)
		},
	}
	opts.bind(cmd, env)
	cmd.Flags().StringVar(&opts.dbURL, "db", "", "database URL: postgres://… or sqlite://PATH (required)")
	return cmd
}

// runBroker opens the database, migrates it, makes sure the operator token
// exists, and serves until the context ends.
func runBroker(ctx context.Context, env *Env, opts brokerOptions) error {
	log, err := newLogger(env.Stderr, opts.logLevel, opts.logFormat)
	if err != nil {
		return err
	}
	if opts.maxConnsPerMesh < 0 || opts.loopGuardMax < 0 {
		return &ExitError{Code: ExitUsage, Err: errors.New("--max-connections-per-mesh and --loop-guard-max must not be negative (0 keeps the default)")}
	}
	dataDir := opts.dataDir
	if dataDir == "" {
		dataDir = defaultDataDir(env)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	dbURL := opts.dbURL
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(dataDir, "claudemesh.db")
	}
	store, err := dbopen.Open(ctx, dbURL, log.With("component", "db"))
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }()
	if opts.migrate || store.Engine() == db.EngineSQLite {
		if err := store.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate database: %w", err)
		}
	}
	tokenPath := filepath.Join(dataDir, "operator-token")
	token, created, err := server.OperatorToken(ctx, store, tokenPath, env.NowFunc())
	if err != nil {
		return err
	}
	if opts.pprofListen != "" {
		stop, err := servePprof(ctx, opts.pprofListen, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	replicaID, err := replicaID(dataDir)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, server.Config{
		ReplicaID: replicaID,
		Listen:    opts.listen,
		PublicURL: opts.publicURL,
		Store:     store,
		Logger:    log,
		Version:   Version(),
		NowFunc:   env.NowFunc,
		Mesh:      mesh.Config{MaxConnectionsPerMesh: opts.maxConnsPerMesh, LoopGuardMax: opts.loopGuardMax},
	})
	if err != nil {
		return err
	}
	printBanner(env, srv.Addr().String(), dbURL, store.Engine(), tokenPath, created)
	if opts.localMesh {
		go func() {
			msg, err := ensureLocalMesh(ctx, env, "ws://"+srv.Addr().String()+"/ws", token)
			if err != nil {
				log.ErrorContext(ctx, "set up the local mesh", "err", err)
				return
			}
			_, _ = fmt.Fprintln(env.Stdout, msg)
		}()
	}
	return srv.Serve(ctx)
}

// printBanner tells the user what is running and where things are.
func printBanner(env *Env, addr, dbURL string, engine db.Engine, tokenPath string, created bool) {
	tokenNote := "(existing)"
	if created {
		tokenNote = "(created, mode 0600)"
	}
	where := dbURL
	if engine == db.EngineSQLite {
		where = "SQLite " + strings.TrimPrefix(dbURL, "sqlite://")
	} else if i := strings.Index(dbURL, "@"); i >= 0 {
		where = "Postgres " + dbURL[i+1:]
	}
	_, _ = fmt.Fprintf(env.Stdout, `claudemesh broker %s
  database:        %s
  peers connect:   ws://%s/ws
  API (Connect, gRPC, gRPC-Web): http://%s
  health:          http://%s/health   metrics: http://%s/metrics
  operator token:  %s %s
Press Ctrl-C to stop.
`, Version(), where, addr, addr, addr, addr, tokenPath, tokenNote)
}

// defaultDataDir is where "up" keeps its data: $CLAUDEMESH_DATA_DIR, else
// the user's state directory ($XDG_STATE_HOME/claudemesh or
// ~/.local/state/claudemesh; on macOS ~/Library/Application
// Support/claudemesh).
func defaultDataDir(env *Env) string {
	if d := env.Getenv("CLAUDEMESH_DATA_DIR"); d != "" {
		return d
	}
	if d := env.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "claudemesh")
	}
	home := env.Getenv("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Application Support", "claudemesh")
	}
	return filepath.Join(home, ".local", "state", "claudemesh")
}

// replicaID is this broker's id among the replicas sharing a database, kept
// in <data-dir>/replica-id so that a restart finds (and closes) what a crash
// of the previous run left behind.
func replicaID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "replica-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	id := db.NewID()
	if err := config.WriteFileAtomic(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}
