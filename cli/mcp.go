package cli

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/cli/internal/mcpserver"
)

func newMCPCommand(env *Env) *cobra.Command {
	var grace, confirmWait time.Duration
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Run the stdio MCP server Claude Code talks to (started by Claude Code, not by hand)",
		Long: `Run the claudemesh MCP server on stdin/stdout. Claude Code starts it for every
session ("claudemesh install" registers it); it connects the session to every
joined mesh and brings peers' messages to the model.

It reads the session's settings from the environment "claudemesh launch" sets:
  CLAUDEMESH_MESH          connect only this mesh (slug)
  CLAUDEMESH_DISPLAY_NAME  the session's name (default: config, else user-directory)
  CLAUDEMESH_ROLE          the session's role, for the model's instructions
  CLAUDEMESH_GROUPS        groups to join, "eng:lead,ops"
  CLAUDEMESH_MESSAGE_MODE  push (default), inbox or off
  CLAUDEMESH_CHANNELS      1 when Claude Code runs with the claudemesh channel
                           (detected from Claude Code's command line when unset)
  CLAUDE_CODE_SESSION_ID   set by Claude Code: keeps the identity across --resume
                           and lets the session's hooks reach this server`,
		Example: "  claude mcp add --scope user claudemesh -- claudemesh mcp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := mcpOptions(env)
			if err != nil {
				return err
			}
			opts.ChannelGrace, opts.ConfirmWait = grace, confirmWait
			srv, err := mcpserver.New(opts)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context(), stdioTransport(env))
		},
	}
	cmd.Flags().DurationVar(&grace, "channel-grace", 2*time.Second, "wait this long after the MCP handshake before the first channel notification")
	cmd.Flags().DurationVar(&confirmWait, "confirm-wait", 5*time.Second, "how long a channel message waits to show up in the transcript before the hooks hand it over too")
	_ = cmd.Flags().MarkHidden("channel-grace")
	_ = cmd.Flags().MarkHidden("confirm-wait")
	return cmd
}

// mcpOptions reads the server's settings from the config and environment.
func mcpOptions(env *Env) (mcpserver.Options, error) {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: mcpLogLevel(env)}))
	cfg, dir, err := loadConfig(env)
	if err != nil {
		return mcpserver.Options{}, err
	}
	opts := mcpserver.Options{
		Meshes:      cfg.Meshes,
		ConfigDir:   dir,
		SessionID:   cmp.Or(env.Getenv("CLAUDE_CODE_SESSION_ID"), env.Getenv("CLAUDEMESH_SESSION_ID")),
		DisplayName: cmp.Or(env.Getenv("CLAUDEMESH_DISPLAY_NAME"), cfg.DisplayName, sessionName(env)),
		Role:        cmp.Or(env.Getenv("CLAUDEMESH_ROLE"), cfg.Role),
		Groups:      cfg.Groups,
		Mode:        cmp.Or(env.Getenv("CLAUDEMESH_MESSAGE_MODE"), cfg.MessageMode, mcpserver.ModePush),
		Channels:    channelsOn(env),
		// Under Claude Code (which sets CLAUDECODE=1 and the session id) a
		// channel message counts as delivered once the transcript shows it.
		ConfirmChannel: env.Getenv("CLAUDECODE") == "1" && env.Getenv("CLAUDE_CODE_SESSION_ID") != "",
		TranscriptDirs: claudeProjectDirs(env),
		Model:          cmp.Or(env.Getenv("CLAUDE_MODEL"), env.Getenv("ANTHROPIC_MODEL")),
		Version:        Version(),
		Logger:         log,
		Now:            env.NowFunc,
	}
	if slug := env.Getenv("CLAUDEMESH_MESH"); slug != "" {
		m, err := cfg.Pick(slug)
		if err != nil {
			return opts, fmt.Errorf("CLAUDEMESH_MESH: %w", err)
		}
		opts.Meshes = []config.Mesh{*m}
	}
	if g := env.Getenv("CLAUDEMESH_GROUPS"); g != "" {
		groups, err := config.ParseGroups(g)
		if err != nil {
			return opts, fmt.Errorf("CLAUDEMESH_GROUPS: %w", err)
		}
		opts.Groups = groups
	}
	return opts, nil
}

// claudeProjectDirs are where Claude Code keeps session transcripts:
// $CLAUDE_CONFIG_DIR/projects, else ~/.claude/projects.
func claudeProjectDirs(env *Env) []string {
	if d := env.Getenv("CLAUDE_CONFIG_DIR"); d != "" {
		return []string{filepath.Join(d, "projects")}
	}
	home := env.Getenv("HOME")
	if home == "" {
		return nil
	}
	return []string{filepath.Join(home, ".claude", "projects")}
}

func mcpLogLevel(env *Env) slog.Level {
	switch strings.ToLower(env.Getenv("CLAUDEMESH_DEBUG")) {
	case "1", "true", "yes":
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// sessionName names a Claude Code session when nothing else does: the user
// and the project directory, so two sessions of one person tell apart.
func sessionName(env *Env) string {
	dir := env.Getenv("CLAUDE_PROJECT_DIR")
	if dir == "" {
		dir, _ = os.Getwd()
	}
	if base := filepath.Base(dir); base != "" && base != "." && base != string(filepath.Separator) {
		return defaultDisplayName(env) + "-" + base
	}
	return defaultDisplayName(env)
}

// channelsOn says whether Claude Code delivers this server's channel
// notifications to the model: CLAUDEMESH_CHANNELS when set (launch sets
// it), else whether Claude Code's own command line names the server as a
// channel (read from /proc on Linux; elsewhere, unknown means off).
// Guessing "on" wrongly would ack messages the model never saw.
func channelsOn(env *Env) bool {
	switch strings.ToLower(env.Getenv("CLAUDEMESH_CHANNELS")) {
	case "1", "true", "yes":
		return true
	case "0", "false", "no":
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", os.Getppid()))
	if err != nil {
		return false
	}
	return namesChannel(bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0}))
}

// namesChannel reports whether a claude command line loads the claudemesh
// server as a channel.
func namesChannel(args [][]byte) bool {
	for i, a := range args {
		arg := string(a)
		flag, value, hasValue := strings.Cut(arg, "=")
		if flag != "--dangerously-load-development-channels" && flag != "--channels" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = string(args[i+1])
		}
		for _, v := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
			if v == "server:"+mcpserver.Name || strings.HasPrefix(v, "plugin:"+mcpserver.Name+"@") {
				return true
			}
		}
	}
	return false
}

// stdioTransport is the MCP transport over the Env's stdin and stdout.
func stdioTransport(env *Env) mcp.Transport {
	return &mcp.IOTransport{Reader: readCloser(env.Stdin), Writer: writeCloser(env.Stdout)}
}

func readCloser(r io.Reader) io.ReadCloser {
	if rc, ok := r.(io.ReadCloser); ok {
		return rc
	}
	return io.NopCloser(r)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func writeCloser(w io.Writer) io.WriteCloser {
	if wc, ok := w.(io.WriteCloser); ok {
		return wc
	}
	return nopWriteCloser{w}
}
