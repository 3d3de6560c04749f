package bench

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBrokerProcess(t *testing.T) {
	t.Parallel()

	t.Run("ThisProcess", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/proc/net/tcp"); err != nil {
			t.Skip("no /proc/net/tcp on this system")
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		port := ln.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // a TCP listener

		got := brokerProcessOf("ws://127.0.0.1:" + strconv.Itoa(port) + "/ws")
		require.Equal(t, os.Getpid(), got.PID, got.Note)
		require.Positive(t, got.RSSBytes)
		require.GreaterOrEqual(t, got.PeakRSSBytes, got.RSSBytes)
		require.Contains(t, got.RSS, "MiB")
	})

	t.Run("NobodyListening", func(t *testing.T) {
		t.Parallel()
		got := brokerProcessOf("ws://127.0.0.1:1/ws")
		require.Equal(t, "unknown", got.RSS)
		require.Zero(t, got.RSSBytes)
		require.NotEmpty(t, got.Note)
	})

	t.Run("NoPort", func(t *testing.T) {
		t.Parallel()
		got := brokerProcessOf("ws://localhost/ws")
		require.Equal(t, "unknown", got.RSS)
		require.Contains(t, got.Note, "no port")
	})

	t.Run("FakeProc", func(t *testing.T) {
		t.Parallel()
		proc := t.TempDir()
		write := func(path, content string) {
			t.Helper()
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(proc, path)), 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(proc, path), []byte(content), 0o600))
		}
		// Port 7900 (0x1EDC): one established socket (state 01) and the
		// listener (0A) in tcp6.
		write("net/tcp", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
			"   0: 0100007F:1EDC 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 20 4 30 10 -1\n")
		write("net/tcp6", "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
			"   0: 00000000000000000000000000000000:1EDC 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1 0 100 0 0 10 0\n")
		write("42/status", "Name:\tclaudemesh\nVmHWM:\t   61440 kB\nVmRSS:\t   51200 kB\n")
		require.NoError(t, os.MkdirAll(filepath.Join(proc, "42", "fd"), 0o700))
		require.NoError(t, os.MkdirAll(filepath.Join(proc, "7", "fd"), 0o700))
		require.NoError(t, os.Symlink("socket:[111]", filepath.Join(proc, "7", "fd", "3")))
		require.NoError(t, os.Symlink("socket:[222]", filepath.Join(proc, "42", "fd", "5")))

		pid, err := listenerPID(proc, 7900)
		require.NoError(t, err)
		require.Equal(t, 42, pid)
		rss, peak, err := processMemory(proc, pid)
		require.NoError(t, err)
		require.Equal(t, int64(50<<20), rss)
		require.Equal(t, int64(60<<20), peak)

		_, err = listenerPID(proc, 7901)
		require.ErrorContains(t, err, "no socket listening on port 7901")
	})
}
