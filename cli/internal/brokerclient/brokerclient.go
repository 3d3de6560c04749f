// Package brokerclient is the CLI's connection to a broker: one WebSocket,
// a signed hello, requests correlated by _reqId, and the pushes the broker
// sends.
package brokerclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/edge"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// Options say who connects and how.
type Options struct {
	// Mesh is the joined mesh: ids, member key, broker URL. Required.
	Mesh config.Mesh
	// SessionKey is the session's key; nil makes a fresh one.
	SessionKey *identity.KeyPair
	// SessionID is the Claude Code session id; empty makes a unique one.
	SessionID   string
	DisplayName string
	PeerType    string
	Channel     string
	Model       string
	Groups      []config.Group
	// Ephemeral marks a one-shot session: Close ends it at once on the
	// broker, instead of leaving it listed and reattachable for the grace
	// period (the right thing for a session that may come back).
	Ephemeral bool
	// Logger defaults to discarding.
	Logger *slog.Logger
	// HelloTimeout bounds the WebSocket handshake, and then the hello.
	// Defaults to 5 s.
	HelloTimeout time.Duration
	// KeepAlive, when set, pings the broker at that interval and closes a
	// connection whose pong does not come back within half of it: a
	// connection the network dropped without a word (a laptop that slept,
	// a NAT that forgot it) then ends, and its owner reconnects, instead of
	// waiting forever for pushes that cannot come.
	KeepAlive time.Duration
	// EventFunc, when set, receives every frame that answers no request
	// (pushes, state changes), in order, on the connection's read
	// goroutine, instead of Events: nothing is dropped, and a slow EventFunc
	// slows the reading of the socket (the broker then closes it as a slow
	// consumer). It may be called before Dial returns, for pushes that
	// follow the hello at once. Events is closed unused.
	EventFunc func(frame.Frame)
}

// Error is an error frame the broker answered with.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("broker: %s: %s", e.Code, e.Message) }

// Client is a connected session.
type Client struct {
	ws     *websocket.Conn
	log    *slog.Logger
	events chan frame.Frame
	// Ack is the broker's hello_ack.
	Ack *edgev1.HelloAck
	// SessionKey is the session's key pair.
	SessionKey identity.KeyPair

	eventFunc func(frame.Frame)
	// closeReason is what Close says.
	closeReason string

	mu      sync.Mutex
	pending map[string]chan frame.Frame
	err     error
	done    chan struct{}
}

// Dial connects to the mesh's broker and says hello.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HelloTimeout == 0 {
		opts.HelloTimeout = 5 * time.Second
	}
	member, err := identity.ParseKeyPair(opts.Mesh.Pubkey, opts.Mesh.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("mesh %s: member key: %w", opts.Mesh.Slug, err)
	}
	var session identity.KeyPair
	if opts.SessionKey != nil {
		session = *opts.SessionKey
	} else if session, err = identity.Generate(); err != nil {
		return nil, err
	}
	// A broker that accepts the TCP connection and then says nothing (a
	// network that drops the bytes) must not hold the dial forever.
	dctx, cancel := context.WithTimeout(ctx, opts.HelloTimeout)
	ws, res, err := websocket.Dial(dctx, opts.Mesh.BrokerURL, nil)
	cancel()
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", opts.Mesh.BrokerURL, err)
	}
	ws.SetReadLimit(16 << 20)
	c := &Client{
		ws:          ws,
		log:         opts.Logger,
		closeReason: closeReason(opts.Ephemeral),
		eventFunc:   opts.EventFunc,
		events:      make(chan frame.Frame, 256),
		SessionKey:  session,
		pending:     map[string]chan frame.Frame{},
		done:        make(chan struct{}),
	}
	go c.readLoop()
	if opts.KeepAlive > 0 {
		go c.keepAlive(opts.KeepAlive)
	}

	hctx, cancel := context.WithTimeout(ctx, opts.HelloTimeout)
	defer cancel()
	reply, err := c.Request(hctx, helloFrame(opts, member, session))
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("hello to %s: %w", opts.Mesh.BrokerURL, err)
	}
	ack, ok := reply.Msg.(*edgev1.HelloAck)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("hello to %s: unexpected %s", opts.Mesh.BrokerURL, reply.Type)
	}
	c.Ack = ack
	return c, nil
}

func helloFrame(opts Options, member, session identity.KeyPair) *edgev1.Hello {
	now := time.Now().UnixMilli()
	host, _ := os.Hostname()
	cwd, _ := os.Getwd()
	sessionID := opts.SessionID
	if sessionID == "" {
		sessionID = "cli-" + randomHex(8)
	}
	h := &edgev1.Hello{
		MeshId:        opts.Mesh.MeshID,
		MemberId:      opts.Mesh.MemberID,
		Pubkey:        member.PublicHex(),
		SessionPubkey: session.PublicHex(),
		DisplayName:   opts.DisplayName,
		SessionId:     sessionID,
		Pid:           int32(os.Getpid()), //nolint:gosec // pids fit
		Cwd:           cwd,
		Hostname:      host,
		PeerType:      opts.PeerType,
		Channel:       opts.Channel,
		Model:         opts.Model,
		Timestamp:     now,
		Signature:     identity.SignHello(member, opts.Mesh.MeshID, opts.Mesh.MemberID, now),
	}
	for _, g := range opts.Groups {
		ref := &edgev1.GroupRef{Name: g.Name}
		if g.Role != "" {
			ref.Role = &g.Role
		}
		h.Groups = append(h.Groups, ref)
	}
	return h
}

// Request sends a frame with a fresh _reqId and waits for the broker's
// reply to it (an error frame becomes *Error).
func (c *Client) Request(ctx context.Context, msg proto.Message) (frame.Frame, error) {
	reqID := randomHex(8)
	reply := make(chan frame.Frame, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return frame.Frame{}, err
	}
	c.pending[reqID] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, reqID)
		c.mu.Unlock()
	}()
	if err := c.write(ctx, reqID, msg); err != nil {
		return frame.Frame{}, err
	}
	select {
	case f := <-reply:
		if e, ok := f.Msg.(*edgev1.Error); ok {
			return f, &Error{Code: e.GetCode(), Message: e.GetMessage()}
		}
		return f, nil
	case <-c.done:
		return frame.Frame{}, c.closedErr()
	case <-ctx.Done():
		return frame.Frame{}, fmt.Errorf("waiting for the broker: %w", ctx.Err())
	}
}

// Send sends a frame that has no reply.
func (c *Client) Send(ctx context.Context, msg proto.Message) error {
	return c.write(ctx, "", msg)
}

func (c *Client) write(ctx context.Context, reqID string, msg proto.Message) error {
	b, err := frame.Encode(reqID, msg)
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("send to the broker: %w", err)
	}
	return nil
}

// Events returns the frames that answer no request: pushes, state changes.
// It is closed when the connection ends.
func (c *Client) Events() <-chan frame.Frame { return c.events }

// Done is closed when the connection has ended: closed by Close, by the
// broker, or by a network failure. Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is open.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.closedErr()
	default:
		return nil
	}
}

// Close closes the connection.
func (c *Client) Close() error {
	err := c.ws.Close(websocket.StatusNormalClosure, c.closeReason)
	<-c.done
	return err
}

func (c *Client) readLoop() {
	defer close(c.done)
	defer close(c.events)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			if c.err == nil { // keepAlive may have said why first
				c.err = fmt.Errorf("connection to the broker closed: %w", err)
			}
			c.mu.Unlock()
			return
		}
		f, err := frame.Decode(data, edgev1.Direction_DIRECTION_BROKER_TO_CLIENT)
		if err != nil {
			c.log.Warn("unreadable frame from the broker", "err", err)
			continue
		}
		c.mu.Lock()
		reply, ok := c.pending[f.ReqID]
		c.mu.Unlock()
		if ok && f.ReqID != "" {
			reply <- f
			continue
		}
		if c.eventFunc != nil {
			c.eventFunc(f)
			continue
		}
		select {
		case c.events <- f:
		default:
			c.log.Warn("dropping a broker event: nobody is reading them", "type", f.Type)
		}
	}
}

// keepAlive pings the broker every interval until the connection ends, and
// ends it when a pong is late.
func (c *Client) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every/2)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			select {
			case <-c.done: // closed meanwhile: the ping failed for that
				return
			default:
			}
			c.mu.Lock()
			if c.err == nil {
				c.err = fmt.Errorf("the broker stopped answering pings: %w", err)
			}
			c.mu.Unlock()
			_ = c.ws.CloseNow()
			return
		}
	}
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return errors.New("connection to the broker closed")
}

// closeReason is the close reason that ends an ephemeral session at once.
func closeReason(ephemeral bool) string {
	if ephemeral {
		return edge.CloseReasonGoodbye
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
