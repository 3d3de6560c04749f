package dbpg

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"claudemesh.dev/db"
)

var _ db.Listener = (*Store)(nil)

// The delay before Listen reconnects doubles after each failed attempt, from
// listenMinBackoff up to listenMaxBackoff, and starts over once a connection
// listens again.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// maxChannelLen is the longest channel name Postgres keeps: identifiers are
// truncated to NAMEDATALEN-1 bytes, and pg_notify rejects longer names, so a
// longer channel could never be notified.
const maxChannelLen = 63

// Listen calls handle with the payload of every notification sent on channel
// (by Notify, from any store on the same database) until ctx is done, and
// then returns nil. It returns an error only for an invalid channel name
// (empty, or longer than 63 bytes).
//
// Listen holds a connection of its own, opened with the pool's
// configuration but outside the pool, so it never takes a connection the
// queries need; cancel ctx before closing the Store. When the connection
// fails (the server restarts, or an administrator terminates the backend) it
// logs the error and reconnects after a delay that doubles from 100 ms up to
// 5 s. Notifications sent while it is reconnecting are lost: listening,
// when not nil, runs each time the LISTEN takes effect (at first, and after
// every reconnect), for a caller that must not miss changes to re-read its
// state.
//
// handle runs on Listen's goroutine, one notification at a time; while it
// runs, further notifications wait in the connection's buffer, so it should
// be quick.
func (s *Store) Listen(ctx context.Context, channel string, listening func(), handle func(payload string)) error {
	if channel == "" || len(channel) > maxChannelLen {
		return fmt.Errorf("listen: invalid channel %q: want 1 to %d bytes", channel, maxChannelLen)
	}
	logger := s.logger.With(slog.String("channel", channel))
	backoff := listenMinBackoff
	for reconnect := false; ; reconnect = true {
		listened, err := s.listen(ctx, logger, channel, listening, handle, reconnect)
		select {
		case <-ctx.Done():
			// The error is ctx's own, or the connection failed as ctx ended.
			return nil
		default:
		}
		if listened {
			backoff = listenMinBackoff
		}
		logger.WarnContext(ctx, "dbpg: listen: connection lost, reconnecting",
			slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen runs one connection: it connects, listens on channel and hands
// every notification to handle until the connection or ctx fails. It
// reports whether the LISTEN took effect, and always returns an error.
func (s *Store) listen(ctx context.Context, logger *slog.Logger, channel string, listening func(), handle func(string), reconnect bool) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		// The connection may be dead already; do not wait long to say goodbye.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()

	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	if reconnect {
		logger.InfoContext(ctx, "dbpg: listen: reconnected")
	}
	if listening != nil {
		listening()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		if n.Channel != channel {
			// Not ours; the connection listens on channel only.
			continue
		}
		handle(n.Payload)
	}
}
