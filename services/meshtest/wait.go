package meshtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"claudemesh.dev/services/server"
)

// Patience is how long a test waits for a frame, a close or a condition
// before failing. It only bounds failures: generous, so that a loaded
// machine (-race, many parallel tests) does not fail a test.
const Patience = 15 * time.Second

// Clock is a clock a test moves by hand. It starts at the wall clock's now;
// give Now to server.Config.NowFunc (see WithClock).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to the wall clock's now.
func NewClock() *Clock { return &Clock{now: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// WithClock runs a broker on clock.
func WithClock(clock *Clock) func(*server.Config) {
	return func(cfg *server.Config) { cfg.NowFunc = clock.Now }
}

// Eventually calls cond until it returns true, failing the test after
// Patience.
// cond runs on the test goroutine, so it may use Conns.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %s", what, Patience)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitSockets waits until the broker's edge has n sockets open: a socket
// a client dropped is counted until the broker has detached its session, so
// after WaitSockets the session is in its grace period.
func (b *Broker) WaitSockets(t testing.TB, n int) {
	t.Helper()
	Eventually(t, "broker has "+strconv.Itoa(n)+" sockets", func() bool { return b.sockets(t) == n })
}

// sockets reads claudemesh_ws_connections_active from /metrics.
func (b *Broker) sockets(t testing.TB) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.URL+"/metrics", nil)
	if err != nil {
		t.Fatalf("metrics request: %v", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer func() { _ = res.Body.Close() }()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "claudemesh_ws_connections_active "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("parse %q: %v", sc.Text(), err)
			}
			return int(f)
		}
	}
	t.Fatal("/metrics has no claudemesh_ws_connections_active")
	return 0
}

// PostJSON posts body (marshalled as JSON) to path with the headers, and
// returns the status code and the decoded JSON answer.
func (b *Broker) PostJSON(t testing.TB, path string, body any, header map[string]string) (int, map[string]any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("marshal body: %v", err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.URL+path, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = res.Body.Close() }()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: decode answer (status %d): %v", path, res.StatusCode, err)
	}
	return res.StatusCode, out
}
