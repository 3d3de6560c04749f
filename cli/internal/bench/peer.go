package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/meshcrypto"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// peer is one bench session: a member of the bench mesh with its own
// session key, its socket, and what it received.
type peer struct {
	r         *runner
	index     int
	member    config.Mesh
	session   identity.KeyPair
	sessionID string

	mu     sync.Mutex
	client *brokerclient.Client
	// closed says the bench closed the socket on purpose.
	closed bool

	// sources are the peers this one accepts messages from, by session
	// key; set before it connects, read-only after.
	sources map[string]source
	in      inbox
	acks    ackQueue
	// rem is what reminders reached the peer (remind).
	rem reminderInbox
}

// source is a peer messages are expected from, and how to open them.
type source struct {
	from int
	// pair opens direct messages; nil for plaintext broadcasts.
	pair *meshcrypto.Pair
}

// inbox is what a peer received.
type inbox struct {
	mu   sync.Mutex
	seen map[string]struct{}
	// latencies of first arrivals: from the send, or from base when set.
	latencies []time.Duration
	// last is when the last first arrival came, on the run's clock.
	last time.Duration
	// base, when not zero, is the moment (on the run's clock) latencies
	// are measured from instead of the send: a reconnect.
	base atomic.Int64

	duplicates atomic.Int64
	corrupt    atomic.Int64
	unknown    atomic.Int64
	system     atomic.Int64
}

func newPeer(r *runner, index int, member config.Mesh) (*peer, error) {
	session, err := identity.Generate()
	if err != nil {
		return nil, err
	}
	return &peer{
		r:         r,
		index:     index,
		member:    member,
		session:   session,
		sessionID: fmt.Sprintf("bench-%s-%d", r.runID, index),
		sources:   map[string]source{},
		in:        inbox{seen: map[string]struct{}{}},
		acks:      ackQueue{wake: make(chan struct{}, 1)},
	}, nil
}

// expectDirect makes p accept direct messages from sender.
func (p *peer) expectDirect(sender *peer) error {
	pair, err := meshcrypto.NewPair(sender.session.Public, p.session.Secret)
	if err != nil {
		return err
	}
	p.sources[sender.session.PublicHex()] = source{from: sender.index, pair: pair}
	return nil
}

// expectPlain makes p accept plaintext broadcasts from sender.
func (p *peer) expectPlain(sender *peer) {
	p.sources[sender.session.PublicHex()] = source{from: sender.index}
}

// sealTo returns how p seals direct messages to recipient.
func (p *peer) sealTo(recipient *peer) (func(string) (string, string), error) {
	pair, err := meshcrypto.NewPair(recipient.session.Public, p.session.Secret)
	if err != nil {
		return nil, err
	}
	return func(text string) (string, string) { return pair.Seal([]byte(text)) }, nil
}

// connect dials the broker and says hello, and reports how long that took.
func (p *peer) connect(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := brokerclient.Dial(dctx, brokerclient.Options{
		Mesh:         p.member,
		SessionKey:   &p.session,
		SessionID:    p.sessionID,
		DisplayName:  fmt.Sprintf("bench-%d", p.index),
		PeerType:     "ai",
		Channel:      "claudemesh-bench",
		Logger:       p.r.log,
		HelloTimeout: dialTimeout,
		Ephemeral:    true,
		EventFunc:    p.onEvent,
	})
	took := time.Since(start)
	if err != nil {
		return took, err
	}
	p.mu.Lock()
	p.client, p.closed = c, false
	p.mu.Unlock()
	go p.acks.run(p.r.base, c)
	return took, nil
}

// conn is the peer's current connection.
func (p *peer) conn() *brokerclient.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client
}

// close closes the peer's socket on purpose.
func (p *peer) close() {
	p.mu.Lock()
	c := p.client
	p.closed = true
	p.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// dropped returns why the broker ended the peer's connection, or nil if it
// is open or the bench closed it.
func (p *peer) dropped() error {
	p.mu.Lock()
	c, closed := p.client, p.closed
	p.mu.Unlock()
	if c == nil || closed {
		return nil
	}
	return c.Err()
}

// onEvent handles a frame the broker pushed, on the socket's read
// goroutine: it opens and checks a message, records its first arrival, and
// queues its client_ack.
func (p *peer) onEvent(f frame.Frame) {
	push, ok := f.Msg.(*edgev1.Push)
	if !ok {
		return
	}
	if push.GetSubtype() == subtypeReminder {
		p.onReminder(push)
		return
	}
	if push.GetSenderPubkey() == "system" || push.GetSubtype() == "system" {
		p.in.system.Add(1)
		return
	}
	now := time.Since(p.r.epoch)
	// Whatever arrives is acked, so that the broker does not push it
	// again; only what checks out counts as delivered.
	defer p.acks.push(push.GetMessageId())
	src, ok := p.sources[push.GetSenderPubkey()]
	if !ok {
		p.in.unknown.Add(1)
		return
	}
	var text string
	if src.pair != nil {
		b, err := src.pair.Open(push.GetNonce(), push.GetCiphertext())
		if err != nil {
			p.in.corrupt.Add(1)
			return
		}
		text = string(b)
	} else {
		var err error
		if text, err = meshcrypto.DecodePlain(push.GetCiphertext()); err != nil {
			p.in.corrupt.Add(1)
			return
		}
	}
	m, err := parseMessage(text)
	if err != nil || m.run != p.r.runID || m.from != src.from {
		p.in.corrupt.Add(1)
		return
	}
	from := m.sent
	if base := p.in.base.Load(); base != 0 {
		from = time.Duration(base)
	}
	p.in.mu.Lock()
	if _, dup := p.in.seen[push.GetMessageId()]; dup {
		p.in.mu.Unlock()
		p.in.duplicates.Add(1)
		return
	}
	p.in.seen[push.GetMessageId()] = struct{}{}
	p.in.latencies = append(p.in.latencies, now-from)
	p.in.last = now
	p.in.mu.Unlock()
	p.r.delivered.Add(1)
}

// received reports whether the peer got a message.
func (p *peer) received(id string) bool {
	p.in.mu.Lock()
	defer p.in.mu.Unlock()
	_, ok := p.in.seen[id]
	return ok
}

// ackQueue holds the client_acks a peer owes, so that the socket's read
// goroutine never waits on a write.
type ackQueue struct {
	mu   sync.Mutex
	ids  []string
	wake chan struct{}
}

func (q *ackQueue) push(id string) {
	if id == "" {
		return
	}
	q.mu.Lock()
	q.ids = append(q.ids, id)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run sends the queued acks on c until c or ctx ends.
func (q *ackQueue) run(ctx context.Context, c *brokerclient.Client) {
	for {
		select {
		case <-q.wake:
		case <-c.Done():
			return
		case <-ctx.Done():
			return
		}
		q.mu.Lock()
		ids := q.ids
		q.ids = nil
		q.mu.Unlock()
		for i, id := range ids {
			wctx, cancel := context.WithTimeout(ctx, sendTimeout)
			err := c.Send(wctx, &edgev1.ClientAck{BrokerMessageId: &id})
			cancel()
			if err != nil {
				// Keep the rest for the next connection.
				q.mu.Lock()
				q.ids = append(ids[i:], q.ids...)
				q.mu.Unlock()
				return
			}
		}
	}
}
