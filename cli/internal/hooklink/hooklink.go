// Package hooklink is the local link between a Claude Code session's
// "claudemesh mcp" server and that session's hooks. The MCP server holds the
// session's messages; a hook process ("claudemesh hook working|idle|dnd")
// asks it over a per-session Unix socket what to print, prints it, then
// confirms, and only then does the server ack the messages to the broker.
//
// The wire is newline-delimited JSON, one exchange per connection:
//
//	hook   → {"token":"<hex>","request":{"event":"working","stopHookActive":false,"cwd":"/p"}}
//	server ← {"response":{"context":"…","delivery":"d1"}}   or {"error":"…"}
//	hook   → {"printed":"d1"}                              (only after writing stdout)
//
// The token (in a 0600 file beside the socket, in a 0700 directory) proves
// the hook runs as the user who started the server.
package hooklink

import (
	"context"
	"errors"
	"time"
)

// Request is what a hook asks.
type Request struct {
	// Event is the hook: "working" (UserPromptSubmit), "idle" (Stop) or
	// "dnd".
	Event string `json:"event"`
	// StopHookActive is stop_hook_active from the Stop hook's stdin: Claude
	// is already continuing because of an earlier block.
	StopHookActive bool `json:"stopHookActive"`
	// Cwd is the session's working directory.
	Cwd string `json:"cwd"`
	// TranscriptPath is transcript_path from the hook's stdin: the
	// session's transcript, where the server looks for the channel
	// messages that reached the model.
	TranscriptPath string `json:"transcriptPath,omitempty"`
}

// Response is what the MCP server answers.
type Response struct {
	// Context is the text the hook prints on stdout (UserPromptSubmit adds
	// it to the model's context).
	Context string `json:"context,omitempty"`
	// Block asks the Stop hook to block the stop once.
	Block bool `json:"block,omitempty"`
	// Reason is the block reason the model reads.
	Reason string `json:"reason,omitempty"`
	// Delivery is opaque and non-empty when the output carries messages: the
	// hook confirms it after writing stdout.
	Delivery string `json:"delivery,omitempty"`
}

// Handler is the MCP server side.
type Handler interface {
	// Hook answers a hook. ctx carries a deadline (about 700 ms); an answer
	// that comes later is dropped and its delivery never confirmed.
	Hook(ctx context.Context, req Request) (Response, error)
	// Printed is called when the hook confirms it wrote the output of the
	// response that carried this delivery (then, and only then, the server
	// acks the messages to the broker).
	Printed(delivery string)
}

// ErrNoServer means no MCP server serves this session (no socket or token,
// or the connection was refused).
var ErrNoServer = errors.New("no claudemesh MCP server serves this session")

// Limits of the link.
const (
	// hookTimeout bounds Handler.Hook.
	hookTimeout = 700 * time.Millisecond
	// printedWait is how long the server waits for the hook's confirmation.
	printedWait = 2 * time.Second
	// maxRequestLine bounds the hook's request line.
	maxRequestLine = 64 << 10
	// maxAnswerLine bounds the server's answer line as the hook reads it.
	maxAnswerLine = 1 << 20
	// requestWait is how long the server waits for the request line.
	requestWait = 2 * time.Second
	// writeWait bounds a write of one line.
	writeWait = time.Second
	// callTimeout bounds a Call whose context has no deadline.
	callTimeout = 3 * time.Second
)

// callLine is the hook's request line.
type callLine struct {
	Token   string  `json:"token"`
	Request Request `json:"request"`
}

// answerLine is the server's answer line.
type answerLine struct {
	Response *Response `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// printedLine is the hook's confirmation line.
type printedLine struct {
	Printed string `json:"printed"`
}

// validEvent reports whether event is a hook event.
func validEvent(event string) bool {
	switch event {
	case "working", "idle", "dnd":
		return true
	}
	return false
}
