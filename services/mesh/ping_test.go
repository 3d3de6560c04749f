package mesh_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/storetest"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/server"
)

// A peer that stops answering pings (a laptop gone to sleep, a half-open
// TCP connection) is closed with 1008 "ping timeout", while one that
// answers stays.
func TestSilentSocketClosedByPings(t *testing.T) {
	t.Parallel()
	b := meshtest.Start(t, storetest.SQLite(t), func(cfg *server.Config) {
		cfg.Edge.PingInterval = 50 * time.Millisecond
		cfg.Edge.PingTimeout = 200 * time.Millisecond
	})
	m := b.CreateMesh(t, "team", "personal")
	alice := b.Connect(t, m.Admin, meshtest.Hello{SessionID: "s-alice"}) // answers pings
	bob := m.AddMember(t, "bob")

	hello, err := json.Marshal(meshtest.HelloFrame(bob, meshtest.Hello{SessionID: "s-bob"}))
	require.NoError(t, err)
	code, reason := silentSocket(t, b.WSURL, hello)
	require.Equal(t, 1008, code)
	require.Equal(t, "ping timeout", reason)
	// The answering peer is still there.
	require.NotNil(t, meshtest.FindPeer(alice.ListPeers(), "sessionId", "s-alice"))
}

// silentSocket opens a WebSocket by hand, sends frame, then reads without
// ever answering a ping, and returns the close frame's code and reason.
func silentSocket(t *testing.T, wsURL string, frame []byte) (int, string) {
	t.Helper()
	u, err := url.Parse(wsURL)
	require.NoError(t, err)
	var d net.Dialer
	c, err := d.DialContext(t.Context(), "tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))

	key := make([]byte, 16)
	_, _ = rand.Read(key)
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	_ = res.Body.Close() // empty: the connection is the socket now

	// One masked text frame (the mask is zero: the payload goes as is).
	hdr := []byte{0x81}
	switch n := len(frame); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	default:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	}
	hdr = append(hdr, 0, 0, 0, 0)
	_, err = c.Write(append(hdr, frame...))
	require.NoError(t, err)

	for {
		var h [2]byte
		_, err := io.ReadFull(r, h[:])
		require.NoError(t, err, "the broker never closed the silent socket")
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			_, err = io.ReadFull(r, ext[:])
			n = int64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			_, err = io.ReadFull(r, ext[:])
			n = int64(binary.BigEndian.Uint64(ext[:])) //nolint:gosec // a test reading the broker's frames
		}
		require.NoError(t, err)
		payload := make([]byte, n)
		_, err = io.ReadFull(r, payload)
		require.NoError(t, err)
		if h[0]&0x0f == 0x8 { // close
			require.GreaterOrEqual(t, len(payload), 2)
			return int(binary.BigEndian.Uint16(payload)), string(payload[2:])
		}
	}
}
