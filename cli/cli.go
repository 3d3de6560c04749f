// Package cli is the claudemesh command line. One binary is the CLI, the
// stdio MCP server Claude Code spawns, and the broker.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Env is what commands run with. Tests build their own; Main uses the
// process's.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable.
	Getenv func(string) string
	// NowFunc is the clock.
	NowFunc func() time.Time
}

// ProcessEnv returns the Env of this process.
func ProcessEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, NowFunc: time.Now}
}

// Exit codes. Every failure exits non-zero with a stable code.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitNoConfig = 3
)

// ExitError carries an exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// NewRootCommand returns the claudemesh command tree.
func NewRootCommand(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "claudemesh",
		Short: "Turn Claude Code sessions into a team that messages, shares state and uses shared tools",
		Long: `claudemesh connects Claude Code sessions — on one laptop or across machines —
into a mesh: peers message each other (end-to-end encrypted), share state and
files, schedule reminders, and use MCP services the mesh hosts.

Start a local broker with "claudemesh up".`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Bare "claudemesh": the first-run guide.
		RunE: func(*cobra.Command, []string) error { return runGuide(env) },
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.AddCommand(
		newUpCommand(env),
		newBrokerCommand(env),
		newMeshCommand(env),
		newInviteCommand(env),
		newJoinCommand(env),
		newListCommand(env),
		newLeaveCommand(env),
		newPeersCommand(env),
		newBenchCommand(env),
		newVersionCommand(env),
		newInstallCommand(env),
		newUninstallCommand(env),
		newDoctorCommand(env),
		newHookCommand(env),
		newLaunchCommand(env),
		newMCPCommand(env),
		newSendCommand(env),
		newInboxCommand(env),
		newStateCommand(env),
		newStatusCommand(env),
		newRemindCommand(env),
	)
	return root
}

// Main runs the command line with the process's arguments and returns the
// exit code.
func Main(ctx context.Context, args []string) int {
	env := ProcessEnv()
	root := NewRootCommand(env)
	// Classic's friction reducer: a first argument that is not a command
	// ("claudemesh -y", "claudemesh --resume ID") means "claudemesh launch
	// …"; see withImplicitLaunch.
	root.SetArgs(withImplicitLaunch(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	_, _ = fmt.Fprintln(env.Stderr, "claudemesh:", err)
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	return ExitFailure
}
