package meshsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"claudemesh.dev/cli/internal/brokerclient"
)

const (
	// stableAfter is how long a connection must stay up for the backoff to
	// start over.
	stableAfter = 10 * time.Second
	// writeTimeout bounds the writing of one queued frame.
	writeTimeout = 10 * time.Second
	// closeFlushTimeout bounds the writing of what is queued when the
	// session closes.
	closeFlushTimeout = 2 * time.Second
)

// run dials, serves the connection until it ends, and dials again after a
// backoff, until the session is closed or the broker refuses it for good.
func (s *Session) run() {
	defer close(s.done)
	defer s.detach()
	failures := 0
	for s.ctx.Err() == nil {
		g := newGate(s.dispatch)
		c, err := brokerclient.Dial(s.ctx, s.dialOptions(g))
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			if s.failed(err, "connect to the broker", failures > 0) {
				return
			}
		} else {
			began := time.Now()
			err := s.serve(c, g)
			if s.ctx.Err() != nil {
				return
			}
			if s.failed(err, "connection to the broker lost", false) {
				return
			}
			if time.Since(began) > stableAfter {
				failures = 0
			}
		}
		delay := backoff(s.opts.MinBackoff, s.opts.MaxBackoff, failures)
		failures++
		s.log.Debug("reconnecting", "in", delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

func (s *Session) dialOptions(g *gate) brokerclient.Options {
	s.mu.Lock()
	groups := slices.Clone(s.groups)
	s.mu.Unlock()
	return brokerclient.Options{
		Mesh:        s.opts.Mesh,
		SessionKey:  &s.opts.SessionKey,
		SessionID:   s.opts.SessionID,
		DisplayName: s.opts.DisplayName,
		PeerType:    s.opts.PeerType,
		Channel:     s.opts.Channel,
		Model:       s.opts.Model,
		Groups:      groups,
		Logger:      s.log,
		EventFunc:   g.event,
		KeepAlive:   s.opts.KeepAlive,
	}
}

// serve runs an accepted connection: OnConnect, the queued frames, the
// frames that came with the hello, then the frames queued while it is up,
// until it ends (its error is returned) or the session closes (nil).
func (s *Session) serve(c *brokerclient.Client, g *gate) error {
	s.mu.Lock()
	s.client, s.ack, s.err = c, c.Ack, nil
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("connected to the broker", "presence_id", c.Ack.GetPresenceId())
	if s.opts.OnConnect != nil {
		s.opts.OnConnect(c.Ack)
	}
	select {
	case <-s.ready:
	default:
		close(s.ready)
	}
	// A failed write leaves the frame queued; the connection is then gone,
	// and its end is handled below.
	_ = s.flush(s.ctx, c, writeTimeout)
	g.release()
	for {
		select {
		case <-c.Done():
			s.detach()
			return c.Err()
		case <-s.ctx.Done():
			ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), closeFlushTimeout)
			_ = s.flush(ctx, c, closeFlushTimeout)
			cancel()
			s.detach()
			open := c.Err() == nil
			if err := c.Close(); err != nil && open {
				s.closeErr = fmt.Errorf("close the connection to the broker: %w", err)
			}
			return nil
		case <-s.wake:
			_ = s.flush(s.ctx, c, writeTimeout)
		}
	}
}

// detach forgets the current connection.
func (s *Session) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		s.client = nil
		s.notifyLocked()
	}
}

// failed records why a dial or a connection failed and reports whether the
// broker refused the session for good (then the session stops). A quiet
// failure (one more failed dial in a row) is logged at debug level only.
func (s *Session) failed(err error, what string, quiet bool) bool {
	if err == nil {
		err = errors.New("connection closed")
	}
	final := refusal(err)
	s.mu.Lock()
	s.err = err
	if final != "" {
		s.stopped = fmt.Errorf("%s, not reconnecting: %w", final, err)
		s.err = s.stopped
		s.notifyLocked()
	}
	s.mu.Unlock()
	if final != "" {
		s.log.Error("the broker refused this session for good; not reconnecting", "reason", final, "err", err)
		return true
	}
	level := slog.LevelWarn
	if quiet {
		level = slog.LevelDebug
	}
	s.log.Log(s.ctx, level, what, "err", err)
	return false
}

// backoff returns the delay before reconnect attempt n (0 first): a random
// duration between lo and lo·2ⁿ⁺¹, capped at hi. The first attempt is
// jittered too, so that the sessions a restarting broker dropped do not all
// come back at the same moment.
func backoff(lo, hi time.Duration, n int) time.Duration {
	ceiling := hi
	if n < 31 && lo<<(n+1) > 0 && lo<<(n+1) < hi {
		ceiling = lo << (n + 1)
	}
	if ceiling <= lo {
		return lo
	}
	return lo + rand.N(ceiling-lo+1) //nolint:gosec // jitter needs no secure randomness
}
