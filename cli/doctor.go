package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/cli/internal/claudeconfig"
	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/services/identity"
)

// brokerCheckTimeout bounds each broker probe of doctor.
const brokerCheckTimeout = 4 * time.Second

// check is one line of doctor.
type check struct {
	// Name is stable, for --json: claude-cli, mcp-registered, mcp-binary,
	// mcp-project, hooks, config, meshes, keypairs, broker, channels.
	Name string `json:"name"`
	// Mesh is the mesh a broker check is about.
	Mesh   string `json:"mesh,omitempty"`
	Title  string `json:"title"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Fix is the command that fixes a failed check.
	Fix string `json:"fix,omitempty"`
}

func newDoctorCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that claudemesh and Claude Code are set up, and say how to fix what is not",
		Long: `Check, one line each: the claude CLI, the MCP server and hooks in Claude Code's
files (and that they run this binary), the claudemesh config and its mode, each
mesh's key pair, and that each mesh's broker answers and accepts this member.
A failed check prints the command that fixes it. Exits 1 when any check fails.`,
		Example: "  claudemesh doctor\n  claudemesh doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := runDoctor(cmd.Context(), env)
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if asJSON {
				if err := writeJSON(env.Stdout, struct {
					OK     bool    `json:"ok"`
					Checks []check `json:"checks"`
				}{failed == 0, checks}); err != nil {
					return err
				}
			} else {
				printChecks(env, checks, failed)
			}
			if failed > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d of %d checks failed", failed, len(checks))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	return cmd
}

func printChecks(env *Env, checks []check, failed int) {
	p := newPainter(env)
	w := env.Stdout
	for _, c := range checks {
		mark := p.ok("✓")
		if !c.OK {
			mark = p.bad("✗")
		}
		_, _ = fmt.Fprintf(w, "%s %s: %s\n", mark, p.bold(c.Title), c.Detail)
		if !c.OK && c.Fix != "" {
			_, _ = fmt.Fprintf(w, "    → fix: %s\n", c.Fix)
		}
	}
	if failed == 0 {
		_, _ = fmt.Fprintln(w, p.ok("All checks passed."))
		return
	}
	_, _ = fmt.Fprintln(w, p.bad(fmt.Sprintf("%d of %d checks failed.", failed, len(checks))))
}

// runDoctor runs every check, in the order they are printed.
func runDoctor(ctx context.Context, env *Env) []check {
	bin, binErr := runningBinary()
	self := "claudemesh"
	if binErr == nil {
		self = selfCommand(env, bin)
	}
	var checks []check
	home, err := claudeHome(env)
	if err != nil {
		checks = append(checks, check{Name: "claude-cli", Title: "home directory", Detail: err.Error(), Fix: "export HOME=<your home directory>"})
	} else {
		checks = append(checks, checkClaudeCLI(env, home))
		checks = append(checks, checkClaudeConfig(home, bin, self)...)
	}
	checks = append(checks, checkMeshes(ctx, env, self)...)
	return append(checks, checkChannels(env, self))
}

// checkClaudeCLI looks for claude where launch does: PATH, then the
// installer's usual places.
func checkClaudeCLI(env *Env, home string) check {
	c := check{Name: "claude-cli", Title: "claude CLI"}
	dirs := filepath.SplitList(env.Getenv("PATH"))
	dirs = append(dirs, filepath.Join(home, ".local", "bin"), "/usr/local/bin", filepath.Join(home, ".claude", "bin"))
	if p := findExecutable(dirs, "claude"); p != "" {
		c.OK, c.Detail = true, p
		return c
	}
	c.Detail = "claude is not on PATH, nor in ~/.local/bin, /usr/local/bin or ~/.claude/bin"
	c.Fix = "curl -fsSL https://claude.ai/install.sh | bash"
	return c
}

// checkClaudeConfig checks our entries in Claude Code's files.
func checkClaudeConfig(home, bin, self string) []check {
	r, _ := claudeconfig.Status(home, bin)
	install := self + " install"
	claudeJSON := tilde(home, r.ClaudeJSON)
	var checks []check

	mcp := check{Name: "mcp-registered", Title: "MCP server", Fix: install}
	switch {
	case r.ClaudeJSONErr != nil:
		mcp.Detail = r.ClaudeJSONErr.Error()
		mcp.Fix = "repair " + claudeJSON + " (Claude Code keeps backups in ~/.claude/backups), then " + install
	case !r.MCP.Registered:
		mcp.Detail = claudeJSON + " has no mcpServers.claudemesh: Claude Code sessions cannot reach the mesh"
	default:
		mcp.OK = true
		mcp.Detail = claudeJSON + ": mcpServers.claudemesh runs " + strings.Join(append([]string{r.MCP.Command}, r.MCP.Args...), " ")
	}
	checks = append(checks, mcp)

	if r.MCP.Registered {
		c := check{Name: "mcp-binary", Title: "MCP server binary", Fix: install}
		switch {
		case bin == "":
			c.Detail = "cannot tell which binary this is"
		case !sameFile(r.MCP.Command, bin):
			c.Detail = fmt.Sprintf("Claude Code runs %s, not this binary (%s)", r.MCP.Command, bin)
			if _, err := os.Stat(r.MCP.Command); err != nil {
				c.Detail = fmt.Sprintf("Claude Code runs %s, which does not exist; this binary is %s", r.MCP.Command, bin)
			}
		case !slices.Equal(r.MCP.Args, []string{"mcp"}):
			c.Detail = fmt.Sprintf("the entry's args are %q, not [\"mcp\"]", r.MCP.Args)
		default:
			c.OK, c.Detail = true, "runs this binary ("+bin+")"
		}
		checks = append(checks, c)
	}

	// A project's own (local-scope) claudemesh entry wins over ours there.
	for _, p := range r.Projects {
		if bin != "" && sameFile(p.Command, bin) {
			continue
		}
		checks = append(checks, check{
			Name: "mcp-project", Title: "MCP server in " + p.Dir,
			Detail: fmt.Sprintf("this project has its own claudemesh entry (%s), which Claude Code uses instead there", p.Command),
			Fix:    fmt.Sprintf("cd %s && claude mcp remove claudemesh -s local", shellWord(p.Dir)),
		})
	}

	hooks := check{Name: "hooks", Title: "hooks", Fix: install}
	var missing, wrong []string
	// Without UserPromptSubmit or Stop, plain claude sessions get messages
	// only through check_messages; without StopFailure, a turn that ends in
	// an API error leaves the session working on the broker.
	essentialMissing := false
	for _, h := range []struct {
		event, state string
		status       claudeconfig.HookStatus
		essential    bool
	}{
		{"UserPromptSubmit", "working", r.PromptHook, true},
		{"Stop", "idle", r.StopHook, true},
		{"StopFailure", "idle", r.StopFailureHook, false},
	} {
		want := claudeconfig.HookCommand(bin, h.state)
		switch {
		case !h.status.Registered:
			missing = append(missing, h.event)
			essentialMissing = essentialMissing || h.essential
		case bin != "" && !slices.Contains(h.status.Commands, want):
			wrong = append(wrong, fmt.Sprintf("%s runs %q", h.event, h.status.Commands[0]))
		}
	}
	switch {
	case r.SettingsErr != nil:
		hooks.Detail = r.SettingsErr.Error()
		hooks.Fix = "repair " + tilde(home, r.Settings) + " (or restore it from ~/.claude/backups), then " + install
	case len(missing) > 0 && essentialMissing:
		hooks.Detail = "missing in " + tilde(home, r.Settings) + ": " + strings.Join(missing, ", ") +
			" (without them plain claude sessions get messages only through check_messages)"
	case len(missing) > 0:
		hooks.Detail = "missing in " + tilde(home, r.Settings) + ": " + strings.Join(missing, ", ") +
			" (without it a turn that ends in an API error leaves the session working, and its messages waiting, for up to a minute)"
	case len(wrong) > 0:
		hooks.Detail = strings.Join(wrong, "; ") + ", not this binary"
	default:
		hooks.OK = true
		hooks.Detail = "UserPromptSubmit, Stop and StopFailure report each session working or idle"
	}
	return append(checks, hooks)
}

// checkMeshes checks the claudemesh config, the key pairs in it, and each
// mesh's broker.
func checkMeshes(ctx context.Context, env *Env, self string) []check {
	dir, err := config.Dir(env.Getenv)
	if err != nil {
		return []check{{Name: "config", Title: "claudemesh config", Detail: err.Error(), Fix: "export CLAUDEMESH_CONFIG_DIR=~/.claudemesh"}}
	}
	path := filepath.Join(dir, config.FileName)
	cfgCheck := check{Name: "config", Title: "claudemesh config"}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		cfgCheck.OK, cfgCheck.Detail = true, path+" does not exist yet (it is created when you join a mesh)"
		return []check{cfgCheck, noMeshCheck(self)}
	}
	cfg, err := config.Load(dir)
	switch {
	case err != nil:
		cfgCheck.Detail = err.Error()
		cfgCheck.Detail += " (move it aside, then join your meshes again)"
		cfgCheck.Fix = fmt.Sprintf("mv %s %s", shellWord(path), shellWord(path+".broken"))
		return []check{cfgCheck}
	case info.Mode().Perm()&0o077 != 0:
		cfgCheck.Detail = fmt.Sprintf("%s is mode %04o: other users can read your secret keys", path, info.Mode().Perm())
		cfgCheck.Fix = "chmod 600 " + shellWord(path)
	default:
		cfgCheck.OK, cfgCheck.Detail = true, fmt.Sprintf("%s parses, mode %04o", path, info.Mode().Perm())
	}
	checks := []check{cfgCheck}
	if len(cfg.Meshes) == 0 {
		return append(checks, noMeshCheck(self))
	}

	keys := check{Name: "keypairs", Title: "key pairs", OK: true}
	var bad, good []string
	var probe []config.Mesh
	for _, m := range cfg.Meshes {
		if _, err := identity.ParseKeyPair(m.Pubkey, m.SecretKey); err != nil {
			bad = append(bad, fmt.Sprintf("mesh %s: %v", m.Slug, err))
			keys.Fix = fmt.Sprintf("%s leave %s && %s join <new invite link>", self, m.Slug, self)
			continue
		}
		good = append(good, m.Slug)
		probe = append(probe, m)
	}
	if len(bad) > 0 {
		keys.OK, keys.Detail = false, strings.Join(bad, "; ")
	} else {
		keys.Detail = "well-formed for " + strings.Join(good, ", ")
	}
	checks = append(checks, keys)

	// The brokers are probed together: each may take the whole timeout.
	brokers := make([]check, len(probe))
	var wg sync.WaitGroup
	for i := range probe {
		wg.Go(func() { brokers[i] = checkBroker(ctx, env, &probe[i], self) })
	}
	wg.Wait()
	return append(checks, brokers...)
}

func noMeshCheck(self string) check {
	return check{
		Name: "meshes", Title: "meshes",
		Detail: fmt.Sprintf("no mesh joined: start a local one, or join one you were invited to with %s join <link>", self),
		Fix:    self + " up",
	}
}

// checkBroker connects to a mesh's broker, says hello as the member, and
// hangs up.
func checkBroker(ctx context.Context, env *Env, m *config.Mesh, self string) check {
	c := check{Name: "broker", Mesh: m.Slug, Title: "broker of " + m.Slug}
	ctx, cancel := context.WithTimeout(ctx, brokerCheckTimeout)
	defer cancel()
	start := time.Now()
	client, err := brokerclient.Dial(ctx, brokerclient.Options{
		Mesh:         *m,
		DisplayName:  defaultDisplayName(env) + " (doctor)",
		PeerType:     "cli",
		Channel:      "claudemesh-cli",
		HelloTimeout: brokerCheckTimeout,
		Ephemeral:    true,
	})
	if err == nil {
		_ = client.Close()
		c.OK, c.Detail = true, fmt.Sprintf("%s answers and accepts this member (%s)", m.BrokerURL, time.Since(start).Round(time.Millisecond))
		return c
	}
	var rejected *brokerclient.Error
	if errors.As(err, &rejected) {
		c.Detail = fmt.Sprintf("%s refused this member: %s", m.BrokerURL, rejected.Message)
		c.Fix = fmt.Sprintf("%s leave %s && %s join <new invite link>", self, m.Slug, self)
		return c
	}
	c.Detail = fmt.Sprintf("cannot reach %s: %v", m.BrokerURL, err)
	if listen, ok := localListen(m.BrokerURL); ok {
		c.Fix = self + " up"
		if listen != "" {
			c.Fix += " --listen " + listen
		}
	} else {
		c.Fix = "check your network, and ask the mesh's owner whether the broker at " + m.BrokerURL + " is up"
	}
	return c
}

// localListen reports whether a broker URL is on this machine, and the
// --listen address "claudemesh up" needs to serve it ("" for the default).
func localListen(brokerURL string) (string, bool) {
	u, err := url.Parse(brokerURL)
	if err != nil {
		return "", false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return "", false
	}
	port := u.Port()
	if port == "" || port == "7900" {
		return "", true
	}
	return net.JoinHostPort("127.0.0.1", port), true
}

// checkChannels always passes: it explains which sessions get messages in
// real time.
func checkChannels(env *Env, self string) check {
	detail := fmt.Sprintf("real-time push needs `%s launch` (or `claude --dangerously-load-development-channels server:claudemesh`) "+
		"and a claude.ai or Console login; API-key, Bedrock and Vertex sessions get messages through the hooks and check_messages", self)
	switch {
	case env.Getenv("CLAUDE_CODE_USE_BEDROCK") != "":
		detail += " (this shell uses Bedrock: expect the hooks)"
	case env.Getenv("CLAUDE_CODE_USE_VERTEX") != "":
		detail += " (this shell uses Vertex: expect the hooks)"
	case env.Getenv("ANTHROPIC_API_KEY") != "":
		detail += " (this shell sets ANTHROPIC_API_KEY: expect the hooks)"
	}
	return check{Name: "channels", Title: "channels", OK: true, Detail: detail}
}
