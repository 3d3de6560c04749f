package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/meshmsg"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// presenceEvents are the broker events about peers coming and going. The
// inbox leaves them out: one-shot commands cause most of them, and
// "claudemesh peers" shows who is online.
//
//nolint:gochecknoglobals // read-only set.
var presenceEvents = map[string]bool{
	"peer_joined": true, "peers_joined": true, "peer_returned": true, "peer_left": true, "peer_visible": true, "peer_hidden": true,
}

type inboxOptions struct {
	meshSlug string
	wait     waitFlag
	count    int
	asJSON   bool
}

func newInboxCommand(env *Env) *cobra.Command {
	o := inboxOptions{wait: waitFlag(time.Second)}
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "Show the messages waiting for you, and those that arrive within --wait",
		Long: `Connect to the mesh as a short-lived session, print the messages the broker
holds for you (to your member key, your groups and everyone) and those that
arrive within --wait, then disconnect. Each message is acknowledged once it
is printed, so it is not delivered again.

Direct messages sent to one of your running Claude Code sessions go to that
session, not here.`,
		Example: `  claudemesh inbox
  claudemesh inbox --wait 30s --count 1
  claudemesh inbox --mesh dev-team --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.count < 0 {
				return &ExitError{Code: ExitUsage, Err: errors.New("--count must be 0 (no limit) or more")}
			}
			return runInbox(cmd.Context(), env, o)
		},
	}
	cmd.Flags().StringVar(&o.meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.Flags().Var(&o.wait, "wait", "how long to listen for messages (like 1s, 2m; a bare number is seconds)")
	cmd.Flags().IntVar(&o.count, "count", 0, "stop after this many messages (0: no limit)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the messages as a JSON array")
	return cmd
}

// inboxEntry is one message of inbox --json.
type inboxEntry struct {
	Mesh string `json:"mesh"`
	meshmsg.Message
}

// pushQueue collects the pushes the connection reads, for the command to
// take in order.
type pushQueue struct {
	mu      sync.Mutex
	pushes  []*edgev1.Push
	arrived chan struct{}
}

func (q *pushQueue) add(f frame.Frame) {
	p, ok := f.Msg.(*edgev1.Push)
	if !ok {
		return
	}
	q.mu.Lock()
	q.pushes = append(q.pushes, p)
	q.mu.Unlock()
	select {
	case q.arrived <- struct{}{}:
	default:
	}
}

func (q *pushQueue) take() []*edgev1.Push {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pushes
	q.pushes = nil
	return out
}

func runInbox(ctx context.Context, env *Env, o inboxOptions) error {
	q := &pushQueue{arrived: make(chan struct{}, 1)}
	c, m, err := dialOneShot(ctx, env, o.meshSlug, q.add)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	member, err := identity.ParseKeyPair(m.Pubkey, m.SecretKey)
	if err != nil {
		return fmt.Errorf("mesh %s: member key: %w", m.Slug, err)
	}
	in := &inbox{env: env, client: c, slug: m.Slug, session: c.SessionKey, member: member, count: o.count, asJSON: o.asJSON, seen: map[string]bool{}}

	deadline := time.NewTimer(time.Duration(o.wait))
	defer deadline.Stop()
	var ended error
listen:
	for {
		if err := in.show(ctx, q.take()); err != nil {
			return err
		}
		if in.full() {
			break
		}
		select {
		case <-q.arrived:
		case <-deadline.C:
			break listen
		case <-ctx.Done():
			break listen
		case <-c.Done():
			ended = c.Err()
			break listen
		}
	}
	if err := in.finish(ctx); err != nil {
		return err
	}
	if ended != nil {
		return fmt.Errorf("mesh %s: %w", m.Slug, ended)
	}
	return nil
}

// inbox prints messages and acknowledges them once printed.
type inbox struct {
	env     *Env
	client  *brokerclient.Client
	slug    string
	session identity.KeyPair
	member  identity.KeyPair
	count   int
	asJSON  bool

	seen    map[string]bool
	printed int
	// held are the messages --json prints at the end.
	held []meshmsg.Message
}

// full reports whether --count messages were taken.
func (in *inbox) full() bool {
	return in.count > 0 && in.printed+len(in.held) >= in.count
}

// show decodes pushes and prints each new one (or holds it for --json),
// acknowledging what was printed.
func (in *inbox) show(ctx context.Context, pushes []*edgev1.Push) error {
	for _, p := range pushes {
		if in.full() {
			return nil
		}
		msg := meshmsg.Decode(p, in.session.Secret, in.member.Secret)
		if presenceEvents[msg.Event] && msg.Kind == "system" {
			continue
		}
		if msg.ID != "" {
			if in.seen[msg.ID] {
				continue // pushed again: the broker delivers at least once
			}
			in.seen[msg.ID] = true
		}
		if in.asJSON {
			in.held = append(in.held, msg)
			continue
		}
		sep := ""
		if in.printed > 0 {
			sep = "---\n"
		}
		if _, err := fmt.Fprintf(in.env.Stdout, "%s%s\n", sep, meshmsg.Render(msg, in.slug, in.env.NowFunc())); err != nil {
			return fmt.Errorf("print a message: %w", err)
		}
		in.printed++
		if err := in.ack(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

// finish prints what --json held (then acknowledges it), or says that
// there was nothing, and makes sure the broker read the acknowledgements.
func (in *inbox) finish(ctx context.Context) error {
	if in.asJSON {
		entries := make([]inboxEntry, 0, len(in.held))
		for _, msg := range in.held {
			entries = append(entries, inboxEntry{Mesh: in.slug, Message: msg})
		}
		if err := writeJSON(in.env.Stdout, entries); err != nil {
			return err
		}
		for _, msg := range in.held {
			if err := in.ack(ctx, msg); err != nil {
				return err
			}
		}
		in.printed, in.held = len(in.held), nil
	} else if in.printed == 0 {
		if _, err := fmt.Fprintln(in.env.Stdout, "No messages."); err != nil {
			return err
		}
	}
	if in.printed == 0 || in.client.Err() != nil {
		return nil
	}
	// The broker handles acks beside the socket's other frames; a request
	// answered after them means it has read them before we hang up.
	rctx, cancel := context.WithTimeout(ctx, oneShotRequestTimeout)
	defer cancel()
	if _, err := in.client.Request(rctx, &edgev1.ListPeers{}); err != nil {
		return fmt.Errorf("mesh %s: confirm the acknowledgements: %w", in.slug, err)
	}
	return nil
}

// ack tells the broker a message reached the reader. Broker events and
// webhooks are never queued, so there is nothing to acknowledge.
func (in *inbox) ack(ctx context.Context, msg meshmsg.Message) error {
	if msg.ID == "" || msg.Kind == "system" || msg.Kind == "webhook" {
		return nil
	}
	id := msg.ID
	if err := in.client.Send(ctx, &edgev1.ClientAck{BrokerMessageId: &id}); err != nil {
		return fmt.Errorf("mesh %s: acknowledge message %s: %w", in.slug, id, err)
	}
	return nil
}

// waitFlag is a duration flag that also takes a bare number of seconds, as
// the classic --wait did.
type waitFlag time.Duration

func (w *waitFlag) String() string { return time.Duration(*w).String() }

func (w *waitFlag) Set(s string) error {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 || secs > 24*3600 {
			return errors.New("use 0 to 86400 seconds")
		}
		*w = waitFlag(time.Duration(secs * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return errors.New("use a duration like 1s or 2m, or a number of seconds")
	}
	*w = waitFlag(d)
	return nil
}

func (w *waitFlag) Type() string { return "duration" }
