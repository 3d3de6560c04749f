package meshsession

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// Defaults of the reconnect delay.
const (
	defaultMinBackoff = 250 * time.Millisecond
	defaultMaxBackoff = 30 * time.Second
	defaultKeepAlive  = 30 * time.Second
)

// Options say who connects and how.
type Options struct {
	// Mesh is the joined mesh: ids, member key, broker URL. Required.
	Mesh config.Mesh
	// SessionKey is the session's key pair (see LoadKey). Required: a zero
	// key is replaced by a fresh one, kept for the Session's life.
	SessionKey identity.KeyPair
	// SessionID is hello.session_id, the Claude Code session id. Empty
	// makes one, kept for the Session's life, so that every reconnect
	// speaks for the same presence.
	SessionID string
	// DisplayName, PeerType ("ai" for Claude Code), Channel ("claude-code")
	// and Model go into every hello.
	DisplayName, PeerType, Channel, Model string
	// Groups go into every hello.
	Groups []config.Group
	// Logger defaults to discarding.
	Logger *slog.Logger
	// OnConnect is called after every accepted hello (the first connect
	// and each reconnect), on the session's goroutine, before the queued
	// frames are flushed and before any frame of that connection reaches
	// OnFrame. It may call Request and Send, not Close.
	OnConnect func(ack *edgev1.HelloAck)
	// OnFrame receives every broker frame that answers no request (pushes,
	// state_change, peer events...), in order and one at a time, except a
	// push already passed on (see Ack). It runs on the reading side of the
	// connection and must not block for long: it may call Send and Ack, not
	// Request (whose reply it would hold up) or Close.
	OnFrame func(frame.Frame)
	// MinBackoff and MaxBackoff bound the reconnect delay: capped
	// exponential with full jitter, reset after a connection that stayed up
	// longer than 10 s. They default to 250 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// KeepAlive is how often the connection pings the broker; one whose
	// pong is half of it late is dropped and made again (see
	// brokerclient.Options.KeepAlive). Defaults to 30 s.
	KeepAlive time.Duration
}

// ErrDisconnected is wrapped by Request's error when the connection dropped
// before the broker answered (except for sends, which are sent again).
var ErrDisconnected = errors.New("the connection to the broker dropped before the reply")

// errClosed is why a closed Session refuses requests.
var errClosed = errors.New("the mesh session is closed")

// Session is a broker session that reconnects by itself. Its methods are
// safe for concurrent use.
type Session struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	// done is closed when the connection loop has ended.
	done  chan struct{}
	ready chan struct{}
	// wake tells the connection loop that the outbox has frames.
	wake chan struct{}
	// closeErr is the error of closing the last socket, set before done
	// is closed.
	closeErr error

	mu sync.Mutex
	// client is the current connection, nil while disconnected.
	client *brokerclient.Client
	ack    *edgev1.HelloAck
	err    error
	// stopped is the broker's final refusal; the loop has ended.
	stopped error
	// changed is closed (and replaced) whenever client or stopped changes.
	changed chan struct{}
	outbox  []proto.Message
	pushes  *pushLog
	// groups are the groups the next hello joins: Options.Groups as changed
	// by the join_group and leave_group frames sent since, so a new
	// presence (after the grace period, or on another broker) keeps them.
	groups []config.Group
}

// Start returns a Session that connects to the mesh's broker in the
// background; it never blocks on the network. The Session lives until
// Close, until ctx ends, or until the broker refuses the member for good.
func Start(ctx context.Context, opts Options) *Session {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = defaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = defaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = defaultKeepAlive
	}
	if opts.SessionID == "" {
		opts.SessionID = "cli-" + randomHex(8)
	}
	s := &Session{
		opts:    opts,
		groups:  slices.Clone(opts.Groups),
		log:     opts.Logger.With("mesh", opts.Mesh.Slug),
		done:    make(chan struct{}),
		ready:   make(chan struct{}),
		wake:    make(chan struct{}, 1),
		changed: make(chan struct{}),
		pushes:  newPushLog(pushLogSize),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	if err := s.checkKeys(); err != nil {
		s.log.Error("cannot connect to the mesh", "err", err)
		s.err, s.stopped = err, err
		s.cancel()
		close(s.done)
		return s
	}
	go s.run()
	return s
}

// checkKeys refuses a member key that cannot sign (no dial would succeed)
// and makes a session key when there is none.
func (s *Session) checkKeys() error {
	if _, err := identity.ParseKeyPair(s.opts.Mesh.Pubkey, s.opts.Mesh.SecretKey); err != nil {
		return fmt.Errorf("mesh %s: member key in the config: %w", s.opts.Mesh.Slug, err)
	}
	if len(s.opts.SessionKey.Public) == 0 {
		k, err := identity.Generate()
		if err != nil {
			return fmt.Errorf("mesh %s: session key: %w", s.opts.Mesh.Slug, err)
		}
		s.opts.SessionKey = k
	}
	return nil
}

// Send queues a frame that has no reply (set_summary, set_status,
// join_group, ...). It is written in order, at once while connected, else
// after the next hello. The queue is bounded: when full, the oldest frame is
// dropped (and logged). A frame that cannot be encoded is dropped (and
// logged).
func (s *Session) Send(msg proto.Message) {
	if _, err := frame.Encode("", msg); err != nil {
		s.log.Error("dropping a frame that cannot be encoded", "frame", fmt.Sprintf("%T", msg), "err", err)
		return
	}
	s.trackGroups(msg)
	s.enqueue(msg)
}

// trackGroups keeps the next hello's groups in step with join_group and
// leave_group.
func (s *Session) trackGroups(msg proto.Message) {
	var name string
	switch m := msg.(type) {
	case *edgev1.JoinGroup:
		name = m.GetName()
	case *edgev1.LeaveGroup:
		name = m.GetName()
	default:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = slices.DeleteFunc(s.groups, func(g config.Group) bool { return g.Name == name })
	if join, ok := msg.(*edgev1.JoinGroup); ok {
		s.groups = append(s.groups, config.Group{Name: name, Role: join.GetRole()})
	}
}

// Ack tells the broker (client_ack) that the message reached the model, and
// remembers it as acked: should the broker push it again, the push is not
// passed on but acked again. Queued like Send while disconnected.
func (s *Session) Ack(messageID string) {
	if messageID == "" {
		return
	}
	s.mu.Lock()
	s.pushes.markAcked(messageID)
	s.mu.Unlock()
	s.enqueue(clientAck(messageID))
}

func clientAck(messageID string) *edgev1.ClientAck {
	return &edgev1.ClientAck{BrokerMessageId: &messageID}
}

// HelloAck returns the latest accepted hello_ack, or nil before the first.
func (s *Session) HelloAck() *edgev1.HelloAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ack
}

// Connected reports whether the session has an open, accepted connection.
func (s *Session) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client != nil && s.client.Err() == nil
}

// Ready is closed once the first hello was accepted and OnConnect returned
// for it.
func (s *Session) Ready() <-chan struct{} { return s.ready }

// Err returns why the last connection attempt or connection failed, nil
// while connected (and before the first attempt failed). After the broker
// refused the member for good it stays set: the session no longer
// reconnects.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops reconnecting, writes what is queued if connected (briefly),
// closes the socket normally and waits for the session's goroutines. It is
// idempotent; it returns the error of closing the socket, if any.
func (s *Session) Close() error {
	s.cancel()
	<-s.done
	return s.closeErr
}

// notifyLocked wakes the requests waiting for a state change. s.mu is held.
func (s *Session) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
