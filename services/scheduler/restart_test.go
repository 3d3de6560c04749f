package scheduler_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/dbpg"
	"claudemesh.dev/db/pgtest"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// TestCatchUpAfterDowntime stops the broker, lets several cron slots pass,
// and starts a new broker on the same database: the schedule fires once,
// late, and then keeps its rhythm from now on.
func TestCatchUpAfterDowntime(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newBundle(t, engine)
		alice := openSession(t, tb.b, tb.alice)
		hourly := scheduleOK(t, alice, map[string]any{"message": "hourly", "cron": "0 * * * *", "subtype": "reminder"})
		oneShot := scheduleOK(t, alice, map[string]any{"message": "once", "deliverAt": tb.clock.Now().Add(90 * time.Minute).UnixMilli()})
		hourlyID, _ := hourly["scheduledId"].(string)
		oneShotID, _ := oneShot["scheduledId"].(string)
		tb.b.Stop(t)

		// Five hourly slots and the one-shot pass while no broker runs.
		tb.clock.Advance(5*time.Hour + 10*time.Minute)
		restarted := meshtest.Start(t, tb.store, clockOptions(tb.clock)...)
		tb.b = restarted
		meshtest.Eventually(t, "the missed fires are caught up", func() bool {
			return tb.schedule(t, hourlyID).FiredCount == 1 && tb.schedule(t, oneShotID).FiredCount == 1
		})
		now := tb.clock.Now().UTC()
		sch := tb.schedule(t, hourlyID)
		require.True(t, sch.LastFireLate, "a catch-up is marked late")
		require.Equal(t, now.Truncate(time.Hour).Add(time.Hour), *sch.NextFireAt, "the next slot after now, not a missed one")
		require.True(t, tb.schedule(t, oneShotID).LastFireLate)
		require.Nil(t, tb.schedule(t, oneShotID).NextFireAt)

		// Alice comes back: one of each, not one per missed slot.
		back := openSession(t, restarted, tb.alice)
		got := map[string]int{}
		for range 2 {
			push := expectFireAny(t, back)
			got[push]++
		}
		require.Equal(t, map[string]int{b64("hourly"): 1, b64("once"): 1}, got)
		back.ExpectQuiet(quiet)

		// Then on time again, and no longer late.
		tb.advanceTo(t, *sch.NextFireAt)
		expectFire(t, back, "hourly")
		back.ExpectQuiet(quiet)
		sch = tb.schedule(t, hourlyID)
		require.Equal(t, int32(2), sch.FiredCount)
		require.False(t, sch.LastFireLate)
	})
}

// expectFireAny reads and acks the next message push and returns its body.
func expectFireAny(t *testing.T, p *meshtest.Peer) string {
	t.Helper()
	push := nextPush(t, p)
	id, _ := push["messageId"].(string)
	clientAck(t, p, id)
	body, _ := push["ciphertext"].(string)
	return body
}

// TestTwoSchedulersRacing runs two broker replicas on one Postgres database,
// woken at the same moment for the same due schedules: each fire is
// delivered once.
func TestTwoSchedulersRacing(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	clock := meshtest.NewClock()
	start := func(id string) *meshtest.Broker {
		store, err := dbpg.Open(t.Context(), url, dbpg.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		return meshtest.Start(t, store, clockOptions(clock, func(cfg *server.Config) { cfg.ReplicaID = id })...)
	}
	a, b := start("replica-a"), start("replica-b")
	m := a.CreateMesh(t, "team", "")
	alice, bob := m.Admin, m.AddMember(t, "bob")
	bobOnA := openSession(t, a, bob)
	aliceOnB := openSession(t, b, alice)

	const n = 40
	at := clock.Now().Add(time.Hour)
	ids := make([]string, 0, n)
	for i := range n {
		// Half from alice (on b) to bob (on a), half the other way.
		creator, to := aliceOnB, "bob"
		if i%2 == 1 {
			creator, to = bobOnA, alice.Name
		}
		ack := scheduleOK(t, creator, map[string]any{"to": to, "message": fmt.Sprintf("fire %d", i), "deliverAt": at.UnixMilli()})
		id, _ := ack["scheduledId"].(string)
		ids = append(ids, id)
	}

	clock.Advance(time.Hour)
	a.Server.WakeScheduler()
	b.Server.WakeScheduler()

	bodies := map[string]int{}
	for range n / 2 {
		bodies[expectFireAny(t, bobOnA)]++
	}
	for range n / 2 {
		bodies[expectFireAny(t, aliceOnB)]++
	}
	bobOnA.ExpectQuiet(quiet)
	aliceOnB.ExpectQuiet(quiet)
	require.Len(t, bodies, n)
	for body, count := range bodies {
		require.Equal(t, 1, count, "%s delivered %d times", body, count)
	}
	// Each fire was sent by exactly one replica.
	sentA, sentB := firesSent(t, a), firesSent(t, b)
	t.Logf("fires sent: replica-a %d, replica-b %d", sentA, sentB)
	require.Equal(t, n, sentA+sentB)
	for _, id := range ids {
		sch, err := a.Store.GetSchedule(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, int32(1), sch.FiredCount, "schedule %s", id)
	}
}

// firesSent reads claudemesh_schedule_fires_total{result="sent"} from a
// broker's /metrics.
func firesSent(t *testing.T, b *meshtest.Broker) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.URL+"/metrics", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `claudemesh_schedule_fires_total{result="sent"} `); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	return 0 // no fire sent: the series has no sample yet
}
