package hooklink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Call asks the server of a session. On success the connection stays open
// for confirm: call it after writing the response's output to stdout; it
// sends {"printed":<delivery>} when the response carried one, and closes the
// connection. A caller that does not confirm (it printed nothing, or
// failed to) leaves the connection to close when ctx ends. confirm is never
// nil, is safe to call more than once, and only the first call sends.
//
// ctx bounds the whole exchange, confirm included; without a deadline a
// few seconds do. The error wraps ErrNoServer when no server serves the
// session.
func Call(ctx context.Context, configDir, sessionID string, req Request) (resp Response, confirm func() error, err error) {
	noop := func() error { return nil }
	if sessionID == "" {
		return Response{}, noop, fmt.Errorf("%w: no Claude Code session id", ErrNoServer)
	}
	socket, tokenPath := Paths(configDir, sessionID)
	token, err := readToken(socket, tokenPath)
	if err != nil {
		return Response{}, noop, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return Response{}, noop, fmt.Errorf("%w: %w", ErrNoServer, err)
	}
	if err != nil {
		return Response{}, noop, fmt.Errorf("ask the MCP server: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(callTimeout)
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	release := func() {
		stop()
		_ = conn.Close()
	}
	resp, err = exchange(conn, token, req)
	if err != nil {
		release()
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return Response{}, noop, fmt.Errorf("ask the MCP server: %w", err)
	}
	confirm = sync.OnceValue(func() error {
		defer release()
		if resp.Delivery == "" {
			return nil
		}
		if err := writeLine(conn, printedLine{Printed: resp.Delivery}); err != nil {
			return fmt.Errorf("confirm the hook output: %w", err)
		}
		return nil
	})
	return resp, confirm, nil
}

// readToken checks the session's directory and reads its token.
func readToken(socket, tokenPath string) (string, error) {
	dir := filepath.Dir(socket)
	if err := checkDir(dir); err != nil {
		// A missing directory means no server ran here; one we cannot
		// trust means no server of ours could have listened there either.
		return "", fmt.Errorf("%w: %w", ErrNoServer, err)
	}
	data, err := os.ReadFile(tokenPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %w", ErrNoServer, err)
	}
	if err != nil {
		return "", fmt.Errorf("read the hook link token: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// exchange sends the request and reads the answer.
func exchange(conn net.Conn, token string, req Request) (Response, error) {
	if err := writeLine(conn, callLine{Token: token, Request: req}); err != nil {
		return Response{}, err
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 4096), maxAnswerLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return Response{}, fmt.Errorf("read the answer: %w", err)
		}
		return Response{}, fmt.Errorf("read the answer: %w", io.ErrUnexpectedEOF)
	}
	var a answerLine
	if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
		return Response{}, fmt.Errorf("decode the answer: %w", err)
	}
	if a.Error != "" {
		return Response{}, fmt.Errorf("the MCP server answered: %s", a.Error)
	}
	if a.Response == nil {
		return Response{}, errors.New("the MCP server answered nothing")
	}
	return *a.Response, nil
}

// writeLine writes v as one JSON line.
func writeLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
