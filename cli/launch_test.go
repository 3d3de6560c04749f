package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/services/identity"
)

// fakeClaudeScript stands in for Claude Code, an external program: it
// records its arguments (NUL-separated), its environment, and whether its
// stdin and stdout are a terminal in $FAKE_CLAUDE_OUT, then exits with
// $FAKE_CLAUDE_EXIT. With FAKE_CLAUDE_WAIT=term it becomes a sleep that a
// SIGTERM ends; with FAKE_CLAUDE_WAIT=hup it waits for a SIGHUP, records
// it, and exits 42. The verbs are the absolute paths of env and sleep (PATH
// holds neither in the tests).
const fakeClaudeScript = `#!/bin/sh
printf '%%s\0' "$@" > "$FAKE_CLAUDE_OUT/argv"
%[1]s > "$FAKE_CLAUDE_OUT/env"
if [ -t 0 ] && [ -t 1 ]; then : > "$FAKE_CLAUDE_OUT/tty"; fi
case "$FAKE_CLAUDE_WAIT" in
term)
	: > "$FAKE_CLAUDE_OUT/ready"
	exec %[2]s 60 ;;
hup)
	trap 'echo hup > "$FAKE_CLAUDE_OUT/signal"; exit 42' HUP
	: > "$FAKE_CLAUDE_OUT/ready"
	while :; do %[2]s 0.1; done ;;
esac
exit "${FAKE_CLAUDE_EXIT:-0}"
`

// launcher is a user with a stand-in claude, for running launch.
type launcher struct {
	*userHome
	// out is where the stand-in claude records what it got.
	out string
	// claude is the stand-in's path, given as CLAUDEMESH_CLAUDE_BIN.
	claude string
}

func newLauncher(t *testing.T, slugs ...string) *launcher {
	t.Helper()
	u := newUserHome(t)
	l := &launcher{userHome: u, out: filepath.Join(u.home, "claude-out"), claude: filepath.Join(u.home, "fake-claude")}
	require.NoError(t, os.MkdirAll(l.out, 0o700))
	writeFakeClaude(t, l.claude)
	for _, slug := range slugs {
		saveMesh(t, u, fakeMesh(t, slug))
	}
	return l
}

func writeFakeClaude(t *testing.T, path string) {
	t.Helper()
	envBin, err := exec.LookPath("env")
	require.NoError(t, err)
	sleepBin, err := exec.LookPath("sleep")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	//nolint:gosec // an executable stand-in
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, fakeClaudeScript, envBin, sleepBin), 0o755))
}

// fakeMesh is a joined mesh with a real key pair and a broker nobody
// listens on: launch does not contact the broker.
func fakeMesh(t *testing.T, slug string) config.Mesh {
	t.Helper()
	key, err := identity.Generate()
	require.NoError(t, err)
	return config.Mesh{
		MeshID: "mesh-" + slug, MemberID: "member-" + slug, Slug: slug, Name: slug,
		Pubkey: key.PublicHex(), SecretKey: key.SecretHex(), BrokerURL: "ws://127.0.0.1:9/ws",
		JoinedAt: time.Now().UTC().Format(time.RFC3339Nano),
	}
}

// install gives ~/.claude.json our MCP server entry, as install would.
func (l *launcher) install(t *testing.T) {
	t.Helper()
	entry := fmt.Sprintf(`{"mcpServers":{"claudemesh":{"type":"stdio","command":%q,"args":["mcp"]}}}`, binary)
	require.NoError(t, os.WriteFile(filepath.Join(l.home, ".claude.json"), []byte(entry), 0o600))
}

// launchRun is one run of the binary.
type launchRun struct {
	code           int
	stdout, stderr string
	// argv and env are what the stand-in claude got; ran says it ran, tty
	// that its stdin and stdout were a terminal.
	ran  bool
	tty  bool
	argv []string
	env  map[string]string
}

func (r launchRun) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s\nclaude argv: %q", r.code, r.stdout, r.stderr, r.argv)
}

// environ is the environment of a run: the test process's without the
// variables launch reads or sets, the user's, the stand-in claude, then
// extra.
func (l *launcher) environ(extra []string) []string {
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch {
		case strings.HasPrefix(k, "CLAUDEMESH_"), k == "MCP_TIMEOUT", k == "MAX_MCP_OUTPUT_TOKENS", k == "MCP_PROTOCOL_NEGOTIATION":
			continue
		}
		env = append(env, e)
	}
	env = append(env, l.env()...)
	env = append(env, "CLAUDEMESH_CLAUDE_BIN="+l.claude, "FAKE_CLAUDE_OUT="+l.out)
	return append(env, extra...)
}

// run runs the binary with extra environment and args, and reads what the
// stand-in claude recorded.
func (l *launcher) run(t *testing.T, extra []string, args ...string) launchRun {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = l.environ(extra)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := launchRun{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	l.readClaude(t, &r)
	return r
}

func (l *launcher) readClaude(t *testing.T, r *launchRun) {
	t.Helper()
	argv, err := os.ReadFile(filepath.Join(l.out, "argv"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	r.ran = true
	r.argv = strings.Split(strings.TrimSuffix(string(argv), "\x00"), "\x00")
	if len(argv) == 0 {
		r.argv = nil
	}
	envText, err := os.ReadFile(filepath.Join(l.out, "env"))
	require.NoError(t, err)
	r.env = map[string]string{}
	for line := range strings.SplitSeq(string(envText), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r.env[k] = v
		}
	}
	if _, err := os.Stat(filepath.Join(l.out, "tty")); err == nil {
		r.tty = true
		require.NoError(t, os.Remove(filepath.Join(l.out, "tty")))
	}
	// The next run records afresh.
	require.NoError(t, os.Remove(filepath.Join(l.out, "argv")))
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const channelFlag = "--dangerously-load-development-channels"

func TestLaunchFreshSession(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	l.install(t)
	// Values inherited from an enclosing launched session do not leak in.
	r := l.run(t, []string{"CLAUDEMESH_ROLE=stale", "CLAUDEMESH_GROUPS=stale", "CLAUDEMESH_SESSION_ID=outer"}, "launch", "--quiet")
	require.Zero(t, r.code, r)
	require.Empty(t, r.stdout)
	require.Empty(t, r.stderr, "--quiet prints nothing")
	require.False(t, r.tty)
	require.Len(t, r.argv, 4, r)
	require.Equal(t, []string{channelFlag, "server:claudemesh", "--session-id"}, r.argv[:3])
	id := r.argv[3]
	require.Regexp(t, uuidV4, id)

	host, err := os.Hostname()
	require.NoError(t, err)
	require.Regexp(t, "^"+regexp.QuoteMeta(host)+`-\d+$`, r.env["CLAUDEMESH_DISPLAY_NAME"])
	require.Equal(t, "alpha", r.env["CLAUDEMESH_MESH"])
	require.Equal(t, "push", r.env["CLAUDEMESH_MESSAGE_MODE"])
	require.Equal(t, "1", r.env["CLAUDEMESH_CHANNELS"])
	require.Equal(t, id, r.env["CLAUDEMESH_SESSION_ID"])
	require.NotContains(t, r.env, "CLAUDEMESH_ROLE")
	require.NotContains(t, r.env, "CLAUDEMESH_GROUPS")
	require.Equal(t, "30000", r.env["MCP_TIMEOUT"])
	require.Equal(t, "50000", r.env["MAX_MCP_OUTPUT_TOKENS"])
	require.Equal(t, "legacy", r.env["MCP_PROTOCOL_NEGOTIATION"])
	// Everything else is inherited.
	require.Equal(t, l.home, r.env["HOME"])
	require.Equal(t, l.out, r.env["FAKE_CLAUDE_OUT"])

	// Each fresh session gets its own id.
	again := l.run(t, nil, "launch", "--quiet")
	require.Zero(t, again.code, again)
	require.NotEqual(t, id, again.env["CLAUDEMESH_SESSION_ID"])
	require.Equal(t, again.argv[3], again.env["CLAUDEMESH_SESSION_ID"])
}

func TestLaunchFlags(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	l.install(t)
	r := l.run(t, []string{"MCP_TIMEOUT=5000"}, "launch",
		"--name", "alice", "--role", "lead", "--groups", "eng:lead, qa", "--message-mode", "inbox",
		"--system-prompt", "be brief", "-y",
		"--", "--model", "opus", "--dangerously-skip-permissions", channelFlag, "server:other", "-p", "hi")
	require.Zero(t, r.code, r)
	require.Len(t, r.argv, 11, r)
	require.Equal(t, []string{channelFlag, "server:claudemesh", "--session-id"}, r.argv[:3])
	require.Equal(t, []string{"--dangerously-skip-permissions", "--system-prompt", "be brief", "--model", "opus", "-p", "hi"}, r.argv[4:])

	require.Equal(t, "alice", r.env["CLAUDEMESH_DISPLAY_NAME"])
	require.Equal(t, "lead", r.env["CLAUDEMESH_ROLE"])
	require.Equal(t, "eng:lead,qa", r.env["CLAUDEMESH_GROUPS"])
	require.Equal(t, "inbox", r.env["CLAUDEMESH_MESSAGE_MODE"])
	require.Equal(t, "5000", r.env["MCP_TIMEOUT"], "a preset MCP_TIMEOUT wins")
	require.Equal(t, "50000", r.env["MAX_MCP_OUTPUT_TOKENS"])

	require.Equal(t, "claudemesh launch — as alice (lead) on alpha [@eng:lead, @qa] [inbox]\n"+
		"  inbox: a short notice when a message arrives; Claude reads it with check_messages.\n", r.stderr)
	require.Empty(t, r.stdout)
}

func TestLaunchSessionChoice(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	l.install(t)
	for _, tt := range []struct {
		name string
		args []string
		// argv is what claude gets; "" stands for our session id.
		argv []string
		// sessionID is CLAUDEMESH_SESSION_ID; "" for unset, "new" for ours.
		sessionID string
	}{
		{
			name: "Resume", args: []string{"--resume", "abc-123"},
			argv: []string{channelFlag, "server:claudemesh", "--resume", "abc-123"},
		},
		{
			name: "ResumeShort", args: []string{"-r", "abc-123", "-y"},
			argv: []string{channelFlag, "server:claudemesh", "--resume", "abc-123", "--dangerously-skip-permissions"},
		},
		{
			name: "Continue", args: []string{"-c"},
			argv: []string{channelFlag, "server:claudemesh", "--continue"},
		},
		{
			name: "ContinueLong", args: []string{"--continue", "--", "--verbose"},
			argv: []string{channelFlag, "server:claudemesh", "--continue", "--verbose"},
		},
		{
			name: "ResumeAfterDash", args: []string{"--", "--resume", "xyz"},
			argv: []string{channelFlag, "server:claudemesh", "--resume", "xyz"},
		},
		{
			name: "SessionIDAfterDash", args: []string{"--", "--session-id", "0b5d6f5e-2f4b-4d3c-9a43-1c2d3e4f5a6b"},
			argv:      []string{channelFlag, "server:claudemesh", "--session-id", "0b5d6f5e-2f4b-4d3c-9a43-1c2d3e4f5a6b"},
			sessionID: "0b5d6f5e-2f4b-4d3c-9a43-1c2d3e4f5a6b",
		},
		{
			name: "Fresh", args: []string{"--", "--verbose"},
			argv:      []string{channelFlag, "server:claudemesh", "--session-id", "", "--verbose"},
			sessionID: "new",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the subtests share the stand-in's record.
			r := l.run(t, []string{"CLAUDEMESH_SESSION_ID=outer"}, append([]string{"launch", "--quiet"}, tt.args...)...)
			require.Zero(t, r.code, r)
			want := tt.argv
			switch tt.sessionID {
			case "":
				require.NotContains(t, r.env, "CLAUDEMESH_SESSION_ID", "a resumed session's id is not known up front")
			case "new":
				require.Regexp(t, uuidV4, r.env["CLAUDEMESH_SESSION_ID"])
				want = append([]string(nil), tt.argv...)
				want[3] = r.env["CLAUDEMESH_SESSION_ID"]
			default:
				require.Equal(t, tt.sessionID, r.env["CLAUDEMESH_SESSION_ID"])
			}
			require.Equal(t, want, r.argv)
		})
	}

	r := l.run(t, nil, "launch", "--resume", "a", "--continue")
	require.Equal(t, 1, r.code, r)
	require.False(t, r.ran)
	require.Contains(t, r.stderr, "none of the others can be")
}

func TestLaunchExitStatus(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	l.install(t)
	r := l.run(t, []string{"FAKE_CLAUDE_EXIT=7"}, "launch", "--quiet")
	require.True(t, r.ran)
	require.Equal(t, 7, r.code, r)
	require.Contains(t, r.stderr, "claude exited with status 7")
}

// TestLaunchSignals checks that signals the launcher gets reach claude, and
// that a claude ended by a signal ends the launcher with 128+signal.
func TestLaunchSignals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, wait string
		signal     syscall.Signal
		code       int
	}{
		{name: "TermEndsClaude", wait: "term", signal: syscall.SIGTERM, code: 128 + int(syscall.SIGTERM)},
		{name: "HupHandledByClaude", wait: "hup", signal: syscall.SIGHUP, code: 42},
		{name: "IntEndsClaude", wait: "term", signal: syscall.SIGINT, code: 128 + int(syscall.SIGINT)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLauncher(t, "alpha")
			l.install(t)
			cmd := exec.Command(binary, "launch", "--quiet")
			cmd.Env = l.environ([]string{"FAKE_CLAUDE_WAIT=" + tt.wait})
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			require.Eventually(t, func() bool {
				_, err := os.Stat(filepath.Join(l.out, "ready"))
				return err == nil
			}, 20*time.Second, 20*time.Millisecond, "claude did not start: %s", &stderr)
			require.NoError(t, cmd.Process.Signal(tt.signal))
			var err error
			select {
			case err = <-exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("launch did not exit after %s", tt.signal)
			}
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			require.Equal(t, tt.code, exit.ExitCode(), stderr.String())
			if tt.wait == "hup" {
				got, err := os.ReadFile(filepath.Join(l.out, "signal"))
				require.NoError(t, err)
				require.Equal(t, "hup\n", string(got))
			}
		})
	}
}

func TestLaunchFindsClaude(t *testing.T) {
	t.Parallel()

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t, "alpha")
		// The user's PATH holds a claude; without it there is none.
		require.NoError(t, os.Remove(filepath.Join(l.pathDir, "claude")))
		if _, err := os.Stat("/usr/local/bin/claude"); err == nil {
			t.Skip("this machine has /usr/local/bin/claude")
		}
		r := l.run(t, []string{"CLAUDEMESH_CLAUDE_BIN="}, "launch", "--quiet")
		require.Equal(t, 1, r.code, r)
		require.False(t, r.ran)
		require.Contains(t, r.stderr, "✗ `claude` not found on PATH. Install Claude Code first (npm install -g @anthropic-ai/claude-code).")
	})

	t.Run("BadOverride", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t, "alpha")
		r := l.run(t, []string{"CLAUDEMESH_CLAUDE_BIN=" + filepath.Join(l.home, "nope")}, "launch", "--quiet")
		require.Equal(t, 1, r.code, r)
		require.Contains(t, r.stderr, "CLAUDEMESH_CLAUDE_BIN="+filepath.Join(l.home, "nope")+" is not an executable file")
	})

	t.Run("LocalBinBeforePath", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t, "alpha")
		l.install(t)
		// PATH's claude is the do-nothing stand-in; ~/.local/bin's records.
		writeFakeClaude(t, filepath.Join(l.home, ".local", "bin", "claude"))
		r := l.run(t, []string{"CLAUDEMESH_CLAUDE_BIN="}, "launch", "--quiet")
		require.Zero(t, r.code, r)
		require.True(t, r.ran, "~/.local/bin/claude ran")
	})

	t.Run("Path", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t, "alpha")
		l.install(t)
		writeFakeClaude(t, filepath.Join(l.pathDir, "claude"))
		r := l.run(t, []string{"CLAUDEMESH_CLAUDE_BIN="}, "launch", "--quiet")
		require.Zero(t, r.code, r)
		require.True(t, r.ran, "the claude on PATH ran")
	})
}

func TestLaunchMeshChoice(t *testing.T) {
	t.Parallel()

	t.Run("NoMeshes", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t)
		r := l.run(t, nil, "launch")
		require.Equal(t, 3, r.code, r)
		require.False(t, r.ran)
		require.Contains(t, r.stderr, "no meshes joined")
		require.Contains(t, r.stderr, "claudemesh join <invite link>")
		require.Contains(t, r.stderr, "claudemesh up")
	})

	t.Run("Several", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t, "alpha", "beta")
		l.install(t)
		r := l.run(t, nil, "launch")
		require.Equal(t, 2, r.code, r)
		require.False(t, r.ran)
		require.Contains(t, r.stderr, "several meshes joined (alpha, beta): pick one with --mesh")

		r = l.run(t, nil, "launch", "--mesh", "beta", "--quiet")
		require.Zero(t, r.code, r)
		require.Equal(t, "beta", r.env["CLAUDEMESH_MESH"])

		r = l.run(t, nil, "launch", "--mesh", "gamma")
		require.Equal(t, 2, r.code, r)
		require.False(t, r.ran)
		require.Contains(t, r.stderr, `no joined mesh "gamma"; joined: alpha, beta`)
	})

	t.Run("ConfiguredName", func(t *testing.T) {
		t.Parallel()
		l := newLauncher(t, "alpha")
		l.install(t)
		cfg, err := config.Load(l.configDir)
		require.NoError(t, err)
		cfg.DisplayName = "carol"
		require.NoError(t, config.Save(l.configDir, cfg))
		r := l.run(t, nil, "launch", "--quiet")
		require.Zero(t, r.code, r)
		require.Equal(t, "carol", r.env["CLAUDEMESH_DISPLAY_NAME"])
	})
}

func TestLaunchUsageErrors(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"launch", "--groups", "@eng"}, `--groups: group "@eng": a group name has no '@' (write eng)`},
		{[]string{"launch", "--groups", "my team"}, "a group name has no spaces"},
		{[]string{"launch", "--message-mode", "loud"}, `--message-mode "loud": use push, inbox or off`},
	} {
		r := l.run(t, nil, tt.args...)
		require.Equal(t, 2, r.code, r)
		require.False(t, r.ran)
		require.Contains(t, r.stderr, tt.want)
	}
	// A stray argument is an unknown command (exit 1, as cobra's).
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"launch", "oops"}, `unknown command "oops"; arguments for claude go after "--": claudemesh launch -- oops`},
		{[]string{"docter"}, `unknown command "docter" (did you mean "doctor"?); arguments for claude go after "--": claudemesh launch -- docter`},
	} {
		r := l.run(t, nil, tt.args...)
		require.Equal(t, 1, r.code, r)
		require.False(t, r.ran)
		require.Contains(t, r.stderr, tt.want)
	}
}

// TestLaunchMCPConfig checks that a session whose Claude Code lacks our MCP
// server gets it for the session (--mcp-config), and one that has it does
// not.
func TestLaunchMCPConfig(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	r := l.run(t, nil, "launch", "-y")
	require.Zero(t, r.code, r)
	require.Equal(t, []string{channelFlag, "server:claudemesh", "--mcp-config"}, r.argv[:3])
	var mcp struct {
		MCPServers map[string]struct {
			Type    string   `json:"type"`
			Command string   `json:"command"`
			Args    []string `json:"args"`
		} `json:"mcpServers"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.argv[3]), &mcp), r.argv[3])
	require.Len(t, mcp.MCPServers, 1)
	entry := mcp.MCPServers["claudemesh"]
	require.Equal(t, "stdio", entry.Type)
	require.Equal(t, []string{"mcp"}, entry.Args)
	require.True(t, filepath.IsAbs(entry.Command), entry.Command)
	same, err := os.Stat(entry.Command)
	require.NoError(t, err)
	built, err := os.Stat(binary)
	require.NoError(t, err)
	require.True(t, os.SameFile(same, built), "the entry runs this binary: %s", entry.Command)
	require.Equal(t, "--session-id", r.argv[4])
	require.Equal(t, "--dangerously-skip-permissions", r.argv[6])
	require.Contains(t, r.stderr, "claudemesh is not in ~/.claude.json: added it for this session only; run `")
	require.Contains(t, r.stderr, " install` to add it for every session.")

	l.install(t)
	r = l.run(t, nil, "launch", "-y")
	require.Zero(t, r.code, r)
	require.NotContains(t, r.argv, "--mcp-config")
	require.NotContains(t, r.stderr, "install")
}

// TestLaunchImplicit checks classic's friction reducer: a first argument
// that is not a command means launch.
func TestLaunchImplicit(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha")
	l.install(t)

	r := l.run(t, nil, "-y", "--quiet")
	require.Zero(t, r.code, r)
	require.Equal(t, "--dangerously-skip-permissions", r.argv[4], r)

	r = l.run(t, nil, "--resume", "abc", "--quiet")
	require.Zero(t, r.code, r)
	require.Equal(t, []string{channelFlag, "server:claudemesh", "--resume", "abc"}, r.argv)

	r = l.run(t, nil, "--", "--model", "opus")
	require.Zero(t, r.code, r)
	require.Equal(t, []string{"--model", "opus"}, r.argv[4:])

	// Commands, help and bare claudemesh are left alone.
	for _, args := range [][]string{{"version"}, {"--help"}, {"-h"}, {"help"}, {}, {"list"}} {
		r = l.run(t, nil, args...)
		require.Zero(t, r.code, "claudemesh %q: %s", args, r)
		require.False(t, r.ran, "claudemesh %q ran claude", args)
	}
}

// TestLaunchJoin joins by invite inline, then launches into that mesh.
func TestLaunchJoin(t *testing.T) {
	t.Parallel()
	owner := newUserHome(t)
	b := owner.up(t)
	var inv map[string]any
	require.NoError(t, json.Unmarshal([]byte(owner.ok(t, "invite", "--mesh", "local", "--json")), &inv))
	link, _ := inv["joinUrl"].(string)
	require.True(t, strings.HasPrefix(link, "http://"+b.addr+"/join/"), link)

	l := newLauncher(t)
	l.install(t)
	r := l.run(t, nil, "launch", "--join", link, "--name", "dave", "--quiet")
	require.Zero(t, r.code, r)
	require.Equal(t, "local", r.env["CLAUDEMESH_MESH"])
	require.Equal(t, "dave", r.env["CLAUDEMESH_DISPLAY_NAME"])
	cfg, err := config.Load(l.configDir)
	require.NoError(t, err)
	m, ok := cfg.Find("local")
	require.True(t, ok, "the mesh was saved")
	require.NotEmpty(t, m.MemberID)

	r = l.run(t, nil, "launch", "--join", "https://example.invalid/join/not-a-token", "--quiet")
	require.Equal(t, 2, r.code, r)
	require.False(t, r.ran)
	require.Contains(t, r.stderr, "join with --join:")
}
