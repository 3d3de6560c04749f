package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
)

func TestGuide(t *testing.T) {
	t.Parallel()

	t.Run("BrokenConfig", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		require.NoError(t, os.MkdirAll(u.configDir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(u.configDir, "config.json"), []byte("{"), 0o600))
		out := u.ok(t)
		require.Contains(t, out, "✗ broken config:")
		require.Contains(t, out, binary+" doctor")
	})

	t.Run("NoMesh", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		out := u.ok(t)
		require.Contains(t, out, "Step 1: join a mesh.")
		require.Contains(t, out, binary+" up")
		require.Contains(t, out, binary+" join <link>")
		require.Contains(t, out, "Step 2: "+binary+" install")

		u.ok(t, "install")
		require.NotContains(t, u.ok(t), "Step 2", "install is done")
	})

	t.Run("NotInstalled", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		saveMesh(t, u, config.Mesh{Slug: "team", BrokerURL: "ws://127.0.0.1:1/ws"})
		out := u.ok(t)
		require.Contains(t, out, "Meshes: team")
		require.Contains(t, out, "Next: add claudemesh to Claude Code.")
		require.Contains(t, out, binary+" install")

		require.NoError(t, os.WriteFile(filepath.Join(u.home, ".claude.json"),
			[]byte(`{"mcpServers":{"claudemesh":{"command":"/opt/old/claudemesh","args":["mcp"]}}}`), 0o600))
		require.Contains(t, u.ok(t), "Claude Code runs another claudemesh (/opt/old/claudemesh)")
	})

	t.Run("Ready", func(t *testing.T) {
		t.Parallel()
		u := newUserHome(t)
		saveMesh(t, u, config.Mesh{Slug: "team", BrokerURL: "ws://127.0.0.1:1/ws"})
		saveMesh(t, u, config.Mesh{Slug: "local", BrokerURL: "ws://127.0.0.1:1/ws"})
		u.ok(t, "install")
		out := u.ok(t)
		require.Contains(t, out, "✓ Ready. Meshes: team, local")
		for _, cmd := range []string{"launch", "peers", "doctor"} {
			require.Contains(t, out, binary+" "+cmd)
		}
	})

	t.Run("UnknownCommand", func(t *testing.T) {
		t.Parallel()
		_, errOut, code := newUserHome(t).run(t, "bogus")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, `unknown command "bogus"`)
	})
}
