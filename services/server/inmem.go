package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// memListener is a net.Listener whose connections are in-process pipes. The
// edge reaches the services through it, so every RPC the edge makes passes
// the same handlers and interceptors as one from the network, without a
// socket.
type memListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	// transport is the clients' shared transport; closing its idle
	// connections lets the in-process server shut down without waiting for
	// them (HTTP/2 gives a client a second to leave after its GOAWAY).
	transport *http.Transport
}

func newMemListener() *memListener {
	l := &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	l.transport = &http.Transport{DialContext: l.dial, Protocols: &p}
	return l
}

// Accept waits for the next in-process connection.
func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops accepting.
func (l *memListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Addr names the listener.
func (l *memListener) Addr() net.Addr { return memAddr{} }

// dial opens a connection to the listener.
func (l *memListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, errors.New("in-process listener closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// client returns an HTTP client speaking h2c over the listener.
func (l *memListener) client() *http.Client {
	return &http.Client{Transport: l.transport}
}

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "in-process" }

// memBaseURL is the base URL of the in-process listener.
const memBaseURL = "http://in-process"
