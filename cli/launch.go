package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
)

// Message modes: how peers' messages reach a launched session.
const (
	modePush  = "push"
	modeInbox = "inbox"
	modeOff   = "off"
)

// modeExplanation is the banner's line for a message mode.
func modeExplanation(mode string) string {
	switch mode {
	case modeInbox:
		return "inbox: a short notice when a message arrives; Claude reads it with check_messages."
	case modeOff:
		return "off: no notices; Claude sees messages only when it calls check_messages."
	}
	return "push: peers' messages appear in the conversation as they arrive."
}

func checkMessageMode(mode string) error {
	switch mode {
	case modePush, modeInbox, modeOff:
		return nil
	}
	return fmt.Errorf("--message-mode %q: use push, inbox or off", mode)
}

// launchFlags are the flags of launch.
type launchFlags struct {
	name, role, groups, mesh, join, messageMode, systemPrompt, resume string
	yes, continueLast, quiet                                          bool
}

func newLaunchCommand(env *Env) *cobra.Command {
	var f launchFlags
	cmd := &cobra.Command{
		Use:   "launch [flags] [-- claude arguments]",
		Short: "Start Claude Code as a peer of a mesh, with messages pushed in real time",
		Long: `Start Claude Code (claude) as a peer of one mesh. Claude Code is run with the
claudemesh channel enabled, so peers' messages reach the model as they arrive,
and with a fresh session id that the MCP server and hooks share.

The session's settings reach "claudemesh mcp" through claude's environment:
CLAUDEMESH_MESH, CLAUDEMESH_DISPLAY_NAME, CLAUDEMESH_ROLE, CLAUDEMESH_GROUPS,
CLAUDEMESH_MESSAGE_MODE, CLAUDEMESH_CHANNELS and CLAUDEMESH_SESSION_ID (launch
sets or clears each of them). MCP_TIMEOUT=30000, MAX_MCP_OUTPUT_TOKENS=50000 and
MCP_PROTOCOL_NEGOTIATION=legacy are added unless already set.

On a terminal, launch asks for what the flags leave open: the mesh (when you
joined several), a role, groups, the message mode, and whether Claude may run
without permission prompts (-y says yes). --quiet asks nothing.

Message modes: push (messages appear as they arrive), inbox (a notice; Claude
reads them with check_messages), off (only check_messages).

Arguments after "--" go to claude unchanged, except
--dangerously-load-development-channels and --dangerously-skip-permissions,
which launch sets itself. If Claude Code does not have claudemesh in
~/.claude.json yet, launch adds it for this session (--mcp-config).

"claudemesh -y", "claudemesh --resume ID" and any other first argument that is
not a command mean "claudemesh launch …".

claude is looked for in $CLAUDEMESH_CLAUDE_BIN, then ~/.local/bin,
/usr/local/bin, ~/.claude/bin, then PATH. launch exits with claude's exit
status.`,
		Example: `  claudemesh launch
  claudemesh launch --mesh dev-team --name alice --role lead --groups eng:lead,qa -y
  claudemesh launch --join https://mesh.example.com/join/eyJ2IjoxLC... --quiet
  claudemesh launch --resume 6f1c2e0a-... -- --model opus
  claudemesh -y`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			passthrough, err := launchPassthrough(cmd, args)
			if err != nil {
				return err
			}
			return runLaunch(cmd.Context(), env, cmd, &f, passthrough)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "your display name in this session (default: your configured name, else <hostname>-<pid>)")
	fl.StringVar(&f.role, "role", "", "your role in this session, e.g. lead or reviewer")
	fl.StringVar(&f.groups, "groups", "", "groups to join, as name[:role],… (e.g. eng:lead,eng/backend,qa)")
	fl.StringVar(&f.mesh, "mesh", "", "the mesh to join the session to (needed when you joined several)")
	fl.StringVar(&f.join, "join", "", "join the mesh of this invite link first, then launch into it")
	fl.StringVar(&f.messageMode, "message-mode", modePush, "how messages reach Claude: push, inbox or off")
	fl.StringVar(&f.systemPrompt, "system-prompt", "", "the system prompt for the session (passed to claude --system-prompt)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "let Claude run without permission prompts (--dangerously-skip-permissions), without asking")
	fl.StringVarP(&f.resume, "resume", "r", "", "resume the Claude Code session with this id")
	fl.BoolVarP(&f.continueLast, "continue", "c", false, "continue the most recent Claude Code session in this directory")
	fl.BoolVar(&f.quiet, "quiet", false, "ask nothing and print no banner")
	cmd.MarkFlagsMutuallyExclusive("resume", "continue")
	cmd.MarkFlagsMutuallyExclusive("mesh", "join")
	return cmd
}

// launchPassthrough returns the arguments after "--". Arguments before it
// are a mistake, most likely a mistyped command that the friction reducer
// turned into a launch.
func launchPassthrough(cmd *cobra.Command, args []string) ([]string, error) {
	dash := cmd.ArgsLenAtDash()
	if dash < 0 {
		dash = len(args)
	}
	if dash == 0 {
		return args, nil
	}
	stray := args[0]
	hint := ""
	root := cmd.Root()
	if root.SuggestionsMinimumDistance <= 0 {
		root.SuggestionsMinimumDistance = 2 // cobra's own default for "unknown command"
	}
	if s := root.SuggestionsFor(stray); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	// Exit 1 and cobra's words, as for any unknown command.
	return nil, &ExitError{Code: ExitFailure, Err: fmt.Errorf(
		"unknown command %q%s; arguments for claude go after \"--\": claudemesh launch -- %s", stray, hint, strings.Join(args[:dash], " "))}
}

// runLaunch decides the session (flags, the inline join, the wizard), then
// runs claude.
func runLaunch(ctx context.Context, env *Env, cmd *cobra.Command, f *launchFlags, passthrough []string) error {
	if err := checkMessageMode(f.messageMode); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	groups, err := config.ParseGroups(f.groups)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--groups: %w", err)}
	}
	home, err := claudeHome(env)
	if err != nil {
		return err
	}
	claude, err := findClaude(env, home)
	if err != nil {
		return err
	}
	pass := parsePassthrough(passthrough)
	plan := &launchPlan{
		role:            strings.TrimSpace(f.role),
		groups:          groups,
		messageMode:     f.messageMode,
		resume:          f.resume,
		continueLast:    f.continueLast,
		skipPermissions: f.yes || pass.skipPermissions,
		systemPrompt:    f.systemPrompt,
		passthrough:     pass.args,
	}

	meshSlug := f.mesh
	if f.join != "" {
		if meshSlug, err = joinInline(ctx, env, f.join, f.name); err != nil {
			return fmt.Errorf("join with --join: %w", err)
		}
		if !f.quiet {
			_, _ = fmt.Fprintf(env.Stderr, "Joined %s.\n", meshSlug)
		}
	}
	cfg, _, err := loadConfig(env)
	if err != nil {
		return err
	}
	interactive := !f.quiet && isTerminal(env.Stdout) && stdinIsTerminal(env)
	asks := wizardAsks{
		role:        !cmd.Flags().Changed("role"),
		groups:      !cmd.Flags().Changed("groups"),
		mode:        !cmd.Flags().Changed("message-mode"),
		permissions: !plan.skipPermissions,
	}
	if plan.mesh, asks.meshes, err = pickLaunchMesh(cfg, meshSlug, interactive); err != nil {
		return err
	}
	if interactive {
		if err := newWizard(env.Stdin, env.Stdout).run(ctx, plan, asks); err != nil {
			return err
		}
	}
	plan.displayName = cmp.Or(strings.TrimSpace(f.name), cfg.DisplayName, hostPIDName())
	switch {
	case pass.sessionID != "":
		plan.sessionID = pass.sessionID
	case plan.resume == "" && !plan.continueLast && !pass.resumes:
		if plan.sessionID, err = newSessionID(); err != nil {
			return err
		}
		plan.passSessionID = true
	}
	note, err := plan.addSessionMCPConfig(env, home)
	if err != nil {
		return err
	}
	if !f.quiet {
		printLaunchBanner(env.Stderr, plan)
		if note != "" {
			_, _ = fmt.Fprintln(env.Stderr, note)
		}
	}
	return runClaude(env, claude, plan.claudeArgs(), plan.environ(os.Environ(), env.Getenv))
}

// pickLaunchMesh chooses the session's mesh: the one named (by --mesh or
// --join), else the only one. With several and no name, an interactive
// launch returns the slugs for the wizard to offer; otherwise it is an
// error.
func pickLaunchMesh(cfg *config.Config, slug string, interactive bool) (string, []string, error) {
	if len(cfg.Meshes) == 0 && slug == "" {
		return "", nil, &ExitError{Code: ExitNoConfig, Err: errors.New(
			`no meshes joined: join one with "claudemesh join <invite link>" (or "claudemesh launch --join <invite link>"), or start a local mesh with "claudemesh up"`)}
	}
	if slug == "" && len(cfg.Meshes) > 1 && interactive {
		slugs := make([]string, 0, len(cfg.Meshes))
		for _, m := range cfg.Meshes {
			slugs = append(slugs, m.Slug)
		}
		return "", slugs, nil
	}
	m, err := cfg.Pick(slug)
	if err != nil {
		return "", nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return m.Slug, nil, nil
}

// hostPIDName is the default display name of a session: <hostname>-<pid>.
func hostPIDName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "claude"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// withImplicitLaunch is classic claudemesh's friction reducer: when the
// first argument is neither a command (or one of its aliases) nor a help or
// version flag, the arguments are launch's. So "claudemesh -y" and
// "claudemesh --resume ID" start Claude Code, and bare "claudemesh" still
// shows the guide.
func withImplicitLaunch(root *cobra.Command, args []string) []string {
	if len(args) == 0 {
		return args
	}
	first := args[0]
	switch first {
	case "-h", "--help", "-v", "--version", "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
		return args
	}
	for _, c := range root.Commands() {
		if c.Name() == first || c.HasAlias(first) {
			return args
		}
	}
	return append([]string{"launch"}, args...)
}
