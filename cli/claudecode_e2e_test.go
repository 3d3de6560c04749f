package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// claudeEnvVar names the claude executable the optional Claude Code test
// runs against.
const claudeEnvVar = "CLAUDEMESH_TEST_CLAUDE"

// claudeCode is the real Claude Code client of one userHome, kept offline.
type claudeCode struct {
	bin, dir string
	env      []string
}

// newClaudeCode runs claude in u's HOME, in a project directory there,
// with nothing that reaches out: no updater, no nonessential traffic, and
// the API on a closed loopback port with no retries. A custom API URL also
// keeps Claude Code from fetching remote managed settings, whose retries
// against the unreachable default API take about 18 s.
func newClaudeCode(t *testing.T, bin string, u *userHome) *claudeCode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	api := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	dir := filepath.Join(u.home, "proj")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	return &claudeCode{bin: bin, dir: dir, env: []string{
		"HOME=" + u.home, "PATH=" + os.Getenv("PATH"), "CLAUDEMESH_CONFIG_DIR=" + u.configDir,
		"DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"ANTHROPIC_API_KEY=offline-test", "ANTHROPIC_BASE_URL=" + api, "CLAUDE_CODE_MAX_RETRIES=0",
	}}
}

func (c *claudeCode) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = c.dir, c.env, 5*time.Second
	return cmd
}

// claudeSession is "claude -p" speaking stream-json on stdin and stdout:
// one process, a turn per prompt written.
type claudeSession struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan map[string]any
	stderr *lockedBuffer
	// exited is closed when claude has exited.
	exited chan struct{}
}

func (c *claudeCode) start(t *testing.T, debugFile string) *claudeSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s := &claudeSession{t: t, events: make(chan map[string]any, 256), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = c.command(ctx, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
		"--verbose", "--include-hook-events", "--debug-file", debugFile)
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, s.stderr
	var err error
	s.stdin, err = s.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())
	go func() {
		_ = s.cmd.Wait() // non-zero: the API was unreachable
		_ = pw.Close()
		close(s.exited)
	}()
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				s.events <- ev
			}
		}
	}()
	t.Cleanup(func() {
		go func() { // drain, so that claude's output never blocks
			for range s.events {
			}
		}()
		_ = s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
		}
		cancel()
		<-s.exited
	})
	return s
}

// turn sends a prompt and returns the events of its turn, its result last.
func (s *claudeSession) turn(prompt string) []map[string]any {
	s.t.Helper()
	line, err := json.Marshal(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": prompt}})
	require.NoError(s.t, err)
	_, err = s.stdin.Write(append(line, '\n'))
	require.NoError(s.t, err)
	var got []map[string]any
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-s.events:
			require.True(s.t, ok, "claude ended during the turn:\n%s", s.stderr)
			got = append(got, ev)
			if ev["type"] == "result" {
				return got
			}
		case <-timeout:
			s.t.Fatalf("no result for the turn after 1m; events so far: %v\nstderr:\n%s", got, s.stderr)
		}
	}
}

// close ends the input and waits for claude to exit.
func (s *claudeSession) close() {
	s.t.Helper()
	require.NoError(s.t, s.stdin.Close())
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Fatal("claude did not exit within 30s of the end of its input")
	}
}

// promptHooks are the UserPromptSubmit hook results among a turn's events.
func promptHooks(events []map[string]any) []map[string]any {
	var hooks []map[string]any
	for _, ev := range events {
		if ev["subtype"] == "hook_response" && ev["hook_event"] == "UserPromptSubmit" {
			hooks = append(hooks, ev)
		}
	}
	return hooks
}

// TestClaudeCode checks "claudemesh install" and "claudemesh mcp" with the
// real Claude Code, offline: "claude mcp get" sees the server connected;
// "claude -p" negotiates the legacy protocol (2025-11-25, after refusing
// the server/discover probe), lists every tool install pre-approved, and
// runs the UserPromptSubmit hook, which prints nothing until a peer's
// message waits and then prints it into the prompt, once.
func TestClaudeCode(t *testing.T) {
	bin := os.Getenv(claudeEnvVar)
	if bin == "" {
		t.Skip("needs Claude Code: npm install --prefix /tmp/claude-code @anthropic-ai/claude-code@2.1.332, then " +
			claudeEnvVar + "=/tmp/claude-code/node_modules/.bin/claude go test -run TestClaudeCode .")
	}
	t.Parallel()
	u := newUserHome(t)
	u.up(t)
	u.ok(t, "install")
	cc := newClaudeCode(t, bin, u)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := cc.command(ctx, "mcp", "get", "claudemesh").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "Status: ✔ Connected", string(out)) // it exits 0 when it fails too

	debugFile := filepath.Join(t.TempDir(), "claude-debug.txt")
	s := cc.start(t, debugFile)
	first := s.turn("hi")

	var init map[string]any
	for _, ev := range first {
		if ev["type"] == "system" && ev["subtype"] == "init" {
			init = ev
		}
	}
	require.NotNil(t, init, "no init event: %v", first)
	require.Contains(t, init["mcp_servers"], map[string]any{"name": "claudemesh", "status": "connected", "source": "user"})
	var settings struct {
		Permissions struct {
			Allow []string `json:"allow"`
		} `json:"permissions"`
	}
	require.NoError(t, json.Unmarshal([]byte(u.read(t, ".claude/settings.json")), &settings))
	require.NotEmpty(t, settings.Permissions.Allow)
	for _, tool := range settings.Permissions.Allow {
		require.Contains(t, init["tools"], tool, "install pre-approves a tool the server does not list")
	}
	hooks := promptHooks(first)
	require.Len(t, hooks, 1, "events: %v", first)
	require.Equal(t, "success", hooks[0]["outcome"], hooks[0])
	require.EqualValues(t, 0, hooks[0]["exit_code"], hooks[0])
	require.Empty(t, hooks[0]["stdout"], "nothing waits, so the hook prints nothing")

	var established string
	require.Eventually(t, func() bool {
		log, _ := os.ReadFile(debugFile)
		for l := range strings.Lines(string(log)) {
			if strings.Contains(l, `MCP server "claudemesh": Connection established`) {
				established = l
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
	require.Contains(t, established, `"protocolEra":"legacy"`)
	require.Contains(t, established, `"negotiatedProtocolVersion":"2025-11-25"`)
	require.Contains(t, established, `"serverVersion":{"name":"claudemesh"`)

	// A peer writes to this session while it has no channel: the next
	// prompt's hook prints the message. "now", because offline no turn ends
	// with Stop (StopFailure instead), so the session stays "working" and
	// the broker would hold a "next" message until its working TTL.
	var inv map[string]any
	require.NoError(t, json.Unmarshal([]byte(u.ok(t, "invite", "--mesh", "local", "--json")), &inv))
	bob := newUserHome(t)
	bob.ok(t, "join", inv["joinUrl"].(string), "--name", "bob")
	var pubkey string
	require.Eventually(t, func() bool {
		out, _, code := bob.run(t, "peers", "--mesh", "local", "--json")
		var peers []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &peers) != nil {
			return false
		}
		for _, p := range peers {
			if p["sessionId"] == init["session_id"] {
				pubkey, _ = p["pubkey"].(string)
			}
		}
		return pubkey != ""
	}, 30*time.Second, 100*time.Millisecond, "the session never showed among bob's peers")
	const text = "the build is green, from bob"
	bob.ok(t, "send", pubkey, text, "--mesh", "local", "--priority", "now")

	var printed string
	for deadline := time.Now().Add(30 * time.Second); printed == ""; {
		require.True(t, time.Now().Before(deadline), "no prompt hook printed the message within 30s")
		for _, h := range promptHooks(s.turn("anything new?")) {
			require.EqualValues(t, 0, h["exit_code"], h)
			if out, _ := h["stdout"].(string); strings.Contains(out, text) {
				printed = out
			}
		}
		if printed == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	require.True(t, strings.HasPrefix(printed, "<claudemesh>\n1 message(s) from peers arrived"), printed)
	again := promptHooks(s.turn("and now?"))
	require.Len(t, again, 1)
	require.NotContains(t, again[0]["stdout"], text, "the message was printed twice")
	t.Logf("handshake: %s\nhook printed: %q", established, printed)
	s.close()

	log, err := os.ReadFile(debugFile)
	require.NoError(t, err)
	require.NotContains(t, string(log), `MCP server \"claudemesh\" Server stderr`, "claudemesh mcp wrote to stderr")
}
