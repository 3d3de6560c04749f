package claudeconfig

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ServerName is the key of our entry in mcpServers, and so the middle of
// every tool name Claude Code gives our tools (mcp__claudemesh__<tool>).
const ServerName = "claudemesh"

// ToolPrefix starts the permission rule of each of our MCP tools.
const ToolPrefix = "mcp__" + ServerName + "__"

// hookTimeout is the timeout of our hooks, in seconds. The hook gives up on
// the broker after about a second; Claude Code waits for hooks before it
// goes on, so a stuck one must not hold a prompt for long.
const hookTimeout = 5

// Hook events and the state each reports to the broker. Claude Code fires
// StopFailure instead of Stop when a turn ends in an API error; without it
// the session would stay working on the broker.
const (
	eventPrompt      = "UserPromptSubmit"
	eventStop        = "Stop"
	eventStopFailure = "StopFailure"
	stateWork        = "working"
	stateIdle        = "idle"
)

// ourHook is one hook Install registers: its event, the state its handler
// reports, and the item that names it in a Change.
type ourHook struct{ item, event, state string }

// ourHookList is every hook Install registers, in the order it adds them.
func ourHookList() []ourHook {
	return []ourHook{
		{ItemPromptHook, eventPrompt, stateWork},
		{ItemStopHook, eventStop, stateIdle},
		{ItemStopFailureHook, eventStopFailure, stateIdle},
	}
}

// mcpServer is the mcpServers entry Claude Code reads: field order as
// `claude mcp add` writes it.
type mcpServer struct {
	Type    string   `json:"type"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// hookHandler is one command hook; Timeout is in seconds.
type hookHandler struct {
	Type    string `json:"type"`
	Command string `json:"command"`
	Timeout int    `json:"timeout"`
}

// hookGroup is a matcher group. Our events take no matcher.
type hookGroup struct {
	Hooks []hookHandler `json:"hooks"`
}

// HookCommand is the command line Claude Code runs for our hook: the binary
// (quoted for the shell when it needs to be) then "hook <state>".
func HookCommand(binary, state string) string {
	return shellQuote(binary) + " hook " + state
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// path characters: Claude Code runs hook commands through a shell, and a
// path with a space would otherwise break the hook.
func shellQuote(s string) string {
	plainRune := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%=,", r)
	}
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool { return !plainRune(r) }) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isOurHook reports whether a hook command runs claudemesh's hook: the
// classic marker "claudemesh hook ", quoted or not, or the binary's own
// path, whatever the binary is called.
func isOurHook(command, binary string) bool {
	if strings.Contains(command, "claudemesh hook ") || strings.Contains(command, "claudemesh' hook ") {
		return true
	}
	return binary != "" && strings.HasPrefix(command, shellQuote(binary)+" hook ")
}

// --- mcpServers.claudemesh in ~/.claude.json

// mcpPath is where our entry lives: user scope.
func mcpPath() []string { return []string{"mcpServers", ServerName} }

// mcpState describes our entry in a parsed ~/.claude.json.
type mcpState struct {
	present bool
	command string
	args    []string
}

func readMCP(b []byte, root *node) mcpState {
	n, _, _, err := lookup(root, mcpPath()...)
	if err != nil || n == nil {
		return mcpState{}
	}
	st := mcpState{present: true}
	st.command, _ = stringValue(b, n.child("command"))
	if a := n.child("args"); a != nil {
		_ = json.Unmarshal(b[a.start:a.end], &st.args)
	}
	return st
}

func (s mcpState) equal(binary string) bool {
	return s.present && s.command == binary && slices.Equal(s.args, []string{"mcp"})
}

// installMCP makes mcpServers.claudemesh run binary's MCP server. An
// existing stdio entry keeps its other fields (an env the user added, a
// timeout): only command and args change.
func installMCP(binary string) step {
	want := mcpServer{Type: "stdio", Command: binary, Args: []string{"mcp"}}
	return func(b []byte, root *node, l layout) (*splice, error) {
		path := mcpPath()
		n, obj, depth, err := lookup(root, path...)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return insertPath(b, l, obj, path[depth:], want), nil
		}
		typ, hasType := stringValue(b, n.child("type"))
		if n.kind != '{' || (n.child("type") != nil && (!hasType || typ != "stdio")) {
			return replaceValue(b, l, n, want), nil
		}
		if st := readMCP(b, root); st.command != binary {
			return setMember(b, l, n, "command", binary), nil
		} else if !slices.Equal(st.args, want.Args) {
			return setMember(b, l, n, "args", want.Args), nil
		}
		return nil, nil
	}
}

// setMember sets key of obj to v, in place when it exists.
func setMember(b []byte, l layout, obj *node, key string, v any) *splice {
	if c := obj.child(key); c != nil {
		return replaceValue(b, l, c, v)
	}
	return insertMember(b, l, obj, key, v)
}

// uninstallMCP removes mcpServers.claudemesh, and mcpServers when nothing
// else is left in it.
func uninstallMCP(_ []byte, root *node, _ layout) (*splice, error) {
	servers := root.child("mcpServers")
	i := servers.get(ServerName)
	if i < 0 {
		return nil, nil
	}
	if len(servers.members) == 1 {
		return removeMember(root, root.get("mcpServers")), nil
	}
	return removeMember(servers, i), nil
}

// projectEntries returns the projects (local scope) of ~/.claude.json that
// have their own claudemesh server, which wins over the user-scope one in
// that directory, with its command.
func projectEntries(b []byte, root *node) []ProjectEntry {
	projects := root.child("projects")
	if projects == nil || projects.kind != '{' {
		return nil
	}
	var out []ProjectEntry
	for _, p := range projects.members {
		n, _, _, err := lookup(p.val, "mcpServers", ServerName)
		if err != nil || n == nil {
			continue
		}
		cmd, _ := stringValue(b, n.child("command"))
		out = append(out, ProjectEntry{Dir: p.key, Command: cmd})
	}
	return out
}

// --- hooks in ~/.claude/settings.json

// hookRef locates one of our handlers.
type hookRef struct {
	event         int // member index in hooks
	group, handle int // element indexes
	command       string
	equal         bool // already exactly the handler we would write
}

// ourHooks lists our handlers under hooks.<event> (every event when event
// is ""), in document order.
func ourHooks(b []byte, root *node, event, binary string, want *hookHandler) []hookRef {
	hooks := root.child("hooks")
	if hooks == nil || hooks.kind != '{' {
		return nil
	}
	var refs []hookRef
	for ei, ev := range hooks.members {
		if (event != "" && ev.key != event) || ev.val.kind != '[' {
			continue
		}
		for gi, g := range ev.val.elems {
			hs := g.child("hooks")
			if hs == nil || hs.kind != '[' {
				continue
			}
			for hi, h := range hs.elems {
				cmd, ok := stringValue(b, h.child("command"))
				if !ok || !isOurHook(cmd, binary) {
					continue
				}
				ref := hookRef{event: ei, group: gi, handle: hi, command: cmd}
				if want != nil {
					var got hookHandler
					ref.equal = json.Unmarshal(b[h.start:h.end], &got) == nil && got == *want &&
						len(h.members) == 3
				}
				refs = append(refs, ref)
			}
		}
	}
	return refs
}

// installHook makes hooks.<event> run our handler exactly once: it adds a
// matcher group for it, or rewrites one of ours that runs another binary or
// state, and drops duplicates.
func installHook(event, state, binary string) step {
	want := hookHandler{Type: "command", Command: HookCommand(binary, state), Timeout: hookTimeout}
	return func(b []byte, root *node, l layout) (*splice, error) {
		path := []string{"hooks", event}
		arr, obj, depth, err := lookup(root, path...)
		if err != nil {
			return nil, err
		}
		if arr == nil {
			return insertPath(b, l, obj, path[depth:], []any{hookGroup{Hooks: []hookHandler{want}}}), nil
		}
		if arr.kind != '[' {
			return nil, fmt.Errorf("hooks.%s is not a JSON array; fix it by hand or restore a backup", event)
		}
		refs := ourHooks(b, root, event, binary, &want)
		if len(refs) == 0 {
			return appendElems(b, l, arr, []any{hookGroup{Hooks: []hookHandler{want}}}), nil
		}
		if !refs[0].equal {
			g := arr.elems[refs[0].group].child("hooks")
			return replaceValue(b, l, g.elems[refs[0].handle], want), nil
		}
		if len(refs) > 1 {
			// A duplicate would run the hook twice. It is never alone in
			// the array: the first one is before it.
			return removeHook(root, refs[len(refs)-1]), nil
		}
		return nil, nil
	}
}

// removeHook removes one handler, and the matcher group, event and hooks
// object its removal would leave empty.
func removeHook(root *node, r hookRef) *splice {
	hooks := root.child("hooks")
	ev := hooks.members[r.event].val
	hs := ev.elems[r.group].child("hooks")
	switch {
	case len(hs.elems) > 1:
		return removeElem(hs, r.handle)
	case len(ev.elems) > 1:
		return removeElem(ev, r.group)
	case len(hooks.members) > 1:
		return removeMember(hooks, r.event)
	default:
		return removeMember(root, root.get("hooks"))
	}
}

// uninstallHooks removes every handler of ours, under any event.
func uninstallHooks(binary string) step {
	return func(b []byte, root *node, _ layout) (*splice, error) {
		refs := ourHooks(b, root, "", binary, nil)
		if len(refs) == 0 {
			return nil, nil
		}
		return removeHook(root, refs[len(refs)-1]), nil
	}
}

// --- permissions.allow in ~/.claude/settings.json

func allowPath() []string { return []string{"permissions", "allow"} }

// missingTools returns the rules for tools that permissions.allow lacks.
func missingTools(b []byte, root *node, tools []string) []string {
	have := map[string]bool{}
	if arr, _, _, err := lookup(root, allowPath()...); err == nil && arr != nil {
		for _, e := range arr.elems {
			if s, ok := stringValue(b, e); ok {
				have[s] = true
			}
		}
	}
	var missing []string
	for _, t := range tools {
		if r := ToolPrefix + t; !have[r] && !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	return missing
}

// ourRules returns the indexes of our rules in permissions.allow.
func ourRules(b []byte, root *node) []int {
	arr, _, _, err := lookup(root, allowPath()...)
	if err != nil || arr == nil || arr.kind != '[' {
		return nil
	}
	var idx []int
	for i, e := range arr.elems {
		if s, ok := stringValue(b, e); ok && strings.HasPrefix(s, ToolPrefix) {
			idx = append(idx, i)
		}
	}
	return idx
}

// installPermissions pre-approves our tools.
func installPermissions(tools []string) step {
	return func(b []byte, root *node, l layout) (*splice, error) {
		missing := missingTools(b, root, tools)
		if len(missing) == 0 {
			return nil, nil
		}
		vs := make([]any, len(missing))
		for i, m := range missing {
			vs[i] = m
		}
		path := allowPath()
		arr, obj, depth, err := lookup(root, path...)
		if err != nil {
			return nil, err
		}
		if arr == nil {
			return insertPath(b, l, obj, path[depth:], vs), nil
		}
		if arr.kind != '[' {
			return nil, fmt.Errorf("permissions.allow is not a JSON array; fix it by hand or restore a backup")
		}
		return appendElems(b, l, arr, vs), nil
	}
}

// uninstallPermissions removes every mcp__claudemesh__ rule, and the allow
// list and permissions object that leaves empty.
func uninstallPermissions(b []byte, root *node, _ layout) (*splice, error) {
	idx := ourRules(b, root)
	if len(idx) == 0 {
		return nil, nil
	}
	perms := root.child("permissions")
	arr := perms.child("allow")
	switch {
	case len(arr.elems) > 1:
		return removeElem(arr, idx[len(idx)-1]), nil
	case len(perms.members) > 1:
		return removeMember(perms, perms.get("allow")), nil
	default:
		return removeMember(root, root.get("permissions")), nil
	}
}
