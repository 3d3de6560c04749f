package edge

import (
	"context"

	"connectrpc.com/connect"
)

// Headers the edge sends with every RPC so the services know the call comes
// from the in-process edge and which session it acts for.
const (
	// HeaderInternalToken carries the process-internal token.
	HeaderInternalToken = "Claudemesh-Internal-Token"
	// HeaderPresence names the session the edge acts for.
	HeaderPresence = "Claudemesh-Presence"
)

// rpcContext returns a context for one RPC made for this socket, carrying
// the edge's credentials and bounded by the RPC timeout.
func (c *conn) rpcContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.h.cfg.RPCTimeout)
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set(HeaderInternalToken, c.h.cfg.InternalToken)
	if c.presenceID != "" {
		info.RequestHeader().Set(HeaderPresence, c.presenceID)
	}
	return ctx, cancel
}
