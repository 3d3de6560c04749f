package cli

import (
	"fmt"
	"strings"

	"claudemesh.dev/cli/internal/claudeconfig"
)

// guideState is where a user stands, for the first-run guide.
type guideState int

const (
	guideBroken       guideState = iota // the config (or Claude Code's) cannot be read
	guideNoMesh                         // no mesh joined
	guideNotInstalled                   // meshes, but claudemesh is not in Claude Code
	guideReady
)

// guideFacts is what the guide found out.
type guideFacts struct {
	state guideState
	// problem says what is broken (guideBroken).
	problem string
	meshes  []string
	// installed: Claude Code runs this binary's MCP server.
	installed bool
	// otherCommand is the binary Claude Code runs instead of this one.
	otherCommand string
}

// runGuide is bare "claudemesh": the next step for the state the user is
// in, in a few lines.
func runGuide(env *Env) error {
	p := newPainter(env)
	w := env.Stdout
	self := "claudemesh"
	bin, err := runningBinary()
	if err == nil {
		self = selfCommand(env, bin)
	} else {
		bin = ""
	}
	step := func(command, what string) {
		_, _ = fmt.Fprintf(w, "  %s%s  %s\n", p.bold(self+" "+command), strings.Repeat(" ", max(0, 16-len(command))), what)
	}
	_, _ = fmt.Fprintf(w, "%s %s — a team of Claude Code sessions\n\n", p.bold("claudemesh"), Version())

	f := guideFactsOf(env, bin)
	switch f.state {
	case guideBroken:
		_, _ = fmt.Fprintf(w, "%s %s\n", p.bad("✗ broken config:"), f.problem)
		step("doctor", "find out what is wrong and how to fix it")
	case guideNoMesh:
		_, _ = fmt.Fprintln(w, "Step 1: join a mesh.")
		step("up", "run a local broker and mesh for the sessions on this machine")
		step("join <link>", "or join a mesh someone invited you to")
		if !f.installed {
			_, _ = fmt.Fprintf(w, "Step 2: %s install (adds claudemesh to Claude Code).\n", self)
		}
	case guideNotInstalled:
		_, _ = fmt.Fprintf(w, "Meshes: %s\n", strings.Join(f.meshes, ", "))
		if f.otherCommand != "" {
			_, _ = fmt.Fprintf(w, "Claude Code runs another claudemesh (%s). Point it at this one:\n", f.otherCommand)
		} else {
			_, _ = fmt.Fprintln(w, "Next: add claudemesh to Claude Code.")
		}
		step("install", "register the MCP server and hooks, then restart Claude Code")
	case guideReady:
		_, _ = fmt.Fprintf(w, "%s Meshes: %s\n", p.ok("✓ Ready."), strings.Join(f.meshes, ", "))
		step("launch", "start Claude Code with real-time messages (plain claude works too)")
		step("peers", "see who is connected")
		step("doctor", "check the setup")
	}
	_, _ = fmt.Fprintf(w, "\nMore: %s --help\n", self)
	return nil
}

func guideFactsOf(env *Env, bin string) guideFacts {
	cfg, _, err := loadConfig(env)
	if err != nil {
		return guideFacts{state: guideBroken, problem: err.Error()}
	}
	home, err := claudeHome(env)
	if err != nil {
		return guideFacts{state: guideBroken, problem: err.Error()}
	}
	r, err := claudeconfig.Status(home, bin)
	if err != nil {
		return guideFacts{state: guideBroken, problem: "Claude Code's files: " + err.Error()}
	}
	f := guideFacts{installed: r.MCP.Registered && (bin == "" || sameFile(r.MCP.Command, bin))}
	if r.MCP.Registered && !f.installed {
		f.otherCommand = r.MCP.Command
	}
	for _, m := range cfg.Meshes {
		f.meshes = append(f.meshes, m.Slug)
	}
	switch {
	case len(f.meshes) == 0:
		f.state = guideNoMesh
	case !f.installed:
		f.state = guideNotInstalled
	default:
		f.state = guideReady
	}
	return f
}
