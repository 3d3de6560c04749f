// Package claudeconfig registers claudemesh with Claude Code, and removes it
// again, by editing the two files Claude Code reads:
//
//   - ~/.claude.json: mcpServers.claudemesh, the stdio MCP server (user
//     scope);
//   - ~/.claude/settings.json: the UserPromptSubmit, Stop and StopFailure
//     hooks that report a session working or idle, and permissions.allow
//     rules that pre-approve our MCP tools.
//
// Claude Code rewrites ~/.claude.json all the time and concurrent writers
// have corrupted it (anthropics/claude-code#28992, #29003), so every write
// is careful: a backup in ~/.claude/backups first, a synced temporary file
// renamed over the original right after checking nobody changed it, mode
// 0600, a read-back check, no write at all when nothing changes, and every
// byte that is not ours kept as it was (see jsonedit.go).
package claudeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Action is what happened to one of our items.
type Action string

// Actions.
const (
	Added     Action = "added"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Removed   Action = "removed"
	// Absent: there was nothing of ours to remove.
	Absent Action = "absent"
	// Skipped: left alone on request (--no-hooks).
	Skipped Action = "skipped"
)

// Items, as Change.Item names them.
const (
	ItemMCP             = "mcpServers." + ServerName
	ItemPromptHook      = "hooks." + eventPrompt
	ItemStopHook        = "hooks." + eventStop
	ItemStopFailureHook = "hooks." + eventStopFailure
	ItemPermissions     = "permissions.allow"
)

// Change is what happened to one item.
type Change struct {
	Item   string `json:"item"`
	Action Action `json:"action"`
	// Detail is the command registered, or how many rules.
	Detail string `json:"detail,omitempty"`
}

// FileResult is what happened to one file.
type FileResult struct {
	Path    string `json:"path"`
	Changed bool   `json:"changed"`
	// Backup is the copy of the file from before the change, when it
	// changed and existed.
	Backup  string   `json:"backup,omitempty"`
	Changes []Change `json:"changes"`
}

// Result is what Install or Uninstall did, file by file.
type Result struct {
	Files []FileResult `json:"files"`
}

// Changed reports whether any file changed.
func (r *Result) Changed() bool {
	for _, f := range r.Files {
		if f.Changed {
			return true
		}
	}
	return false
}

// Options say what to install.
type Options struct {
	// Binary is the absolute path of the claudemesh binary Claude Code is to
	// run. Required for Install; for Uninstall it also recognises hooks of a
	// binary not called claudemesh.
	Binary string
	// Tools are the names of our MCP tools to pre-approve in
	// permissions.allow (as mcp__claudemesh__<tool>).
	Tools []string
	// NoHooks leaves the hooks alone.
	NoHooks bool
	// NowFunc names the backups. Defaults to time.Now.
	NowFunc func() time.Time
}

// ClaudeJSONPath is Claude Code's main file: ~/.claude.json.
func ClaudeJSONPath(home string) string { return filepath.Join(home, ".claude.json") }

// SettingsPath is Claude Code's user settings: ~/.claude/settings.json.
func SettingsPath(home string) string { return filepath.Join(home, ".claude", "settings.json") }

// BackupDir is where backups go: ~/.claude/backups.
func BackupDir(home string) string { return filepath.Join(home, ".claude", "backups") }

// Install registers claudemesh: the MCP server in ~/.claude.json, then the
// hooks (unless NoHooks) and tool approvals in ~/.claude/settings.json. It
// is idempotent. On an error, the result says what was already done.
func Install(home string, opts Options) (*Result, error) {
	if !filepath.IsAbs(opts.Binary) {
		return nil, errors.New("claudeconfig: Options.Binary must be an absolute path")
	}
	bin := opts.Binary
	claude := &fileJob{
		path: ClaudeJSONPath(home), backupDir: BackupDir(home), now: opts.NowFunc,
		steps: []step{installMCP(bin)},
		inspect: func(b []byte, root *node) []Change {
			st := readMCP(b, root)
			c := Change{Item: ItemMCP, Action: Added, Detail: bin + " mcp"}
			switch {
			case st.equal(bin):
				c.Action = Unchanged
			case st.present:
				c.Action = Updated
			}
			return []Change{c}
		},
	}
	settings := &fileJob{
		path: SettingsPath(home), backupDir: BackupDir(home), now: opts.NowFunc,
		inspect: func(b []byte, root *node) []Change {
			var cs []Change
			for _, h := range ourHookList() {
				want := hookHandler{Type: "command", Command: HookCommand(bin, h.state), Timeout: hookTimeout}
				c := Change{Item: h.item, Action: Added, Detail: want.Command}
				refs := ourHooks(b, root, h.event, bin, &want)
				switch {
				case opts.NoHooks:
					c.Action, c.Detail = Skipped, ""
				case len(refs) == 1 && refs[0].equal:
					c.Action = Unchanged
				case len(refs) > 0:
					c.Action = Updated
				}
				cs = append(cs, c)
			}
			c := Change{Item: ItemPermissions, Action: Unchanged}
			if n := len(missingTools(b, root, opts.Tools)); n > 0 {
				c.Action, c.Detail = Added, plural(n, "tool")
			}
			return append(cs, c)
		},
	}
	if !opts.NoHooks {
		for _, h := range ourHookList() {
			settings.steps = append(settings.steps, installHook(h.event, h.state, bin))
		}
	}
	settings.steps = append(settings.steps, installPermissions(opts.Tools))
	return runJobs(claude, settings)
}

// Uninstall removes exactly what Install adds: our mcpServers entry, our
// hook handlers (with the matcher groups, events and objects that leaves
// empty) and our permission rules. Everything else stays byte for byte.
// Missing files stay missing.
func Uninstall(home string, opts Options) (*Result, error) {
	claude := &fileJob{
		path: ClaudeJSONPath(home), backupDir: BackupDir(home), now: opts.NowFunc,
		steps: []step{uninstallMCP},
		inspect: func(b []byte, root *node) []Change {
			c := Change{Item: ItemMCP, Action: Absent}
			if st := readMCP(b, root); st.present {
				c.Action, c.Detail = Removed, st.command
			}
			return []Change{c}
		},
	}
	settings := &fileJob{
		path: SettingsPath(home), backupDir: BackupDir(home), now: opts.NowFunc,
		steps: []step{uninstallHooks(opts.Binary), uninstallPermissions},
		inspect: func(b []byte, root *node) []Change {
			hooks := Change{Item: "hooks", Action: Absent}
			if n := len(ourHooks(b, root, "", opts.Binary, nil)); n > 0 {
				hooks.Action, hooks.Detail = Removed, plural(n, "hook")
			}
			perms := Change{Item: ItemPermissions, Action: Absent}
			if n := len(ourRules(b, root)); n > 0 {
				perms.Action, perms.Detail = Removed, plural(n, "tool")
			}
			return []Change{hooks, perms}
		},
	}
	return runJobs(claude, settings)
}

func runJobs(jobs ...*fileJob) (*Result, error) {
	res := &Result{Files: []FileResult{}}
	for _, j := range jobs {
		fr, err := j.run()
		res.Files = append(res.Files, fr)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Report is how claudemesh is registered with Claude Code.
type Report struct {
	ClaudeJSON string `json:"claudeJson"`
	Settings   string `json:"settings"`
	// ClaudeJSONErr and SettingsErr say why a file could not be read; a
	// missing file is no error.
	ClaudeJSONErr error `json:"-"`
	SettingsErr   error `json:"-"`

	MCP MCPStatus `json:"mcp"`
	// Projects are directories with their own (local-scope) claudemesh
	// server, which wins over ours there.
	Projects []ProjectEntry `json:"projects,omitempty"`
	// PromptHook, StopHook and StopFailureHook are our UserPromptSubmit,
	// Stop and StopFailure hooks.
	PromptHook      HookStatus `json:"promptHook"`
	StopHook        HookStatus `json:"stopHook"`
	StopFailureHook HookStatus `json:"stopFailureHook"`
	// ApprovedTools counts our permissions.allow rules.
	ApprovedTools int `json:"approvedTools"`
}

// MCPStatus is our mcpServers entry.
type MCPStatus struct {
	Registered bool     `json:"registered"`
	Command    string   `json:"command,omitempty"`
	Args       []string `json:"args,omitempty"`
}

// HookStatus is one of our hooks: the commands of our handlers for its
// event.
type HookStatus struct {
	Registered bool     `json:"registered"`
	Commands   []string `json:"commands,omitempty"`
}

// ProjectEntry is a project's own claudemesh server.
type ProjectEntry struct {
	Dir     string `json:"dir"`
	Command string `json:"command"`
}

// HooksRegistered reports whether all three hooks are there, as Install
// leaves them.
func (r *Report) HooksRegistered() bool {
	return r.PromptHook.Registered && r.StopHook.Registered && r.StopFailureHook.Registered
}

// Status reads how claudemesh is registered. binary, when set, also
// recognises hooks of a binary not called claudemesh. The error joins the
// errors of the two files; the report holds what could be read.
func Status(home, binary string) (*Report, error) {
	r := &Report{ClaudeJSON: ClaudeJSONPath(home), Settings: SettingsPath(home)}
	if b, root, err := readDoc(r.ClaudeJSON); err != nil {
		r.ClaudeJSONErr = err
	} else if root != nil {
		st := readMCP(b, root)
		r.MCP = MCPStatus{Registered: st.present, Command: st.command, Args: st.args}
		r.Projects = projectEntries(b, root)
	}
	if b, root, err := readDoc(r.Settings); err != nil {
		r.SettingsErr = err
	} else if root != nil {
		for _, h := range []struct {
			status *HookStatus
			event  string
		}{{&r.PromptHook, eventPrompt}, {&r.StopHook, eventStop}, {&r.StopFailureHook, eventStopFailure}} {
			for _, ref := range ourHooks(b, root, h.event, binary, nil) {
				h.status.Registered = true
				h.status.Commands = append(h.status.Commands, ref.command)
			}
		}
		r.ApprovedTools = len(ourRules(b, root))
	}
	return r, errors.Join(r.ClaudeJSONErr, r.SettingsErr)
}

// readDoc reads and parses a file; a missing file is (nil, nil, nil).
func readDoc(path string) ([]byte, *node, error) {
	b, _, exists, err := readFile(path)
	if err != nil || !exists {
		return nil, nil, err
	}
	root, err := parse(b)
	if err == nil && root.kind != '{' {
		err = errors.New("not a JSON object")
	}
	if err != nil {
		return nil, nil, &os.PathError{Op: "parse", Path: path, Err: err}
	}
	return b, root, nil
}
