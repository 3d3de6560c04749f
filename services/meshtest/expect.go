package meshtest

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"claudemesh.dev/db"
)

// helloClock hands out hello timestamps: the current millisecond, but never
// the same one twice. Hello signatures are deterministic, so two hellos of
// one member in the same millisecond would be the same hello, and the second
// would be refused as replayed.
//
//nolint:gochecknoglobals // process-wide by design: every broker of the test binary shares the wall clock.
var helloClock struct {
	mu   sync.Mutex
	last int64
}

func helloNow() time.Time {
	helloClock.mu.Lock()
	defer helloClock.mu.Unlock()
	ms := max(time.Now().UnixMilli(), helloClock.last+1)
	helloClock.last = ms
	return time.UnixMilli(ms)
}

// Request sends a frame with a fresh _reqId and returns the reply of type
// typ, checking that it echoes the _reqId.
func (c *Conn) Request(frame map[string]any, typ string) map[string]any {
	c.t.Helper()
	reqID := "req-" + db.NewID()
	f := make(map[string]any, len(frame)+1)
	for k, v := range frame {
		f[k] = v
	}
	f["_reqId"] = reqID
	c.Send(f)
	res := c.Expect(typ)
	if res["_reqId"] != reqID {
		c.t.Fatalf("reply %v does not echo _reqId %q", res, reqID)
	}
	return res
}

// ListPeers asks for the peer list and returns its peers.
func (c *Conn) ListPeers() []map[string]any {
	c.t.Helper()
	res := c.Request(map[string]any{"type": "list_peers"}, "peers_list")
	raw, _ := res["peers"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, p := range raw {
		m, ok := p.(map[string]any)
		if !ok {
			c.t.Fatalf("peers_list entry is not an object: %v", p)
		}
		out = append(out, m)
	}
	return out
}

// FindPeer returns the entry of the peer list with the given field value, or
// nil.
func FindPeer(peers []map[string]any, field string, value any) map[string]any {
	for _, p := range peers {
		if p[field] == value {
			return p
		}
	}
	return nil
}

// ExpectCloseError reads until the socket closes and returns the close
// code and reason.
func (c *Conn) ExpectCloseError() websocket.CloseError {
	c.t.Helper()
	for {
		_, err := c.ReadWithin(Patience)
		if errors.Is(err, errTimeout) {
			c.t.Fatalf("the socket did not close within %s", Patience)
		}
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				return websocket.CloseError{Code: -1, Reason: err.Error()}
			}
			return ce
		}
	}
}

// ExpectNoEvent requires that none of the system events arrives for d
// (including those Expect passed over). Other frames are dropped.
func (c *Conn) ExpectNoEvent(d time.Duration, events ...string) {
	c.t.Helper()
	for _, f := range c.skipped {
		if ev, _ := f["event"].(string); slices.Contains(events, ev) {
			c.t.Fatalf("unexpected event: %v", f)
		}
	}
	c.skipped = nil
	deadline := time.Now().Add(d)
	for {
		f, err := c.ReadWithin(time.Until(deadline))
		if errors.Is(err, errTimeout) {
			return
		}
		if err != nil {
			c.t.Fatalf("socket closed: %v", err)
		}
		if ev, _ := f["event"].(string); f["type"] == "push" && slices.Contains(events, ev) {
			c.t.Fatalf("unexpected event: %v", f)
		}
	}
}

// Drop closes the socket from the client side without waiting for the
// broker; see Broker.WaitSockets.
func (c *Conn) Drop() {
	_ = c.WS.CloseNow()
}
