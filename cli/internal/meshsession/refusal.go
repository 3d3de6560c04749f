package meshsession

import (
	"errors"

	"github.com/coder/websocket"

	"claudemesh.dev/cli/internal/brokerclient"
)

// statusRevoked is the close code of a revoked member's sockets.
const statusRevoked websocket.StatusCode = 4002

// finalHelloCodes are the hello refusals that every later hello of this
// session would meet again (services/mesh/hello.go, edge/hello.go): the
// member is unknown or revoked, or its key, signature or hello fields are
// wrong. Not among them: timestamp_skew (the clock may be fixed), replayed
// (the next hello is signed afresh), capacity, and server-side failures.
//
//nolint:gochecknoglobals // read-only table.
var finalHelloCodes = map[string]string{
	"unauthorized":       "the broker does not know this member (left or deleted mesh?)",
	"revoked":            "this member was removed from the mesh",
	"bad_signature":      "the broker rejects this member key's signature",
	"malformed":          "the broker rejects this session's hello as malformed",
	"bad_session_pubkey": "the broker rejects this session key",
}

// refusal says why err means the broker will not take this session back,
// or returns "" when reconnecting may work. It reads a hello's error frame,
// or the close code and reason the broker ended the socket with (a refused
// hello's socket closes with 1008 and the code as reason, a revoked member's
// with 4002). A socket closed with "session_replaced" ends the session too:
// another process said hello for the same Claude Code session, and taking
// it back would only make the two replace each other forever.
func refusal(err error) string {
	var be *brokerclient.Error
	if errors.As(err, &be) {
		return finalHelloCodes[be.Code]
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return ""
	}
	switch {
	case ce.Code == statusRevoked:
		return finalHelloCodes["revoked"]
	case ce.Code == websocket.StatusPolicyViolation:
		return finalHelloCodes[ce.Reason]
	case ce.Code == websocket.StatusNormalClosure && ce.Reason == "session_replaced":
		return "another process took over this Claude Code session"
	}
	return ""
}
