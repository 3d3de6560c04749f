package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"claudemesh.dev/cli/internal/claudeconfig"
	"claudemesh.dev/cli/internal/config"
)

// Claude Code flags launch sets itself.
const (
	flagChannels        = "--dangerously-load-development-channels"
	flagSkipPermissions = "--dangerously-skip-permissions"
)

// Environment variables launch gives claude, which passes them on to the
// MCP server it spawns: the contract between launch and "claudemesh mcp".
const (
	envMesh        = "CLAUDEMESH_MESH"
	envDisplayName = "CLAUDEMESH_DISPLAY_NAME"
	envRole        = "CLAUDEMESH_ROLE"
	envGroups      = "CLAUDEMESH_GROUPS"
	envMessageMode = "CLAUDEMESH_MESSAGE_MODE"
	envChannels    = "CLAUDEMESH_CHANNELS"
	envSessionID   = "CLAUDEMESH_SESSION_ID"
)

// sessionEnvNames are the variables launch owns: each is set for the
// session or removed, so a value inherited from an enclosing launched
// session never leaks into this one.
func sessionEnvNames() []string {
	return []string{envMesh, envDisplayName, envRole, envGroups, envMessageMode, envChannels, envSessionID}
}

// claudeEnvDefaults are Claude Code settings launch adds unless the
// environment already sets them: mesh tool calls cross a broker, so they get
// more time and room than the defaults (30 s startup, 25,000 tokens), and
// legacy protocol negotiation keeps Claude Code from the 2026-07-28 protocol,
// which cannot carry channel messages (spec B.7, B.9).
func claudeEnvDefaults() [][2]string {
	return [][2]string{
		{"MCP_TIMEOUT", "30000"},
		{"MAX_MCP_OUTPUT_TOKENS", "50000"},
		{"MCP_PROTOCOL_NEGOTIATION", "legacy"},
	}
}

// launchPlan is a decided launch: how claude is run and what the session's
// MCP server is told.
type launchPlan struct {
	mesh        string
	displayName string
	role        string
	groups      []config.Group
	messageMode string
	// sessionID is the Claude Code session id when it is known before
	// claude starts: ours for a fresh session, or one passed after "--".
	sessionID string
	// passSessionID: claude gets --session-id sessionID (ours).
	passSessionID   bool
	resume          string
	continueLast    bool
	skipPermissions bool
	systemPrompt    string
	// mcpConfig is the --mcp-config JSON that adds our MCP server for this
	// session, when ~/.claude.json does not have it.
	mcpConfig string
	// passthrough are the arguments for claude after "--", cleaned.
	passthrough []string
}

// claudeArgs are claude's arguments, in classic's order. The channel flag
// (and --mcp-config) take several values, so a flag always follows them:
// --session-id, --resume or --continue.
func (p *launchPlan) claudeArgs() []string {
	args := []string{flagChannels, "server:" + claudeconfig.ServerName}
	if p.mcpConfig != "" {
		args = append(args, "--mcp-config", p.mcpConfig)
	}
	if p.passSessionID {
		args = append(args, "--session-id", p.sessionID)
	}
	switch {
	case p.resume != "":
		args = append(args, "--resume", p.resume)
	case p.continueLast:
		args = append(args, "--continue")
	}
	if p.skipPermissions {
		args = append(args, flagSkipPermissions)
	}
	if p.systemPrompt != "" {
		args = append(args, "--system-prompt", p.systemPrompt)
	}
	return append(args, p.passthrough...)
}

// environ is claude's environment: base (the process's) with the session's
// variables set, launch's other variables removed, and the Claude Code
// defaults added where getenv finds them unset.
func (p *launchPlan) environ(base []string, getenv func(string) string) []string {
	set := [][2]string{
		{envMesh, p.mesh},
		{envDisplayName, p.displayName},
		{envMessageMode, p.messageMode},
		{envChannels, "1"},
	}
	if p.role != "" {
		set = append(set, [2]string{envRole, p.role})
	}
	if len(p.groups) > 0 {
		set = append(set, [2]string{envGroups, config.FormatGroups(p.groups)})
	}
	if p.sessionID != "" {
		set = append(set, [2]string{envSessionID, p.sessionID})
	}
	for _, kv := range claudeEnvDefaults() {
		if getenv(kv[0]) == "" {
			set = append(set, kv)
		}
	}
	drop := map[string]bool{}
	for _, k := range sessionEnvNames() {
		drop[k] = true
	}
	for _, kv := range set {
		drop[kv[0]] = true
	}
	out := make([]string, 0, len(base)+len(set))
	for _, e := range base {
		if k, _, _ := strings.Cut(e, "="); !drop[k] {
			out = append(out, e)
		}
	}
	for _, kv := range set {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

// passthrough is what launch takes from the arguments for claude.
type passthrough struct {
	// args are the arguments without the flags launch sets itself.
	args []string
	// skipPermissions: they held --dangerously-skip-permissions, which
	// launch then passes itself.
	skipPermissions bool
	// sessionID is the value of a --session-id among them.
	sessionID string
	// resumes: they resume a session (--resume, -r, --continue, -c), so
	// launch must not give a new session id.
	resumes bool
}

// parsePassthrough cleans the arguments for claude: it removes
// --dangerously-load-development-channels with its value and
// --dangerously-skip-permissions (launch adds both), and notes what decides
// the session id.
func parsePassthrough(args []string) passthrough {
	var p passthrough
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == flagChannels:
			i++ // and its value
			continue
		case strings.HasPrefix(a, flagChannels+"="):
			continue
		case a == flagSkipPermissions:
			p.skipPermissions = true
			continue
		case a == "--session-id" && i+1 < len(args):
			p.sessionID = args[i+1]
		case strings.HasPrefix(a, "--session-id="):
			p.sessionID = strings.TrimPrefix(a, "--session-id=")
		case a == "--resume" || a == "-r" || a == "--continue" || a == "-c" || strings.HasPrefix(a, "--resume="):
			p.resumes = true
		}
		p.args = append(p.args, a)
	}
	return p
}

// addSessionMCPConfig makes sure the session has our MCP server: when
// ~/.claude.json has no mcpServers.claudemesh, the server (this binary, as
// install would register it) is given to claude with --mcp-config for this
// session only. It returns a note suggesting install then.
func (p *launchPlan) addSessionMCPConfig(env *Env, home string) (string, error) {
	if r, _ := claudeconfig.Status(home, ""); r.MCP.Registered {
		return "", nil
	}
	bin, err := runningBinary()
	if err != nil {
		return "", err
	}
	type server struct {
		Type    string   `json:"type"`
		Command string   `json:"command"`
		Args    []string `json:"args"`
	}
	b, err := json.Marshal(map[string]map[string]server{
		"mcpServers": {claudeconfig.ServerName: {Type: "stdio", Command: bin, Args: []string{"mcp"}}},
	})
	if err != nil {
		return "", fmt.Errorf("encode the session's MCP config: %w", err)
	}
	p.mcpConfig = string(b)
	return fmt.Sprintf("claudemesh is not in %s: added it for this session only; run `%s install` to add it for every session.",
		tilde(home, claudeconfig.ClaudeJSONPath(home)), selfCommand(env, bin)), nil
}

// printLaunchBanner says who the session is, where, and how messages reach
// it.
func printLaunchBanner(w io.Writer, p *launchPlan) {
	var b strings.Builder
	b.WriteString("claudemesh launch — as " + p.displayName)
	if p.role != "" {
		b.WriteString(" (" + p.role + ")")
	}
	b.WriteString(" on " + p.mesh)
	if len(p.groups) > 0 {
		tags := make([]string, 0, len(p.groups))
		for _, g := range p.groups {
			tags = append(tags, "@"+config.FormatGroups([]config.Group{g}))
		}
		b.WriteString(" [" + strings.Join(tags, ", ") + "]")
	}
	b.WriteString(" [" + p.messageMode + "]")
	_, _ = fmt.Fprintf(w, "%s\n  %s\n", b.String(), modeExplanation(p.messageMode))
}

// newSessionID returns a random (version 4) UUID for a fresh Claude Code
// session.
func newSessionID() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("make a session id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
