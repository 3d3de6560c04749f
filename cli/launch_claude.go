package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

// envClaudeBin names the claude binary launch runs, ahead of every other
// place it looks. Tests point it at a stand-in.
const envClaudeBin = "CLAUDEMESH_CLAUDE_BIN"

// findClaude finds the claude binary: $CLAUDEMESH_CLAUDE_BIN, then where
// Claude Code's installers put it (~/.local/bin, /usr/local/bin,
// ~/.claude/bin), then PATH.
func findClaude(env *Env, home string) (string, error) {
	if p := env.Getenv(envClaudeBin); p != "" {
		if info, err := os.Stat(p); err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return "", &ExitError{Code: ExitFailure, Err: fmt.Errorf("✗ %s=%s is not an executable file: fix it, or unset it to use the claude on PATH", envClaudeBin, p)}
		}
		return p, nil
	}
	dirs := append([]string{filepath.Join(home, ".local", "bin"), "/usr/local/bin", filepath.Join(home, ".claude", "bin")},
		filepath.SplitList(env.Getenv("PATH"))...)
	if p := findExecutable(dirs, "claude"); p != "" {
		// A relative PATH entry ("." or "bin") gives a relative path, which
		// exec would look up on PATH again.
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, nil
	}
	//nolint:revive,staticcheck // classic's message, word for word
	return "", &ExitError{Code: ExitFailure, Err: errors.New("✗ `claude` not found on PATH. Install Claude Code first (npm install -g @anthropic-ai/claude-code).")}
}

// stdinIsTerminal reports whether the Env's stdin is a terminal.
func stdinIsTerminal(env *Env) bool {
	f, ok := env.Stdin.(*os.File)
	return ok && isTerminal(f)
}

// forwardedSignals are passed on to claude while it runs. Claude Code's
// interactive UI keeps the terminal in raw mode, so Ctrl-C reaches it as a
// key, not as a signal; a signal launch gets came from kill (or a closed
// terminal) and is meant for the session.
func forwardedSignals() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
}

// runClaude runs claude as a child on the Env's stdin, stdout and stderr
// (the terminal, for the process), forwards signals to it, waits, and
// returns its exit status as an ExitError: its exit code, or 128+signal
// when a signal ended it.
func runClaude(env *Env, bin string, args, environ []string) error {
	// The command's context is never cancelled: claude's life is its own
	// (and the user's), and a signal reaches it through forwarding, not by a
	// kill when the launcher's context ends.
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Env = environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals()...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("start %s: %w", bin, err)}
	}
	done := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-forwarded
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("run %s: %w", bin, err)}
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal()), Err: fmt.Errorf("claude was ended by signal %d (%s)", int(ws.Signal()), ws.Signal())}
	}
	return &ExitError{Code: exit.ExitCode(), Err: fmt.Errorf("claude exited with status %d", exit.ExitCode())}
}
