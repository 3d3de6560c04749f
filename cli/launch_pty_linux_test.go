package cli_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// openPTY opens a pseudo-terminal pair: the master, where the test plays
// the user, and the terminal (slave) the launcher runs on.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { _ = master.Close() })
	var n uint32
	var ioctlErr error
	raw, err := master.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, raw.Control(func(fd uintptr) {
		var unlock int32
		//nolint:gosec // unlockpt(3) and ptsname(3) need the ioctls' pointer arguments
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
			ioctlErr = e
			return
		}
		//nolint:gosec // as above
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
			ioctlErr = e
		}
	}))
	require.NoError(t, ioctlErr)
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tty.Close() })
	return master, tty
}

// TestLaunchWizardOnTerminal runs launch on a terminal: it asks what the
// flags leave open, one line at a time, then hands the terminal to claude.
func TestLaunchWizardOnTerminal(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha", "beta")
	l.install(t)
	master, tty := openPTY(t)

	cmd := exec.Command(binary, "launch", "--name", "erin")
	cmd.Env = l.environ(nil)
	var stderr lockedBuffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	require.NoError(t, tty.Close()) // the launcher and claude hold it now
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var screen lockedBuffer
	go func() { _, _ = io.Copy(&screen, master) }()
	answer := func(prompt, line string) {
		t.Helper()
		require.Eventually(t, func() bool { return strings.Contains(screen.String(), prompt) }, 20*time.Second, 10*time.Millisecond,
			"no %q on the terminal:\n%s\nstderr:\n%s", prompt, &screen, &stderr)
		_, err := master.WriteString(line + "\n")
		require.NoError(t, err)
	}
	answer("Mesh [1-2, default 1]: ", "2")
	answer("Your role in this session", "lead")
	answer("Groups to join", "eng:lead, qa")
	answer("Message mode [1-3, default 1 (push)]: ", "inbox")
	answer("Let Claude run without permission prompts? [y/N] ", "y")

	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("launch did not finish:\n%s\nstderr:\n%s", &screen, &stderr)
	}
	require.NoError(t, err, "stderr:\n%s", &stderr)
	var r launchRun
	l.readClaude(t, &r)
	require.True(t, r.ran)
	require.True(t, r.tty, "claude got the terminal")
	require.Equal(t, "--dangerously-skip-permissions", r.argv[4], r.argv)
	require.Equal(t, "beta", r.env["CLAUDEMESH_MESH"])
	require.Equal(t, "erin", r.env["CLAUDEMESH_DISPLAY_NAME"])
	require.Equal(t, "lead", r.env["CLAUDEMESH_ROLE"])
	require.Equal(t, "eng:lead,qa", r.env["CLAUDEMESH_GROUPS"])
	require.Equal(t, "inbox", r.env["CLAUDEMESH_MESSAGE_MODE"])
	require.Contains(t, stderr.String(), "claudemesh launch — as erin (lead) on beta [@eng:lead, @qa] [inbox]")
}

// TestLaunchQuietOnTerminal: --quiet asks nothing, even on a terminal, and
// several meshes then need --mesh.
func TestLaunchQuietOnTerminal(t *testing.T) {
	t.Parallel()
	l := newLauncher(t, "alpha", "beta")
	l.install(t)
	master, tty := openPTY(t)
	go func() { _, _ = io.Copy(io.Discard, master) }()

	cmd := exec.Command(binary, "launch", "--quiet")
	cmd.Env = l.environ(nil)
	var stderr strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "got %v", err)
	require.Equal(t, 2, exit.ExitCode())
	require.Contains(t, stderr.String(), "pick one with --mesh")

	cmd = exec.Command(binary, "launch", "--quiet", "--mesh", "alpha")
	cmd.Env = l.environ(nil)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &stderr
	require.NoError(t, cmd.Run())
	var r launchRun
	l.readClaude(t, &r)
	require.True(t, r.tty)
	require.Equal(t, []string{"--dangerously-load-development-channels", "server:claudemesh", "--session-id"}, r.argv[:3], "no skip-permissions without -y")
	require.Len(t, r.argv, 4)
}
