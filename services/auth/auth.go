// Package auth identifies the caller of every Connect RPC and enforces who
// may call what.
//
// Callers are one of:
//   - the broker's own WebSocket edge, proven by the process-internal token,
//     optionally acting for a peer session (a presence);
//   - the operator, with the broker's operator token;
//   - a mesh API key (cm_…), scoped to one mesh and a set of capabilities;
//   - a member of a mesh, signing the request with its member key (how the
//     CLI reaches the control plane without an API key);
//   - anonymous, for the RPCs whose request carries its own credential
//     (JoinMesh: a signed invite; SetHookStatus: a hook token).
//
// The interceptor resolves the caller, checks the procedure's policy, and
// puts the Identity in the context; services then check that the caller
// belongs to the mesh a request names.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
)

// Kind says who a caller is.
type Kind int

// The caller kinds.
const (
	// KindAnonymous is a caller without credentials.
	KindAnonymous Kind = iota
	// KindEdge is the broker's own WebSocket edge, not acting for a session.
	KindEdge
	// KindPeer is a peer session forwarded by the edge.
	KindPeer
	// KindOperator holds the broker's operator token.
	KindOperator
	// KindAPIKey holds a mesh API key.
	KindAPIKey
	// KindMember signed the request with a member key (see
	// MemberAuthorization).
	KindMember
)

func (k Kind) String() string {
	switch k {
	case KindAnonymous:
		return "anonymous"
	case KindEdge:
		return "edge"
	case KindPeer:
		return "peer"
	case KindOperator:
		return "operator"
	case KindAPIKey:
		return "api_key"
	case KindMember:
		return "member"
	}
	return "unknown"
}

// Capabilities an API key may hold.
const (
	CapRead       = "read"
	CapSend       = "send"
	CapStateWrite = "state_write"
	CapAdmin      = "admin"
	// CapOperator marks the broker's operator keys.
	CapOperator = "operator"
)

// Identity is the resolved caller of an RPC.
type Identity struct {
	Kind Kind
	// PresenceID is the session a KindPeer caller acts for. The services
	// resolve it to a mesh and member.
	PresenceID string
	// MeshID is the mesh a KindAPIKey or KindMember caller is scoped to.
	MeshID string
	// MemberID is the member that signed a KindMember request.
	MemberID string
	// KeyID is the API key (or operator key) id.
	KeyID string
	// Capabilities of a KindAPIKey caller.
	Capabilities []string
}

// Has reports whether an API key caller holds a capability; admin implies
// every mesh capability.
func (id Identity) Has(capability string) bool {
	return slices.Contains(id.Capabilities, capability) ||
		(capability != CapOperator && slices.Contains(id.Capabilities, CapAdmin))
}

type identityKey struct{}

// WithIdentity returns a context carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the caller's identity (anonymous when none was set).
func FromContext(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// KeyPrefix starts every API key and operator token.
const KeyPrefix = "cm_"

// NewSecret returns a fresh API key secret: "cm_" and base64url of 32 random
// bytes.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret returns the hex SHA-256 of a secret, as stored.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretPrefix is the visible start of a secret shown in listings.
func SecretPrefix(secret string) string {
	const n = 11
	if len(secret) < n {
		return secret
	}
	return secret[:n]
}
