package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/bench"
	"claudemesh.dev/cli/internal/config"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/identity"
)

// The bench mesh's send limits: far above any load one machine makes, so
// that the bench measures the broker, not its rate limiter.
const (
	benchSendRatePerMinute = 100_000_000
	benchSendBurst         = 1_000_000
	// benchEnrollParallel is how many members enroll at once.
	benchEnrollParallel = 8
)

// benchOptions are the flags of "bench".
type benchOptions struct {
	brokerURL string
	token     string
	scenario  string
	peers     int
	duration  time.Duration
	rate      float64
	messages  int
	inflight  int
	asJSON    bool
}

func newBenchCommand(env *Env) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a broker on this machine with real peers, keys and messages",
		Long: `Load-test a broker running on this machine. The bench creates its own mesh
(bench-<random>) with the operator token, raises that mesh's send rate,
enrolls one member per peer with a signed invite, connects the peers over
WebSocket with signed hellos and their own session keys, and sends real
messages: crypto_box direct messages, plaintext broadcasts as the classic
client sends them. Receivers open and check every message and client_ack it.

Scenarios:
  dm             peers in pairs, sender → receiver; --rate msgs/s in all (0: as
                 fast as --inflight unacked sends per sender allow), for
                 --duration or --messages per sender; send→push latency
  broadcast      one sender to all the other peers; every copy must arrive
  offline-drain  receivers disconnect, senders send --messages each (acked),
                 receivers reconnect; time from hello to the last push
  connect        peers connect (--inflight at a time), are held idle for
                 --duration, and the broker's memory is read
  remind         each peer schedules --messages reminders to itself, due over
                 --duration starting --duration/2 ahead; fire lateness
                 percentiles; --rate adds dm load

It reports latency percentiles, delivered/sent, messages per second, the
connection rate and, when the broker runs on this machine, its resident
memory. Anything acked and not delivered is a loss: the run then fails
(exit 1) and says how many were lost. Only loopback brokers are accepted.
Ctrl-C stops the run and prints what was measured so far.`,
		Example: `  claudemesh bench --broker ws://127.0.0.1:7900/ws --token $(cat ~/.local/state/claudemesh/operator-token)
  claudemesh bench --broker ws://127.0.0.1:7900/ws --scenario dm --peers 20 --inflight 16 --duration 10s
  claudemesh bench --broker ws://127.0.0.1:7900/ws --scenario dm --peers 20 --rate 1000 --duration 10s
  claudemesh bench --broker ws://127.0.0.1:7900/ws --scenario broadcast --peers 201 --messages 100
  claudemesh bench --broker ws://127.0.0.1:7900/ws --scenario offline-drain --peers 2 --messages 1000
  claudemesh bench --broker ws://127.0.0.1:7900/ws --scenario connect --peers 1000 --duration 10s --json
  claudemesh bench --broker ws://127.0.0.1:7900/ws --scenario remind --peers 20 --rate 2000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), env, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.brokerURL, "broker", "", "the broker's WebSocket URL on this machine, e.g. ws://127.0.0.1:7900/ws (required)")
	f.StringVar(&o.token, "token", "", "the broker's operator token (default $CLAUDEMESH_OPERATOR_TOKEN)")
	f.StringVar(&o.scenario, "scenario", string(bench.ScenarioDM), "dm, broadcast, offline-drain, connect or remind")
	f.IntVar(&o.peers, "peers", 20, fmt.Sprintf("how many peers (members, each with one session) take part, at most %d", bench.MaxPeers))
	f.DurationVar(&o.duration, "duration", 0, fmt.Sprintf("how long to send, or for connect to hold the peers (default 10s; with --messages, a cap of %s)", bench.MaxDuration))
	f.Float64Var(&o.rate, "rate", 0, "messages per second in all, spread over the senders (0: as fast as possible)")
	f.IntVar(&o.messages, "messages", 0, "messages per sender (0: send for --duration; offline-drain defaults to 100)")
	f.IntVar(&o.inflight, "inflight", 16, "unacked sends per sender, and connections made at once")
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	return cmd
}

func runBench(ctx context.Context, env *Env, o benchOptions) error {
	o.token = strings.TrimSpace(cmp.Or(o.token, env.Getenv("CLAUDEMESH_OPERATOR_TOKEN")))
	if o.brokerURL == "" || o.token == "" {
		return &ExitError{Code: ExitUsage, Err: errors.New("--broker and --token (or $CLAUDEMESH_OPERATOR_TOKEN) are required: the operator token is in <data-dir>/operator-token on the broker host")}
	}
	if err := requireLoopback(o.brokerURL); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	cfg := bench.Config{
		Scenario:  bench.Scenario(o.scenario),
		BrokerURL: o.brokerURL,
		Duration:  o.duration,
		Rate:      o.rate,
		Messages:  o.messages,
		Inflight:  o.inflight,
		// Checked before anything is created on the broker.
		Members: make([]config.Mesh, max(o.peers, 0)),
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	status := newStatusLine(env)
	status.set("creating the bench mesh and enrolling %d members…", o.peers)
	slug, members, err := enrollBench(ctx, o.brokerURL, o.token, o.peers)
	status.clear()
	if err != nil {
		if ctx.Err() != nil {
			return &ExitError{Code: ExitFailure, Err: errors.New("interrupted while setting up the bench mesh")}
		}
		return err
	}
	cfg.Members, cfg.Mesh = members, slug
	cfg.ProgressFunc = func(p bench.Progress) {
		status.set("%s %s: %d acked, %d/%d delivered", p.Phase, p.Elapsed.Round(time.Second), p.Sent, p.Delivered, p.Expected)
	}
	status.set("connecting %d peers…", o.peers)
	rep, err := bench.Run(ctx, cfg)
	status.clear()
	if err != nil {
		return fmt.Errorf("bench %s: %w", o.scenario, err)
	}
	if o.asJSON {
		err = writeJSON(env.Stdout, rep)
	} else {
		err = bench.WriteTable(env.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if !rep.Passed {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("bench %s failed: %s", rep.Scenario, strings.Join(rep.Failures, "; "))}
	}
	return nil
}

// requireLoopback refuses a broker that is not on this machine: a bench
// is a load test, not something to aim at a shared broker.
func requireLoopback(brokerURL string) error {
	u, err := url.Parse(brokerURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("--broker %q: use the broker's WebSocket URL, e.g. ws://127.0.0.1:7900/ws", brokerURL)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--broker %q: bench only runs against a broker on this machine (127.0.0.1, ::1 or localhost); it opens hundreds of connections and sends thousands of messages, a load test not to aim at a shared broker", brokerURL)
}

// enrollBench creates a mesh for the bench with the operator token, lifts
// its send rate, and enrolls peers members with one invite signed by the
// owner key made here, each through POST /join like "claudemesh join".
func enrollBench(ctx context.Context, brokerURL, token string, peers int) (string, []config.Mesh, error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	slug := "bench-" + hex.EncodeToString(suffix)
	owner, err := createMesh(ctx, brokerURL, token, slug, slug, "", "bench-owner")
	if err != nil {
		return "", nil, err
	}
	client, err := operatorMeshClient(brokerURL, token)
	if err != nil {
		return "", nil, &ExitError{Code: ExitUsage, Err: err}
	}
	got, err := client.GetMesh(ctx, &meshv1.GetMeshRequest{Mesh: owner.MeshID})
	if err != nil {
		return "", nil, brokerError("read the bench mesh", err)
	}
	policy := &meshv1.MeshPolicy{}
	if p := got.GetMesh().GetPolicy(); p != nil {
		policy = proto.CloneOf(p)
	}
	policy.SendRatePerMinute, policy.SendBurst = benchSendRatePerMinute, benchSendBurst
	if _, err := client.UpdateMeshPolicy(ctx, &meshv1.UpdateMeshPolicyRequest{MeshId: owner.MeshID, Policy: policy}); err != nil {
		return "", nil, brokerError("raise the bench mesh's send rate", err)
	}
	inviteToken, _, err := signInvite(owner, "member", time.Now().Add(time.Hour))
	if err != nil {
		return "", nil, err
	}
	if _, err := client.CreateInvite(ctx, &meshv1.CreateInviteRequest{MeshId: owner.MeshID, Token: inviteToken, MaxUses: int32(peers)}); err != nil { //nolint:gosec // peers ≤ bench.MaxPeers
		return "", nil, brokerError("register the bench invite", err)
	}

	members := make([]config.Mesh, peers)
	errs := make([]error, peers)
	sem := make(chan struct{}, benchEnrollParallel)
	var wg sync.WaitGroup
	for i := range members {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			key, err := identity.Generate()
			if err != nil {
				errs[i] = err
				return
			}
			res, err := postJoin(ctx, owner.BrokerURL, inviteToken, key.PublicHex(), fmt.Sprintf("bench-%d", i))
			if err != nil {
				errs[i] = fmt.Errorf("enroll bench member %d: %w", i, err)
				return
			}
			members[i] = config.Mesh{
				MeshID:    owner.MeshID,
				MemberID:  res.MemberID,
				Slug:      owner.Slug,
				Name:      owner.Name,
				Pubkey:    key.PublicHex(),
				SecretKey: key.SecretHex(),
				BrokerURL: owner.BrokerURL,
				JoinedAt:  time.Now().UTC().Format(time.RFC3339Nano),
				Role:      "member",
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	return slug, members, nil
}

// statusLine shows one line of progress on a terminal's stderr and
// nothing elsewhere.
type statusLine struct {
	env *Env
	on  bool
	mu  sync.Mutex
}

func newStatusLine(env *Env) *statusLine {
	return &statusLine{env: env, on: isTerminal(env.Stderr)}
}

func (s *statusLine) set(format string, args ...any) {
	if !s.on {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = fmt.Fprintf(s.env.Stderr, "\r\033[K%s", fmt.Sprintf(format, args...))
}

func (s *statusLine) clear() {
	if !s.on {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = fmt.Fprint(s.env.Stderr, "\r\033[K")
}
