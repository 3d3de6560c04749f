package meshsession

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// Request sends a frame and returns the broker's reply; an error frame
// becomes a *brokerclient.Error. While disconnected it waits, bounded by
// ctx, for the session to connect. When the connection drops before the
// reply, a *edgev1.Send is sent again on the next connection with the same
// client_message_id (Request sets a random one on msg first when it has
// none), so the broker acks it with the first message's id and does not
// queue it twice; any other frame fails with an error wrapping
// ErrDisconnected.
func (s *Session) Request(ctx context.Context, msg proto.Message) (frame.Frame, error) {
	send, resend := msg.(*edgev1.Send)
	if resend && send.GetClientMessageId() == "" {
		id := randomHex(16)
		send.ClientMessageId = &id
	}
	if _, err := frame.Encode("", msg); err != nil {
		return frame.Frame{}, fmt.Errorf("encode %T: %w", msg, err)
	}
	for {
		c, err := s.connection(ctx)
		if err != nil {
			return frame.Frame{}, err
		}
		reply, err := c.Request(ctx, msg)
		var refused *brokerclient.Error
		if err == nil || errors.As(err, &refused) || ctx.Err() != nil {
			return reply, err
		}
		if !resend {
			return frame.Frame{}, fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
		s.log.Debug("the connection dropped before the send was acked; sending it again after the reconnect", "client_message_id", send.GetClientMessageId(), "err", err)
		// A failed write ends the connection; wait for that before taking
		// the next one.
		select {
		case <-c.Done():
		case <-ctx.Done():
			return frame.Frame{}, fmt.Errorf("waiting for the broker to reconnect: %w", ctx.Err())
		}
	}
}

// connection returns the open connection, waiting for one while
// disconnected, or the reason there will be none. A connection that ended
// is not returned: the loop forgets it soon and says so on changed.
func (s *Session) connection(ctx context.Context) (*brokerclient.Client, error) {
	for {
		s.mu.Lock()
		c, stopped, changed, lastErr := s.client, s.stopped, s.changed, s.err
		s.mu.Unlock()
		switch {
		case stopped != nil:
			return nil, stopped
		case s.ctx.Err() != nil:
			return nil, errClosed
		case c != nil && c.Err() == nil:
			return c, nil
		}
		select {
		case <-changed:
		case <-s.ctx.Done():
		case <-ctx.Done():
			if lastErr != nil {
				return nil, fmt.Errorf("waiting for the connection to the broker: %w (last failure: %w)", ctx.Err(), lastErr)
			}
			return nil, fmt.Errorf("waiting for the connection to the broker: %w", ctx.Err())
		}
	}
}
