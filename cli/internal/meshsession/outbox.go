package meshsession

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/brokerclient"
)

// outboxSize bounds the frames queued while disconnected.
const outboxSize = 1024

// enqueue appends a frame to the outbox, dropping the oldest when it is
// full, and wakes the connection loop.
func (s *Session) enqueue(msg proto.Message) {
	s.mu.Lock()
	if len(s.outbox) >= outboxSize {
		s.log.Warn("outbox full while disconnected: dropping the oldest frame", "frame", fmt.Sprintf("%T", s.outbox[0]))
		s.outbox[0] = nil
		s.outbox = s.outbox[1:]
	}
	s.outbox = append(s.outbox, msg)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// flush writes the outbox to c in order. A frame whose write fails goes back
// to the head of the outbox, for the next connection.
func (s *Session) flush(ctx context.Context, c *brokerclient.Client, timeout time.Duration) error {
	for {
		s.mu.Lock()
		if len(s.outbox) == 0 {
			s.mu.Unlock()
			return nil
		}
		msg := s.outbox[0]
		s.outbox[0] = nil
		s.outbox = s.outbox[1:]
		s.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Send(wctx, msg)
		cancel()
		if err != nil {
			s.mu.Lock()
			full := len(s.outbox) >= outboxSize
			if !full {
				s.outbox = append([]proto.Message{msg}, s.outbox...)
			}
			s.mu.Unlock()
			if full {
				s.log.Warn("outbox full while disconnected: dropping the oldest frame", "frame", fmt.Sprintf("%T", msg))
			}
			s.log.Debug("write failed; the frame stays queued", "frame", fmt.Sprintf("%T", msg), "err", err)
			return err
		}
	}
}
