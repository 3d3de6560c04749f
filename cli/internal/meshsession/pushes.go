package meshsession

import (
	"sync"

	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// pushLogSize is how many message ids a Session remembers for dedup.
const pushLogSize = 4096

// pushLog remembers the ids of the last messages passed on (or acked), and
// which of them were acked. The oldest is forgotten first.
type pushLog struct {
	acked map[string]bool
	ring  []string
	next  int
}

func newPushLog(n int) *pushLog {
	return &pushLog{acked: make(map[string]bool, n), ring: make([]string, n)}
}

// seen records id and reports whether it was recorded before, and whether
// it was acked.
func (l *pushLog) seen(id string) (seen, acked bool) {
	acked, seen = l.acked[id]
	if !seen {
		l.add(id)
	}
	return seen, acked
}

// markAcked records id as acked.
func (l *pushLog) markAcked(id string) {
	if _, ok := l.acked[id]; !ok {
		l.add(id)
	}
	l.acked[id] = true
}

func (l *pushLog) add(id string) {
	if old := l.ring[l.next]; old != "" {
		delete(l.acked, old)
	}
	l.ring[l.next] = id
	l.next = (l.next + 1) % len(l.ring)
	l.acked[id] = false
}

// dispatch passes a frame that answers no request on to OnFrame, unless it
// is a push already passed on: that one is dropped, and acked again if it
// was acked (the broker pushes again what it has no ack for).
func (s *Session) dispatch(f frame.Frame) {
	if p, ok := f.Msg.(*edgev1.Push); ok && !isSystemPush(p) {
		id := p.GetMessageId()
		s.mu.Lock()
		seen, acked := s.pushes.seen(id)
		s.mu.Unlock()
		if seen {
			s.log.Debug("dropping a push already passed on", "message_id", id, "acked", acked)
			if acked {
				s.enqueue(clientAck(id))
			}
			return
		}
	}
	if s.opts.OnFrame != nil {
		s.opts.OnFrame(f)
	}
}

// isSystemPush reports whether a push is a broker event: those are never
// pushed twice and are not acked.
func isSystemPush(p *edgev1.Push) bool {
	id := p.GetMessageId()
	return id == "" || id == "system" || p.GetSubtype() == "system"
}

// gate holds the frames a connection receives until OnConnect has run for
// it, then passes them, and every later one, to deliver in order.
type gate struct {
	deliver func(frame.Frame)
	mu      sync.Mutex
	open    bool
	held    []frame.Frame
}

func newGate(deliver func(frame.Frame)) *gate { return &gate{deliver: deliver} }

// event is the connection's EventFunc.
func (g *gate) event(f frame.Frame) {
	g.mu.Lock()
	if !g.open {
		g.held = append(g.held, f)
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	g.deliver(f)
}

// release delivers the held frames and opens the gate. Frames that arrive
// meanwhile are held behind them, so the order stays and deliver runs one
// frame at a time.
func (g *gate) release() {
	for {
		g.mu.Lock()
		held := g.held
		g.held = nil
		if len(held) == 0 {
			g.open = true
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		for _, f := range held {
			g.deliver(f)
		}
	}
}
