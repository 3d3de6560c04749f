//nolint:bodyclose // post and do close every response body when the test ends
package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// inProcessClient returns a client whose requests h serves in process.
func inProcessClient(t *testing.T, h http.HandlerFunc) (*http.Client, *inProcess) {
	t.Helper()
	tr := newInProcess(h, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, tr.Close(ctx))
	})
	return tr.client(), tr
}

// post posts body; the response body is closed when the test ends.
func post(t *testing.T, ctx context.Context, c *http.Client, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inProcessBaseURL+"/svc/Method?x=1", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Req", "yes")
	return do(t, c, req)
}

// do sends req; the response body is closed when the test ends.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, error) {
	t.Helper()
	res, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { _ = res.Body.Close() })
	}
	return res, err
}

func TestInProcessRoundTrip(t *testing.T) {
	t.Parallel()
	c, _ := inProcessClient(t, func(w http.ResponseWriter, r *http.Request) {
		in, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		// The handler sees a server request.
		w.Header().Set("X-Seen", strings.Join([]string{r.Method, r.URL.String(), r.RequestURI, r.Header.Get("X-Req"), r.Proto, r.RemoteAddr, string(in)}, " "))
		w.Header().Set("Trailer", "X-Declared")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("hello "))
		_, _ = w.Write([]byte("world"))
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Late", "l")
	})
	res, err := post(t, t.Context(), c, "ping")
	require.NoError(t, err)
	require.Equal(t, http.StatusTeapot, res.StatusCode)
	require.Equal(t, "POST /svc/Method?x=1 /svc/Method?x=1 yes HTTP/2.0 in-process ping", res.Header.Get("X-Seen"))
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "hello world", string(body))
	require.Equal(t, http.Header{"X-Declared": {"d"}, "X-Late": {"l"}}, res.Trailer)
}

func TestInProcessEmptyHandler(t *testing.T) {
	t.Parallel()
	c, _ := inProcessClient(t, func(http.ResponseWriter, *http.Request) {})
	res, err := post(t, t.Context(), c, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Empty(t, body)
}

func TestInProcessStreams(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	c, _ := inProcessClient(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-next
		_, _ = w.Write([]byte("second"))
	})
	res, err := post(t, t.Context(), c, "")
	require.NoError(t, err)
	// The first write is readable while the handler still runs.
	buf := make([]byte, 16)
	n, err := res.Body.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "first", string(buf[:n]))
	close(next)
	rest, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "second", string(rest))
}

func TestInProcessLargeBody(t *testing.T) {
	t.Parallel()
	// More than the handler may run ahead: it waits for the reader.
	want := bytes.Repeat([]byte("0123456789abcdef"), 3*maxUnread/16+7)
	c, _ := inProcessClient(t, func(w http.ResponseWriter, _ *http.Request) {
		for b := want; len(b) > 0; {
			n := min(len(b), 4096)
			if _, err := w.Write(b[:n]); err != nil {
				panic(err)
			}
			b = b[n:]
		}
	})
	res, err := post(t, t.Context(), c, "")
	require.NoError(t, err)
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestInProcessCloseCancelsHandler(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	c, _ := inProcessClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		// Fill the buffer so that a write waits for the reader, which
		// closes the body instead.
		var err error
		for err == nil {
			_, err = w.Write(make([]byte, 64<<10))
		}
		<-r.Context().Done()
		ended <- err
	})
	res, err := post(t, t.Context(), c, "")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	select {
	case err := <-ended:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not end after the body was closed")
	}
	_, err = res.Body.Read(make([]byte, 1))
	require.Error(t, err)
}

func TestInProcessCallerCancels(t *testing.T) {
	t.Parallel()
	started, ended := make(chan struct{}), make(chan struct{})
	c, _ := inProcessClient(t, func(_ http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(ended)
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	_, err := post(t, ctx, c, "")
	require.ErrorIs(t, err, context.Canceled)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not see the caller's cancellation")
	}
}

func TestInProcessPanic(t *testing.T) {
	t.Parallel()
	c, _ := inProcessClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("late") != "" {
			_, _ = w.Write([]byte("partial"))
		}
		panic("boom")
	})
	// Before the header: the handler's 500.
	res, err := post(t, t.Context(), c, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	_, err = io.ReadAll(res.Body)
	require.ErrorContains(t, err, "boom")
	require.NoError(t, res.Body.Close())

	// After the body started: the read fails instead of a clean EOF.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, inProcessBaseURL+"/?late=1", http.NoBody)
	require.NoError(t, err)
	res, err = do(t, c, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	got, err := io.ReadAll(res.Body)
	require.Equal(t, "partial", string(got))
	require.ErrorContains(t, err, "boom")
}

func TestInProcessClose(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c, tr := inProcessClient(t, func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush()
		<-release
	})
	_, err := post(t, t.Context(), c, "")
	require.NoError(t, err)

	// Close waits for the running handler, within its context.
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tr.Close(short), context.DeadlineExceeded)
	close(release)
	require.NoError(t, tr.Close(t.Context()))

	// And refuses new requests.
	_, err = post(t, t.Context(), c, "")
	require.True(t, errors.Is(err, errInProcessClosed), "got %v", err)
}
