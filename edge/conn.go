package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"claudemesh.dev/edge/fifo"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// conn is one peer socket.
type conn struct {
	h      *Handler
	ws     *websocket.Conn
	log    *slog.Logger
	remote string

	// out carries encoded frames to the writer; queued counts their bytes.
	out    *fifo.Queue[[]byte]
	queued atomic.Int64

	// closing is closed by close(); the writer then flushes what is queued
	// and closes the socket with closeCode and closeReason.
	closeOnce   sync.Once
	closing     chan struct{}
	closeCode   websocket.StatusCode
	closeReason string
	// wg tracks the socket's goroutines (writer, pinger, subscription);
	// work the sends and acks in flight, and inflight bounds them.
	wg       sync.WaitGroup
	work     sync.WaitGroup
	inflight chan struct{}
	// acks tracks the client_acks in flight; the read loop adds to it and
	// waits on it.
	acks sync.WaitGroup
	// leaving is set by the read loop when the client closed the socket
	// saying its session ends (CloseReasonGoodbye).
	leaving bool

	// presenceID is set by a successful hello; only the read loop writes it.
	presenceID string
	// epoch and sendSeq number the socket's sends (see HeaderSendSeq); only
	// the read loop writes them.
	epoch   string
	sendSeq uint64
}

func newConn(h *Handler, ws *websocket.Conn, remote string) *conn {
	return &conn{
		h:        h,
		ws:       ws,
		log:      h.cfg.Logger.With("remote", remote),
		remote:   remote,
		out:      fifo.New[[]byte](),
		closing:  make(chan struct{}),
		epoch:    randomHex(8),
		inflight: make(chan struct{}, maxInflight),
	}
}

// serve runs the socket until it closes.
func (c *conn) serve(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.wg.Go(func() { c.writeLoop(ctx) })
	c.readLoop(ctx)
	// Sends and acks already read finish before the socket's context ends:
	// a client that acked and then hung up counts on its ack.
	c.work.Wait()
	c.close(websocket.StatusNormalClosure, "")
	cancel()
	c.wg.Wait()
	if c.presenceID != "" {
		c.goodbye()
	}
}

// readLoop reads and handles frames until the socket fails or closes.
func (c *conn) readLoop(ctx context.Context) {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			status := websocket.CloseStatus(err)
			if status == -1 && !errors.Is(err, context.Canceled) {
				c.log.DebugContext(ctx, "read", "err", err)
			}
			var ce websocket.CloseError
			c.leaving = errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure && ce.Reason == CloseReasonGoodbye
			return
		}
		c.h.metrics.framesIn.Inc()
		if typ != websocket.MessageText {
			c.sendError("", "malformed", "frames must be JSON text", nil)
			continue
		}
		c.handle(ctx, data)
	}
}

// handle decodes one frame and answers it.
func (c *conn) handle(ctx context.Context, data []byte) {
	f, err := frame.Decode(data, edgev1.Direction_DIRECTION_CLIENT_TO_BROKER)
	var unknown *frame.UnknownTypeError
	switch {
	case errors.As(err, &unknown):
		c.sendError(f.ReqID, "unknown_type", unknown.Error(), nil)
		return
	case err != nil:
		c.sendError(f.ReqID, "malformed", err.Error(), nil)
		return
	}
	if c.presenceID == "" && f.Type != "hello" {
		c.sendError(f.ReqID, "no_hello", "must send hello first", nil)
		return
	}
	switch f.Msg.(type) {
	case *edgev1.Send, *edgev1.ClientAck:
	default:
		// Acks run beside the read loop; every other frame waits for the
		// socket's acks, so that they take effect in the order sent (a
		// client that acked and then asks message_status sees its acks).
		c.acks.Wait()
	}
	switch msg := f.Msg.(type) {
	case *edgev1.Hello:
		c.hello(ctx, f.ReqID, msg)
	case *edgev1.SetStatus:
		c.setStatus(ctx, f.ReqID, msg)
	case *edgev1.SetSummary:
		c.setSummary(ctx, f.ReqID, msg)
	case *edgev1.SetVisible:
		c.setVisible(ctx, f.ReqID, msg)
	case *edgev1.SetProfile:
		c.setProfile(ctx, f.ReqID, msg)
	case *edgev1.SetStats:
		c.setStats(ctx, f.ReqID, msg)
	case *edgev1.ListPeers:
		c.listPeers(ctx, f.ReqID, msg)
	case *edgev1.JoinGroup:
		c.joinGroup(ctx, f.ReqID, msg)
	case *edgev1.LeaveGroup:
		c.leaveGroup(ctx, f.ReqID, msg)
	case *edgev1.MeshInfo:
		c.meshInfo(ctx, f.ReqID, msg)
	case *edgev1.Send:
		c.sendSeq++
		seq := c.sendSeq
		c.async(func() { c.sendMessage(ctx, f.ReqID, msg, seq) })
	case *edgev1.ClientAck:
		c.acks.Add(1)
		c.async(func() {
			defer c.acks.Done()
			c.clientAck(ctx, f.ReqID, msg)
		})
	case *edgev1.MessageStatus:
		c.messageStatus(ctx, f.ReqID, msg)
	case *edgev1.SetState:
		c.setState(ctx, f.ReqID, msg)
	case *edgev1.GetState:
		c.getState(ctx, f.ReqID, msg)
	case *edgev1.ListState:
		c.listState(ctx, f.ReqID, msg)
	case *edgev1.Schedule:
		c.schedule(ctx, f.ReqID, msg)
	case *edgev1.ListScheduled:
		c.listScheduled(ctx, f.ReqID, msg)
	case *edgev1.CancelScheduled:
		c.cancelScheduled(ctx, f.ReqID, msg)
	default:
		c.sendError(f.ReqID, "unimplemented", f.Type+" is not implemented by this broker yet", nil)
	}
}

// send encodes a frame and queues it for the writer.
func (c *conn) send(reqID string, msg proto.Message) {
	b, err := frame.Encode(reqID, msg)
	if err != nil {
		c.log.Error("encode frame", "err", err)
		return
	}
	c.enqueue(b)
}

// sendError queues an error frame.
func (c *conn) sendError(reqID, code, message string, id *string) {
	c.send(reqID, &edgev1.Error{Code: code, Message: message, Id: id})
}

func errorMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}

// enqueue queues an encoded frame, closing a socket that fell too far behind.
func (c *conn) enqueue(b []byte) {
	if n := c.queued.Add(int64(len(b))); n > int64(c.h.cfg.SendQueueBytes) {
		c.queued.Add(-int64(len(b)))
		c.h.metrics.slow.Inc()
		c.close(websocket.StatusPolicyViolation, "slow consumer")
		return
	}
	select {
	case <-c.closing:
		c.queued.Add(-int64(len(b)))
	default:
		c.out.Push(b, 0)
	}
}

// writeLoop writes queued frames in order until the socket is closing, then
// writes what is still queued (bounded by the write timeout) and closes the
// socket. Only the writer closes it, so a frame queued before close() (an
// error explaining why) goes out before the close frame. It also starts the
// pings: a socket has no goroutine of its own waiting to ping.
func (c *conn) writeLoop(ctx context.Context) {
	pings := time.NewTicker(c.h.cfg.PingInterval)
	defer pings.Stop()
	var pinging atomic.Bool
	for {
		select {
		case <-pings.C:
			if pinging.CompareAndSwap(false, true) {
				c.wg.Go(func() {
					defer pinging.Store(false)
					c.ping(ctx)
				})
			}
		case <-c.out.Ready():
			for _, b := range c.out.Take() {
				if !c.write(b) {
					_ = c.ws.CloseNow()
					return
				}
			}
		case <-c.closing:
			c.drain()
			_ = c.ws.Close(c.closeCode, c.closeReason)
			return
		}
	}
}

// drain writes the frames still queued, for at most the write timeout.
func (c *conn) drain() {
	deadline := time.Now().Add(c.h.cfg.WriteTimeout)
	for _, b := range c.out.Take() {
		if time.Now().After(deadline) || !c.write(b) {
			return
		}
	}
}

// write writes one frame within the write timeout.
func (c *conn) write(b []byte) bool {
	c.queued.Add(-int64(len(b)))
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.log.Debug("write", "err", err)
		return false
	}
	c.h.metrics.framesOut.Inc()
	return true
}

// ping pings the peer and closes the socket if it does not answer in time.
func (c *conn) ping(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, c.h.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(pctx); err != nil && ctx.Err() == nil {
		c.log.DebugContext(ctx, "ping", "err", err)
		c.close(websocket.StatusPolicyViolation, "ping timeout")
	}
}

// close asks the writer to close the socket once, with a code and reason,
// after flushing what is queued.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		close(c.closing)
	})
}

// maxInflight bounds the sends and acks of one socket handled at once. The
// broker commits concurrent sends together, so a client with many messages
// in flight gets them stored in one transaction instead of one after
// another; past the bound, reading the socket waits.
const maxInflight = 64

// async runs fn beside the read loop, at most maxInflight at a time. Sends
// handled at once may be stored in another order than they arrived; each
// is acked on its own.
func (c *conn) async(fn func()) {
	c.inflight <- struct{}{}
	c.work.Go(func() {
		defer func() { <-c.inflight }()
		fn()
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}
