package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// notifyTransport wraps the stdio transport and keeps its connection, so
// the server can write notifications the SDK has no API for:
// notifications/claude/channel (go-sdk v1.8.0, issue #745). The connection
// itself is returned unwrapped, which keeps the SDK's own hooks on it.
type notifyTransport struct {
	inner mcp.Transport

	mu   sync.Mutex
	conn mcp.Connection
}

var errNotConnected = errors.New("the MCP client is not connected")

// Connect connects the inner transport and remembers the connection.
func (t *notifyTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	conn, err := t.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.conn = conn
	t.mu.Unlock()
	return conn, nil
}

// notify writes a JSON-RPC notification (a request without an id). The
// connection serialises writes, so it is safe beside the SDK's own.
func (t *notifyTransport) notify(ctx context.Context, method string, params any) error {
	t.mu.Lock()
	conn := t.conn
	t.mu.Unlock()
	if conn == nil {
		return errNotConnected
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	if err := conn.Write(ctx, &jsonrpc.Request{Method: method, Params: raw}); err != nil {
		return fmt.Errorf("write %s: %w", method, err)
	}
	return nil
}
