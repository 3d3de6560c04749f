package cli_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// remindMesh is a broker from "claudemesh up" with alice and bob joined to
// its local mesh by invite.
type remindMesh struct {
	b          *broker
	dataDir    string
	owner      string
	alice, bob string
}

func startRemindMesh(t *testing.T) *remindMesh {
	t.Helper()
	rm := &remindMesh{dataDir: t.TempDir(), owner: t.TempDir(), alice: t.TempDir(), bob: t.TempDir()}
	rm.b = rm.start(t, "127.0.0.1:0")
	require.Eventually(t, func() bool { return strings.Contains(rm.b.stdout.String(), `Created the local mesh "local"`) },
		10*time.Second, 50*time.Millisecond, rm.b.stdout.String())
	var inv map[string]any
	runJSON(t, rm.owner, &inv, "invite", "--mesh", "local", "--max-uses", "2", "--groups", "eng")
	link, _ := inv["joinUrl"].(string)
	cm(t, rm.alice, "alice", "join", link, "--name", "alice").ok(t)
	cm(t, rm.bob, "bob", "join", link, "--name", "bob").ok(t)
	return rm
}

// start runs "claudemesh up" on the mesh's data dir, listening on addr.
func (rm *remindMesh) start(t *testing.T, addr string) *broker {
	t.Helper()
	return startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + rm.dataDir, "CLAUDEMESH_CONFIG_DIR=" + rm.owner},
		"up", "--listen", addr, "--log-level", "warn")
}

// mcpOf starts a Claude Code session's MCP server for a member, with
// channels on, and does the handshake.
func mcpOf(t *testing.T, configDir, name string) *mcpProc {
	t.Helper()
	p := startMCP(t, configDir, "CLAUDE_CODE_SESSION_ID="+name+"-5c1e-4d2a-8b3f-session", "CLAUDEMESH_DISPLAY_NAME="+name,
		"CLAUDEMESH_MESH=local", "CLAUDEMESH_CHANNELS=1")
	p.handshake()
	return p
}

// scheduled is the JSON of remind --json and of a remind list --json entry.
type scheduled struct {
	ScheduledID string `json:"scheduledId"`
	ID          string `json:"id"`
	To          string `json:"to"`
	Message     string `json:"message"`
	DeliverAt   int64  `json:"deliverAt"`
	Cron        string `json:"cron"`
	Subtype     string `json:"subtype"`
	Timezone    string `json:"timezone"`
}

// TestRemindSurvivesRestart sets a reminder a few seconds ahead with the
// one-shot CLI, stops the broker (gracefully, or with kill -9) until the
// reminder is overdue, starts it again on the same data and address, and
// checks that the reminder reaches a Claude Code session of the member
// started after the restart, as a reminder, exactly once.
func TestRemindSurvivesRestart(t *testing.T) {
	t.Parallel()
	for name, stop := range map[string]func(t *testing.T, b *broker){
		"Graceful": func(t *testing.T, b *broker) { require.NoError(t, b.stop(t)) },
		"KillNine": func(t *testing.T, b *broker) {
			require.NoError(t, b.cmd.Process.Kill())
			<-b.exited
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rm := startRemindMesh(t)
			var set scheduled
			cm(t, rm.alice, "alice", "remind", "stand up", "--in", "3s", "--json").json(t, &set)
			require.NotEmpty(t, set.ScheduledID)
			due := time.UnixMilli(set.DeliverAt)
			require.WithinDuration(t, time.Now().Add(3*time.Second), due, 2*time.Second)

			addr := rm.b.addr
			stop(t, rm.b)
			// The reminder comes due while the broker is down.
			time.Sleep(time.Until(due) + 500*time.Millisecond)
			rm.b = rm.start(t, addr)
			require.Equal(t, addr, rm.b.addr)

			alice := mcpOf(t, rm.alice, "alice")
			n := alice.expectChannel(func(n channelNote) bool { return n.Meta["kind"] != "welcome" && n.Meta["kind"] != "system" })
			require.Equal(t, "stand up", n.Content)
			require.Equal(t, "reminder", n.Meta["subtype"])
			require.Equal(t, "reminder", n.Meta["kind"])
			// Once: no second copy reaches the session, nor the member's
			// inbox, and the one-shot schedule is gone.
			alice.expectNoMessage(2 * time.Second)
			var inbox []inboxMessage
			cm(t, rm.alice, "alice", "inbox", "--json").json(t, &inbox)
			require.Empty(t, inbox)
			var left []scheduled
			cm(t, rm.alice, "alice", "remind", "list", "--json").json(t, &left)
			require.Empty(t, left)
		})
	}
}

// TestRemindCommands drives remind, remind list and remind cancel, and the
// MCP tools schedule_reminder, list_scheduled and cancel_scheduled.
func TestRemindCommands(t *testing.T) {
	t.Parallel()
	rm := startRemindMesh(t)
	alice, bob := mcpOf(t, rm.alice, "alice"), mcpOf(t, rm.bob, "bob")
	alice.waitForPeer("bob")

	var later, standup, deploy scheduled
	cm(t, rm.alice, "alice", "remind", "later", "--in", "1h", "--json").json(t, &later)
	cm(t, rm.alice, "alice", "remind", "standup", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--json").json(t, &standup)
	require.Equal(t, "0 9 * * 1-5", standup.Cron)
	at := time.UnixMilli(standup.DeliverAt).In(must(time.LoadLocation("Europe/Berlin")))
	require.Equal(t, 9, at.Hour(), at.String())
	require.NotContains(t, []time.Weekday{time.Saturday, time.Sunday}, at.Weekday())
	out := cm(t, rm.alice, "alice", "remind", "deploy", "at", "five", "--in", "2h", "--to", "@eng").ok(t)
	require.Regexp(t, `^✓ Reminder [0-9A-Za-z_-]{8} → @eng at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(in (1h59m|2h)\)\n$`, out.stdout)

	var list []scheduled
	cm(t, rm.alice, "alice", "remind", "list", "--json").json(t, &list)
	require.Len(t, list, 3, "%+v", list)
	byMessage := map[string]scheduled{}
	for _, s := range list {
		byMessage[s.Message] = s
	}
	require.Equal(t, later.ScheduledID, byMessage["later"].ID)
	require.Equal(t, later.DeliverAt, byMessage["later"].DeliverAt)
	require.Equal(t, "reminder", byMessage["later"].Subtype)
	require.Equal(t, "Europe/Berlin", byMessage["standup"].Timezone)
	require.Equal(t, "0 9 * * 1-5", byMessage["standup"].Cron)
	deploy = byMessage["deploy at five"]
	require.Equal(t, "@eng", deploy.To)
	require.Empty(t, deploy.Subtype, "a message to a group is not a reminder")

	table := cm(t, rm.alice, "alice", "remind", "list").ok(t).stdout
	require.Regexp(t, `(?m)^ID\s+NEXT\s+TO\s+CRON\s+MESSAGE$`, table)
	require.Regexp(t, `(?m)^`+later.ScheduledID[:8]+`\s+.*\(in (59m\d+s|1h)\)\s+\(self\)\s+-\s+later$`, table)
	require.Regexp(t, `(?m)^`+standup.ScheduledID[:8]+`\s+.*\(self\)\s+0 9 \* \* 1-5 \(Europe/Berlin\)\s+standup$`, table)

	t.Run("Cancel", func(t *testing.T) {
		out := cm(t, rm.alice, "alice", "remind", "cancel", later.ScheduledID[:8]).ok(t)
		require.Equal(t, "✓ Cancelled "+later.ScheduledID[:8]+"\n", out.stdout)
		require.NotContains(t, cm(t, rm.alice, "alice", "remind", "list").ok(t).stdout, later.ScheduledID[:8])
		again := cm(t, rm.alice, "alice", "remind", "cancel", later.ScheduledID)
		require.Equal(t, 1, again.code, again.stdout)
		require.Contains(t, again.stderr, "no pending reminder")
		// bob cannot cancel alice's schedules.
		foreign := cm(t, rm.bob, "bob", "remind", "cancel", deploy.ID)
		require.Equal(t, 1, foreign.code, foreign.stdout)
		require.Contains(t, cm(t, rm.alice, "alice", "remind", "list").ok(t).stdout, deploy.ID[:8])
	})

	t.Run("BadCron", func(t *testing.T) {
		for expr, reason := range map[string]string{
			"61 * * * *": "above maximum",
			"* * *":      "expected exactly 5 fields",
		} {
			r := cm(t, rm.alice, "alice", "remind", "x", "--cron", expr)
			require.Equal(t, 2, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, reason)
		}
		text, isErr := alice.tool("schedule_reminder", map[string]any{"message": "x", "cron": "61 * * * *"})
		require.True(t, isErr, text)
		require.Contains(t, text, "above maximum")
	})

	t.Run("ToAPeerByName", func(t *testing.T) {
		cm(t, rm.alice, "alice", "remind", "hi bob, from the past", "--in", "1s", "--to", "bob").ok(t)
		n := bob.expectChannel(func(n channelNote) bool { return n.Content == "hi bob, from the past" })
		require.Empty(t, n.Meta["subtype"], "a message to others is not a reminder")
	})

	t.Run("MCPTools", func(t *testing.T) {
		res := alice.mustTool("schedule_reminder", map[string]any{"message": "drink water", "in_seconds": 1})
		require.Regexp(t, `^Reminder [0-9A-Za-z_-]{8} set for .* \(in 1s\)\.$`, res)
		n := alice.expectChannel(func(n channelNote) bool { return n.Content == "drink water" })
		require.Equal(t, "reminder", n.Meta["subtype"])

		res = alice.mustTool("schedule_reminder", map[string]any{"message": "retro", "cron": "30 16 * * 5", "timezone": "America/New_York"})
		require.Contains(t, res, "every 30 16 * * 5 (America/New_York), next ")
		listed := alice.mustTool("list_scheduled", nil)
		require.Contains(t, listed, "→ self every 30 16 * * 5 (America/New_York), next ")
		require.Contains(t, listed, `: "retro"`)
		require.Contains(t, listed, "→ @eng at ")
		id := regexpFind(t, `\[([0-9A-Za-z_-]{8})\] → self every 30 16`, listed)
		require.Equal(t, "Cancelled "+id+".", alice.mustTool("cancel_scheduled", map[string]any{"id": id}))
		require.NotContains(t, alice.mustTool("list_scheduled", nil), "retro")
		text, isErr := alice.tool("cancel_scheduled", map[string]any{"id": id})
		require.True(t, isErr, text)

		text, isErr = alice.tool("schedule_reminder", map[string]any{"message": "x"})
		require.True(t, isErr)
		require.Contains(t, text, "in_seconds, deliver_at and cron")
	})
}

// regexpFind returns the first group of pattern's first match in s.
func regexpFind(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	require.NotNil(t, m, "%s not in:\n%s", pattern, s)
	return m[1]
}
