package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/claudeconfig"
)

// mcpToolNames are the tools of "claudemesh mcp" that install pre-approves
// in Claude Code (as mcp__claudemesh__<tool>), so a session does not stop to
// ask before each message. Keep in step with the MCP server's tools.
func mcpToolNames() []string {
	return []string{
		"send_message", "check_messages", "list_peers", "message_status",
		"set_summary", "set_status", "set_visible", "set_profile",
		"join_group", "leave_group",
		"get_state", "set_state", "list_state",
		"mesh_info",
		"schedule_reminder", "list_scheduled", "cancel_scheduled",
	}
}

func newInstallCommand(env *Env) *cobra.Command {
	var (
		noHooks bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Add claudemesh to Claude Code (MCP server, hooks, tool approvals)",
		Long: `Register this binary with Claude Code:
  ~/.claude.json           mcpServers.claudemesh runs "<this binary> mcp" (user scope)
  ~/.claude/settings.json  UserPromptSubmit, Stop and StopFailure (a turn that
                           ended in an API error) hooks report each session
                           working or idle; the claudemesh tools are pre-approved
Each file is backed up to ~/.claude/backups first and only claudemesh's entries
change. Running it again changes nothing. Restart Claude Code afterwards.`,
		Example: "  claudemesh install\n  claudemesh install --no-hooks --json",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			home, err := claudeHome(env)
			if err != nil {
				return err
			}
			bin, err := runningBinary()
			if err != nil {
				return err
			}
			res, err := claudeconfig.Install(home, claudeconfig.Options{
				Binary: bin, Tools: mcpToolNames(), NoHooks: noHooks, NowFunc: env.NowFunc,
			})
			if err != nil {
				if res != nil && res.Changed() && !asJSON {
					printResult(env, home, res)
				}
				return err
			}
			cfg, _, cfgErr := loadConfig(env)
			if asJSON {
				out := struct {
					Binary  string                    `json:"binary"`
					Changed bool                      `json:"changed"`
					Files   []claudeconfig.FileResult `json:"files"`
					Meshes  int                       `json:"meshes"`
				}{Binary: bin, Changed: res.Changed(), Files: res.Files}
				if cfgErr == nil {
					out.Meshes = len(cfg.Meshes)
				}
				return writeJSON(env.Stdout, out)
			}
			p := newPainter(env)
			w := env.Stdout
			printResult(env, home, res)
			if res.Changed() {
				_, _ = fmt.Fprintln(w, p.warn("⚠ Restart Claude Code to load claudemesh."))
			} else {
				_, _ = fmt.Fprintln(w, "claudemesh was already installed: nothing changed.")
			}
			self := selfCommand(env, bin)
			switch {
			case cfgErr != nil:
				_, _ = fmt.Fprintf(w, "\nYour claudemesh config cannot be read: run `%s doctor`.\n", self)
			case len(cfg.Meshes) == 0:
				_, _ = fmt.Fprintf(w, "\nNo mesh joined yet: run `%s up` for a local mesh, or `%s join <link>`.\n", self, self)
			}
			_, _ = fmt.Fprintf(w, "Tip: real-time push needs `%s launch` (channels); plain `claude` gets messages through the hooks and check_messages.\n", self)
			return nil
		},
	}
	cmd.Flags().BoolVar(&noHooks, "no-hooks", false, "leave the hooks in ~/.claude/settings.json alone")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what changed as JSON")
	return cmd
}

func newUninstallCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove claudemesh from Claude Code",
		Long: `Remove exactly what "claudemesh install" adds: mcpServers.claudemesh in
~/.claude.json, the claudemesh hooks and tool approvals in ~/.claude/settings.json.
Everything else stays as it is; each changed file is backed up first. Your
meshes and keys (~/.claudemesh) are kept.`,
		Example: "  claudemesh uninstall",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			home, err := claudeHome(env)
			if err != nil {
				return err
			}
			bin, _ := runningBinary() // only helps recognise hooks of a renamed binary
			res, err := claudeconfig.Uninstall(home, claudeconfig.Options{Binary: bin, NowFunc: env.NowFunc})
			if err != nil {
				if res != nil && res.Changed() && !asJSON {
					printResult(env, home, res)
				}
				return err
			}
			if asJSON {
				return writeJSON(env.Stdout, struct {
					Changed bool                      `json:"changed"`
					Files   []claudeconfig.FileResult `json:"files"`
				}{res.Changed(), res.Files})
			}
			printResult(env, home, res)
			if res.Changed() {
				_, _ = fmt.Fprintln(env.Stdout, newPainter(env).warn("⚠ Restart Claude Code to unload claudemesh."))
			} else {
				_, _ = fmt.Fprintln(env.Stdout, "claudemesh was not installed: nothing changed.")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what changed as JSON")
	return cmd
}

// printResult lists, file by file, what changed.
func printResult(env *Env, home string, res *claudeconfig.Result) {
	p := newPainter(env)
	w := env.Stdout
	for _, f := range res.Files {
		note := ""
		switch {
		case f.Backup != "":
			note = " (backup " + tilde(home, f.Backup) + ")"
		case f.Changed:
			note = " (created)"
		}
		_, _ = fmt.Fprintf(w, "%s%s\n", tilde(home, f.Path), note)
		for _, c := range f.Changes {
			printChange(w, p, c)
		}
	}
}

func printChange(w io.Writer, p painter, c claudeconfig.Change) {
	mark := p.ok("✓")
	switch c.Action {
	case claudeconfig.Unchanged, claudeconfig.Absent, claudeconfig.Skipped:
		mark = p.dim("·")
	}
	what := map[claudeconfig.Action]string{
		claudeconfig.Absent:  "not there",
		claudeconfig.Skipped: "skipped (--no-hooks)",
	}[c.Action]
	if what == "" {
		what = string(c.Action)
	}
	line := fmt.Sprintf("  %s %s %s", mark, c.Item, what)
	if c.Detail != "" {
		line += ": " + c.Detail
	}
	_, _ = fmt.Fprintln(w, line)
}

// claudeHome is the user's home: $HOME, else the system's idea of it.
func claudeHome(env *Env) (string, error) {
	if h := env.Getenv("HOME"); h != "" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find your home directory: %w (set HOME)", err)
	}
	return h, nil
}

// runningBinary is the absolute path of the running binary, symbolic links
// resolved, which is what Claude Code is told to run.
func runningBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this binary: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("find this binary: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", fmt.Errorf("find this binary: %w", err)
	}
	// "go run" builds into a directory it deletes on exit: Claude Code would
	// be left pointing at nothing.
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "", &ExitError{Code: ExitUsage, Err: errors.New("this claudemesh is a temporary \"go run\" build; build or install it first (go install claudemesh.dev/cli/cmd/claudemesh) and run that binary")}
	}
	return exe, nil
}

// selfCommand is how the user runs this binary: "claudemesh" when that name
// on PATH is this binary, else its path, so a fix printed for copy and paste
// runs the right one.
func selfCommand(env *Env, bin string) string {
	if found := findExecutable(filepath.SplitList(env.Getenv("PATH")), "claudemesh"); found != "" && sameFile(found, bin) {
		return "claudemesh"
	}
	return shellWord(bin)
}

// findExecutable returns the first executable file called name in dirs.
func findExecutable(dirs []string, name string) string {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func sameFile(a, b string) bool {
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tilde shortens a path under home to ~/….
func tilde(home, path string) string {
	if rel, err := filepath.Rel(home, path); err == nil && !strings.HasPrefix(rel, "..") && home != "" {
		return filepath.Join("~", rel)
	}
	return path
}

// painter colours text on a terminal, unless NO_COLOR is set or TERM is
// dumb.
type painter struct{ on bool }

func newPainter(env *Env) painter {
	return painter{on: isTerminal(env.Stdout) && env.Getenv("NO_COLOR") == "" && env.Getenv("TERM") != "dumb"}
}

func (p painter) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) ok(s string) string   { return p.paint("32", s) }
func (p painter) bad(s string) string  { return p.paint("31", s) }
func (p painter) warn(s string) string { return p.paint("1;33", s) }
func (p painter) dim(s string) string  { return p.paint("2", s) }
func (p painter) bold(s string) string { return p.paint("1", s) }
