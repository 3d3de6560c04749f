package dbpg_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg"
	"claudemesh.dev/db/pgtest"
)

func TestListen(t *testing.T) {
	t.Parallel()

	const (
		channel = "claudemesh_test"
		// probePrefix marks the notifications that only check that Listen
		// listens; payloads skips them.
		probePrefix = "probe-"
		timeout     = 10 * time.Second
	)

	type testBundle struct {
		// listener listens and notifier notifies: two stores, as two broker
		// replicas on one database.
		listener *dbpg.Store
		notifier *dbpg.Store
		url      string
		logs     *lockedBuffer
		// listens counts the listening callbacks.
		listens atomic.Int64
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		url := pgtest.NewURL(t)
		logs := &lockedBuffer{}
		listener, err := dbpg.Open(t.Context(), url, dbpg.Config{
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, listener.Close()) })
		notifier, err := dbpg.Open(t.Context(), url, dbpg.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, notifier.Close()) })
		return &testBundle{listener: listener, notifier: notifier, url: url, logs: logs}
	}

	// listen runs Listen on channel until the test ends (and requires it to
	// return nil then), and returns the payloads it receives once it
	// listens.
	listen := func(t *testing.T, bundle *testBundle, channel string) <-chan string {
		t.Helper()
		payloads := make(chan string, 64)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- bundle.listener.Listen(ctx, channel, func() { bundle.listens.Add(1) }, func(payload string) {
				select {
				case payloads <- payload:
				case <-ctx.Done():
				}
			})
		}()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(timeout):
				require.FailNow(t, "Listen did not return after its context was done")
			}
		})
		waitListening(t, bundle.notifier, channel, payloads, probePrefix+"start")
		return payloads
	}

	// next returns the next payload that is not a probe.
	next := func(t *testing.T, payloads <-chan string) string {
		t.Helper()
		deadline := time.After(timeout)
		for {
			select {
			case p := <-payloads:
				if !strings.HasPrefix(p, probePrefix) {
					return p
				}
			case <-deadline:
				require.FailNow(t, "no notification")
			}
		}
	}

	// requireNone fails if a payload that is not a probe arrives within d.
	requireNone := func(t *testing.T, payloads <-chan string, d time.Duration) {
		t.Helper()
		deadline := time.After(d)
		for {
			select {
			case p := <-payloads:
				require.True(t, strings.HasPrefix(p, probePrefix), "unexpected notification %q", p)
			case <-deadline:
				return
			}
		}
	}

	t.Run("DeliveredAtCommit", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()
		payloads := listen(t, bundle, channel)

		// A rolled-back transaction's notification is dropped.
		errBoom := errors.New("boom")
		err := bundle.notifier.InTx(ctx, func(q db.Queries) error {
			require.NoError(t, q.Notify(ctx, channel, "rolled back"))
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)

		// A committed one arrives at commit, not before.
		require.NoError(t, bundle.notifier.InTx(ctx, func(q db.Queries) error {
			require.NoError(t, q.Notify(ctx, channel, "committed"))
			requireNone(t, payloads, 300*time.Millisecond)
			return nil
		}))
		// Notifications arrive in commit order, so "rolled back" would have
		// come first.
		require.Equal(t, "committed", next(t, payloads))

		// Outside a transaction it arrives at once.
		require.NoError(t, bundle.notifier.Notify(ctx, channel, "autocommit"))
		require.Equal(t, "autocommit", next(t, payloads))

		// Other channels are not delivered.
		require.NoError(t, bundle.notifier.Notify(ctx, channel+"_other", "elsewhere"))
		require.NoError(t, bundle.notifier.Notify(ctx, channel, "last"))
		require.Equal(t, "last", next(t, payloads))
	})

	t.Run("InvalidChannel", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		for _, channel := range []string{"", strings.Repeat("c", 64)} {
			err := bundle.listener.Listen(t.Context(), channel, nil, func(string) {})
			require.ErrorContains(t, err, "invalid channel")
		}
	})

	t.Run("QuotedChannel", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		// The channel is quoted for LISTEN, so case and odd characters
		// survive, as they do in pg_notify.
		channel := `Mesh "a"; LISTEN x`
		payloads := listen(t, bundle, channel)
		require.NoError(t, bundle.notifier.Notify(t.Context(), channel, "quoted"))
		require.Equal(t, "quoted", next(t, payloads))
	})

	t.Run("Reconnects", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()
		payloads := listen(t, bundle, channel)

		admin, err := pgx.Connect(ctx, bundle.url)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, admin.Close(context.WithoutCancel(ctx))) })
		listenerPID := func(t *testing.T) int32 {
			t.Helper()
			var pid int32
			require.NoError(t, admin.QueryRow(ctx, `
				SELECT pid FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`,
			).Scan(&pid))
			return pid
		}

		// An administrator (or a failover) ends the listening backend.
		pid := listenerPID(t)
		var terminated bool
		require.NoError(t, admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&terminated))
		require.True(t, terminated)

		// Listen reconnects, listens again, says so, and logs both.
		waitListening(t, bundle.notifier, channel, payloads, probePrefix+"reconnected")
		require.Equal(t, int64(2), bundle.listens.Load(), "listening ran at the start and after the reconnect")
		require.NotEqual(t, pid, listenerPID(t))
		require.NoError(t, bundle.notifier.Notify(ctx, channel, "after reconnect"))
		require.Equal(t, "after reconnect", next(t, payloads))

		logs := bundle.logs.String()
		require.Contains(t, logs, "dbpg: listen: connection lost, reconnecting")
		require.Contains(t, logs, "dbpg: listen: reconnected")
		require.Contains(t, logs, "channel="+channel)
	})

	t.Run("ReturnsWhenDone", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.NoError(t, bundle.listener.Listen(ctx, channel, nil, func(string) {}))
	})
}

// waitListening notifies probe on channel every 50 ms until it comes back
// on payloads: only then is the listener known to listen, since a
// notification sent before LISTEN is lost.
func waitListening(t *testing.T, notifier *dbpg.Store, channel string, payloads <-chan string, probe string) {
	t.Helper()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(10 * time.Second)
	for {
		require.NoError(t, notifier.Notify(t.Context(), channel, probe))
		select {
		case p := <-payloads:
			if p == probe {
				return
			}
		case <-ticker.C:
		case <-deadline:
			require.FailNow(t, "the listener did not start listening", "channel %q", channel)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
