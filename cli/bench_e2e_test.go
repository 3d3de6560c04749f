package cli_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/bench"
)

// TestBench runs every bench scenario, small, against "claudemesh up".
func TestBench(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	b := startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir, "CLAUDEMESH_CONFIG_DIR=" + t.TempDir()}, "up", "--listen", "127.0.0.1:0", "--log-level", "warn")
	token, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	require.NoError(t, err)
	wsURL := "ws://" + b.addr + "/ws"

	benchCmd := func(args ...string) *exec.Cmd {
		cmd := exec.Command(binary, append([]string{"bench", "--broker", wsURL}, args...)...)
		cmd.Env = append(os.Environ(), "CLAUDEMESH_OPERATOR_TOKEN="+strings.TrimSpace(string(token)))
		return cmd
	}
	runBench := func(t *testing.T, args ...string) *bench.Report {
		t.Helper()
		out, err := benchCmd(append(args, "--json")...).Output()
		var stderr string
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			stderr = string(exit.Stderr)
		}
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, stderr)
		var rep bench.Report
		require.NoError(t, json.Unmarshal(out, &rep), string(out))
		require.True(t, rep.Passed, "%+v", rep.Failures)
		require.Empty(t, rep.Failures)
		require.Equal(t, 6, rep.Connect.Connections)
		require.Positive(t, rep.Connect.HelloLatency.P99)
		require.Equal(t, b.cmd.Process.Pid, rep.BrokerProcess.PID, rep.BrokerProcess.Note)
		require.Positive(t, rep.BrokerProcess.RSSBytes)
		return &rep
	}
	requireDelivered := func(t *testing.T, rep *bench.Report, sent, expected int64) {
		t.Helper()
		require.Equal(t, sent, rep.Sent)
		require.Equal(t, expected, rep.Expected)
		require.Equal(t, rep.Expected, rep.Delivered)
		require.Zero(t, rep.Lost)
		require.Zero(t, rep.Corrupt)
		require.Equal(t, int(expected), rep.Latency.Count)
		require.Positive(t, rep.Latency.P50)
		require.GreaterOrEqual(t, rep.Latency.Max, rep.Latency.P99)
		require.Positive(t, rep.MessagesPerSecond)
	}

	t.Run("Broadcast", func(t *testing.T) {
		t.Parallel()
		rep := runBench(t, "--scenario", "broadcast", "--peers", "6", "--messages", "50")
		requireDelivered(t, rep, 50, 250)
	})

	t.Run("Connect", func(t *testing.T) {
		t.Parallel()
		rep := runBench(t, "--scenario", "connect", "--peers", "6", "--messages", "50", "--duration", "300ms")
		require.Zero(t, rep.Connect.Failures)
		require.Positive(t, rep.Connect.PerSecond)
		require.InDelta(t, 0.3, rep.HoldSeconds, 0.2)
	})

	t.Run("DM", func(t *testing.T) {
		t.Parallel()
		rep := runBench(t, "--scenario", "dm", "--peers", "6", "--messages", "50")
		requireDelivered(t, rep, 150, 150)
	})

	t.Run("DMAtRate", func(t *testing.T) {
		t.Parallel()
		// 150 messages at 300/s take about half a second.
		rep := runBench(t, "--scenario", "dm", "--peers", "6", "--messages", "50", "--rate", "300")
		requireDelivered(t, rep, 150, 150)
		require.GreaterOrEqual(t, rep.SendSeconds, 0.4)
	})

	t.Run("OfflineDrain", func(t *testing.T) {
		t.Parallel()
		rep := runBench(t, "--scenario", "offline-drain", "--peers", "6", "--messages", "50")
		requireDelivered(t, rep, 150, 150)
		require.NotNil(t, rep.Reconnect)
		require.Equal(t, 3, rep.Reconnect.Connections)
		require.Positive(t, rep.DrainSeconds)
	})

	t.Run("RefusedSendsFail", func(t *testing.T) {
		t.Parallel()
		// The broker's loop guard holds the 51st direct message between two
		// members within a minute: the run reports it and exits 1.
		out, err := benchCmd("--scenario", "dm", "--peers", "2", "--messages", "60", "--inflight", "1").Output()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, 1, exit.ExitCode())
		require.Regexp(t, `(?m)^result\s+FAIL$`, string(out))
		require.Regexp(t, `FAIL: \d+ sends refused by the broker \(loop_guard`, string(out))
		require.Contains(t, string(exit.Stderr), "--loop-guard-max")
	})
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"NoToken":      {[]string{"--broker", "ws://127.0.0.1:1/ws"}, "--token"},
		"NotLoopback":  {[]string{"--broker", "ws://mesh.example.com/ws", "--token", "x"}, "only runs against a broker on this machine"},
		"NotWebSocket": {[]string{"--broker", "http://127.0.0.1:7900", "--token", "x"}, "WebSocket URL"},
		"BadScenario":  {[]string{"--broker", "ws://[::1]:7900/ws", "--token", "x", "--scenario", "chaos"}, `unknown scenario "chaos"`},
		"TooMany":      {[]string{"--broker", "ws://localhost:7900/ws", "--token", "x", "--peers", "1000", "--messages", "10000"}, "at most 2000000"},
		"TooLong":      {[]string{"--broker", "ws://localhost:7900/ws", "--token", "x", "--duration", "1h"}, "between 0 and 10m0s"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary, append([]string{"bench"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "CLAUDEMESH_OPERATOR_TOKEN=")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, string(out))
			require.Equal(t, 2, exit.ExitCode(), string(out))
			require.Contains(t, string(out), tc.want)
		})
	}
}
