// Package invite reads and writes classic claudemesh v1 invites (spec §6.5):
// an owner-signed JSON payload carried as base64url in one of four link
// forms. It parses links, decodes and encodes tokens, checks the shape of
// every field and the owner's signature, and derives the broker's HTTP join
// URL from the payload's WebSocket URL.
//
// Every error about malformed input wraps identity.ErrMalformed, and a
// signature that does not verify wraps identity.ErrBadSignature, so callers
// can branch with errors.Is.
package invite

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"claudemesh.dev/services/identity"
)

const (
	// version is the only payload version this package handles.
	version = 1
	// rootKeySize is the size of a mesh root key in bytes.
	rootKeySize = 32
	// minBareToken is the number of base64url characters a bare token must
	// exceed to be taken for a token (the classic parser's "more than 20").
	minBareToken = 20
	// linkForms lists the accepted link forms for error messages.
	linkForms = "ic://join/<token>, https://<host>/join/<token>, " +
		"https://<host>/<2-letter locale>/join/<token>, or a bare base64url token of more than 20 characters"
)

// Payload is the JSON of a v1 invite token. Field order and names are the
// wire format.
type Payload struct {
	// V is the payload version; always 1.
	V int `json:"v"`
	// MeshID is the mesh's opaque id (mesh.id).
	MeshID string `json:"mesh_id"`
	// MeshSlug is the mesh's slug, the joiner's local alias for it.
	MeshSlug string `json:"mesh_slug"`
	// BrokerURL is the broker's WebSocket URL, e.g. wss://ic.claudemesh.com/ws.
	BrokerURL string `json:"broker_url"`
	// ExpiresAt is when the invite expires, in Unix seconds.
	ExpiresAt int64 `json:"expires_at"`
	// MeshRootKey is the mesh root key: base64url (no padding) of 32 bytes.
	MeshRootKey string `json:"mesh_root_key"`
	// Role is the role given to the joiner: "admin" or "member".
	Role string `json:"role"`
	// OwnerPubkey is the signer's ed25519 public key, 64 hex characters.
	OwnerPubkey string `json:"owner_pubkey"`
	// Signature is the owner's detached ed25519 signature over
	// SignedString, 128 hex characters.
	Signature string `json:"signature"`
}

// SignedString returns the bytes the owner signs: the first eight fields
// joined by "|" in wire order, v and expires_at in decimal, no trailing
// newline: v|mesh_id|mesh_slug|broker_url|expires_at|mesh_root_key|role|owner_pubkey.
// Values are used verbatim, including the case of OwnerPubkey.
func (p Payload) SignedString() string {
	return strings.Join([]string{
		strconv.Itoa(p.V),
		p.MeshID,
		p.MeshSlug,
		p.BrokerURL,
		strconv.FormatInt(p.ExpiresAt, 10),
		p.MeshRootKey,
		p.Role,
		p.OwnerPubkey,
	}, "|")
}

// Sign returns p with OwnerPubkey set to owner's public key (lowercase hex)
// and Signature set to owner's signature over the resulting SignedString.
// owner must be a valid key pair (see identity.KeyPair).
func Sign(p Payload, owner identity.KeyPair) Payload {
	p.OwnerPubkey = owner.PublicHex()
	p.Signature = identity.Sign(owner, []byte(p.SignedString()))
	return p
}

// Validate checks the shape of every field, as the classic client does
// before joining: v is 1; mesh_id and mesh_slug are non-empty; broker_url is
// a ws, wss, http or https URL with a host; expires_at is positive;
// mesh_root_key is base64url of 32 bytes; role is "admin" or "member";
// owner_pubkey is 64 hex characters and signature 128, in either case.
//
// Beyond the classic checks, mesh_id, mesh_slug and broker_url must be valid
// UTF-8 and must not contain "|", which would make SignedString ambiguous.
// Errors wrap identity.ErrMalformed. Validate does not check the signature
// or the expiry; see Verify and Expired.
func (p Payload) Validate() error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("validate invite: %w", err)
	}
	return nil
}

// validate is Validate without the context prefix.
func (p Payload) validate() error {
	if p.V != version {
		return fmt.Errorf("%w: v must be %d, got %d", identity.ErrMalformed, version, p.V)
	}
	for _, f := range []struct{ name, value string }{
		{"mesh_id", p.MeshID},
		{"mesh_slug", p.MeshSlug},
		{"broker_url", p.BrokerURL},
	} {
		switch {
		case f.value == "":
			return fmt.Errorf("%w: %s is empty", identity.ErrMalformed, f.name)
		case !utf8.ValidString(f.value):
			return fmt.Errorf("%w: %s is not valid UTF-8", identity.ErrMalformed, f.name)
		case strings.Contains(f.value, "|"):
			return fmt.Errorf("%w: %s contains \"|\"", identity.ErrMalformed, f.name)
		}
	}
	if _, err := httpBase(p.BrokerURL); err != nil {
		return fmt.Errorf("broker_url: %w", err)
	}
	if p.ExpiresAt <= 0 {
		return fmt.Errorf("%w: expires_at must be positive, got %d", identity.ErrMalformed, p.ExpiresAt)
	}
	if !isToken(p.MeshRootKey) {
		return fmt.Errorf("%w: mesh_root_key is not base64url", identity.ErrMalformed)
	}
	key, err := decodeBase64URL(p.MeshRootKey)
	if err != nil {
		return fmt.Errorf("%w: mesh_root_key is not base64url: %w", identity.ErrMalformed, err)
	}
	if len(key) != rootKeySize {
		return fmt.Errorf("%w: mesh_root_key must decode to %d bytes, got %d", identity.ErrMalformed, rootKeySize, len(key))
	}
	if p.Role != "admin" && p.Role != "member" {
		return fmt.Errorf("%w: role must be \"admin\" or \"member\", got %q", identity.ErrMalformed, p.Role)
	}
	if _, err := identity.ParsePublic(p.OwnerPubkey); err != nil {
		return fmt.Errorf("owner_pubkey: %w", err)
	}
	if len(p.Signature) != 2*ed25519.SignatureSize {
		return fmt.Errorf("%w: signature must be %d hex characters, got %d", identity.ErrMalformed, 2*ed25519.SignatureSize, len(p.Signature))
	}
	if _, err := hex.DecodeString(p.Signature); err != nil {
		return fmt.Errorf("%w: signature is not hex: %w", identity.ErrMalformed, err)
	}
	return nil
}

// Verify checks the shape of every field (Validate) and then the owner's
// signature over SignedString, by the embedded OwnerPubkey. Errors wrap
// identity.ErrMalformed or identity.ErrBadSignature.
//
// Verify proves only that whoever holds OwnerPubkey's secret key made the
// invite; the broker must also check that OwnerPubkey is the mesh's owner
// key. It does not check the expiry; see Expired.
func (p Payload) Verify() error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("verify invite: %w", err)
	}
	if err := identity.Verify(p.OwnerPubkey, []byte(p.SignedString()), p.Signature); err != nil {
		return fmt.Errorf("verify invite: %w", err)
	}
	return nil
}

// Expired reports whether the invite expired before now, that is whether
// expires_at < now with now at full precision (the classic check compares
// seconds with JavaScript's fractional Date.now()/1000). An invite is still
// valid during the second expires_at itself, up to its first instant.
func (p Payload) Expired(now time.Time) bool {
	sec := now.Unix()
	return p.ExpiresAt < sec || (p.ExpiresAt == sec && now.Nanosecond() > 0)
}

// Encode validates p and returns its token: the UTF-8 JSON of p in wire
// field order, as JSON.stringify writes it (no HTML escaping), in base64url
// without padding, as Node's Buffer.toString("base64url") writes it.
func Encode(p Payload) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("encode invite: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return "", fmt.Errorf("encode invite: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// Decode parses a token into its payload. It accepts base64url with or
// without padding, requires a JSON object holding all nine fields (names
// matched exactly; unknown fields are ignored, as the classic client does),
// and wraps identity.ErrMalformed on anything else. It does not validate or
// verify the payload: call Verify.
func Decode(token string) (Payload, error) {
	if token == "" {
		return Payload{}, fmt.Errorf("decode invite: %w: token is empty", identity.ErrMalformed)
	}
	if i := strings.IndexFunc(token, func(r rune) bool { return !isBase64URLChar(r) && r != '=' }); i >= 0 {
		return Payload{}, fmt.Errorf("decode invite: %w: token has a non-base64url character at offset %d", identity.ErrMalformed, i)
	}
	raw, err := decodeBase64URL(token)
	if err != nil {
		return Payload{}, fmt.Errorf("decode invite: %w: token is not base64url: %w", identity.ErrMalformed, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Payload{}, fmt.Errorf("decode invite: %w: token is not a JSON object", identity.ErrMalformed)
	}
	var p Payload
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"v", &p.V},
		{"mesh_id", &p.MeshID},
		{"mesh_slug", &p.MeshSlug},
		{"broker_url", &p.BrokerURL},
		{"expires_at", &p.ExpiresAt},
		{"mesh_root_key", &p.MeshRootKey},
		{"role", &p.Role},
		{"owner_pubkey", &p.OwnerPubkey},
		{"signature", &p.Signature},
	} {
		value, ok := fields[f.name]
		if !ok {
			return Payload{}, fmt.Errorf("decode invite: %w: missing field %q", identity.ErrMalformed, f.name)
		}
		if err := json.Unmarshal(value, f.dst); err != nil {
			return Payload{}, fmt.Errorf("decode invite: %w: field %q: %w", identity.ErrMalformed, f.name, err)
		}
	}
	return p, nil
}

// TokenFromLink extracts the token from an invite link in one of the four
// classic forms:
//
//   - ic://join/<token>
//   - https://<host>/join/<token>
//   - https://<host>/<2-letter locale>/join/<token>
//   - a bare <token>: base64url characters, more than 20 of them
//
// Surrounding whitespace, http:// instead of https://, trailing slashes,
// query strings and fragments are tolerated, as is "=" padding on the token.
// Anything else is an error, wrapping identity.ErrMalformed, that lists the
// accepted forms. The token is not decoded; see Decode.
func TokenFromLink(link string) (string, error) {
	s := strings.TrimSpace(link)
	if isToken(s) && len(strings.TrimRight(s, "=")) > minBareToken {
		return s, nil
	}
	if u, err := url.Parse(s); err == nil {
		if token, ok := tokenFromURL(u); ok {
			return token, nil
		}
	}
	return "", fmt.Errorf("parse invite link %s: %w: expected %s", quoteShort(s), identity.ErrMalformed, linkForms)
}

// tokenFromURL returns the token of an ic:// or http(s):// link.
func tokenFromURL(u *url.URL) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(strings.TrimRight(u.Path, "/"), "/"), "/")
	var token string
	switch u.Scheme {
	case "ic":
		if u.Host != "join" || len(segs) != 1 {
			return "", false
		}
		token = segs[0]
	case "http", "https":
		switch {
		case u.Hostname() == "":
			return "", false
		case len(segs) == 2 && segs[0] == "join":
			token = segs[1]
		case len(segs) == 3 && isLocale(segs[0]) && segs[1] == "join":
			token = segs[2]
		default:
			return "", false
		}
	default:
		return "", false
	}
	return token, isToken(token)
}

// HTTPBase derives the broker's HTTP base URL from its WebSocket URL: wss
// becomes https and ws becomes http (http and https stay as they are), the
// host and port are kept, and the path, query and any user info are
// dropped. wss://h:p/ws gives https://h:p.
func HTTPBase(brokerURL string) (string, error) {
	base, err := httpBase(brokerURL)
	if err != nil {
		return "", fmt.Errorf("derive broker http base: %w", err)
	}
	return base, nil
}

// httpBase is HTTPBase without the context prefix.
func httpBase(brokerURL string) (string, error) {
	u, err := url.Parse(brokerURL)
	if err != nil {
		return "", fmt.Errorf("%w: %w", identity.ErrMalformed, err)
	}
	var scheme string
	switch u.Scheme {
	case "wss", "https":
		scheme = "https"
	case "ws", "http":
		scheme = "http"
	default:
		return "", fmt.Errorf("%w: %s: scheme must be ws, wss, http or https", identity.ErrMalformed, quoteShort(brokerURL))
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%w: %s has no host", identity.ErrMalformed, quoteShort(brokerURL))
	}
	host := strings.TrimSuffix(u.Host, ":") // an empty port means the default one
	base := scheme + "://" + host
	// url.Parse checks hosts strictly only for http and https, so a ws URL
	// can carry a host (such as "::0") that no http URL can.
	if v, err := url.Parse(base); err != nil || v.Host != host || v.Hostname() == "" {
		return "", fmt.Errorf("%w: %s has a host that is not valid in an %s URL", identity.ErrMalformed, quoteShort(brokerURL), scheme)
	}
	return base, nil
}

// JoinURL returns the broker's HTTP join URL for token:
// HTTPBase(brokerURL) + "/join/" + token. The token must be base64url.
func JoinURL(brokerURL, token string) (string, error) {
	base, err := HTTPBase(brokerURL)
	if err != nil {
		return "", fmt.Errorf("join url: %w", err)
	}
	if !isToken(token) {
		return "", fmt.Errorf("join url: %w: token is not base64url", identity.ErrMalformed)
	}
	return base + "/join/" + token, nil
}

// ICURL returns the ic:// form of an invite link: "ic://join/" + token.
func ICURL(token string) string {
	return "ic://join/" + token
}

// NewRootKey returns a fresh mesh root key: 32 bytes from crypto/rand in
// base64url without padding.
func NewRootKey() string {
	b := make([]byte, rootKeySize)
	// crypto/rand.Read never returns an error: since Go 1.24 it crashes the
	// program instead.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeBase64URL decodes base64url with padding when s ends in "=" and
// without it otherwise.
func decodeBase64URL(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.URLEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// isToken reports whether s is a non-empty run of base64url characters,
// optionally followed by up to two "=".
func isToken(s string) bool {
	body := strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	if body == "" {
		return false
	}
	for _, r := range body {
		if !isBase64URLChar(r) {
			return false
		}
	}
	return true
}

// isBase64URLChar reports whether r is in the base64url alphabet.
func isBase64URLChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// isLocale reports whether s is a two-letter locale such as "en".
func isLocale(s string) bool {
	return len(s) == 2 && isLetter(s[0]) && isLetter(s[1])
}

// isLetter reports whether c is an ASCII letter.
func isLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// quoteShort quotes s for an error message, cutting it to 64 bytes.
func quoteShort(s string) string {
	const limit = 64
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}
