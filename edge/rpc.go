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
	// HeaderSendSeq numbers a socket's sends ("<socket epoch>:<sequence>",
	// sequences from 1), so that sends handed over concurrently are still
	// stored, and pushed, in the order the peer wrote them.
	HeaderSendSeq = "Claudemesh-Send-Seq"
)

// rpcContext returns a context for one RPC made for this socket, carrying
// the edge's credentials (and extra header name/value pairs) and bounded by
// the RPC timeout.
func (c *conn) rpcContext(ctx context.Context, headers ...string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.h.cfg.RPCTimeout)
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set(HeaderInternalToken, c.h.cfg.InternalToken)
	if c.presenceID != "" {
		info.RequestHeader().Set(HeaderPresence, c.presenceID)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		info.RequestHeader().Set(headers[i], headers[i+1])
	}
	return ctx, cancel
}
