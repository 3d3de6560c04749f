package hooklink

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"claudemesh.dev/cli/internal/config"
)

// Listener serves the link of one session until Close.
type Listener struct {
	h     Handler
	log   *slog.Logger
	ln    *net.UnixListener
	token string
	// socket and tokenPath are the files; socketInfo identifies our socket
	// file, so Close leaves alone a newer server's.
	socket, tokenPath string
	socketInfo        os.FileInfo

	// ctx ends when Close starts; it bounds Hook calls.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	closeOnce sync.Once
	closeErr  error
}

// Listen serves the link for a session: it writes a fresh random token file
// (0600, atomically), replaces any socket file of that session (a newer
// server wins), listens on it (0600) and serves until Close, which removes
// both files unless a newer server has replaced them. log may be nil.
func Listen(configDir, sessionID string, h Handler, log *slog.Logger) (*Listener, error) {
	if sessionID == "" {
		return nil, errors.New("serve the hook link: no Claude Code session id")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	socket, tokenPath := Paths(configDir, sessionID)
	if err := ensureDir(filepath.Dir(socket)); err != nil {
		return nil, fmt.Errorf("serve the hook link: %w", err)
	}
	token, err := newToken()
	if err != nil {
		return nil, fmt.Errorf("serve the hook link: %w", err)
	}
	ln, err := listenReplacing(socket)
	if err != nil {
		return nil, fmt.Errorf("serve the hook link: %w", err)
	}
	info, err := setupSocket(socket)
	if err == nil {
		// The token comes after the socket: a hook that reads this token
		// finds this server's socket.
		err = config.WriteFileAtomic(tokenPath, []byte(token+"\n"), 0o600)
	}
	if err != nil {
		_ = ln.Close()
		_ = os.Remove(socket)
		return nil, fmt.Errorf("serve the hook link: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		h: h, log: log.With("socket", socket), ln: ln, token: token,
		socket: socket, tokenPath: tokenPath, socketInfo: info,
		ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{},
	}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// newToken returns 32 random bytes in hex.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// listenReplacing removes any socket file at path and listens there. Two
// servers starting at once can race between the remove and the bind, so it
// tries a few times.
func listenReplacing(path string) (*net.UnixListener, error) {
	var err error
	for range 3 {
		if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			return nil, fmt.Errorf("replace %s: %w", path, rmErr)
		}
		var ln *net.UnixListener
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err == nil {
			// Close removes the file itself, and only while it is ours.
			ln.SetUnlinkOnClose(false)
			return ln, nil
		}
	}
	return nil, fmt.Errorf("listen on %s: %w", path, err)
}

// setupSocket makes the socket file 0600 and returns its identity.
func setupSocket(path string) (os.FileInfo, error) {
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("make %s private: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	return info, nil
}

// Close stops serving, closes open connections, waits for their handlers
// and removes the socket and token files if they are still this server's.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		err := l.ln.Close()
		l.mu.Lock()
		l.closed = true
		for c := range l.conns {
			_ = c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
		l.removeFiles()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			l.closeErr = fmt.Errorf("close the hook link: %w", err)
		}
	})
	return l.closeErr
}

// removeFiles removes the socket and token files unless a newer server of
// the same session has replaced them.
func (l *Listener) removeFiles() {
	if info, err := os.Stat(l.socket); err == nil && os.SameFile(info, l.socketInfo) {
		_ = os.Remove(l.socket)
	}
	if data, err := os.ReadFile(l.tokenPath); err == nil && string(data) == l.token+"\n" {
		_ = os.Remove(l.tokenPath)
	}
}

func (l *Listener) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors and the like: wait a little and go on.
			l.log.Warn("accept a hook connection", "err", err)
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if !l.track(c) {
			_ = c.Close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrack(c)
			l.handle(c)
		}()
	}
}

// track records an open connection; false once Close has started.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	_ = c.Close()
}

// handle serves one exchange: request, answer, optional confirmation.
func (l *Listener) handle(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(requestWait))
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), maxRequestLine)
	if !sc.Scan() {
		if errors.Is(sc.Err(), bufio.ErrTooLong) {
			l.answer(c, answerLine{Error: fmt.Sprintf("request longer than %d bytes", maxRequestLine)})
		}
		l.log.Debug("hook sent no request", "err", sc.Err())
		return
	}
	var in callLine
	if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
		l.answer(c, answerLine{Error: "bad request: " + err.Error()})
		return
	}
	if subtle.ConstantTimeCompare([]byte(in.Token), []byte(l.token)) != 1 {
		l.log.Warn("hook connection with a wrong token")
		l.answer(c, answerLine{Error: "unauthorized: wrong token"})
		return
	}
	if !validEvent(in.Request.Event) {
		l.answer(c, answerLine{Error: fmt.Sprintf("unknown hook event %q (want working, idle or dnd)", in.Request.Event)})
		return
	}
	resp, err := l.hook(in.Request)
	if err != nil {
		l.log.Debug("hook handler failed", "event", in.Request.Event, "err", err)
		l.answer(c, answerLine{Error: err.Error()})
		return
	}
	if !l.answer(c, answerLine{Response: &resp}) || resp.Delivery == "" {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(printedWait))
	if !sc.Scan() {
		l.log.Debug("hook did not confirm its output", "err", sc.Err())
		return
	}
	var p printedLine
	if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.Printed != resp.Delivery {
		l.log.Debug("hook confirmed something else", "line", sc.Text())
		return
	}
	l.h.Printed(resp.Delivery)
}

// hook calls the handler with a deadline and gives up on it at the
// deadline even if the handler does not.
func (l *Listener) hook(req Request) (Response, error) {
	ctx, cancel := context.WithTimeout(l.ctx, hookTimeout)
	defer cancel()
	type result struct {
		resp Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := l.h.Hook(ctx, req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		return Response{}, fmt.Errorf("answer the %s hook: %w", req.Event, ctx.Err())
	}
}

// answer writes one answer line and reports whether it was written.
func (l *Listener) answer(c net.Conn, a answerLine) bool {
	_ = c.SetWriteDeadline(time.Now().Add(writeWait))
	if err := writeLine(c, a); err != nil {
		l.log.Debug("write a hook answer", "err", err)
		return false
	}
	return true
}
