package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/hooklink"
	"claudemesh.dev/services/invite"
)

// Bounds of "claudemesh hook": Claude Code waits for it before every prompt
// and every stop, so it must be quick whatever happens.
const (
	// hookBudget bounds the whole command.
	hookBudget = time.Second
	// hookStdinWait and hookStdinMax bound the read of the hook JSON.
	hookStdinWait = 500 * time.Millisecond
	hookStdinMax  = 256 << 10
)

func newHookCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "hook <idle|working|dnd>",
		Short: "Claude Code hook: deliver pending messages and report the session's status",
		Long: `The hook "claudemesh install" registers: "hook working" on UserPromptSubmit
and "hook idle" on Stop. It reads the hook JSON on stdin and asks this
session's "claudemesh mcp" server for messages: "working" prints them into
the model's context, "idle" may block the stop once so the model reads urgent
ones. Without a server it reports the status to each broker in the config.

It always exits 0 within a second and prints nothing else; set
CLAUDEMESH_HOOK_DEBUG=1 for debug lines on stderr.`,
		Example: `  echo '{"session_id":"8a78…","cwd":"/home/u/proj"}' | claudemesh hook working`,
		Hidden:  true,
		// A hook never fails, not even on arguments it does not know.
		Args:               cobra.ArbitraryArgs,
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			runHook(cmd.Context(), env, args)
			return nil
		},
	}
}

// runHook does the hook's work; every failure ends it quietly.
func runHook(ctx context.Context, env *Env, args []string) {
	ctx, cancel := context.WithTimeout(ctx, hookBudget)
	defer cancel()
	log := hookLogger(env)
	if len(args) != 1 || !isHookEvent(args[0]) {
		log.Debug("not a hook event (want idle, working or dnd); nothing to do", "args", args)
		return
	}
	event := args[0]
	in := readHookInput(ctx, env.Stdin, log)
	cwd := in.Cwd
	if cwd == "" {
		wd, _ := os.Getwd()
		cwd = cmp.Or(env.Getenv("CLAUDE_PROJECT_DIR"), wd)
	}
	dir, err := config.Dir(env.Getenv)
	if err != nil {
		log.Debug("no config directory", "err", err)
		return
	}
	envSession := env.Getenv("CLAUDE_CODE_SESSION_ID")
	req := hooklink.Request{Event: event, StopHookActive: in.StopHookActive, Cwd: cwd, TranscriptPath: in.TranscriptPath}
	if in.HookEventName == "StopFailure" {
		// Claude Code ignores a StopFailure hook's output (the turn ended in
		// an API error): report the status, but take no messages to print.
		req.StopHookActive = true
	}
	// The MCP server keys its link by the session id it was spawned with;
	// after --continue or /clear that may be the environment's id rather
	// than the one on stdin, so both are tried.
	for _, session := range uniqueNonEmpty(in.SessionID, envSession) {
		resp, confirm, err := hooklink.Call(ctx, dir, session, req)
		if errors.Is(err, hooklink.ErrNoServer) {
			log.Debug("no MCP server for this session id", "session", session, "err", err)
			continue
		}
		if err != nil {
			// The server got the hook and reports the status itself.
			log.Debug("the MCP server did not answer", "session", session, "err", err)
			return
		}
		printHookOutput(env, log, event, resp, confirm)
		return
	}
	postHookStatus(ctx, log, dir, hookStatus{
		Cwd: cwd, PID: os.Getppid(), Status: event, SessionID: cmp.Or(in.SessionID, envSession),
	})
}

func isHookEvent(s string) bool {
	return s == "idle" || s == "working" || s == "dnd"
}

// hookLogger logs to stderr with CLAUDEMESH_HOOK_DEBUG=1, else nowhere:
// Claude Code shows a hook's stderr.
func hookLogger(env *Env) *slog.Logger {
	if env.Getenv("CLAUDEMESH_HOOK_DEBUG") != "1" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("hook", "claudemesh")
}

// uniqueNonEmpty returns the distinct non-empty strings of ss, in order.
func uniqueNonEmpty(ss ...string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// hookInput is what the hook uses of Claude Code's hook JSON.
type hookInput struct {
	SessionID      string
	Cwd            string
	StopHookActive bool
	TranscriptPath string
	HookEventName  string
}

// readHookInput reads the hook JSON from r, giving up after hookStdinWait
// or hookStdinMax bytes. Stdin may be empty, absent or garbage.
func readHookInput(ctx context.Context, r io.Reader, log *slog.Logger) hookInput {
	if r == nil {
		return hookInput{}
	}
	got := make(chan []byte, 1)
	go func() {
		// On a timeout this goroutine is left blocked on stdin; the process
		// exits soon after.
		data, err := io.ReadAll(io.LimitReader(r, hookStdinMax))
		if err != nil {
			log.Debug("read the hook input", "err", err)
		}
		got <- data
	}()
	timer := time.NewTimer(hookStdinWait)
	defer timer.Stop()
	select {
	case data := <-got:
		return parseHookInput(data)
	case <-timer.C:
		log.Debug("no hook input within the wait")
	case <-ctx.Done():
	}
	return hookInput{}
}

// parseHookInput takes session_id, cwd, stop_hook_active, transcript_path
// and hook_event_name from the hook JSON. It reads the top-level object field
// by field, so an input cut at hookStdinMax (a long last_assistant_message,
// say) still yields the fields before the cut.
func parseHookInput(data []byte) hookInput {
	var in hookInput
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return in
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return in
		}
		var dst any
		switch tok {
		case "session_id":
			dst = &in.SessionID
		case "cwd":
			dst = &in.Cwd
		case "stop_hook_active":
			dst = &in.StopHookActive
		case "transcript_path":
			dst = &in.TranscriptPath
		case "hook_event_name":
			dst = &in.HookEventName
		default:
			dst = &json.RawMessage{}
		}
		if err := dec.Decode(dst); err != nil {
			return in
		}
	}
	return in
}

// stopBlock is the Stop hook output that keeps Claude going once.
type stopBlock struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// printHookOutput writes what the MCP server answered and confirms it.
// Without output the connection is left to close with the budget, so the
// server acks nothing.
func printHookOutput(env *Env, log *slog.Logger, event string, resp hooklink.Response, confirm func() error) {
	var out string
	switch {
	case event == "working" && resp.Context != "":
		out = resp.Context
	case event == "idle" && resp.Block:
		b, err := json.Marshal(stopBlock{Decision: "block", Reason: resp.Reason})
		if err != nil {
			log.Debug("encode the stop block", "err", err)
			return
		}
		out = string(b) + "\n"
	default:
		log.Debug("nothing to print", "event", event)
		return
	}
	if _, err := io.WriteString(env.Stdout, out); err != nil {
		log.Debug("write the hook output", "err", err)
		return
	}
	if err := confirm(); err != nil {
		log.Debug("confirm the hook output", "err", err)
	}
}

// hookStatus is the body of POST /hook/set-status, as classic sends it.
type hookStatus struct {
	Cwd       string `json:"cwd"`
	PID       int    `json:"pid"`
	Status    string `json:"status"`
	SessionID string `json:"session_id,omitempty"`
}

// postHookStatus reports the status to every distinct broker of the
// config, in parallel, within ctx: the classic hook, for sessions whose MCP
// server does not serve the hook link.
func postHookStatus(ctx context.Context, log *slog.Logger, dir string, st hookStatus) {
	cfg, err := config.Load(dir)
	if err != nil {
		log.Debug("no usable config", "err", err)
		return
	}
	body, err := json.Marshal(st)
	if err != nil {
		log.Debug("encode the status", "err", err)
		return
	}
	client := &http.Client{}
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for _, m := range cfg.Meshes {
		if m.BrokerURL == "" || seen[m.BrokerURL] {
			continue
		}
		seen[m.BrokerURL] = true
		base, err := invite.HTTPBase(m.BrokerURL)
		if err != nil {
			log.Debug("skip a broker", "mesh", m.Slug, "err", err)
			continue
		}
		wg.Go(func() { postStatus(ctx, client, log, base+"/hook/set-status", body) })
	}
	wg.Wait()
}

func postStatus(ctx context.Context, client *http.Client, log *slog.Logger, url string, body []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		log.Debug("build the status request", "url", url, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		log.Debug("post the status", "url", url, "err", err)
		return
	}
	defer func() { _ = res.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	log.Debug("posted the status", "url", url, "code", res.StatusCode, "answer", string(answer))
}
