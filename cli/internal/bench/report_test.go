package bench

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	t.Parallel()

	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}

	for name, tc := range map[string]struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		"Empty":            {nil, 50, 0},
		"One":              {ms(7), 99, 7 * time.Millisecond},
		"ZeroIsMin":        {ms(1, 2, 3), 0, 1 * time.Millisecond},
		"HundredIsMax":     {ms(1, 2, 3), 100, 3 * time.Millisecond},
		"MedianOdd":        {ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		"MedianEvenLower":  {ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		"NearestRankUp":    {ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		"P90Of100":         {hundred, 90, 90 * time.Millisecond},
		"P99Of100":         {hundred, 99, 99 * time.Millisecond},
		"P99Of10IsMax":     {ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		"P90Of10":          {ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		"FractionalP999":   {hundred, 99.9, 100 * time.Millisecond},
		"OverHundredIsMax": {ms(1, 2), 150, 2 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		require.Nil(t, Summarize(nil))
	})

	t.Run("SortsAndSummarizes", func(t *testing.T) {
		t.Parallel()
		samples := []time.Duration{
			4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond,
			2 * time.Millisecond, 1500 * time.Microsecond,
		}
		got := Summarize(samples)
		require.Equal(t, &Latency{Count: 5, P50: 2, P90: 4, P95: 4, P99: 4, Max: 4, Mean: 2.3}, got)
		require.IsNonDecreasing(t, samples)
	})

	t.Run("Microseconds", func(t *testing.T) {
		t.Parallel()
		got := Summarize([]time.Duration{1234567 * time.Nanosecond})
		require.InDelta(t, 1.235, got.P50, 1e-9)
	})
}

func TestReportFinish(t *testing.T) {
	t.Parallel()

	t.Run("Pass", func(t *testing.T) {
		t.Parallel()
		rep := newReport(Config{Scenario: ScenarioDM, Members: make([]configMesh, 4), Inflight: 1}.WithDefaults())
		rep.Sent, rep.Expected, rep.Delivered = 10, 10, 10
		rep.Duplicates = 3 // at-least-once: not a failure
		rep.finish()
		require.True(t, rep.Passed)
		require.Empty(t, rep.Failures)
		require.Equal(t, 2, rep.Params.Senders)
	})

	t.Run("Lost", func(t *testing.T) {
		t.Parallel()
		rep := newReport(Config{Scenario: ScenarioBroadcast, Members: make([]configMesh, 4)}.WithDefaults())
		rep.Sent, rep.Expected, rep.Delivered = 10, 30, 27
		rep.finish()
		require.False(t, rep.Passed)
		require.Equal(t, int64(3), rep.Lost)
		require.Equal(t, []string{"LOST: 3 of 30 acked broadcast copies never arrived"}, rep.Failures)
		var buf bytes.Buffer
		require.NoError(t, WriteTable(&buf, rep))
		require.Contains(t, buf.String(), "27 / 30 (90.00%)")
		require.Contains(t, buf.String(), "FAIL: LOST: 3 of 30")
	})

	t.Run("EverythingElse", func(t *testing.T) {
		t.Parallel()
		rep := newReport(Config{Scenario: ScenarioDM, Members: make([]configMesh, 2)}.WithDefaults())
		rep.addRefused("rate_limit", 4, "rate_limit: slow down")
		rep.addRefused("loop_guard", 2, "loop_guard: held")
		rep.addRefused("rate_limit", 1, "ignored: the first example stays")
		rep.SendErrors, rep.sendError = 1, "timeout"
		rep.Corrupt, rep.Unexpected = 1, 2
		rep.Connect = ConnectStats{Connections: 1, Failures: 1, FirstError: "hello rejected: capacity"}
		rep.Disconnects, rep.disconnectError = 1, "slow consumer"
		rep.Interrupted = true
		rep.finish()
		require.False(t, rep.Passed)
		require.Equal(t, int64(7), rep.Refused)
		require.Equal(t, Refusal{Count: 5, Example: "rate_limit: slow down"}, rep.RefusedBy["rate_limit"])
		require.Len(t, rep.Failures, 8)
		require.Contains(t, rep.Failures[0], "2 sends refused by the broker (loop_guard: held); the broker's loop guard")
		require.Contains(t, rep.Failures[1], "5 sends refused")
		require.Contains(t, rep.Failures[5], "--max-connections-per-mesh")
	})

	t.Run("NothingSent", func(t *testing.T) {
		t.Parallel()
		rep := newReport(Config{Scenario: ScenarioDM, Members: make([]configMesh, 2)}.WithDefaults())
		rep.finish()
		require.Equal(t, []string{"no send was acked"}, rep.Failures)
	})
}
