package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/config"
)

// run runs the binary with a config dir and returns its stdout.
func run(t *testing.T, configDir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CLAUDEMESH_CONFIG_DIR="+configDir)
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // exec returns it unwrapped
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "claudemesh %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, stderr)
	return string(out)
}

func runJSON(t *testing.T, configDir string, v any, args ...string) {
	t.Helper()
	out := run(t, configDir, append(args, "--json")...)
	require.NoError(t, json.Unmarshal([]byte(out), v), out)
}

// connectSession opens a long-lived session for the member saved in a
// config dir, as an MCP server would.
func connectSession(t *testing.T, configDir, slug, name string) *brokerclient.Client {
	t.Helper()
	cfg, err := config.Load(configDir)
	require.NoError(t, err)
	m, ok := cfg.Find(slug)
	require.True(t, ok)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := brokerclient.Dial(ctx, brokerclient.Options{Mesh: *m, DisplayName: name, SessionID: "session-" + name, PeerType: "ai", Channel: "claude-code"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestMeshLifecycle creates a mesh, invites two members who join with their
// own config dirs, connects their sessions, and lists them.
func TestMeshLifecycle(t *testing.T) {
	t.Parallel()
	dataDir, owner, bob, carol := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	b := startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir, "CLAUDEMESH_CONFIG_DIR=" + owner}, "up", "--listen", "127.0.0.1:0", "--log-level", "warn")
	wsURL := "ws://" + b.addr + "/ws"
	require.Eventually(t, func() bool { return strings.Contains(b.stdout.String(), `Created the local mesh "local"`) }, 10*time.Second, 50*time.Millisecond, b.stdout.String())

	var local []map[string]any
	runJSON(t, owner, &local, "list")
	require.Len(t, local, 1)
	require.Equal(t, "local", local[0]["slug"])
	require.Equal(t, true, local[0]["owner"])

	token, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	require.NoError(t, err)
	var created map[string]any
	runJSON(t, owner, &created, "mesh", "create", "Team Alpha", "--broker", wsURL, "--token", strings.TrimSpace(string(token)), "--template", "dev-team")
	require.Equal(t, "team-alpha", created["slug"])

	var inv map[string]any
	runJSON(t, owner, &inv, "invite", "--mesh", "team-alpha", "--max-uses", "2", "--groups", "eng/backend:member")
	link := inv["joinUrl"].(string)
	require.True(t, strings.HasPrefix(link, "http://"+b.addr+"/join/"), link)

	run(t, bob, "join", link, "--name", "bob")
	run(t, carol, "join", inv["icUrl"].(string), "--name", "carol")
	for _, dir := range []string{bob, carol} {
		info, err := os.Stat(filepath.Join(dir, "config.json"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	// The invite is used up now.
	var invites map[string]any
	runJSON(t, owner, &invites, "invite", "list", "--mesh", "team-alpha")
	require.Contains(t, string(must(json.Marshal(invites))), `"usedCount":2`)

	connectSession(t, bob, "team-alpha", "bob-session")
	connectSession(t, carol, "team-alpha", "carol-session")

	var peers []map[string]any
	runJSON(t, bob, &peers, "peers")
	names := make([]string, 0, len(peers))
	for _, p := range peers {
		names = append(names, p["displayName"].(string))
		require.Len(t, p["pubkey"], 64)
	}
	require.ElementsMatch(t, []string{"bob-session", "carol-session"}, names)

	run(t, carol, "leave", "team-alpha")
	var left []map[string]any
	runJSON(t, carol, &left, "list")
	require.Empty(t, left)

	// A restarted broker reuses the local mesh.
	require.NoError(t, b.stop(t))
	b = startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir, "CLAUDEMESH_CONFIG_DIR=" + owner}, "up", "--listen", "127.0.0.1:0", "--log-level", "warn")
	require.Eventually(t, func() bool { return strings.Contains(b.stdout.String(), "Using your local mesh") }, 10*time.Second, 50*time.Millisecond, b.stdout.String())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
