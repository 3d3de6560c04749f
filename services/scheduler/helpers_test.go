package scheduler_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quiet is how long a test watches a socket to see that nothing arrives.
const quiet = 300 * time.Millisecond

// onEachEngine runs fn as a parallel subtest per storage engine.
func onEachEngine(t *testing.T, fn func(t *testing.T, engine storetest.Engine)) {
	t.Helper()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// bundle is a broker on a test clock with a mesh of alice (the admin) and
// bob.
type bundle struct {
	b          *meshtest.Broker
	store      db.Store
	clock      *meshtest.Clock
	mesh       *meshtest.Mesh
	alice, bob meshtest.Member
}

// clockOptions run a broker on clock. Hellos are signed at the wall clock,
// which the test clock leaves behind by months, so the hello skew is wide.
func clockOptions(clock *meshtest.Clock, opts ...func(*server.Config)) []func(*server.Config) {
	return append([]func(*server.Config){
		meshtest.WithClock(clock),
		func(cfg *server.Config) { cfg.Mesh.HelloSkew = 2 * 366 * 24 * time.Hour },
	}, opts...)
}

func newBundle(t *testing.T, engine storetest.Engine, opts ...func(*server.Config)) *bundle {
	t.Helper()
	clock := meshtest.NewClock()
	store := engine.Open(t)
	b := meshtest.Start(t, store, clockOptions(clock, opts...)...)
	m := b.CreateMesh(t, "team", "")
	return &bundle{b: b, store: store, clock: clock, mesh: m, alice: m.Admin, bob: m.AddMember(t, "bob")}
}

// advance moves the clock and wakes the scheduler, as the passing of time
// would.
func (tb *bundle) advance(d time.Duration) {
	tb.clock.Advance(d)
	tb.b.Server.WakeScheduler()
}

// advanceTo moves the clock to at.
func (tb *bundle) advanceTo(t *testing.T, at time.Time) {
	t.Helper()
	d := at.Sub(tb.clock.Now())
	require.GreaterOrEqual(t, d, time.Duration(0), "the clock only moves forward")
	tb.advance(d)
}

// openSession opens a session of member with a fresh session key.
func openSession(t *testing.T, b *meshtest.Broker, member meshtest.Member) *meshtest.Peer {
	t.Helper()
	p, _ := connectWithKey(t, b, member)
	return p
}

// connectWithKey opens a session of member and returns its session key.
func connectWithKey(t *testing.T, b *meshtest.Broker, member meshtest.Member) (*meshtest.Peer, string) {
	t.Helper()
	key := meshtest.NewKey(t)
	return b.Connect(t, member, meshtest.Hello{SessionID: "s-" + db.NewID()[:8], SessionKey: &key}), key.PublicHex()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// ms is a time as the frames carry it.
func ms(at time.Time) float64 { return float64(at.UnixMilli()) }

func scheduleFrame(fields map[string]any) map[string]any {
	f := map[string]any{"type": "schedule"}
	for k, v := range fields {
		f[k] = v
	}
	return f
}

// scheduleOK sends a schedule frame and returns its scheduled_ack.
func scheduleOK(t *testing.T, p *meshtest.Peer, fields map[string]any) map[string]any {
	t.Helper()
	ack := p.Request(scheduleFrame(fields), "scheduled_ack")
	id, _ := ack["scheduledId"].(string)
	require.Len(t, id, db.IDLength, "ack %v", ack)
	return ack
}

// scheduleRefused sends a schedule frame and requires an error with code;
// it returns the error's message.
func scheduleRefused(t *testing.T, p *meshtest.Peer, fields map[string]any, code string) string {
	t.Helper()
	f := p.Request(scheduleFrame(fields), "error")
	require.Equal(t, code, f["code"], "error %v", f)
	msg, _ := f["message"].(string)
	return msg
}

// listScheduled returns the scheduled_list entries.
func listScheduled(t *testing.T, p *meshtest.Peer) []map[string]any {
	t.Helper()
	res := p.Request(map[string]any{"type": "list_scheduled"}, "scheduled_list")
	raw, ok := res["messages"].([]any)
	require.True(t, ok, "scheduled_list %v", res)
	out := make([]map[string]any, 0, len(raw))
	for _, e := range raw {
		m, ok := e.(map[string]any)
		require.True(t, ok, "entry %v", e)
		out = append(out, m)
	}
	return out
}

// cancelScheduled returns the cancel_scheduled_ack.
func cancelScheduled(t *testing.T, p *meshtest.Peer, id string) map[string]any {
	t.Helper()
	return p.Request(map[string]any{"type": "cancel_scheduled", "scheduledId": id}, "cancel_scheduled_ack")
}

// nextPush reads the next message push, dropping system events; any other
// frame fails the test.
func nextPush(t *testing.T, p *meshtest.Peer) map[string]any {
	t.Helper()
	for {
		f := p.Read()
		if f["type"] == "push" && f["subtype"] == "system" {
			continue
		}
		require.Equal(t, "push", f["type"], "expected a message push, got %v", f)
		return f
	}
}

// clientAck acks a message; the socket's later frames see the ack.
func clientAck(t *testing.T, p *meshtest.Peer, messageID string) {
	t.Helper()
	p.Send(map[string]any{"type": "client_ack", "brokerMessageId": messageID})
}

// messageStatus asks for a message's status.
func messageStatus(t *testing.T, p *meshtest.Peer, messageID string) map[string]any {
	t.Helper()
	return p.Request(map[string]any{"type": "message_status", "messageId": messageID}, "message_status_result")
}

// schedule reads a schedule row.
func (tb *bundle) schedule(t *testing.T, id string) db.Schedule {
	t.Helper()
	sch, err := tb.store.GetSchedule(t.Context(), id)
	require.NoError(t, err)
	return sch
}

// expectFire reads the next message push, requires its body and acks it
// (as a client does: an unacked message is pushed again once its lease
// lapses, which the test clock's jumps make happen).
func expectFire(t *testing.T, p *meshtest.Peer, body string) map[string]any {
	t.Helper()
	push := nextPush(t, p)
	require.Equal(t, b64(body), push["ciphertext"], "push %v", push)
	id, _ := push["messageId"].(string)
	clientAck(t, p, id)
	return push
}
