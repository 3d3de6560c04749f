package bench

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
)

// benchMembers enrolls n members of a new mesh on a real broker.
func benchMembers(t *testing.T, b *meshtest.Broker, slug string, n int) []config.Mesh {
	t.Helper()
	m := b.CreateMesh(t, slug, "")
	members := make([]config.Mesh, n)
	for i := range members {
		mem := m.AddMember(t, fmt.Sprintf("bench-%d", i))
		members[i] = config.Mesh{
			MeshID: mem.MeshID, MemberID: mem.ID, Slug: slug, Name: slug,
			Pubkey: mem.Key.PublicHex(), SecretKey: mem.Key.SecretHex(), BrokerURL: b.WSURL,
		}
	}
	return members
}

// TestRemindScenario runs the remind scenario, small, against a real
// broker: alone, and with dm load between two pairs.
func TestRemindScenario(t *testing.T) {
	t.Parallel()
	b := meshtest.Start(t, storetest.SQLite(t))

	for name, rate := range map[string]float64{"Alone": 0, "UnderLoad": 20} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep, err := Run(t.Context(), Config{
				Scenario: ScenarioRemind,
				Members:  benchMembers(t, b, fmt.Sprintf("bench-%g", rate), 4),
				Messages: 5,
				Duration: 2 * time.Second,
				Rate:     rate,
			})
			require.NoError(t, err)
			require.True(t, rep.Passed, "%v", rep.Failures)
			rs := rep.Reminders
			require.NotNil(t, rs)
			require.Equal(t, int64(20), rs.Scheduled)
			require.Equal(t, int64(20), rs.Fired)
			require.Zero(t, rs.Lost+rs.Duplicates+rs.Early+rs.Corrupt+rs.AckedAfterDue)
			require.Equal(t, 20, rs.Lateness.Count)
			require.GreaterOrEqual(t, rs.Lateness.Max, rs.Lateness.P99)
			require.InDelta(t, 1.0, rs.FirstDueSeconds, 1e-9)
			require.InDelta(t, 3.0, rs.LastDueSeconds, 1e-9)
			if rate > 0 {
				require.Positive(t, rep.Sent)
				require.Equal(t, rep.Expected, rep.Delivered)
			} else {
				require.Zero(t, rep.Sent)
			}

			var buf bytes.Buffer
			require.NoError(t, WriteTable(&buf, rep))
			require.Regexp(t, `fired/scheduled\s+20 / 20 \(100\.00%\)`, buf.String())
			require.Regexp(t, `lateness \(ms\)\s+p50 \S+  p90 \S+  p95 \S+  p99 \S+  max`, buf.String())
			require.Regexp(t, `(?m)^result\s+PASS$`, buf.String())
		})
	}
}

func TestRemindConfig(t *testing.T) {
	t.Parallel()
	c := Config{Scenario: ScenarioRemind, Members: make([]configMesh, 20)}.WithDefaults()
	require.Equal(t, 10, c.Messages, "200 reminders in all by default")
	require.Equal(t, 10*time.Second, c.Duration, "due 5–15 s ahead")
	require.NoError(t, c.Validate())

	c = Config{Scenario: ScenarioRemind, Members: make([]configMesh, 1), Messages: 3}.WithDefaults()
	require.Equal(t, 10*time.Second, c.Duration, "a reminder count does not stretch the window")
	require.NoError(t, c.Validate())

	require.ErrorContains(t, Config{Scenario: ScenarioRemind, Members: make([]configMesh, 1), Rate: 10}.WithDefaults().Validate(), "2 for dm load")
	require.ErrorContains(t, Config{Scenario: ScenarioRemind, Members: make([]configMesh, 100), Messages: 1001}.WithDefaults().Validate(), "at most 100000")
}

func TestReminderFailures(t *testing.T) {
	t.Parallel()
	rep := newReport(Config{Scenario: ScenarioRemind, Members: make([]configMesh, 2)}.WithDefaults())
	rep.Reminders = &ReminderStats{Scheduled: 10, Fired: 9, Duplicates: 1, Early: 2, AckedAfterDue: 3,
		RefusedBy: map[string]Refusal{"limit": {Count: 4, Example: "too many schedules"}}}
	rep.finish()
	require.False(t, rep.Passed)
	require.Equal(t, int64(1), rep.Reminders.Lost)
	require.Equal(t, []string{
		"LOST: 1 of 10 scheduled reminders never fired",
		"1 reminders fired more than once",
		"2 reminders fired before they were due",
		"3 schedules were acked after their due time, so their lateness includes scheduling: use a longer --duration or fewer reminders",
		"4 schedules refused by the broker (limit: too many schedules)",
	}, rep.Failures, "no dm load: no failure for sends")
}
