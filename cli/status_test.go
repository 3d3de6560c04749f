package cli_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/services/identity"
)

// deadBrokerConfig writes a config whose one mesh's broker is a closed
// port on this machine, and returns its dir and that address.
func deadBrokerConfig(t *testing.T) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	key, err := identity.Generate()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, config.Save(dir, &config.Config{Version: 1, Meshes: []config.Mesh{{
		MeshID: "mesh-1", MemberID: "member-1", Slug: "gone", Name: "Gone",
		Pubkey: key.PublicHex(), SecretKey: key.SecretHex(), BrokerURL: "ws://" + addr + "/ws",
	}}}))
	return dir, addr
}

func TestStatusDeadBroker(t *testing.T) {
	t.Parallel()
	dir, addr := deadBrokerConfig(t)

	out := cm(t, dir, "alice", "status")
	require.Equal(t, 1, out.code, out.stdout)
	require.Contains(t, out.stdout, "✗ gone  ws://"+addr+"/ws  cannot reach the broker")
	require.Contains(t, out.stdout, "→ start it: claudemesh up --listen "+addr)
	require.Contains(t, out.stderr, "1 of 1 meshes failed")

	var st struct {
		OK     bool `json:"ok"`
		Meshes []struct {
			OK, Reachable, HelloAccepted bool
			Error, Fix                   string
		} `json:"meshes"`
	}
	r := cm(t, dir, "alice", "status", "--json")
	require.Equal(t, 1, r.code)
	r.code = 0 // the JSON is printed before the exit code says it failed
	r.json(t, &st)
	require.False(t, st.OK)
	require.Len(t, st.Meshes, 1)
	require.False(t, st.Meshes[0].Reachable)
	require.False(t, st.Meshes[0].HelloAccepted)
	require.Contains(t, st.Meshes[0].Error, "connection refused")

	// One-shot commands say which broker they could not reach.
	out = cm(t, dir, "alice", "send", "@eng", "hi")
	require.Equal(t, 1, out.code)
	require.Contains(t, out.stderr, "mesh gone: connect to ws://"+addr+"/ws")
}

func TestStatusConfigProblems(t *testing.T) {
	t.Parallel()
	// No config at all: nothing to check, and the way forward.
	out := cm(t, t.TempDir(), "alice", "status")
	require.Equal(t, 1, out.code)
	require.Contains(t, out.stdout, "(not created yet)")
	require.Contains(t, out.stdout, "claudemesh up")

	// A config other users can read is pointed out.
	dir, _ := deadBrokerConfig(t)
	require.NoError(t, os.Chmod(filepath.Join(dir, config.FileName), 0o644))
	out = cm(t, dir, "alice", "status")
	require.Contains(t, out.stdout, "mode 0644 ✗: other users can read your secret keys; fix: chmod 600")
}
