package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mcpWait bounds every wait of the MCP end-to-end tests.
const mcpWait = 20 * time.Second

// mcpProc is a `claudemesh mcp` process spoken to over stdio the way
// Claude Code does: newline-delimited JSON-RPC.
type mcpProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	nextID  int
	waiters map[string]chan rpcMessage
	// notes receives every notification the server sends.
	notes chan rpcMessage
	// raw keeps every line the server wrote, for failure messages.
	raw strings.Builder
}

type rpcMessage struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// startMCP starts the server with a config dir and extra environment.
func startMCP(t *testing.T, configDir string, env ...string) *mcpProc {
	t.Helper()
	cmd := exec.Command(binary, "mcp", "--channel-grace", "100ms", "--confirm-wait", "300ms")
	cmd.Env = append(os.Environ(), "CLAUDEMESH_CONFIG_DIR="+configDir, "CLAUDEMESH_DEBUG=1")
	cmd.Env = append(cmd.Env, env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	p := &mcpProc{t: t, cmd: cmd, stdin: stdin, waiters: map[string]chan rpcMessage{}, notes: make(chan rpcMessage, 256)}
	go p.read(stdout)
	t.Cleanup(func() {
		_ = stdin.Close() // Claude Code closing stdin ends the server
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("claudemesh mcp exited with %v\nstderr:\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("claudemesh mcp did not exit when its stdin closed\nstderr:\n%s", stderr.String())
		}
		if t.Failed() {
			t.Logf("claudemesh mcp stderr:\n%s", stderr.String())
		}
	})
	return p
}

func (p *mcpProc) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		p.mu.Lock()
		p.raw.Write(line)
		p.raw.WriteByte('\n')
		p.mu.Unlock()
		var m rpcMessage
		if err := json.Unmarshal(line, &m); err != nil {
			p.t.Errorf("stdout line is not JSON-RPC: %q", line)
			continue
		}
		if m.Method != "" && m.ID == nil {
			p.notes <- m
			continue
		}
		if m.Method != "" {
			continue // a server request (none expected)
		}
		p.mu.Lock()
		w := p.waiters[string(m.ID)]
		p.mu.Unlock()
		if w != nil {
			w <- m
		}
	}
	close(p.notes)
}

// call sends a request and waits for its answer.
func (p *mcpProc) call(method string, params any) rpcMessage {
	return p.callID("", method, params)
}

func (p *mcpProc) callID(id, method string, params any) rpcMessage {
	p.t.Helper()
	p.mu.Lock()
	if id == "" {
		p.nextID++
		id = fmt.Sprint(p.nextID)
	}
	rawID, _ := json.Marshal(id)
	w := make(chan rpcMessage, 1)
	p.waiters[string(rawID)] = w
	p.mu.Unlock()
	p.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	select {
	case m := <-w:
		return m
	case <-time.After(mcpWait):
		p.mu.Lock()
		defer p.mu.Unlock()
		p.t.Fatalf("no answer to %s within %s; stdout so far:\n%s", method, mcpWait, p.raw.String())
		return rpcMessage{}
	}
}

func (p *mcpProc) send(msg map[string]any) {
	p.t.Helper()
	b, err := json.Marshal(msg)
	require.NoError(p.t, err)
	_, err = p.stdin.Write(append(b, '\n'))
	require.NoError(p.t, err)
}

// handshake does what Claude Code 2.1.332 does: the 2026-07-28
// server/discover probe (which a channel server must refuse), then the
// legacy initialize on 2025-11-25 and notifications/initialized. It
// returns the initialize result.
func (p *mcpProc) handshake() map[string]any {
	p.t.Helper()
	probe := p.callID("server-discover-probe-1", "server/discover", map[string]any{"_meta": map[string]any{
		"io.modelcontextprotocol/protocolVersion": "2026-07-28",
		"io.modelcontextprotocol/clientInfo":      map[string]any{"name": "claude-code", "version": "2.1.332"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{
			"roots": map[string]any{"listChanged": true}, "elicitation": map[string]any{"form": map[string]any{}, "url": map[string]any{}},
		},
	}})
	require.NotNil(p.t, probe.Error, "the discover probe must be refused: %s", probe.Result)
	require.Equal(p.t, -32022, probe.Error.Code, probe.Error.Message)

	init := p.call("initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{"roots": map[string]any{"listChanged": true}},
		"clientInfo":      map[string]any{"name": "claude-code", "version": "2.1.332"},
	})
	require.Nil(p.t, init.Error)
	var res map[string]any
	require.NoError(p.t, json.Unmarshal(init.Result, &res))
	require.Equal(p.t, "2025-11-25", res["protocolVersion"])
	p.send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	return res
}

// tool calls a tool and returns its text and whether it is an error.
func (p *mcpProc) tool(name string, args map[string]any) (string, bool) {
	p.t.Helper()
	m := p.call("tools/call", map[string]any{"name": name, "arguments": args})
	require.Nil(p.t, m.Error, "tools/call %s", name)
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	require.NoError(p.t, json.Unmarshal(m.Result, &res))
	texts := make([]string, 0, len(res.Content))
	for _, c := range res.Content {
		texts = append(texts, c.Text)
	}
	return strings.Join(texts, "\n"), res.IsError
}

// mustTool calls a tool that must succeed.
func (p *mcpProc) mustTool(name string, args map[string]any) string {
	p.t.Helper()
	text, isErr := p.tool(name, args)
	require.False(p.t, isErr, "%s: %s", name, text)
	return text
}

type channelNote struct {
	Content string            `json:"content"`
	Meta    map[string]string `json:"meta"`
}

// expectChannel waits for a channel notification that matches, skipping
// others (system events, welcomes).
func (p *mcpProc) expectChannel(match func(channelNote) bool) channelNote {
	p.t.Helper()
	deadline := time.After(mcpWait)
	for {
		select {
		case m, ok := <-p.notes:
			require.True(p.t, ok, "the server's stdout closed")
			if m.Method != "notifications/claude/channel" {
				continue
			}
			requireFlatMeta(p.t, m.Params)
			var n channelNote
			require.NoError(p.t, json.Unmarshal(m.Params, &n))
			if match(n) {
				return n
			}
		case <-deadline:
			p.t.Fatalf("no matching channel notification within %s", mcpWait)
		}
	}
}

// expectNoMessage checks that no channel notification about peer messages
// arrives for a while.
func (p *mcpProc) expectNoMessage(d time.Duration) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-p.notes:
			if m.Method == "notifications/claude/channel" && !strings.Contains(string(m.Params), `"kind":"system"`) &&
				!strings.Contains(string(m.Params), `"kind":"welcome"`) {
				p.t.Fatalf("unexpected channel notification: %s", m.Params)
			}
		case <-deadline:
			return
		}
	}
}

var metaKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// requireFlatMeta checks what Claude Code requires of a channel
// notification: meta is a flat map of strings under identifier keys.
func requireFlatMeta(t *testing.T, params json.RawMessage) {
	t.Helper()
	var raw struct {
		Content any            `json:"content"`
		Meta    map[string]any `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(params, &raw))
	_, ok := raw.Content.(string)
	require.True(t, ok, "content must be a string: %s", params)
	for k, v := range raw.Meta {
		require.Regexp(t, metaKey, k)
		_, ok := v.(string)
		require.True(t, ok, "meta %s must be a string: %s", k, params)
	}
}

// waitForPeer polls list_peers until a peer with the name is listed.
func (p *mcpProc) waitForPeer(name string) {
	p.t.Helper()
	require.Eventually(p.t, func() bool {
		text, isErr := p.tool("list_peers", nil)
		return !isErr && strings.Contains(text, "- "+name+" [")
	}, mcpWait, 100*time.Millisecond, "peer %s never listed", name)
}

// sentID reads the message id from a send_message result line.
func sentID(t *testing.T, result string) string {
	t.Helper()
	m := regexp.MustCompile(`✓ \S+ → (\S+)`).FindStringSubmatch(result)
	require.NotNil(t, m, result)
	return m[1]
}

// waitDelivered polls message_status until the message is delivered.
func (p *mcpProc) waitDelivered(id string) string {
	p.t.Helper()
	var text string
	require.Eventually(p.t, func() bool {
		text = p.mustTool("message_status", map[string]any{"id": id})
		return strings.Contains(text, "delivered to everyone")
	}, mcpWait, 100*time.Millisecond, "message %s never delivered", id)
	return text
}

// runHook runs `claudemesh hook <event>` as Claude Code does and returns
// its stdout.
func runHook(t *testing.T, configDir, sessionID, event string, stdin map[string]any) string {
	t.Helper()
	cmd := exec.Command(binary, "hook", event)
	cmd.Env = append(os.Environ(), "CLAUDEMESH_CONFIG_DIR="+configDir, "CLAUDE_CODE_SESSION_ID="+sessionID)
	in, err := json.Marshal(stdin)
	require.NoError(t, err)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	require.NoError(t, err, "hooks always exit 0")
	return string(out)
}

// TestMCPServers drives two members' `claudemesh mcp` processes over stdio
// as Claude Code does and checks every way a message reaches the model.
func TestMCPServers(t *testing.T) {
	t.Parallel()
	dataDir, owner, aliceDir, bobDir := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	b := startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir, "CLAUDEMESH_CONFIG_DIR=" + owner}, "up", "--listen", "127.0.0.1:0", "--log-level", "warn")
	require.Eventually(t, func() bool { return strings.Contains(b.stdout.String(), `Created the local mesh "local"`) }, 10*time.Second, 50*time.Millisecond, b.stdout.String())
	token, err := os.ReadFile(dataDir + "/operator-token")
	require.NoError(t, err)
	var created map[string]any
	runJSON(t, owner, &created, "mesh", "create", "Team", "--broker", "ws://"+b.addr+"/ws", "--token", strings.TrimSpace(string(token)))
	var inv map[string]any
	runJSON(t, owner, &inv, "invite", "--mesh", "team", "--max-uses", "2")
	run(t, aliceDir, "join", inv["joinUrl"].(string), "--name", "alice")
	run(t, bobDir, "join", inv["joinUrl"].(string), "--name", "bob")

	session := func(name string) []string {
		return []string{"CLAUDE_CODE_SESSION_ID=" + name + "-0b6e-4a51-9d1f-session", "CLAUDEMESH_DISPLAY_NAME=" + name, "CLAUDEMESH_MESH=team"}
	}
	alice := startMCP(t, aliceDir, append(session("alice"), "CLAUDEMESH_CHANNELS=1")...)
	init := alice.handshake()
	caps := init["capabilities"].(map[string]any)
	require.Contains(t, caps["experimental"], "claude/channel")
	require.Equal(t, "claudemesh", init["serverInfo"].(map[string]any)["name"])
	require.Contains(t, init["instructions"], "You are alice")

	tools := alice.call("tools/list", map[string]any{})
	require.Nil(t, tools.Error)
	for _, name := range []string{"send_message", "check_messages", "list_peers", "message_status", "set_summary", "set_status",
		"set_visible", "set_profile", "join_group", "leave_group", "get_state", "set_state", "list_state", "mesh_info"} {
		require.Contains(t, string(tools.Result), `"name":"`+name+`"`)
	}

	// bob (push, channels on) is in the subgroup eng/backend.
	bob := startMCP(t, bobDir, append(session("bob"), "CLAUDEMESH_CHANNELS=1", "CLAUDEMESH_GROUPS=eng/backend:lead")...)
	bob.handshake()
	// carol reads in inbox mode, dave has messages off, erin has no
	// channel: three more sessions of bob's member.
	carol := startMCP(t, bobDir, append(session("carol"), "CLAUDEMESH_CHANNELS=1", "CLAUDEMESH_MESSAGE_MODE=inbox")...)
	carol.handshake()
	dave := startMCP(t, bobDir, append(session("dave"), "CLAUDEMESH_CHANNELS=1", "CLAUDEMESH_MESSAGE_MODE=off")...)
	dave.handshake()
	erinSession := "erin-0b6e-4a51-9d1f-session"
	erin := startMCP(t, bobDir, append(session("erin"), "CLAUDEMESH_CHANNELS=0")...)
	erin.handshake()
	for _, name := range []string{"bob", "carol", "dave", "erin"} {
		alice.waitForPeer(name)
	}

	t.Run("direct message arrives as a channel notification", func(t *testing.T) {
		res := alice.mustTool("send_message", map[string]any{"to": "bob", "message": "hello bob, can you review the API?", "priority": "now"})
		id := sentID(t, res)
		n := bob.expectChannel(func(n channelNote) bool { return n.Meta["message_id"] == id })
		require.Equal(t, "hello bob, can you review the API?", n.Content)
		require.Equal(t, "alice", n.Meta["from_name"])
		require.Equal(t, "direct", n.Meta["kind"])
		require.Equal(t, "now", n.Meta["priority"])
		require.Equal(t, "team", n.Meta["mesh_slug"])
		require.Len(t, n.Meta["from_id"], 64)
		require.NotEmpty(t, n.Meta["sent_at"])
		status := alice.waitDelivered(id)
		require.Contains(t, status, "- bob: delivered")
		// It reached the model once: check_messages has nothing more.
		require.Equal(t, "No new messages.", bob.mustTool("check_messages", nil))
	})

	t.Run("a group message reaches a member of a subgroup", func(t *testing.T) {
		res := alice.mustTool("send_message", map[string]any{"to": "@eng", "message": "standup in 5"})
		id := sentID(t, res)
		n := bob.expectChannel(func(n channelNote) bool { return n.Meta["message_id"] == id })
		require.Equal(t, "standup in 5", n.Content)
		require.Equal(t, "group", n.Meta["kind"])
		require.Equal(t, "@eng", n.Meta["group"])
	})

	t.Run("inbox mode notifies and check_messages reads", func(t *testing.T) {
		id := sentID(t, alice.mustTool("send_message", map[string]any{"to": "carol", "message": "carol, the build is red"}))
		n := carol.expectChannel(func(n channelNote) bool { return n.Meta["kind"] == "inbox_notification" })
		require.Equal(t, "[inbox] New message from alice. Use check_messages to read.", n.Content)
		require.NotContains(t, alice.mustTool("message_status", map[string]any{"id": id}), "delivered to everyone")
		require.Contains(t, carol.mustTool("check_messages", nil), "carol, the build is red")
		alice.waitDelivered(id)
		require.Equal(t, "No new messages.", carol.mustTool("check_messages", nil))
	})

	t.Run("off mode pushes nothing", func(t *testing.T) {
		id := sentID(t, alice.mustTool("send_message", map[string]any{"to": "dave", "message": "dave, FYI"}))
		dave.expectNoMessage(time.Second)
		require.NotContains(t, alice.mustTool("message_status", map[string]any{"id": id}), "delivered to everyone")
		require.Contains(t, dave.mustTool("check_messages", nil), "dave, FYI")
		alice.waitDelivered(id)
	})

	t.Run("the UserPromptSubmit hook prints what the channel could not", func(t *testing.T) {
		id := sentID(t, alice.mustTool("send_message", map[string]any{"to": "erin", "message": "erin, ping from alice"}))
		erin.expectNoMessage(500 * time.Millisecond)
		// The message is held for the model, not acked.
		require.NotContains(t, alice.mustTool("message_status", map[string]any{"id": id}), "delivered to everyone")
		out := runHook(t, bobDir, erinSession, "working", map[string]any{
			"session_id": erinSession, "hook_event_name": "UserPromptSubmit", "prompt": "hi", "cwd": t.TempDir(),
		})
		require.Contains(t, out, "erin, ping from alice")
		require.Contains(t, out, "alice")
		alice.waitDelivered(id)
		// Acked once: the next prompt and check_messages see nothing more.
		require.Empty(t, runHook(t, bobDir, erinSession, "working", map[string]any{"session_id": erinSession, "prompt": "again"}))
		require.Equal(t, "No new messages.", erin.mustTool("check_messages", nil))
	})

	t.Run("the Stop hook blocks once for an urgent message", func(t *testing.T) {
		id := sentID(t, alice.mustTool("send_message", map[string]any{"to": "erin", "message": "erin, prod is down", "priority": "now"}))
		require.Eventually(t, func() bool {
			text := erin.mustTool("mesh_info", nil)
			return strings.Contains(text, "1 message(s) waiting")
		}, mcpWait, 100*time.Millisecond)
		// A stop that is already continuing because of a hook is not blocked.
		require.Empty(t, runHook(t, bobDir, erinSession, "idle", map[string]any{"session_id": erinSession, "stop_hook_active": true}))
		out := runHook(t, bobDir, erinSession, "idle", map[string]any{"session_id": erinSession, "stop_hook_active": false})
		var decision map[string]string
		require.NoError(t, json.Unmarshal([]byte(out), &decision), out)
		require.Equal(t, "block", decision["decision"])
		require.Contains(t, decision["reason"], "erin, prod is down")
		alice.waitDelivered(id)
		require.Empty(t, runHook(t, bobDir, erinSession, "idle", map[string]any{"session_id": erinSession}))
	})

	t.Run("under Claude Code a channel message is acked when the transcript shows it", func(t *testing.T) {
		claudeDir := t.TempDir()
		frankSession := "frank-0b6e-4a51-9d1f-session"
		transcript := filepath.Join(claudeDir, "projects", "-home-u-proj", frankSession+".jsonl")
		require.NoError(t, os.MkdirAll(filepath.Dir(transcript), 0o700))
		require.NoError(t, os.WriteFile(transcript, []byte(`{"type":"user","message":{"content":"hi"}}`+"\n"), 0o600))
		frank := startMCP(t, bobDir, append(session("frank"), "CLAUDEMESH_CHANNELS=1", "CLAUDECODE=1", "CLAUDE_CONFIG_DIR="+claudeDir)...)
		frank.handshake()
		alice.waitForPeer("frank")

		// The model saw this one: Claude Code wrote it to the transcript.
		seen := sentID(t, alice.mustTool("send_message", map[string]any{"to": "frank", "message": "frank, the deploy is done"}))
		n := frank.expectChannel(func(n channelNote) bool { return n.Meta["message_id"] == seen })
		time.Sleep(1500 * time.Millisecond) // a confirmation scan or more
		require.NotContains(t, alice.mustTool("message_status", map[string]any{"id": seen}), "delivered to everyone",
			"written to the channel is not yet delivered")
		line, err := json.Marshal(map[string]any{"type": "user", "message": map[string]any{"content": fmt.Sprintf(
			`<channel source="claudemesh" from_name=%q message_id=%q>%s</channel>`, n.Meta["from_name"], seen, n.Content)}})
		require.NoError(t, err)
		f, err := os.OpenFile(transcript, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.Write(append(line, '\n'))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		alice.waitDelivered(seen)

		// This one Claude Code dropped (no channel registered): the next
		// prompt's hook hands it over, and only then is it delivered.
		dropped := sentID(t, alice.mustTool("send_message", map[string]any{"to": "frank", "message": "frank, did you see this?"}))
		frank.expectChannel(func(n channelNote) bool { return n.Meta["message_id"] == dropped })
		var out string
		require.Eventually(t, func() bool {
			out = runHook(t, bobDir, frankSession, "working", map[string]any{"session_id": frankSession, "transcript_path": transcript, "prompt": "next"})
			return out != ""
		}, mcpWait, 200*time.Millisecond)
		require.Contains(t, out, "frank, did you see this?")
		require.NotContains(t, out, "the deploy is done", "a message the transcript showed is not handed over again")
		alice.waitDelivered(dropped)
	})

	t.Run("state and presence tools", func(t *testing.T) {
		require.Contains(t, alice.mustTool("set_state", map[string]any{"key": "release", "value": map[string]any{"version": "1.2", "frozen": true}}), "State set")
		require.Eventually(t, func() bool {
			return strings.Contains(bob.mustTool("get_state", map[string]any{"key": "release"}), `release = {"frozen":true,"version":"1.2"}`)
		}, mcpWait, 100*time.Millisecond)
		require.Contains(t, bob.mustTool("list_state", nil), "- release = ")
		bob.mustTool("set_summary", map[string]any{"summary": "reviewing the API"})
		require.Eventually(t, func() bool {
			return strings.Contains(alice.mustTool("list_peers", nil), `"reviewing the API"`)
		}, mcpWait, 100*time.Millisecond)
		_, isErr := alice.tool("send_message", map[string]any{"to": "nobody-here", "message": "hi"})
		require.True(t, isErr)
	})
}
