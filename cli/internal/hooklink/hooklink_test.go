package hooklink_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/hooklink"
)

// testHandler stands in for the MCP server: it answers with hookFunc and
// records requests and confirmations.
type testHandler struct {
	hookFunc func(ctx context.Context, req hooklink.Request) (hooklink.Response, error)
	printed  chan string

	mu   sync.Mutex
	reqs []hooklink.Request
}

func newTestHandler(hookFunc func(context.Context, hooklink.Request) (hooklink.Response, error)) *testHandler {
	return &testHandler{hookFunc: hookFunc, printed: make(chan string, 16)}
}

// answering returns a handler that always answers resp.
func answering(resp hooklink.Response) *testHandler {
	return newTestHandler(func(context.Context, hooklink.Request) (hooklink.Response, error) { return resp, nil })
}

func (h *testHandler) Hook(ctx context.Context, req hooklink.Request) (hooklink.Response, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	return h.hookFunc(ctx, req)
}

func (h *testHandler) Printed(delivery string) { h.printed <- delivery }

func (h *testHandler) requests() []hooklink.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hooklink.Request(nil), h.reqs...)
}

// nextPrinted waits for the next confirmation.
func (h *testHandler) nextPrinted(t *testing.T) string {
	t.Helper()
	select {
	case d := <-h.printed:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("Printed was not called")
		return ""
	}
}

// sessionID returns a fresh random session id.
func sessionID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// listen serves h for a session until the test ends.
func listen(t *testing.T, configDir, session string, h hooklink.Handler) *hooklink.Listener {
	t.Helper()
	l, err := hooklink.Listen(configDir, session, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

func call(t *testing.T, configDir, session string, req hooklink.Request) (hooklink.Response, func() error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return hooklink.Call(ctx, configDir, session, req)
}

// rawExchange writes line on a fresh connection to the session's socket and
// returns the answer line.
func rawExchange(t *testing.T, configDir, session, line string) map[string]any {
	t.Helper()
	socket, _ := hooklink.Paths(configDir, session)
	var d net.Dialer
	conn, err := d.DialContext(t.Context(), "unix", socket)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = conn.Write([]byte(line))
	require.NoError(t, err)
	answer, err := bufio.NewReader(conn).ReadBytes('\n')
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(answer, &out))
	return out
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Mode().Perm()
}

func TestPaths(t *testing.T) {
	t.Parallel()

	t.Run("PerSessionInRunDir", func(t *testing.T) {
		t.Parallel()
		socket, token := hooklink.Paths("/home/u/.claudemesh", "8a78c7e2-1f0b-4c55-9d1e-3f2a6b7c8d9e")
		require.Equal(t, "/home/u/.claudemesh/run", filepath.Dir(socket))
		require.Equal(t, filepath.Dir(socket), filepath.Dir(token))
		name := strings.TrimSuffix(filepath.Base(socket), ".sock")
		require.Len(t, name, 16)
		_, err := hex.DecodeString(name)
		require.NoError(t, err)
		require.Equal(t, name+".token", filepath.Base(token))

		again, _ := hooklink.Paths("/home/u/.claudemesh", "8a78c7e2-1f0b-4c55-9d1e-3f2a6b7c8d9e")
		require.Equal(t, socket, again)
		other, _ := hooklink.Paths("/home/u/.claudemesh", "another-session")
		require.NotEqual(t, socket, other)
	})

	t.Run("LongConfigDirUsesTempDir", func(t *testing.T) {
		t.Parallel()
		configDir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
		socket, token := hooklink.Paths(configDir, "s")
		dir := filepath.Join(os.TempDir(), "claudemesh-"+strconv.Itoa(os.Getuid()))
		require.Equal(t, dir, filepath.Dir(socket))
		require.Equal(t, dir, filepath.Dir(token))
		require.LessOrEqual(t, len(socket), 100)
	})
}

func TestLink(t *testing.T) {
	t.Parallel()

	t.Run("AnswersAndConfirms", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{Context: "alice: the build is green", Delivery: "d1"})
		listen(t, dir, session, h)

		req := hooklink.Request{Event: "working", Cwd: "/work/p"}
		resp, confirm, err := call(t, dir, session, req)
		require.NoError(t, err)
		require.Equal(t, hooklink.Response{Context: "alice: the build is green", Delivery: "d1"}, resp)
		require.Equal(t, []hooklink.Request{req}, h.requests())
		require.Empty(t, h.printed, "nothing is printed before the hook confirms")

		require.NoError(t, confirm())
		require.Equal(t, "d1", h.nextPrinted(t))
		require.NoError(t, confirm(), "confirm twice is harmless")
	})

	t.Run("NoConfirmNoPrinted", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{Context: "m", Delivery: "d1"})
		l, err := hooklink.Listen(dir, session, h, nil)
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		resp, _, err := hooklink.Call(ctx, dir, session, hooklink.Request{Event: "working"})
		require.NoError(t, err)
		require.Equal(t, "d1", resp.Delivery)
		cancel() // the hook gave up before printing: the connection closes

		// A confirmation of some other delivery is no confirmation either.
		socket, tokenPath := hooklink.Paths(dir, session)
		token, err := os.ReadFile(tokenPath)
		require.NoError(t, err)
		var d net.Dialer
		conn, err := d.DialContext(t.Context(), "unix", socket)
		require.NoError(t, err)
		_, err = conn.Write([]byte(`{"token":"` + strings.TrimSpace(string(token)) + `","request":{"event":"working"}}` + "\n"))
		require.NoError(t, err)
		_, err = bufio.NewReader(conn).ReadBytes('\n')
		require.NoError(t, err)
		_, err = conn.Write([]byte(`{"printed":"d2"}` + "\n"))
		require.NoError(t, err)
		// The server hangs up once it has read (and refused) that line.
		_, err = bufio.NewReader(conn).ReadBytes('\n')
		require.ErrorIs(t, err, io.EOF)

		// Close waits for the connection handlers to finish.
		require.NoError(t, l.Close())
		_ = conn.Close()
		require.Empty(t, h.printed)
		require.Len(t, h.requests(), 2)
	})

	t.Run("ConfirmWithoutDelivery", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{Block: true, Reason: "stop and read"})
		l, err := hooklink.Listen(dir, session, h, nil)
		require.NoError(t, err)

		resp, confirm, err := call(t, dir, session, hooklink.Request{Event: "idle"})
		require.NoError(t, err)
		require.Equal(t, hooklink.Response{Block: true, Reason: "stop and read"}, resp)
		require.NoError(t, confirm())
		require.NoError(t, l.Close())
		require.Empty(t, h.printed)
	})

	t.Run("StopHookActiveReachesHandler", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{})
		listen(t, dir, session, h)
		_, confirm, err := call(t, dir, session, hooklink.Request{Event: "idle", StopHookActive: true, Cwd: "/p"})
		require.NoError(t, err)
		require.NoError(t, confirm())
		require.Equal(t, []hooklink.Request{{Event: "idle", StopHookActive: true, Cwd: "/p"}}, h.requests())
	})

	t.Run("HandlerError", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := newTestHandler(func(context.Context, hooklink.Request) (hooklink.Response, error) {
			return hooklink.Response{}, errors.New("mesh not connected")
		})
		listen(t, dir, session, h)
		_, confirm, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.ErrorContains(t, err, "mesh not connected")
		require.NotErrorIs(t, err, hooklink.ErrNoServer)
		require.NoError(t, confirm())
	})

	t.Run("UnknownEvent", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{})
		listen(t, dir, session, h)
		_, _, err := call(t, dir, session, hooklink.Request{Event: "sleeping"})
		require.ErrorContains(t, err, `unknown hook event "sleeping"`)
		require.Empty(t, h.requests())
	})

	t.Run("SlowHandlerIsBounded", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		deadlines := make(chan time.Duration, 1)
		// The handler ignores its context and hangs until the test ends.
		h := newTestHandler(func(ctx context.Context, _ hooklink.Request) (hooklink.Response, error) {
			if dl, ok := ctx.Deadline(); ok {
				deadlines <- time.Until(dl)
			}
			<-release
			return hooklink.Response{Context: "too late", Delivery: "d1"}, nil
		})
		listen(t, dir, session, h)

		// No deadline on the caller's side: the server's bound answers.
		_, _, err := hooklink.Call(t.Context(), dir, session, hooklink.Request{Event: "working"})
		require.ErrorContains(t, err, "deadline exceeded")
		require.NotErrorIs(t, err, hooklink.ErrNoServer)
		select {
		case left := <-deadlines:
			require.LessOrEqual(t, left, time.Second)
		default:
			t.Fatal("the handler's context has no deadline")
		}
		// The listener still serves, and Close does not wait for the stuck
		// handler (the cleanup closes it before releasing the handler).
		_, _, err = call(t, dir, session, hooklink.Request{Event: "idle"})
		require.ErrorContains(t, err, "deadline exceeded")
		require.Empty(t, h.printed)
	})
}

func TestLinkRejects(t *testing.T) {
	t.Parallel()

	t.Run("WrongToken", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{Context: "secret message", Delivery: "d1"})
		listen(t, dir, session, h)
		_, tokenPath := hooklink.Paths(dir, session)
		require.NoError(t, os.WriteFile(tokenPath, []byte(strings.Repeat("ab", 32)+"\n"), 0o600))

		resp, _, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.ErrorContains(t, err, "unauthorized")
		require.NotErrorIs(t, err, hooklink.ErrNoServer)
		require.Empty(t, resp.Context)
		require.Empty(t, h.requests())

		a := rawExchange(t, dir, session, `{"request":{"event":"working"}}`+"\n")
		require.Contains(t, a["error"], "unauthorized")
		require.Nil(t, a["response"])
		require.Empty(t, h.requests())
	})

	t.Run("GarbageAndOversizedLines", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		h := answering(hooklink.Response{Context: "hello"})
		listen(t, dir, session, h)

		a := rawExchange(t, dir, session, "not json at all\n")
		require.Contains(t, a["error"], "bad request")
		a = rawExchange(t, dir, session, `{"token":7}`+"\n")
		require.Contains(t, a["error"], "bad request")
		a = rawExchange(t, dir, session, strings.Repeat("x", 70<<10))
		require.Contains(t, a["error"], "request longer than")
		require.Empty(t, h.requests())

		// The server lives on.
		resp, confirm, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.NoError(t, err)
		require.Equal(t, "hello", resp.Context)
		require.NoError(t, confirm())
	})

	t.Run("DirectoryOpenToOthers", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		listen(t, dir, session, answering(hooklink.Response{Context: "hello"}))
		socket, _ := hooklink.Paths(dir, session)
		require.NoError(t, os.Chmod(filepath.Dir(socket), 0o777)) //nolint:gosec // the insecure mode under test

		_, _, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.ErrorIs(t, err, hooklink.ErrNoServer)
		require.ErrorContains(t, err, "open to other users")
	})
}

func TestListenFiles(t *testing.T) {
	t.Parallel()

	t.Run("Modes", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		// A run directory left too open is tightened.
		require.NoError(t, os.Mkdir(filepath.Join(dir, "run"), 0o755)) //nolint:gosec // the loose mode under test
		l, err := hooklink.Listen(dir, session, answering(hooklink.Response{}), nil)
		require.NoError(t, err)
		socket, token := hooklink.Paths(dir, session)
		require.Equal(t, os.FileMode(0o700), perm(t, filepath.Join(dir, "run")))
		require.Equal(t, os.FileMode(0o600), perm(t, socket))
		require.Equal(t, os.FileMode(0o600), perm(t, token))
		data, err := os.ReadFile(token)
		require.NoError(t, err)
		require.Regexp(t, `^[0-9a-f]{64}\n$`, string(data))

		require.NoError(t, l.Close())
		require.NoFileExists(t, socket)
		require.NoFileExists(t, token)
		require.NoError(t, l.Close(), "Close twice is harmless")
		_, _, err = call(t, dir, session, hooklink.Request{Event: "working"})
		require.ErrorIs(t, err, hooklink.ErrNoServer)
	})

	t.Run("FreshTokenPerServer", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		_, token := hooklink.Paths(dir, session)
		l, err := hooklink.Listen(dir, session, answering(hooklink.Response{}), nil)
		require.NoError(t, err)
		first, err := os.ReadFile(token)
		require.NoError(t, err)
		require.NoError(t, l.Close())
		listen(t, dir, session, answering(hooklink.Response{}))
		second, err := os.ReadFile(token)
		require.NoError(t, err)
		require.NotEqual(t, string(first), string(second))
	})

	t.Run("StaleSocketReplaced", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		socket, token := hooklink.Paths(dir, session)
		require.NoError(t, os.MkdirAll(filepath.Dir(socket), 0o700))
		// A server that crashed left its socket and token behind.
		stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
		require.NoError(t, err)
		stale.SetUnlinkOnClose(false)
		require.NoError(t, stale.Close())
		require.NoError(t, os.WriteFile(token, []byte(strings.Repeat("cd", 32)+"\n"), 0o600))
		_, _, err = call(t, dir, session, hooklink.Request{Event: "working"})
		require.ErrorIs(t, err, hooklink.ErrNoServer, "a dead server's socket refuses")

		listen(t, dir, session, answering(hooklink.Response{Context: "fresh"}))
		resp, confirm, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.NoError(t, err)
		require.Equal(t, "fresh", resp.Context)
		require.NoError(t, confirm())
	})

	t.Run("NewerServerWins", func(t *testing.T) {
		t.Parallel()
		dir, session := t.TempDir(), sessionID(t)
		older, err := hooklink.Listen(dir, session, answering(hooklink.Response{Context: "older"}), nil)
		require.NoError(t, err)
		newer, err := hooklink.Listen(dir, session, answering(hooklink.Response{Context: "newer"}), nil)
		require.NoError(t, err)

		resp, _, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.NoError(t, err)
		require.Equal(t, "newer", resp.Context)

		// The older server's Close leaves the newer one's files alone.
		require.NoError(t, older.Close())
		resp, _, err = call(t, dir, session, hooklink.Request{Event: "working"})
		require.NoError(t, err)
		require.Equal(t, "newer", resp.Context)

		require.NoError(t, newer.Close())
		_, _, err = call(t, dir, session, hooklink.Request{Event: "working"})
		require.ErrorIs(t, err, hooklink.ErrNoServer)
	})

	t.Run("LongConfigDir", func(t *testing.T) {
		t.Parallel()
		dir, session := filepath.Join(t.TempDir(), strings.Repeat("d", 100)), sessionID(t)
		listen(t, dir, session, answering(hooklink.Response{Context: "via the temp dir"}))
		socket, token := hooklink.Paths(dir, session)
		require.Equal(t, os.FileMode(0o700), perm(t, filepath.Dir(socket)))
		require.Equal(t, os.FileMode(0o600), perm(t, socket))
		require.Equal(t, os.FileMode(0o600), perm(t, token))
		resp, confirm, err := call(t, dir, session, hooklink.Request{Event: "working"})
		require.NoError(t, err)
		require.Equal(t, "via the temp dir", resp.Context)
		require.NoError(t, confirm())
	})

	t.Run("NoSession", func(t *testing.T) {
		t.Parallel()
		_, err := hooklink.Listen(t.TempDir(), "", answering(hooklink.Response{}), nil)
		require.Error(t, err)
		_, confirm, err := hooklink.Call(t.Context(), t.TempDir(), "", hooklink.Request{Event: "working"})
		require.ErrorIs(t, err, hooklink.ErrNoServer)
		require.NoError(t, confirm())
	})

	t.Run("NothingThere", func(t *testing.T) {
		t.Parallel()
		_, confirm, err := call(t, t.TempDir(), sessionID(t), hooklink.Request{Event: "working"})
		require.ErrorIs(t, err, hooklink.ErrNoServer)
		require.NoError(t, confirm())
	})
}
