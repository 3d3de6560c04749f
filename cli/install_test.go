package cli_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// userHome is a user of the binary: a HOME, a claudemesh config dir, a
// data dir for "up", and a PATH holding only a stand-in claude.
type userHome struct {
	home, configDir, dataDir, pathDir string
}

func newUserHome(t *testing.T) *userHome {
	t.Helper()
	root := t.TempDir()
	u := &userHome{
		home:      filepath.Join(root, "home"),
		configDir: filepath.Join(root, "home", ".claudemesh"),
		dataDir:   filepath.Join(root, "state"),
		pathDir:   filepath.Join(root, "bin"),
	}
	require.NoError(t, os.MkdirAll(u.home, 0o700))
	require.NoError(t, os.MkdirAll(u.pathDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(u.pathDir, "claude"), []byte("#!/bin/sh\nexit 0\n"), 0o755)) //nolint:gosec // an executable stand-in
	return u
}

func (u *userHome) env() []string {
	return []string{
		"HOME=" + u.home, "CLAUDEMESH_CONFIG_DIR=" + u.configDir, "CLAUDEMESH_DATA_DIR=" + u.dataDir,
		"PATH=" + u.pathDir, "NO_COLOR=1",
	}
}

// run runs the binary as this user and returns stdout, stderr and the exit
// code.
func (u *userHome) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), u.env()...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return stdout.String(), stderr.String(), 0
}

// ok runs the binary and requires exit 0.
func (u *userHome) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := u.run(t, args...)
	require.Zero(t, code, "claudemesh %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	return out
}

// up starts "claudemesh up" for this user and waits for the local mesh.
func (u *userHome) up(t *testing.T) *broker {
	t.Helper()
	b := startBroker(t, u.env(), "up", "--listen", "127.0.0.1:0", "--log-level", "warn")
	require.Eventually(t, func() bool { return strings.Contains(b.stdout.String(), `local mesh "local"`) },
		10*time.Second, 50*time.Millisecond, b.stdout.String())
	return b
}

func (u *userHome) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(u.home, rel))
	require.NoError(t, err)
	return string(b)
}

func TestInstallCommand(t *testing.T) {
	t.Parallel()

	t.Run("InstallThenUninstall", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		out := u.ok(t, "install")
		require.Contains(t, out, "~/.claude.json (created)")
		require.Contains(t, out, "✓ mcpServers.claudemesh added: "+binary+" mcp")
		require.Contains(t, out, "✓ hooks.UserPromptSubmit added: "+binary+" hook working")
		require.Contains(t, out, "✓ hooks.Stop added: "+binary+" hook idle")
		require.Contains(t, out, "✓ hooks.StopFailure added: "+binary+" hook idle")
		require.Contains(t, out, "✓ permissions.allow added: 17 tools")
		require.Contains(t, out, "⚠ Restart Claude Code to load claudemesh")
		require.Contains(t, out, "No mesh joined yet: run `"+binary+" up` for a local mesh, or `"+binary+" join <link>`")
		require.Contains(t, out, binary+" launch` (channels)")

		var claudeJSON struct {
			MCPServers map[string]struct {
				Type    string   `json:"type"`
				Command string   `json:"command"`
				Args    []string `json:"args"`
			} `json:"mcpServers"`
		}
		require.NoError(t, json.Unmarshal([]byte(u.read(t, ".claude.json")), &claudeJSON))
		require.Equal(t, "stdio", claudeJSON.MCPServers["claudemesh"].Type)
		require.Equal(t, binary, claudeJSON.MCPServers["claudemesh"].Command)
		require.Equal(t, []string{"mcp"}, claudeJSON.MCPServers["claudemesh"].Args)
		settings := u.read(t, ".claude/settings.json")
		require.Contains(t, settings, `"command": "`+binary+` hook working"`)
		require.Contains(t, settings, `"StopFailure": [`)
		require.Contains(t, settings, `"mcp__claudemesh__send_message"`)
		require.Contains(t, settings, `"mcp__claudemesh__cancel_scheduled"`)

		// Again: nothing changes.
		out = u.ok(t, "install")
		require.Contains(t, out, "already installed: nothing changed")
		require.NotContains(t, out, "Restart")
		var res struct {
			Binary  string `json:"binary"`
			Changed bool   `json:"changed"`
			Files   []struct {
				Path    string `json:"path"`
				Changes []struct {
					Item   string `json:"item"`
					Action string `json:"action"`
				} `json:"changes"`
			} `json:"files"`
		}
		require.NoError(t, json.Unmarshal([]byte(u.ok(t, "install", "--json")), &res))
		require.Equal(t, binary, res.Binary)
		require.False(t, res.Changed)
		require.Len(t, res.Files, 2)
		require.Equal(t, "unchanged", res.Files[0].Changes[0].Action)
		items := make([]string, 0, len(res.Files[1].Changes))
		for _, c := range res.Files[1].Changes {
			require.Equal(t, "unchanged", c.Action, c.Item)
			items = append(items, c.Item)
		}
		require.Equal(t, []string{"hooks.UserPromptSubmit", "hooks.Stop", "hooks.StopFailure", "permissions.allow"}, items)

		out = u.ok(t, "uninstall")
		require.Contains(t, out, "✓ mcpServers.claudemesh removed")
		require.Contains(t, out, "✓ hooks removed: 3 hooks")
		require.Contains(t, out, "✓ permissions.allow removed: 17 tools")
		require.Contains(t, out, "⚠ Restart Claude Code to unload claudemesh")
		require.Equal(t, "{}\n", u.read(t, ".claude.json"))
		require.Equal(t, "{}\n", u.read(t, ".claude/settings.json"))
		require.Contains(t, u.ok(t, "uninstall"), "was not installed: nothing changed")
	})

	t.Run("KeepsOtherEntries", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		orig := "{\n  \"numStartups\": 1e1,\n  \"mcpServers\": {\n    \"z\": {\"command\": \"z\"},\n    \"a\": {}\n  },\n  \"é\": \"\\u00e9<&>\"\n}\n"
		require.NoError(t, os.WriteFile(filepath.Join(u.home, ".claude.json"), []byte(orig), 0o644))
		out := u.ok(t, "install", "--no-hooks")
		require.Contains(t, out, "~/.claude.json (backup ~/.claude/backups/.claude.json.pre-claudemesh.")
		require.Contains(t, out, "· hooks.Stop skipped (--no-hooks)")
		require.Contains(t, out, "· hooks.StopFailure skipped (--no-hooks)")
		require.NotContains(t, u.read(t, ".claude/settings.json"), "hook")
		u.ok(t, "uninstall")
		require.Equal(t, orig, u.read(t, ".claude.json"))
		info, err := os.Stat(filepath.Join(u.home, ".claude.json"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	})

	t.Run("RefusesBrokenClaudeJSON", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		require.NoError(t, os.WriteFile(filepath.Join(u.home, ".claude.json"), []byte(`{"projects": {`), 0o600))
		_, errOut, code := u.run(t, "install")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "not valid JSON")
		require.Contains(t, errOut, "claudemesh changed nothing")
		require.Equal(t, `{"projects": {`, u.read(t, ".claude.json"))
		_, err := os.Stat(filepath.Join(u.home, ".claude"))
		require.True(t, os.IsNotExist(err), "settings.json is not touched either")
	})
}
