package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
)

type doctorCheck struct {
	Name   string `json:"name"`
	Mesh   string `json:"mesh"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// doctor runs "doctor --json" and returns the checks by name (and the
// broker checks by mesh), with the exit code.
func doctor(t *testing.T, u *userHome) (map[string]doctorCheck, int) {
	t.Helper()
	out, errOut, code := u.run(t, "doctor", "--json")
	var res struct {
		OK     bool          `json:"ok"`
		Checks []doctorCheck `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Equal(t, res.OK, code == 0)
	checks := map[string]doctorCheck{}
	for _, c := range res.Checks {
		key := c.Name
		if c.Mesh != "" {
			key += ":" + c.Mesh
		}
		checks[key] = c
	}
	return checks, code
}

// saveMesh joins a mesh in the user's config without a broker.
func saveMesh(t *testing.T, u *userHome, m config.Mesh) {
	t.Helper()
	cfg, err := config.Load(u.configDir)
	require.NoError(t, err)
	cfg.Put(m)
	require.NoError(t, config.Save(u.configDir, cfg))
}

func TestDoctor(t *testing.T) {
	t.Parallel()

	t.Run("NothingInstalled", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		out, errOut, code := u.run(t, "doctor")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "checks failed")
		require.Contains(t, out, "✓ claude CLI: "+filepath.Join(u.pathDir, "claude"))
		require.Contains(t, out, "✗ MCP server: ~/.claude.json has no mcpServers.claudemesh")
		require.Contains(t, out, "→ fix: "+binary+" install")
		require.Contains(t, out, "✗ hooks: missing in ~/.claude/settings.json: UserPromptSubmit, Stop, StopFailure (without them")
		require.Contains(t, out, "✗ meshes: no mesh joined")
		require.Contains(t, out, "→ fix: "+binary+" up\n")
		require.Contains(t, out, "✓ channels: real-time push needs `"+binary+" launch`")
		require.NotContains(t, out, "\x1b[", "no colours off a terminal")

		checks, _ := doctor(t, u)
		require.False(t, checks["mcp-registered"].OK)
		require.False(t, checks["hooks"].OK)
		require.True(t, checks["config"].OK)
		require.True(t, checks["channels"].OK)
	})

	t.Run("ReadyThenBrokerDown", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		b := u.up(t)
		u.ok(t, "install")
		out := u.ok(t, "doctor")
		require.Contains(t, out, "All checks passed.")
		checks, code := doctor(t, u)
		require.Zero(t, code)
		for _, name := range []string{"claude-cli", "mcp-registered", "mcp-binary", "hooks", "config", "keypairs", "broker:local", "channels"} {
			require.True(t, checks[name].OK, "%s: %+v", name, checks[name])
		}
		require.Contains(t, checks["mcp-binary"].Detail, binary)
		require.Contains(t, checks["broker:local"].Detail, "ws://"+b.addr+"/ws answers and accepts this member")

		require.NoError(t, b.stop(t))
		out, _, code = u.run(t, "doctor")
		require.Equal(t, 1, code)
		require.Contains(t, out, "✗ broker of local: cannot reach ws://"+b.addr+"/ws")
		require.Contains(t, out, "→ fix: "+binary+" up --listen "+b.addr)
	})

	t.Run("ProblemsInTheConfig", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		saveMesh(t, u, config.Mesh{Slug: "bad", MeshID: "m", MemberID: "x", Pubkey: strings.Repeat("ab", 32), SecretKey: strings.Repeat("cd", 64), BrokerURL: "ws://127.0.0.1:1/ws"})
		path := filepath.Join(u.configDir, "config.json")
		require.NoError(t, os.Chmod(path, 0o644))
		checks, code := doctor(t, u)
		require.Equal(t, 1, code)
		require.False(t, checks["config"].OK)
		require.Equal(t, "chmod 600 "+path, checks["config"].Fix)
		require.False(t, checks["keypairs"].OK)
		require.Contains(t, checks["keypairs"].Detail, "mesh bad:")
		require.Contains(t, checks["keypairs"].Fix, "leave bad")
		_, probed := checks["broker:bad"]
		require.False(t, probed, "a mesh with a broken key pair is not probed")

		require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))
		checks, _ = doctor(t, u)
		require.False(t, checks["config"].OK)
		require.Contains(t, checks["config"].Detail, "not valid JSON")
		require.Equal(t, "mv "+path+" "+path+".broken", checks["config"].Fix)
	})

	t.Run("StopFailureHookMissing", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		u.ok(t, "install")
		// What an install of before StopFailure left: the other two hooks.
		hook := func(state string) string {
			return `[{"hooks": [{"type": "command", "command": "` + binary + ` hook ` + state + `", "timeout": 5}]}]`
		}
		oldHooks := `{"hooks": {"UserPromptSubmit": ` + hook("working") + `, "Stop": ` + hook("idle") + `}}`
		require.NoError(t, os.WriteFile(filepath.Join(u.home, ".claude", "settings.json"), []byte(oldHooks), 0o600))

		out, _, code := u.run(t, "doctor")
		require.Equal(t, 1, code)
		require.Contains(t, out, "✗ hooks: missing in ~/.claude/settings.json: StopFailure (without it a turn that ends in an API error")
		checks, _ := doctor(t, u)
		require.False(t, checks["hooks"].OK)
		require.Equal(t, binary+" install", checks["hooks"].Fix)
		require.True(t, checks["mcp-registered"].OK)

		out = u.ok(t, "install")
		require.Contains(t, out, "· hooks.UserPromptSubmit unchanged: "+binary+" hook working")
		require.Contains(t, out, "· hooks.Stop unchanged: "+binary+" hook idle")
		require.Contains(t, out, "✓ hooks.StopFailure added: "+binary+" hook idle")
		settings := u.read(t, ".claude/settings.json")
		require.True(t, strings.HasPrefix(settings, oldHooks[:len(oldHooks)-2]), "the old bytes stay:\n%s", settings)
		checks, _ = doctor(t, u)
		require.True(t, checks["hooks"].OK, "%+v", checks["hooks"])
		require.Equal(t, "UserPromptSubmit, Stop and StopFailure report each session working or idle", checks["hooks"].Detail)
	})

	t.Run("AnotherBinaryRegistered", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		require.NoError(t, os.WriteFile(filepath.Join(u.home, ".claude.json"),
			[]byte(`{"mcpServers":{"claudemesh":{"command":"/opt/old/claudemesh","args":["mcp"]}},"projects":{"/w":{"mcpServers":{"claudemesh":{"command":"/x/claudemesh"}}}}}`), 0o600))
		checks, _ := doctor(t, u)
		require.True(t, checks["mcp-registered"].OK)
		require.False(t, checks["mcp-binary"].OK)
		require.Contains(t, checks["mcp-binary"].Detail, "/opt/old/claudemesh, which does not exist")
		require.Equal(t, binary+" install", checks["mcp-binary"].Fix)
		require.False(t, checks["mcp-project"].OK)
		require.Equal(t, "cd /w && claude mcp remove claudemesh -s local", checks["mcp-project"].Fix)

		u.ok(t, "install")
		checks, _ = doctor(t, u)
		require.True(t, checks["mcp-binary"].OK)
	})
}
