package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/hooklink"
	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
)

// mcpStandIn stands in for the session's "claudemesh mcp" server (not part
// of these tests): "working" hands out pending text, "idle" blocks the stop
// once while urgent text waits.
type mcpStandIn struct {
	context, urgent string
	// stall, when set, hangs every answer until it is closed.
	stall   chan struct{}
	printed chan string

	mu   sync.Mutex
	reqs []hooklink.Request
}

func newMCPStandIn() *mcpStandIn { return &mcpStandIn{printed: make(chan string, 16)} }

func (s *mcpStandIn) Hook(_ context.Context, req hooklink.Request) (hooklink.Response, error) {
	if s.stall != nil {
		<-s.stall
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	switch {
	case req.Event == "working" && s.context != "":
		return hooklink.Response{Context: s.context, Delivery: "deliver-context"}, nil
	case req.Event == "idle" && s.urgent != "" && !req.StopHookActive:
		return hooklink.Response{Block: true, Reason: s.urgent, Delivery: "deliver-urgent"}, nil
	}
	return hooklink.Response{}, nil
}

func (s *mcpStandIn) Printed(delivery string) { s.printed <- delivery }

func (s *mcpStandIn) requests() []hooklink.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hooklink.Request(nil), s.reqs...)
}

// nextPrinted waits for the hook's confirmation.
func (s *mcpStandIn) nextPrinted(t *testing.T) string {
	t.Helper()
	select {
	case d := <-s.printed:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the hook did not confirm its output")
		return ""
	}
}

// serveSession serves the stand-in on the session's hook link.
func serveSession(t *testing.T, configDir, session string, s *mcpStandIn) {
	t.Helper()
	l, err := hooklink.Listen(configDir, session, s, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
}

// runHookCommand runs "claudemesh hook args..." in process with vars as the
// whole environment and returns stdout and stderr. The command must not
// fail.
func runHookCommand(t *testing.T, vars map[string]string, stdin io.Reader, args ...string) (string, string) {
	t.Helper()
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	env := &cli.Env{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Getenv:  func(k string) string { return vars[k] },
		NowFunc: time.Now,
	}
	root := cli.NewRootCommand(env)
	root.SetArgs(append([]string{"hook"}, args...))
	require.NoError(t, root.ExecuteContext(t.Context()))
	return stdout.String(), stderr.String()
}

// statusRecorder is a broker stand-in that records POST bodies.
type statusRecorder struct {
	*httptest.Server
	mu     sync.Mutex
	posts  []string
	bodies []map[string]any
}

func newStatusRecorder(t *testing.T) *statusRecorder {
	t.Helper()
	r := &statusRecorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		r.posts = append(r.posts, req.Method+" "+req.URL.Path+" "+req.Header.Get("Content-Type"))
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"pending":true}`))
	}))
	t.Cleanup(r.Close)
	return r
}

// wsURL is the recorder's address as a mesh's brokerUrl.
func (r *statusRecorder) wsURL() string {
	return "ws://" + strings.TrimPrefix(r.URL, "http://") + "/ws"
}

func (r *statusRecorder) received() ([]string, []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.posts...), append([]map[string]any(nil), r.bodies...)
}

// saveBrokers writes a config with one mesh per broker URL.
func saveBrokers(t *testing.T, configDir string, brokerURLs ...string) {
	t.Helper()
	cfg := &config.Config{Version: 1}
	for i, u := range brokerURLs {
		cfg.Put(config.Mesh{Slug: "mesh-" + string(rune('a'+i)), BrokerURL: u})
	}
	require.NoError(t, config.Save(configDir, cfg))
}

func TestHookWithMCPServer(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		vars    map[string]string
		mcp     *mcpStandIn
		session string
		broker  *statusRecorder
	}
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		tb := &testBundle{
			vars:    map[string]string{"CLAUDEMESH_CONFIG_DIR": t.TempDir()},
			mcp:     newMCPStandIn(),
			session: "8a78c7e2-" + strings.ReplaceAll(t.Name(), "/", "-"),
			broker:  newStatusRecorder(t),
		}
		// With a server the hook does not post: the server reports.
		saveBrokers(t, tb.vars["CLAUDEMESH_CONFIG_DIR"], tb.broker.wsURL())
		serveSession(t, tb.vars["CLAUDEMESH_CONFIG_DIR"], tb.session, tb.mcp)
		t.Cleanup(func() {
			posts, _ := tb.broker.received()
			require.Empty(t, posts, "no fallback post while the server answers")
		})
		return tb
	}
	stdin := func(tb *testBundle, extra string) io.Reader {
		return strings.NewReader(`{"session_id":"` + tb.session + `","transcript_path":"/t.jsonl","cwd":"/home/u/proj","hook_event_name":"X"` + extra + `}`)
	}

	t.Run("WorkingPrintsContext", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "<channel source=\"claudemesh\" from=\"alice\">the build is green</channel>"
		out, errOut := runHookCommand(t, tb.vars, stdin(tb, `,"prompt":"hi"`), "working")
		require.Equal(t, tb.mcp.context, out)
		require.Empty(t, errOut)
		require.Equal(t, "deliver-context", tb.mcp.nextPrinted(t))
		require.Equal(t, []hooklink.Request{{Event: "working", Cwd: "/home/u/proj", TranscriptPath: "/t.jsonl"}}, tb.mcp.requests())
	})

	t.Run("WorkingWithNothingPending", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		out, errOut := runHookCommand(t, tb.vars, stdin(tb, ""), "working")
		require.Empty(t, out)
		require.Empty(t, errOut)
		require.Len(t, tb.mcp.requests(), 1)
	})

	t.Run("StopFailureOnlyReportsTheStatus", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.urgent = "Urgent message from bob: stop the deploy"
		// Claude Code ignores this hook's output: nothing may be taken.
		in := strings.NewReader(`{"session_id":"` + tb.session + `","cwd":"/home/u/proj","hook_event_name":"StopFailure","error":"server_error"}`)
		out, errOut := runHookCommand(t, tb.vars, in, "idle")
		require.Empty(t, out)
		require.Empty(t, errOut)
		require.Equal(t, []hooklink.Request{{Event: "idle", StopHookActive: true, Cwd: "/home/u/proj"}}, tb.mcp.requests())
	})

	t.Run("IdleBlocksOnce", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.urgent = "Urgent message from bob: stop the deploy"
		out, errOut := runHookCommand(t, tb.vars, stdin(tb, `,"stop_hook_active":false`), "idle")
		require.Empty(t, errOut)
		var block map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &block), "stdout %q", out)
		require.Equal(t, map[string]any{"decision": "block", "reason": tb.mcp.urgent}, block)
		require.Equal(t, "deliver-urgent", tb.mcp.nextPrinted(t))

		// Claude is continuing because of that block: the server lets it stop.
		out, _ = runHookCommand(t, tb.vars, stdin(tb, `,"stop_hook_active":true`), "idle")
		require.Empty(t, out)
		require.Equal(t, []hooklink.Request{
			{Event: "idle", Cwd: "/home/u/proj", TranscriptPath: "/t.jsonl"},
			{Event: "idle", StopHookActive: true, Cwd: "/home/u/proj", TranscriptPath: "/t.jsonl"},
		}, tb.mcp.requests())
	})

	t.Run("IdleWithNothingUrgent", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "only for the next prompt"
		out, _ := runHookCommand(t, tb.vars, stdin(tb, ""), "idle")
		require.Empty(t, out)
		require.Len(t, tb.mcp.requests(), 1)
	})

	t.Run("DND", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "not now"
		out, _ := runHookCommand(t, tb.vars, stdin(tb, ""), "dnd")
		require.Empty(t, out)
		require.Equal(t, []hooklink.Request{{Event: "dnd", Cwd: "/home/u/proj", TranscriptPath: "/t.jsonl"}}, tb.mcp.requests())
	})

	t.Run("SessionAndCwdFromEnvironment", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "hello"
		tb.vars["CLAUDE_CODE_SESSION_ID"] = tb.session
		tb.vars["CLAUDE_PROJECT_DIR"] = "/home/u/from-env"
		// Empty, garbage and cut-off inputs all fall back to the environment.
		for _, in := range []string{"", "not json {{{", `["session_id"]`, `{"session_id":42}`} {
			out, errOut := runHookCommand(t, tb.vars, strings.NewReader(in), "working")
			require.Equal(t, "hello", out, "stdin %q", in)
			require.Empty(t, errOut)
			require.Equal(t, "deliver-context", tb.mcp.nextPrinted(t))
		}
		for _, req := range tb.mcp.requests() {
			require.Equal(t, "/home/u/from-env", req.Cwd)
		}
	})

	t.Run("ServerUnderTheSpawnSessionID", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "hello"
		// After --continue the stdin id is new; the server keeps the id it
		// was spawned with, which the environment still carries.
		tb.vars["CLAUDE_CODE_SESSION_ID"] = tb.session
		out, _ := runHookCommand(t, tb.vars, strings.NewReader(`{"session_id":"a-newer-id","cwd":"/p"}`), "working")
		require.Equal(t, "hello", out)
		require.Equal(t, "deliver-context", tb.mcp.nextPrinted(t))
	})

	t.Run("CutInputKeepsLeadingFields", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.urgent = "urgent"
		// Longer than the 256 KiB the hook reads: the fields before the
		// cut still count (here: stop_hook_active, so no block).
		big := `{"session_id":"` + tb.session + `","cwd":"/p","stop_hook_active":true,"last_assistant_message":"` + strings.Repeat("x", 300<<10) + `"}`
		out, _ := runHookCommand(t, tb.vars, strings.NewReader(big), "idle")
		require.Empty(t, out)
		require.Equal(t, []hooklink.Request{{Event: "idle", StopHookActive: true, Cwd: "/p"}}, tb.mcp.requests())
	})

	t.Run("StdinNeverCloses", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "hello"
		tb.vars["CLAUDE_CODE_SESSION_ID"] = tb.session
		r, w := io.Pipe()
		t.Cleanup(func() { _ = w.Close() })
		out, _ := runHookCommand(t, tb.vars, r, "working")
		require.Equal(t, "hello", out)
	})

	t.Run("StalledServer", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.mcp.context = "too late"
		tb.mcp.stall = make(chan struct{})
		t.Cleanup(func() { close(tb.mcp.stall) })
		out, errOut := runHookCommand(t, tb.vars, stdin(tb, ""), "working")
		require.Empty(t, out)
		require.Empty(t, errOut)
	})

	t.Run("Debug", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		tb.vars["CLAUDEMESH_HOOK_DEBUG"] = "1"
		out, errOut := runHookCommand(t, tb.vars, stdin(tb, ""), "working")
		require.Empty(t, out)
		require.Contains(t, errOut, "nothing to print")
	})
}

func TestHookQuiet(t *testing.T) {
	t.Parallel()

	for name, tc := range map[string]struct {
		args  []string
		stdin string
		vars  map[string]string
	}{
		"UnknownEvent":     {args: []string{"sleeping"}, stdin: `{"session_id":"s"}`},
		"NoEvent":          {stdin: `{"session_id":"s"}`},
		"TooManyArgs":      {args: []string{"idle", "extra"}},
		"UnknownFlag":      {args: []string{"working", "--bogus"}},
		"GarbageNoServer":  {args: []string{"working"}, stdin: "\x00\xff garbage"},
		"NoSessionNoConf":  {args: []string{"idle"}, stdin: `{"cwd":"/p"}`},
		"NoServerEitherID": {args: []string{"working"}, stdin: `{"session_id":"s"}`, vars: map[string]string{"CLAUDE_CODE_SESSION_ID": "other"}},
		"BrokenConfig":     {args: []string{"working"}, stdin: `{"session_id":"s"}`, vars: map[string]string{"broken": "1"}},
		"DefaultConfigDir": {args: []string{"working"}, vars: map[string]string{"CLAUDEMESH_CONFIG_DIR": ""}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"CLAUDEMESH_CONFIG_DIR": t.TempDir(), "HOME": t.TempDir()}
			for k, v := range tc.vars {
				vars[k] = v
			}
			if vars["broken"] != "" {
				require.NoError(t, os.WriteFile(vars["CLAUDEMESH_CONFIG_DIR"]+"/config.json", []byte("{"), 0o600))
			}
			out, errOut := runHookCommand(t, vars, strings.NewReader(tc.stdin), tc.args...)
			require.Empty(t, out)
			require.Empty(t, errOut)
		})
	}
}

func TestHookFallback(t *testing.T) {
	t.Parallel()

	t.Run("PostsOncePerBroker", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		b := meshtest.Start(t, storetest.SQLite(t))
		mesh := b.CreateMesh(t, "team", "")
		rec := newStatusRecorder(t)
		saveBrokers(t, dir, b.WSURL, rec.wsURL(), b.WSURL, rec.wsURL(), "not a broker url")

		vars := map[string]string{"CLAUDEMESH_CONFIG_DIR": dir}
		out, errOut := runHookCommand(t, vars, strings.NewReader(`{"session_id":"s-fallback","cwd":"/work/p"}`), "working")
		require.Empty(t, out)
		require.Empty(t, errOut)

		posts, bodies := rec.received()
		require.Equal(t, []string{"POST /hook/set-status application/json"}, posts)
		require.Equal(t, []map[string]any{{
			"cwd": "/work/p", "pid": float64(os.Getppid()), "status": "working", "session_id": "s-fallback",
		}}, bodies)

		// The real broker kept the status for the session's hello.
		peer := b.Connect(t, mesh.Admin, meshtest.Hello{SessionID: "s-fallback"})
		me := meshtest.FindPeer(peer.ListPeers(), "sessionId", "s-fallback")
		require.NotNil(t, me)
		require.Equal(t, "working", me["status"])
		require.Equal(t, "hook", me["statusSource"])
	})

	t.Run("WithoutSessionID", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		rec := newStatusRecorder(t)
		saveBrokers(t, dir, rec.wsURL())
		vars := map[string]string{"CLAUDEMESH_CONFIG_DIR": dir, "CLAUDE_PROJECT_DIR": "/work/from-env"}
		out, _ := runHookCommand(t, vars, strings.NewReader(""), "idle")
		require.Empty(t, out)
		_, bodies := rec.received()
		require.Equal(t, []map[string]any{{"cwd": "/work/from-env", "pid": float64(os.Getppid()), "status": "idle"}}, bodies)
	})

	t.Run("BrokerDown", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		rec := newStatusRecorder(t)
		down := rec.wsURL()
		rec.Close()
		saveBrokers(t, dir, down)
		vars := map[string]string{"CLAUDEMESH_CONFIG_DIR": dir}
		out, errOut := runHookCommand(t, vars, strings.NewReader(`{"session_id":"s"}`), "working")
		require.Empty(t, out)
		require.Empty(t, errOut)

		vars["CLAUDEMESH_HOOK_DEBUG"] = "1"
		out, errOut = runHookCommand(t, vars, strings.NewReader(`{"session_id":"s"}`), "working")
		require.Empty(t, out)
		require.Contains(t, errOut, "no MCP server for this session id")
		require.Contains(t, errOut, "post the status")
	})
}

// TestHookBinary runs the built binary as Claude Code does: the hook JSON
// on the process's stdin, exit code 0.
func TestHookBinary(t *testing.T) {
	t.Parallel()

	run := func(t *testing.T, env []string, stdin io.Reader, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(binary, append([]string{"hook"}, args...)...)
		// The test may itself run inside Claude Code: its session id must
		// not leak in.
		cmd.Env = append(os.Environ(), append([]string{"CLAUDE_CODE_SESSION_ID=", "CLAUDE_PROJECT_DIR=", "CLAUDEMESH_HOOK_DEBUG="}, env...)...)
		cmd.Stdin = stdin
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "exit 0; stderr:\n%s", stderr.String())
		return stdout.String(), stderr.String()
	}

	t.Run("Working", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		mcp := newMCPStandIn()
		mcp.context = "bob: tests pass on main"
		serveSession(t, dir, "s-binary", mcp)
		out, errOut := run(t, []string{"CLAUDEMESH_CONFIG_DIR=" + dir}, strings.NewReader(`{"session_id":"s-binary","cwd":"/p"}`), "working")
		require.Equal(t, mcp.context, out)
		require.Empty(t, errOut)
		require.Equal(t, "deliver-context", mcp.nextPrinted(t))
	})

	t.Run("QuietWithoutServer", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		for _, args := range [][]string{{"working"}, {"idle"}, {"dnd"}, {"bogus"}, {}} {
			out, errOut := run(t, []string{"CLAUDEMESH_CONFIG_DIR=" + dir}, strings.NewReader("garbage"), args...)
			require.Empty(t, out, "args %v", args)
			require.Empty(t, errOut, "args %v", args)
		}
	})

	t.Run("StdinLeftOpen", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		mcp := newMCPStandIn()
		mcp.urgent = "urgent"
		serveSession(t, dir, "s-open", mcp)
		r, w, err := os.Pipe()
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
		out, _ := run(t, []string{"CLAUDEMESH_CONFIG_DIR=" + dir, "CLAUDE_CODE_SESSION_ID=s-open"}, r, "idle")
		require.JSONEq(t, `{"decision":"block","reason":"urgent"}`, out)
		require.Equal(t, "deliver-urgent", mcp.nextPrinted(t))
	})
}
