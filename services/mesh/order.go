package mesh

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"claudemesh.dev/edge"
)

// orderWait bounds how long a send waits for an earlier one that never
// arrives (its RPC failed before it reached the service).
const orderWait = time.Second

// sendOrder lines up a session's sends: each waits its turn before it is
// queued for the writer, and the writer stores and pushes in queue order.
type sendOrder struct {
	mu      sync.Mutex
	epoch   string
	next    uint64
	handled map[uint64]bool
	changed chan struct{}
}

// sendTicket is a send's place in its session's order.
type sendTicket struct {
	order *sendOrder
	epoch string
	seq   uint64
}

// ticket reads a send's place from the edge's header; the zero ticket (no
// header: an API key, a test client) waits for nothing.
func (s *session) ticket(ctx context.Context) sendTicket {
	info, ok := connect.CallInfoForHandlerContext(ctx)
	if !ok {
		return sendTicket{}
	}
	epoch, seqText, found := strings.Cut(info.RequestHeader().Get(edge.HeaderSendSeq), ":")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if !found || err != nil || seq == 0 {
		return sendTicket{}
	}
	return sendTicket{order: &s.order, epoch: epoch, seq: seq}
}

// wait returns when every earlier send of the socket was queued (or given
// up on), or after orderWait.
func (t sendTicket) wait(ctx context.Context) {
	if t.order == nil {
		return
	}
	deadline := time.NewTimer(orderWait)
	defer deadline.Stop()
	for {
		ch, mine := t.order.turn(t)
		if mine {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.order.skipTo(t)
			return
		case <-ctx.Done():
			return
		}
	}
}

// done records that a send was queued or failed, letting later ones go.
func (t sendTicket) done() {
	if t.order == nil {
		return
	}
	o := t.order
	o.mu.Lock()
	defer o.mu.Unlock()
	// A send that fails before it waited can be the first of a new socket.
	o.adopt(t.epoch)
	if t.seq < o.next {
		return
	}
	o.handled[t.seq] = true
	for o.handled[o.next] {
		delete(o.handled, o.next)
		o.next++
	}
	close(o.changed)
	o.changed = make(chan struct{})
}

// turn reports whether it is t's turn, else a channel closed at the next
// change. A new socket (epoch) starts a new order.
func (o *sendOrder) turn(t sendTicket) (<-chan struct{}, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.adopt(t.epoch)
	if t.seq <= o.next {
		return nil, true
	}
	return o.changed, false
}

// adopt starts a new order when a send of a new socket (epoch) shows up.
// The caller holds o.mu.
func (o *sendOrder) adopt(epoch string) {
	if o.epoch != epoch {
		o.epoch, o.next, o.handled = epoch, 1, map[uint64]bool{}
	}
	if o.changed == nil {
		o.changed = make(chan struct{})
	}
}

// skipTo gives up on the sends before t.
func (o *sendOrder) skipTo(t sendTicket) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.epoch == t.epoch && o.next < t.seq {
		o.next = t.seq
	}
}
