// Package bench is the load generator behind "claudemesh bench": real peers
// (one WebSocket each, signed hellos, their own session keys) exchanging
// real messages (crypto_box direct messages, plaintext broadcasts as the
// classic protocol sends them) with a broker, and a report of what arrived
// and how fast.
//
// Every message carries its sender, its sequence number and the moment it
// was sent, so the receiver verifies its content and measures send→push
// latency on the same monotonic clock. Delivered counts unique message ids
// that arrived intact at the peer they were meant for; sent counts the sends
// the broker acked (durably queued). Anything acked and not delivered is
// lost, and the run fails.
//
// A run is bounded: caps on peers, messages and duration, a timeout on
// every wait, and a cancelled context (Ctrl-C) stops the sending and
// reports what was measured so far.
//
// API is not stable: it serves the CLI and its tests.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"claudemesh.dev/cli/internal/config"
)

// Scenario names a workload.
type Scenario string

// The scenarios.
const (
	// ScenarioDM pairs the peers, sender → receiver, and sends direct
	// messages.
	ScenarioDM Scenario = "dm"
	// ScenarioBroadcast has one peer broadcast to all the others.
	ScenarioBroadcast Scenario = "broadcast"
	// ScenarioOfflineDrain sends direct messages to receivers that are
	// disconnected, then reconnects them and times the drain.
	ScenarioOfflineDrain Scenario = "offline-drain"
	// ScenarioConnect connects the peers as fast as allowed, then holds them
	// idle.
	ScenarioConnect Scenario = "connect"
	// ScenarioRemind has every peer schedule one-shot reminders to itself,
	// due over a window, and measures how late each fires; with a Rate, dm
	// load runs between pairs of them meanwhile.
	ScenarioRemind Scenario = "remind"
)

// Scenarios lists the scenarios, for help texts.
func Scenarios() []Scenario {
	return []Scenario{ScenarioDM, ScenarioBroadcast, ScenarioOfflineDrain, ScenarioConnect, ScenarioRemind}
}

// Hard limits: a bench is a bounded experiment, never an open-ended load.
const (
	// MaxPeers caps the peers of one run.
	MaxPeers = 5000
	// MaxDuration caps how long a run sends (or, for connect, holds).
	MaxDuration = 10 * time.Minute
	// MaxMessages caps the sends of one run, over all senders; it also
	// bounds the memory the latency samples take.
	MaxMessages = 2_000_000
	// MaxInflight caps the unacked sends of one sender.
	MaxInflight = 1024
	// MaxRate caps --rate, in messages a second.
	MaxRate = 1_000_000
	// MaxReminders caps the reminders of one remind run, over all peers.
	MaxReminders = 100_000
	// defaultReminders is how many reminders a remind run schedules in all
	// by default.
	defaultReminders = 200
)

// Timeouts of the waits a run makes.
const (
	dialTimeout = 15 * time.Second
	sendTimeout = 30 * time.Second
	// stallTimeout ends the wait for deliveries when none arrived for
	// this long.
	stallTimeout = 15 * time.Second
	// interruptGrace is how long deliveries are still awaited after an
	// interrupt.
	interruptGrace = 2 * time.Second
	closeParallel  = 64
)

// Config configures a run.
type Config struct {
	// Scenario is the workload. Required.
	Scenario Scenario
	// Members are the enrolled members of the bench mesh, one per peer; the
	// number of peers is len(Members). Required.
	Members []config.Mesh
	// Mesh is the mesh's slug, for the report.
	Mesh string
	// BrokerURL is the broker's WebSocket URL, for the report and to find
	// the broker's process. Defaults to the first member's.
	BrokerURL string
	// Duration bounds the sending (dm, broadcast) or the idle hold
	// (connect). Defaults to 10 s, or to MaxDuration when Messages is set
	// (the messages then end the run). For remind it is the window the
	// reminders are due in, which starts Duration/2 after they are
	// scheduled; it defaults to 10 s (due 5–15 s ahead).
	Duration time.Duration
	// Rate is the total messages a second the senders aim for, spread
	// evenly over them; 0 sends as fast as Inflight allows.
	Rate float64
	// Messages is how many messages each sender sends; 0 sends for
	// Duration. Defaults to 100 for offline-drain. For remind it is how
	// many reminders each peer schedules, by default 200 in all.
	Messages int
	// Inflight is how many sends each sender keeps unacked, and how many
	// peers connect at once. Defaults to 16.
	Inflight int
	// Logger defaults to discarding.
	Logger *slog.Logger
	// ProgressFunc, if set, is called about once a second while messages
	// flow.
	ProgressFunc func(Progress)
}

// Progress is a snapshot of a running bench.
type Progress struct {
	Phase     string
	Elapsed   time.Duration
	Sent      int64
	Expected  int64
	Delivered int64
}

// WithDefaults returns the config with its defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.BrokerURL == "" && len(c.Members) > 0 {
		c.BrokerURL = c.Members[0].BrokerURL
	}
	if c.Messages == 0 && c.Scenario == ScenarioOfflineDrain {
		c.Messages = 100
	}
	if c.Messages == 0 && c.Scenario == ScenarioRemind && len(c.Members) > 0 {
		c.Messages = max(1, defaultReminders/len(c.Members))
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
		if c.Messages > 0 && c.Scenario != ScenarioConnect && c.Scenario != ScenarioRemind {
			c.Duration = MaxDuration
		}
	}
	if c.Inflight == 0 {
		c.Inflight = 16
	}
	return c
}

// Validate checks a config that has its defaults.
func (c Config) Validate() error {
	n := len(c.Members)
	switch c.Scenario {
	case ScenarioDM, ScenarioOfflineDrain, ScenarioBroadcast:
		if n < 2 {
			return fmt.Errorf("scenario %s needs at least 2 peers", c.Scenario)
		}
	case ScenarioConnect:
		if n < 1 {
			return errors.New("scenario connect needs at least 1 peer")
		}
	case ScenarioRemind:
		if n < 1 || (c.Rate > 0 && n < 2) {
			return errors.New("scenario remind needs at least 1 peer, and 2 for dm load (--rate)")
		}
		if total := int64(c.Messages) * int64(n); total > MaxReminders {
			return fmt.Errorf("%d reminders × %d peers = %d: at most %d in one run", c.Messages, n, total, MaxReminders)
		}
	default:
		return fmt.Errorf("unknown scenario %q: use dm, broadcast, offline-drain, connect or remind", c.Scenario)
	}
	switch {
	case n > MaxPeers:
		return fmt.Errorf("%d peers: at most %d", n, MaxPeers)
	case c.Duration < 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration %s: between 0 and %s", c.Duration, MaxDuration)
	case c.Rate < 0 || c.Rate > MaxRate:
		return fmt.Errorf("rate %g: between 0 (as fast as possible) and %d messages a second", c.Rate, MaxRate)
	case c.Messages < 0:
		return fmt.Errorf("messages %d: must not be negative", c.Messages)
	case c.Inflight < 1 || c.Inflight > MaxInflight:
		return fmt.Errorf("inflight %d: between 1 and %d", c.Inflight, MaxInflight)
	}
	if total := int64(c.Messages) * int64(c.senders()); total > MaxMessages {
		return fmt.Errorf("%d messages × %d senders = %d: at most %d in one run", c.Messages, c.senders(), total, MaxMessages)
	}
	return nil
}

// senders is how many peers send in the scenario.
func (c Config) senders() int {
	switch c.Scenario {
	case ScenarioBroadcast:
		return 1
	case ScenarioConnect:
		return 0
	case ScenarioRemind:
		if c.Rate == 0 {
			return 0
		}
	}
	return len(c.Members) / 2
}

// Run runs the scenario and reports what it measured. The error is for a
// run that could not start (a peer that cannot connect to send or
// receive); a run that started returns a report, whose Failures say what
// went wrong. Cancelling ctx stops the run early: the report then covers
// what was measured so far and is marked interrupted.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := newRunner(ctx, cfg)
	defer r.closeAll()
	var err error
	switch cfg.Scenario {
	case ScenarioDM:
		err = r.runDM()
	case ScenarioBroadcast:
		err = r.runBroadcast()
	case ScenarioOfflineDrain:
		err = r.runOfflineDrain()
	case ScenarioConnect:
		err = r.runConnect()
	case ScenarioRemind:
		err = r.runRemind()
	}
	if err != nil {
		return nil, err
	}
	r.report.Interrupted = r.interrupted()
	r.report.BrokerProcess = brokerProcessOf(cfg.BrokerURL)
	r.report.finish()
	return r.report, nil
}
