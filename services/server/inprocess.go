package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"runtime/debug"
	"strings"
	"sync"
)

// inProcess is an http.RoundTripper that serves each request by calling the
// broker's handler in this process. The edge's Connect clients reach the
// services through it: every RPC the edge makes passes the same handlers and
// interceptors as one from the network, without a socket, HTTP/2 framing,
// header compression and flow control, or the transport's goroutine per
// stream (a Subscribe stream per connected peer made those a third of the
// broker's CPU and a sixth of its goroutines).
//
// The handler runs on its own goroutine, as net/http runs it; RoundTrip
// returns once it has written its header. The response body is a buffer
// the handler fills and the caller drains; a handler that runs more than
// maxUnread bytes ahead of its reader waits for it.
type inProcess struct {
	handler http.Handler
	log     *slog.Logger

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// maxUnread bounds what a handler may write that its caller has not read.
const maxUnread = 1 << 20

// inProcessBaseURL is the base URL the in-process clients use.
const inProcessBaseURL = "http://in-process"

var errInProcessClosed = errors.New("in-process transport closed: the broker is shutting down")

func newInProcess(handler http.Handler, log *slog.Logger) *inProcess {
	return &inProcess{handler: handler, log: log}
}

// client returns an HTTP client whose requests go to the handler.
func (t *inProcess) client() *http.Client { return &http.Client{Transport: t} }

// RoundTrip serves req with the handler and returns the response once its
// header is written. Cancelling req's context, or closing the response
// body, cancels the handler's context.
func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		closeRequestBody(req)
		return nil, errInProcessClosed
	}
	t.wg.Add(1)
	t.mu.Unlock()

	ctx, cancel := context.WithCancel(req.Context())
	w := newPipeResponse(ctx, cancel)
	go t.serve(w, serverRequest(ctx, req), req)
	select {
	case <-w.headerSent:
		return w.response(req), nil
	case <-req.Context().Done():
		_ = w.body().Close() // never fails
		return nil, req.Context().Err()
	}
}

// serve runs the handler and ends the response the way net/http ends one:
// a handler that wrote nothing answers 200 with an empty body, a panic
// aborts the response (and is logged unless it is http.ErrAbortHandler).
func (t *inProcess) serve(w *pipeResponse, r, orig *http.Request) {
	defer t.wg.Done()
	defer w.cancel()
	defer closeRequestBody(orig)
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler { //nolint:errorlint // net/http compares the panic value the same way
				t.log.Error("panic serving an in-process request", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			}
			w.abort(fmt.Errorf("in-process handler for %s aborted: %v", r.URL.Path, p))
			return
		}
		w.finish()
	}()
	t.handler.ServeHTTP(w, r)
}

// Close refuses new requests and waits, within ctx, for the handlers still
// running to return.
func (t *inProcess) Close(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("in-process requests still running: %w", ctx.Err())
	}
}

// serverRequest is req as a server sees it.
func serverRequest(ctx context.Context, req *http.Request) *http.Request {
	r := req.Clone(ctx)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.RemoteAddr = "in-process"
	r.RequestURI = req.URL.RequestURI()
	r.URL.Scheme, r.URL.Host = "", ""
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.GetBody = nil
	return r
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// pipeResponse is the handler's http.ResponseWriter and, through body, the
// caller's response body: a buffer between the two goroutines.
type pipeResponse struct {
	ctx    context.Context //nolint:containedctx // the handler's context: its end wakes both sides
	cancel context.CancelFunc
	header http.Header // the handler's, until it writes the header
	// headerSent is closed once the status and header are fixed.
	headerSent chan struct{}
	// trailer is the response's Trailer map, filled when the handler
	// returns (before the reader sees EOF).
	trailer http.Header

	mu   sync.Mutex
	cond *sync.Cond
	// status and sent are the header as written.
	status int
	sent   http.Header
	// buf holds what the reader has not read yet; done is set when the
	// handler returned, err when it aborted, closed when the reader closed
	// the body.
	buf    []byte
	done   bool
	err    error
	closed bool
}

func newPipeResponse(ctx context.Context, cancel context.CancelFunc) *pipeResponse {
	w := &pipeResponse{ctx: ctx, cancel: cancel, header: http.Header{}, headerSent: make(chan struct{}), trailer: http.Header{}}
	w.cond = sync.NewCond(&w.mu)
	// A cancelled context wakes a writer waiting for room and a reader
	// waiting for data.
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	return w
}

// Header returns the header the handler fills before writing it.
func (w *pipeResponse) Header() http.Header { return w.header }

// WriteHeader fixes the status and header. Informational statuses are not
// passed on.
func (w *pipeResponse) WriteHeader(code int) {
	if code < http.StatusOK {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeaderLocked(code)
}

func (w *pipeResponse) writeHeaderLocked(code int) {
	if w.sent != nil {
		return
	}
	w.status, w.sent = code, w.header.Clone()
	close(w.headerSent)
}

// Write appends p to the body, waiting while the reader is maxUnread bytes
// behind.
func (w *pipeResponse) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeaderLocked(http.StatusOK)
	for len(w.buf) >= maxUnread && !w.closed && w.ctx.Err() == nil {
		w.cond.Wait()
	}
	if w.closed {
		return 0, errors.New("in-process response body closed by the client")
	}
	if err := w.ctx.Err(); err != nil {
		return 0, fmt.Errorf("in-process request ended: %w", err)
	}
	w.buf = append(w.buf, p...)
	w.cond.Broadcast()
	return len(p), nil
}

// Flush sends the header if it is not sent yet; written bytes are readable
// at once.
func (w *pipeResponse) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeaderLocked(http.StatusOK)
}

// EnableFullDuplex reports success: the handler may read the request while
// it writes the response.
func (w *pipeResponse) EnableFullDuplex() error { return nil }

// finish ends the body after the handler returned, moving the trailers it
// declared into the response's Trailer.
func (w *pipeResponse) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeaderLocked(http.StatusOK)
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			w.trailer[textproto.CanonicalMIMEHeaderKey(name)] = vs
		}
	}
	for _, declared := range w.sent.Values("Trailer") {
		for name := range strings.SplitSeq(declared, ",") {
			name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
			if vs, ok := w.header[name]; ok && name != "" {
				w.trailer[name] = vs
			}
		}
	}
	w.done = true
	w.cond.Broadcast()
}

// abort ends the body with err after a handler panic.
func (w *pipeResponse) abort(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
	w.writeHeaderLocked(http.StatusInternalServerError)
	w.cond.Broadcast()
}

// response is the caller's view, once the header is written.
func (w *pipeResponse) response(req *http.Request) *http.Response {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        w.sent,
		Body:          w.body(),
		ContentLength: -1,
		Trailer:       w.trailer,
		Request:       req,
	}
}

func (w *pipeResponse) body() *pipeBody { return (*pipeBody)(w) }

// pipeBody is the reading side of a pipeResponse.
type pipeBody pipeResponse

// Read reads what the handler wrote, waiting for more until it returns.
func (b *pipeBody) Read(p []byte) (int, error) {
	w := (*pipeResponse)(b)
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.buf) == 0 && !w.done && w.err == nil && !w.closed && w.ctx.Err() == nil {
		w.cond.Wait()
	}
	switch {
	case w.closed:
		return 0, errors.New("read on a closed in-process response body")
	case len(w.buf) > 0:
		n := copy(p, w.buf)
		w.buf = w.buf[n:]
		if len(w.buf) == 0 {
			w.buf = nil // let a drained buffer go
		}
		w.cond.Broadcast()
		return n, nil
	case w.err != nil:
		return 0, w.err
	case w.done:
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("in-process request ended: %w", w.ctx.Err())
	}
}

// Close discards what is unread and cancels the handler's context.
func (b *pipeBody) Close() error {
	w := (*pipeResponse)(b)
	w.mu.Lock()
	w.closed, w.buf = true, nil
	w.cond.Broadcast()
	w.mu.Unlock()
	w.cancel()
	return nil
}
