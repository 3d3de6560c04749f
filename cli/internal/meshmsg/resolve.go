// Package meshmsg turns what a user or a model typed into send frames, and
// the pushes a broker sends into readable messages: target resolution
// (classic §5.1, client side), sealing or encoding of the body, decoding with
// the session and member keys, and short renderings for a terminal or a
// model's context.
package meshmsg

import (
	"errors"
	"fmt"
	"strings"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// Target is a resolved recipient.
type Target struct {
	// Spec is send.target_spec: a 64-hex lowercase key, "@group", or "*".
	Spec string
	// Name is what to call the target in results: the display name,
	// "@group", or "*".
	Name string
	// Direct says the body is sealed to the key in Spec.
	Direct bool
}

// ErrNoPeer reports that no connected peer matched a name.
var ErrNoPeer = errors.New("no connected peer with that name")

// noPeerError is ErrNoPeer for one name.
type noPeerError struct{ name string }

func (e *noPeerError) Error() string {
	return fmt.Sprintf("no connected peer named %q; list_peers shows who is online", e.name)
}

func (e *noPeerError) Unwrap() error { return ErrNoPeer }

// cliPeerType is the peer type of one-shot CLI sessions (claudemesh send,
// inbox, ...). They live for one command (the broker keeps listing them for
// its grace period), so a name that matches one of them and a longer-lived
// session means the longer-lived one.
const cliPeerType = "cli"

// Resolve turns a target typed by a user into a Target, using the peers of
// the mesh (from list_peers, without the caller's own session):
//
//   - "*" and "@all" are a broadcast ("*");
//   - "@name" is a group (name may contain "/");
//   - 64 hex characters (either case) are a key: a peer's session key, or a
//     member key, which means that member's one live session when it has
//     exactly one (else the member key itself);
//   - anything else is a display name: an exact case-insensitive match
//     first, then a unique case-insensitive substring match. Among several
//     matches of the same kind, one-shot CLI sessions give way to the
//     others; several sessions of one member mean that member's key (any of
//     them may take the message, as the broker does for names); otherwise
//     the error names the matches (name and first 8 hex of the key) and
//     says to use the key. No match wraps ErrNoPeer.
//
// A single peer matched by key or name resolves to its session key
// (PeerInfo.Pubkey), except that a one-shot CLI session found by name
// resolves to its member key.
func Resolve(to string, peers []*edgev1.PeerInfo) (Target, error) {
	to = strings.TrimSpace(to)
	switch {
	case to == "":
		return Target{}, errors.New("no recipient: give a peer name, a key, @group, or * for everyone")
	case to == "*" || strings.EqualFold(to, "@all"):
		return Target{Spec: "*", Name: "*"}, nil
	case strings.HasPrefix(to, "@"):
		if strings.TrimSpace(to[1:]) == "" {
			return Target{}, errors.New(`"@" needs a group name, like @eng or @eng/backend`)
		}
		return Target{Spec: to, Name: to}, nil
	case len(to) == 64 && identity.IsPublicHex(strings.ToLower(to)):
		return resolveKey(strings.ToLower(to), peers), nil
	}
	return resolveName(to, peers)
}

// resolveKey resolves a key to a peer's session key where it can.
func resolveKey(key string, peers []*edgev1.PeerInfo) Target {
	var sameMember []*edgev1.PeerInfo
	for _, p := range addressable(peers) {
		if p.GetPubkey() == key {
			return Target{Spec: key, Name: nameOf(p), Direct: true}
		}
		if strings.ToLower(p.GetMemberPubkey()) == key {
			sameMember = append(sameMember, p)
		}
	}
	switch len(sameMember) {
	case 0:
		// Not online: the broker queues it for a member key, or refuses.
		return Target{Spec: key, Name: "peer-" + key[:8], Direct: true}
	case 1:
		return Target{Spec: sameMember[0].GetPubkey(), Name: nameOf(sameMember[0]), Direct: true}
	}
	// Any session of the member may take it, and each can open it.
	return Target{Spec: key, Name: nameOf(sameMember[0]), Direct: true}
}

// resolveName matches a display name: exact first, then substring.
func resolveName(name string, peers []*edgev1.PeerInfo) (Target, error) {
	lower := strings.ToLower(name)
	var exact, partial []*edgev1.PeerInfo
	for _, p := range addressable(peers) {
		display := strings.ToLower(p.GetDisplayName())
		switch {
		case display == "":
		case display == lower:
			exact = append(exact, p)
		case strings.Contains(display, lower):
			partial = append(partial, p)
		}
	}
	for _, matches := range [][]*edgev1.PeerInfo{exact, partial} {
		matches = preferLasting(matches)
		switch len(matches) {
		case 0:
			continue
		case 1:
			return peerTarget(matches[0]), nil
		}
		if key, ok := oneMember(matches); ok {
			// Sessions of one member: any of them may take it.
			return Target{Spec: key, Name: nameOf(matches[0]), Direct: true}, nil
		}
		labels := make([]string, 0, len(matches))
		for _, p := range matches {
			labels = append(labels, fmt.Sprintf("%s (%s)", nameOf(p), p.GetPubkey()[:8]))
		}
		return Target{}, fmt.Errorf("%q matches %d peers: %s; send to the full key of one of them instead",
			name, len(matches), strings.Join(labels, ", "))
	}
	return Target{}, &noPeerError{name: name}
}

// peerTarget addresses one peer found by name: its session key, except for
// a one-shot CLI session, which is gone within seconds (though listed for
// the broker's grace period): its member key reaches the member's live
// sessions and waits for the next one, which opens it with the member key.
func peerTarget(p *edgev1.PeerInfo) Target {
	if member := strings.ToLower(p.GetMemberPubkey()); p.GetPeerType() == cliPeerType && identity.IsPublicHex(member) {
		return Target{Spec: member, Name: nameOf(p), Direct: true}
	}
	return Target{Spec: p.GetPubkey(), Name: nameOf(p), Direct: true}
}

// oneMember returns the member key that all matches share, if they do.
func oneMember(matches []*edgev1.PeerInfo) (string, bool) {
	key := strings.ToLower(matches[0].GetMemberPubkey())
	if !identity.IsPublicHex(key) {
		return "", false
	}
	for _, p := range matches[1:] {
		if strings.ToLower(p.GetMemberPubkey()) != key {
			return "", false
		}
	}
	return key, true
}

// addressable drops entries that cannot be sent to: nil, or without a
// well-formed session key.
func addressable(peers []*edgev1.PeerInfo) []*edgev1.PeerInfo {
	out := make([]*edgev1.PeerInfo, 0, len(peers))
	for _, p := range peers {
		if p != nil && identity.IsPublicHex(p.GetPubkey()) {
			out = append(out, p)
		}
	}
	return out
}

// preferLasting drops one-shot CLI sessions from matches that also hold
// longer-lived sessions.
func preferLasting(matches []*edgev1.PeerInfo) []*edgev1.PeerInfo {
	lasting := make([]*edgev1.PeerInfo, 0, len(matches))
	for _, p := range matches {
		if p.GetPeerType() != cliPeerType {
			lasting = append(lasting, p)
		}
	}
	if len(lasting) == 0 {
		return matches
	}
	return lasting
}

// nameOf is a peer's display name, else the start of its key.
func nameOf(p *edgev1.PeerInfo) string {
	if p.GetDisplayName() != "" {
		return p.GetDisplayName()
	}
	return "peer-" + p.GetPubkey()[:8]
}
