package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/pgtest"
)

// binary is the claudemesh binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "claudemesh-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "claudemesh")
	build := exec.Command("go", "build", "-o", binary, "claudemesh.dev/cli/cmd/claudemesh")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build claudemesh:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// broker is a running claudemesh broker process.
type broker struct {
	cmd    *exec.Cmd
	addr   string
	stdout *lockedBuffer
	stderr *lockedBuffer
	// exited is closed when the process has exited, with its result in err.
	exited chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var peersLine = regexp.MustCompile(`peers connect:\s+ws://([0-9.:]+)/ws`)

// startBroker runs the binary with args and waits for its banner.
func startBroker(t *testing.T, env []string, args ...string) *broker {
	t.Helper()
	b := &broker{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	b.cmd = exec.Command(binary, args...)
	b.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	b.cmd.Stdout = io.MultiWriter(b.stdout, pw)
	b.cmd.Stderr = b.stderr
	require.NoError(t, b.cmd.Start())
	go func() {
		b.err = b.cmd.Wait()
		close(b.exited)
		_ = pw.Close()
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		<-b.exited
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := peersLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		require.True(t, ok, "broker exited before its banner:\nstdout:\n%s\nstderr:\n%s", b.stdout, b.stderr)
		b.addr = addr
	case <-time.After(30 * time.Second):
		t.Fatalf("no banner after 30s:\nstdout:\n%s\nstderr:\n%s", b.stdout, b.stderr)
	}
	return b
}

// stop sends SIGTERM and returns the exit error.
func (b *broker) stop(t *testing.T) error {
	t.Helper()
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-b.exited:
		return b.err
	case <-time.After(20 * time.Second):
		t.Fatal("broker did not stop within 20s of SIGTERM")
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// exercise checks what a running broker serves, then stops it.
func exercise(t *testing.T, b *broker, engine string) {
	t.Helper()
	base := "http://" + b.addr
	status, body := get(t, base+"/health")
	require.Equal(t, http.StatusOK, status)
	var health map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &health))
	require.Equal(t, "up", health["db"])
	require.Equal(t, engine, health["engine"])

	status, _ = get(t, base+"/health/ready")
	require.Equal(t, http.StatusOK, status)

	status, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "claudemesh_ws_connections_active")

	ws, res, err := websocket.Dial(t.Context(), "ws://"+b.addr+"/ws", nil)
	require.NoError(t, err)
	if res.Body != nil {
		_ = res.Body.Close()
	}
	require.NoError(t, ws.Write(t.Context(), websocket.MessageText, []byte(`{"type":"list_peers","_reqId":"1"}`)))
	_, data, err := ws.Read(t.Context())
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"error","_reqId":"1","code":"no_hello","message":"must send hello first"}`, string(data))

	// SIGTERM: the socket is closed with 1001 and the process exits 0. The
	// socket is read meanwhile, as a live client does, so the close
	// handshake completes.
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := ws.Read(ctx)
		closed <- err
	}()
	require.NoError(t, b.stop(t))
	err = <-closed
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "got %v", err)
}

func TestUpEmbeddedSQLite(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "state")
	b := startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir}, "up", "--listen", "127.0.0.1:0")
	require.Contains(t, b.stdout.String(), "operator token:  "+filepath.Join(dataDir, "operator-token")+" (created")

	info, err := os.Stat(filepath.Join(dataDir, "operator-token"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	token, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(token), "cm_"))
	info, err = os.Stat(filepath.Join(dataDir, "claudemesh.db"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	exercise(t, b, "sqlite")

	// A second start reuses the data: same token, nothing created.
	b = startBroker(t, []string{"CLAUDEMESH_DATA_DIR=" + dataDir}, "up", "--listen", "127.0.0.1:0")
	require.Contains(t, b.stdout.String(), "(existing)")
	again, err := os.ReadFile(filepath.Join(dataDir, "operator-token"))
	require.NoError(t, err)
	require.Equal(t, string(token), string(again))
	require.NoError(t, b.stop(t))
}

func TestBrokerPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	b := startBroker(t, nil, "broker", "--listen", "127.0.0.1:0", "--db", url, "--data-dir", t.TempDir())
	exercise(t, b, "postgres")
}

func TestBrokerNeedsDatabase(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "broker").CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "got %v", err)
	require.Equal(t, 2, exit.ExitCode())
	require.Contains(t, string(out), "--db is required")
	require.Contains(t, string(out), "claudemesh up")

	out, err = exec.Command(binary, "broker", "--db", "mysql://nope", "--data-dir", t.TempDir()).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `unsupported database URL scheme "mysql"`)
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "version", "--json").Output()
	require.NoError(t, err)
	var v map[string]string
	require.NoError(t, json.Unmarshal(out, &v))
	require.NotEmpty(t, v["version"])
	require.NotEmpty(t, v["go"])
}
