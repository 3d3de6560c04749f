package invite_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
)

// Golden values for fixedPayload signed by fixedOwner. The token and the
// signature were checked against Node v20: JSON.stringify of the same object
// through Buffer.toString("base64url") gives the same token, and
// crypto.verify accepts the signature over the same signed string.
const (
	fixedOwnerPubkey = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
	fixedRootKey     = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" // bytes 0x00..0x1f
	fixedSigned      = "1|mesh_0123456789abcdef0123456789ab|dev-team|wss://ic.claudemesh.com/ws|1776859200|" +
		fixedRootKey + "|member|" + fixedOwnerPubkey
	fixedSignature = "d0bd34148be850a4162e4e7303e56175f5c86b235aef5a0da84f25b9dd2348e6" +
		"92846e9e83973c71fcb505e5f425a75148dc4eb181df7f37bc47dcfb951c5000"
	fixedToken = "eyJ2IjoxLCJtZXNoX2lkIjoibWVzaF8wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiIiwibWVzaF9zbHVnIjoiZGV2LXRlYW0iLCJicm9rZXJfdXJsIjoid3NzOi8vaWMuY2xhdWRlbWVzaC5jb20vd3MiLCJleHBpcmVzX2F0IjoxNzc2ODU5MjAwLCJtZXNoX3Jvb3Rfa2V5IjoiQUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVhHQmthR3h3ZEhoOCIsInJvbGUiOiJtZW1iZXIiLCJvd25lcl9wdWJrZXkiOiI3OWI1NTYyZThmZTY1NGY5NDA3OGIxMTJlOGE5OGJhNzkwMWY4NTNhZTY5NWJlZDdlMGUzOTEwYmFkMDQ5NjY0Iiwic2lnbmF0dXJlIjoiZDBiZDM0MTQ4YmU4NTBhNDE2MmU0ZTczMDNlNTYxNzVmNWM4NmIyMzVhZWY1YTBkYTg0ZjI1YjlkZDIzNDhlNjkyODQ2ZTllODM5NzNjNzFmY2I1MDVlNWY0MjVhNzUxNDhkYzRlYjE4MWRmN2YzN2JjNDdkY2ZiOTUxYzUwMDAifQ"
	// fixedSpecialToken is Encode of a payload with HTML, quote, backslash
	// and control characters (specialPayload), also byte-identical to Node.
	fixedSpecialToken = "eyJ2IjoxLCJtZXNoX2lkIjoibTwmPsOpIiwibWVzaF9zbHVnIjoiYVwiYlxcY1xuXHUwMDAxIiwiYnJva2VyX3VybCI6IndzOi8vWzo6MV06ODA4MC93cyIsImV4cGlyZXNfYXQiOjEsIm1lc2hfcm9vdF9rZXkiOiJBQUVDQXdRRkJnY0lDUW9MREEwT0R4QVJFaE1VRlJZWEdCa2FHeHdkSGg4Iiwicm9sZSI6ImFkbWluIiwib3duZXJfcHVia2V5IjoiNzliNTU2MmU4ZmU2NTRmOTQwNzhiMTEyZThhOThiYTc5MDFmODUzYWU2OTViZWQ3ZTBlMzkxMGJhZDA0OTY2NCIsInNpZ25hdHVyZSI6IjBjOTE2Yjk3NzllZjU4YjA0NmYwZDM5OWFlYzI5YzhiYzdmYzM0NTMxMTk2ZDE0Y2VjZTc1MWY5ZmY0MmYwYmExODM0ZjE4M2YzMDFiOTQxMzQ3ZWZiNWU5NWRiZGVkMmY4YmNlOWNkYTY2MjI3NzNlNzdjYTJhNTI5MWU5MjAxIn0"
)

// fixedOwner returns the owner key pair for the seed 0x01..0x20.
func fixedOwner(t testing.TB) identity.KeyPair {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	sec := ed25519.NewKeyFromSeed(seed)
	k, err := identity.ParseKeyPair(fixedOwnerPubkey, hex.EncodeToString(sec))
	require.NoError(t, err)
	return k
}

// fixedPayload returns the unsigned golden payload.
func fixedPayload() invite.Payload {
	return invite.Payload{
		V:           1,
		MeshID:      "mesh_0123456789abcdef0123456789ab",
		MeshSlug:    "dev-team",
		BrokerURL:   "wss://ic.claudemesh.com/ws",
		ExpiresAt:   1776859200,
		MeshRootKey: fixedRootKey,
		Role:        "member",
	}
}

// signedPayload returns fixedPayload signed by fixedOwner.
func signedPayload(t testing.TB) invite.Payload {
	t.Helper()
	return invite.Sign(fixedPayload(), fixedOwner(t))
}

func TestGolden(t *testing.T) {
	t.Parallel()

	t.Run("SignedString", func(t *testing.T) {
		t.Parallel()
		p := fixedPayload()
		p.OwnerPubkey = fixedOwnerPubkey
		require.Equal(t, fixedSigned, p.SignedString())
		// The signature field is not part of the signed string.
		p.Signature = fixedSignature
		require.Equal(t, fixedSigned, p.SignedString())
	})

	t.Run("SignedStringZero", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "0||||0|||", invite.Payload{}.SignedString())
	})

	t.Run("Sign", func(t *testing.T) {
		t.Parallel()
		p := signedPayload(t)
		require.Equal(t, fixedOwnerPubkey, p.OwnerPubkey)
		require.Equal(t, fixedSignature, p.Signature)
		require.NoError(t, p.Verify())
	})

	t.Run("Token", func(t *testing.T) {
		t.Parallel()
		token, err := invite.Encode(signedPayload(t))
		require.NoError(t, err)
		require.Equal(t, fixedToken, token)
		p, err := invite.Decode(fixedToken)
		require.NoError(t, err)
		require.Equal(t, signedPayload(t), p)
	})

	t.Run("TokenSpecialCharacters", func(t *testing.T) {
		t.Parallel()
		p := invite.Sign(invite.Payload{
			V:           1,
			MeshID:      "m<&>é",
			MeshSlug:    "a\"b\\c\n\x01",
			BrokerURL:   "ws://[::1]:8080/ws",
			ExpiresAt:   1,
			MeshRootKey: fixedRootKey,
			Role:        "admin",
		}, fixedOwner(t))
		token, err := invite.Encode(p)
		require.NoError(t, err)
		require.Equal(t, fixedSpecialToken, token)
		raw, err := base64.RawURLEncoding.DecodeString(token)
		require.NoError(t, err)
		require.Contains(t, string(raw), `"mesh_id":"m<&>é"`, "no HTML escaping, as JSON.stringify")
		got, err := invite.Decode(token)
		require.NoError(t, err)
		require.Equal(t, p, got)
		require.NoError(t, got.Verify())
	})
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		link func(token string) string
	}{
		{name: "Bare", link: func(tok string) string { return tok }},
		{name: "BareWithWhitespace", link: func(tok string) string { return "  " + tok + "\n" }},
		{name: "HTTPJoin", link: func(tok string) string { return "http://localhost:3000/join/" + tok }},
		{name: "HTTPSJoin", link: func(tok string) string { return "https://claudemesh.com/join/" + tok }},
		{name: "HTTPSJoinQueryAndFragment", link: func(tok string) string { return "https://claudemesh.com/join/" + tok + "?ref=mail#top" }},
		{name: "HTTPSJoinTrailingSlash", link: func(tok string) string { return "https://claudemesh.com/join/" + tok + "/" }},
		{name: "HTTPSLocaleJoin", link: func(tok string) string { return "https://claudemesh.com/en/join/" + tok }},
		{name: "HTTPSLocaleJoinPort", link: func(tok string) string { return "https://claudemesh.com:8443/pt/join/" + tok + "/?x=1" }},
		{name: "IC", link: invite.ICURL},
		{name: "ICTrailingSlash", link: func(tok string) string { return invite.ICURL(tok) + "/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			owner, err := identity.Generate()
			require.NoError(t, err)
			p := fixedPayload()
			p.MeshRootKey = invite.NewRootKey()
			p = invite.Sign(p, owner)

			token, err := invite.Encode(p)
			require.NoError(t, err)
			got, err := invite.TokenFromLink(tt.link(token))
			require.NoError(t, err)
			require.Equal(t, token, got)

			decoded, err := invite.Decode(got)
			require.NoError(t, err)
			require.Equal(t, p, decoded)
			require.NoError(t, decoded.Verify())
			require.False(t, decoded.Expired(time.Unix(p.ExpiresAt-1, 0)))
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		tamper  func(p *invite.Payload)
		wantErr error
	}{
		{name: "BrokerURL", tamper: func(p *invite.Payload) { p.BrokerURL = "wss://evil.example/ws" }, wantErr: identity.ErrBadSignature},
		{name: "ExpiresAt", tamper: func(p *invite.Payload) { p.ExpiresAt++ }, wantErr: identity.ErrBadSignature},
		{name: "MeshID", tamper: func(p *invite.Payload) { p.MeshID += "x" }, wantErr: identity.ErrBadSignature},
		{name: "MeshRootKey", tamper: func(p *invite.Payload) { p.MeshRootKey = "B" + p.MeshRootKey[1:] }, wantErr: identity.ErrBadSignature},
		{name: "MeshSlug", tamper: func(p *invite.Payload) { p.MeshSlug = "other" }, wantErr: identity.ErrBadSignature},
		{name: "OwnerPubkey", tamper: func(p *invite.Payload) { p.OwnerPubkey = strings.Repeat("ab", 32) }, wantErr: identity.ErrBadSignature},
		{name: "OwnerPubkeyCase", tamper: func(p *invite.Payload) { p.OwnerPubkey = strings.ToUpper(p.OwnerPubkey) }, wantErr: identity.ErrBadSignature},
		{name: "Role", tamper: func(p *invite.Payload) { p.Role = "admin" }, wantErr: identity.ErrBadSignature},
		{name: "Signature", tamper: func(p *invite.Payload) { p.Signature = "00" + p.Signature[2:] }, wantErr: identity.ErrBadSignature},
		{name: "SignatureMalformed", tamper: func(p *invite.Payload) { p.Signature = p.Signature[2:] }, wantErr: identity.ErrMalformed},
		{name: "Untouched"},
		{name: "UppercaseSignature", tamper: func(p *invite.Payload) { p.Signature = strings.ToUpper(p.Signature) }},
		{name: "Version", tamper: func(p *invite.Payload) { p.V = 2 }, wantErr: identity.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := signedPayload(t)
			if tt.tamper != nil {
				tt.tamper(&p)
			}
			err := p.Verify()
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorContains(t, err, "verify invite: ")

			// The same tampering survives a trip through a token whenever
			// the payload is still well formed.
			if errors.Is(tt.wantErr, identity.ErrBadSignature) {
				token, err := invite.Encode(p)
				require.NoError(t, err)
				decoded, err := invite.Decode(token)
				require.NoError(t, err)
				require.ErrorIs(t, decoded.Verify(), identity.ErrBadSignature)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		mutate  func(p *invite.Payload)
		wantErr string
	}{
		{name: "BrokerURLEmpty", mutate: func(p *invite.Payload) { p.BrokerURL = "" }, wantErr: "broker_url is empty"},
		{name: "BrokerURLFTP", mutate: func(p *invite.Payload) { p.BrokerURL = "ftp://h/ws" }, wantErr: "scheme must be ws, wss, http or https"},
		{name: "BrokerURLHTTPS", mutate: func(p *invite.Payload) { p.BrokerURL = "https://ic.claudemesh.com" }},
		{name: "BrokerURLNoHost", mutate: func(p *invite.Payload) { p.BrokerURL = "wss:///ws" }, wantErr: "has no host"},
		{name: "BrokerURLNoScheme", mutate: func(p *invite.Payload) { p.BrokerURL = "ic.claudemesh.com/ws" }, wantErr: "scheme must be"},
		{name: "BrokerURLPortOnly", mutate: func(p *invite.Payload) { p.BrokerURL = "ws://:8080/ws" }, wantErr: "has no host"},
		{name: "BrokerURLUnparsable", mutate: func(p *invite.Payload) { p.BrokerURL = "wss://h:port/ws" }, wantErr: "invalid port"},
		{name: "BrokerURLUnbracketedIPv6", mutate: func(p *invite.Payload) { p.BrokerURL = "wss://a:b:1/ws" }, wantErr: "not valid in an https URL"},
		{name: "BrokerURLWS", mutate: func(p *invite.Payload) { p.BrokerURL = "ws://localhost:7900/ws" }},
		{name: "ExpiresAtNegative", mutate: func(p *invite.Payload) { p.ExpiresAt = -1 }, wantErr: "expires_at must be positive, got -1"},
		{name: "ExpiresAtZero", mutate: func(p *invite.Payload) { p.ExpiresAt = 0 }, wantErr: "expires_at must be positive, got 0"},
		{name: "MeshIDEmpty", mutate: func(p *invite.Payload) { p.MeshID = "" }, wantErr: "mesh_id is empty"},
		{name: "MeshIDInvalidUTF8", mutate: func(p *invite.Payload) { p.MeshID = "a\xffb" }, wantErr: "mesh_id is not valid UTF-8"},
		{name: "MeshIDPipe", mutate: func(p *invite.Payload) { p.MeshID = "a|b" }, wantErr: `mesh_id contains "|"`},
		{name: "MeshRootKeyPadded", mutate: func(p *invite.Payload) { p.MeshRootKey += "=" }},
		{name: "MeshRootKeyShort", mutate: func(p *invite.Payload) { p.MeshRootKey = base64.RawURLEncoding.EncodeToString(make([]byte, 31)) }, wantErr: "mesh_root_key must decode to 32 bytes, got 31"},
		{name: "MeshRootKeyStdBase64", mutate: func(p *invite.Payload) { p.MeshRootKey = "+/" + p.MeshRootKey[2:] }, wantErr: "mesh_root_key is not base64url"},
		{name: "MeshRootKeyWithNewline", mutate: func(p *invite.Payload) { p.MeshRootKey = p.MeshRootKey[:10] + "\n" + p.MeshRootKey[10:] }, wantErr: "mesh_root_key is not base64url"},
		{name: "MeshSlugEmpty", mutate: func(p *invite.Payload) { p.MeshSlug = "" }, wantErr: "mesh_slug is empty"},
		{name: "MeshSlugPipe", mutate: func(p *invite.Payload) { p.MeshSlug = "dev|team" }, wantErr: `mesh_slug contains "|"`},
		{name: "OwnerPubkeyNotHex", mutate: func(p *invite.Payload) { p.OwnerPubkey = strings.Repeat("x", 64) }, wantErr: "owner_pubkey: parse public key: malformed: public key is not hex"},
		{name: "OwnerPubkeyShort", mutate: func(p *invite.Payload) { p.OwnerPubkey = p.OwnerPubkey[:10] }, wantErr: "public key must be 64 hex characters, got 10"},
		{name: "RoleEmpty", mutate: func(p *invite.Payload) { p.Role = "" }, wantErr: `role must be "admin" or "member", got ""`},
		{name: "RolePeer", mutate: func(p *invite.Payload) { p.Role = "peer" }, wantErr: `got "peer"`},
		{name: "RoleUppercase", mutate: func(p *invite.Payload) { p.Role = "Admin" }, wantErr: `got "Admin"`},
		{name: "SignatureEmpty", mutate: func(p *invite.Payload) { p.Signature = "" }, wantErr: "signature must be 128 hex characters, got 0"},
		{name: "SignatureNotHex", mutate: func(p *invite.Payload) { p.Signature = strings.Repeat("q", 128) }, wantErr: "signature is not hex"},
		{name: "Valid"},
		{name: "VersionTwo", mutate: func(p *invite.Payload) { p.V = 2 }, wantErr: "v must be 1, got 2"},
		{name: "VersionZero", mutate: func(p *invite.Payload) { p.V = 0 }, wantErr: "v must be 1, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := signedPayload(t)
			if tt.mutate != nil {
				tt.mutate(&p)
			}
			err := p.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, identity.ErrMalformed)
			require.ErrorContains(t, err, "validate invite: ")
			require.ErrorContains(t, err, tt.wantErr)

			_, err = invite.Encode(p)
			require.ErrorIs(t, err, identity.ErrMalformed, "Encode refuses a malformed payload")
			require.ErrorContains(t, err, "encode invite: ")
		})
	}
}

func TestExpired(t *testing.T) {
	t.Parallel()

	const at = int64(1776859200)
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{name: "FarFuture", now: time.Unix(1<<40, 0), want: true},
		{name: "NanosecondAfter", now: time.Unix(at, 1), want: true},
		{name: "NanosecondBefore", now: time.Unix(at-1, 999_999_999), want: false},
		{name: "SameInstant", now: time.Unix(at, 0), want: false},
		{name: "SecondAfter", now: time.Unix(at+1, 0), want: true},
		{name: "SecondBefore", now: time.Unix(at-1, 0), want: false},
		{name: "ZeroTime", now: time.Time{}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := fixedPayload()
			p.ExpiresAt = at
			require.Equal(t, tt.want, p.Expired(tt.now))
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()

	// b64 encodes a JSON document the way the classic server does.
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	// withFields returns the golden JSON with fields replaced or removed
	// (a nil value removes the field).
	withFields := func(t *testing.T, fields map[string]any) string {
		t.Helper()
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(mustRaw(t, fixedToken)), &m))
		for k, v := range fields {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b64(string(b))
	}
	// nodePadded is fixedToken as base64url with "=" padding, the form
	// Buffer.toString("base64") gives after swapping +/ for -_.
	nodePadded := base64.URLEncoding.EncodeToString([]byte(mustRaw(t, fixedToken)))
	require.True(t, strings.HasSuffix(nodePadded, "="), "the golden token needs padding for this test")
	caseMismatch := b64(strings.Replace(mustRaw(t, fixedToken), `"mesh_id"`, `"Mesh_Id"`, 1))

	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{name: "ArrayJSON", token: b64(`[1,2]`), wantErr: "token is not a JSON object"},
		{name: "BadPadding", token: fixedToken + "=", wantErr: "token is not base64url"},
		{name: "Empty", token: "", wantErr: "token is empty"},
		{name: "FieldCaseMismatch", token: caseMismatch, wantErr: `missing field "mesh_id"`},
		{name: "FieldWrongType", token: withFields(t, map[string]any{"v": "1"}), wantErr: `field "v"`},
		{name: "FloatExpiry", token: withFields(t, map[string]any{"expires_at": 1.5}), wantErr: `field "expires_at"`},
		{name: "MissingSignature", token: withFields(t, map[string]any{"signature": nil}), wantErr: `missing field "signature"`},
		{name: "Newline", token: fixedToken[:40] + "\n" + fixedToken[40:], wantErr: "non-base64url character at offset 40"},
		{name: "NodePadded", token: nodePadded},
		{name: "NotJSON", token: b64("hello there, not json"), wantErr: "token is not a JSON object"},
		{name: "NullJSON", token: b64("null"), wantErr: "token is not a JSON object"},
		{name: "ObsoleteShape", token: b64(`{"v":1,"mesh":"m","broker":"wss://h/ws","exp":1,"role":"peer","enroll":"x","sig":"y"}`), wantErr: `missing field "mesh_id"`},
		{name: "StandardBase64", token: "+/" + fixedToken[2:], wantErr: "non-base64url character at offset 0"},
		{name: "TrailingJSON", token: b64(mustRaw(t, fixedToken) + "{}"), wantErr: "token is not a JSON object"},
		{name: "Unpadded", token: fixedToken},
		{name: "UnknownFieldIgnored", token: withFields(t, map[string]any{"preset": map[string]any{"role_tag": "dev"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := invite.Decode(tt.token)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, identity.ErrMalformed)
				require.ErrorContains(t, err, "decode invite: ")
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, invite.Payload{}, p)
				return
			}
			require.NoError(t, err)
			require.Equal(t, signedPayload(t), p)
			require.NoError(t, p.Verify())
		})
	}
}

// mustRaw returns the JSON inside a token.
func mustRaw(t *testing.T, token string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	return string(raw)
}

func TestTokenFromLink(t *testing.T) {
	t.Parallel()

	const tok = "eyJ2IjoxLCJtZXNoX2lkIjoi" // 24 base64url characters
	tests := []struct {
		name    string
		link    string
		want    string
		wantErr bool
	}{
		{name: "BareExactly20", link: tok[:20], wantErr: true},
		{name: "BareMoreThan20", link: tok[:21], want: tok[:21]},
		{name: "BarePadded", link: tok[:22] + "==", want: tok[:22] + "=="},
		{name: "BareStandardBase64", link: tok + "+/", wantErr: true},
		{name: "BareTooMuchPadding", link: tok + "===", wantErr: true},
		{name: "BareWithSpace", link: tok[:12] + " " + tok[12:], wantErr: true},
		{name: "Empty", link: "", wantErr: true},
		{name: "FTP", link: "ftp://claudemesh.com/join/" + tok, wantErr: true},
		{name: "HTTP", link: "http://claudemesh.com/join/" + tok, want: tok},
		{name: "HTTPS", link: "https://claudemesh.com/join/" + tok, want: tok},
		{name: "HTTPSDoubleSlash", link: "https://claudemesh.com/join//" + tok, wantErr: true},
		{name: "HTTPSEmptyToken", link: "https://claudemesh.com/join/", wantErr: true},
		{name: "HTTPSExtraSegment", link: "https://claudemesh.com/join/" + tok + "/more", wantErr: true},
		{name: "HTTPSLocale", link: "https://claudemesh.com/es/join/" + tok, want: tok},
		{name: "HTTPSLocaleThreeLetters", link: "https://claudemesh.com/esp/join/" + tok, wantErr: true},
		{name: "HTTPSLocaleWithRegion", link: "https://claudemesh.com/pt-BR/join/" + tok, wantErr: true},
		{name: "HTTPSNoHost", link: "https:///join/" + tok, wantErr: true},
		{name: "HTTPSPercentEncodedPadding", link: "https://claudemesh.com/join/" + tok[:22] + "%3D%3D", want: tok[:22] + "=="},
		{name: "HTTPSQuery", link: "https://claudemesh.com/join/" + tok + "?utm=x", want: tok},
		{name: "HTTPSShortToken", link: "https://claudemesh.com/join/abc", want: "abc"},
		{name: "HTTPSTrailingSlashes", link: "https://claudemesh.com/join/" + tok + "//", want: tok},
		{name: "HTTPSUppercaseScheme", link: "HTTPS://claudemesh.com/join/" + tok, want: tok},
		{name: "HTTPSV2Code", link: "https://claudemesh.com/i/ABCD2345", wantErr: true},
		{name: "IC", link: "ic://join/" + tok, want: tok},
		{name: "ICFragment", link: "ic://join/" + tok + "#x", want: tok},
		{name: "ICOpaque", link: "ic:join/" + tok, wantErr: true},
		{name: "ICWrongHost", link: "ic://invite/" + tok, wantErr: true},
		{name: "ICWithLocale", link: "ic://join/en/" + tok, wantErr: true},
		{name: "NoScheme", link: "claudemesh.com/join/" + tok, wantErr: true},
		{name: "Whitespace", link: " \t\n", wantErr: true},
		{name: "WSS", link: "wss://ic.claudemesh.com/join/" + tok, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := invite.TokenFromLink(tt.link)
			if tt.wantErr {
				require.ErrorIs(t, err, identity.ErrMalformed)
				require.ErrorContains(t, err, "parse invite link ")
				require.ErrorContains(t, err, "expected ic://join/<token>, https://<host>/join/<token>, https://<host>/<2-letter locale>/join/<token>, or a bare base64url token")
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("LongLinkQuotedShort", func(t *testing.T) {
		t.Parallel()
		_, err := invite.TokenFromLink("ftp://" + strings.Repeat("x", 500))
		require.Error(t, err)
		require.Less(t, len(err.Error()), 400)
	})
}

func TestHTTPBase(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		brokerURL string
		want      string
		wantErr   string
	}{
		{name: "Empty", brokerURL: "", wantErr: "scheme must be ws, wss, http or https"},
		{name: "FTP", brokerURL: "ftp://h/ws", wantErr: "scheme must be"},
		{name: "HTTPKept", brokerURL: "http://localhost:7900/ws", want: "http://localhost:7900"},
		{name: "HTTPSKept", brokerURL: "https://ic.claudemesh.com", want: "https://ic.claudemesh.com"},
		{name: "EmptyPort", brokerURL: "wss://h.example:/ws", want: "https://h.example"},
		{name: "IPv6", brokerURL: "ws://[::1]:7900/ws", want: "http://[::1]:7900"},
		{name: "IPv6Colons", brokerURL: "ws://::", wantErr: "has a host that is not valid in an http URL"},
		{name: "IPv6Unbracketed", brokerURL: "ws://::0/ws", wantErr: "has a host that is not valid in an http URL"},
		{name: "NoHost", brokerURL: "wss:///ws", wantErr: "has no host"},
		{name: "QueryAndUserDropped", brokerURL: "wss://user:pw@h.example:8443/a/b?x=1#f", want: "https://h.example:8443"},
		{name: "UppercaseScheme", brokerURL: "WSS://ic.claudemesh.com/ws", want: "https://ic.claudemesh.com"},
		{name: "WS", brokerURL: "ws://localhost:7900/ws", want: "http://localhost:7900"},
		{name: "WSS", brokerURL: "wss://ic.claudemesh.com/ws", want: "https://ic.claudemesh.com"},
		{name: "WSSPort", brokerURL: "wss://h:p/ws", wantErr: "invalid port"},
		{name: "WSSWithPort", brokerURL: "wss://ic.claudemesh.com:8443/ws", want: "https://ic.claudemesh.com:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := invite.HTTPBase(tt.brokerURL)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, identity.ErrMalformed)
				require.ErrorContains(t, err, "derive broker http base: ")
				require.ErrorContains(t, err, tt.wantErr)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestJoinURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		brokerURL string
		token     string
		want      string
		wantErr   string
	}{
		{name: "BadBroker", brokerURL: "ftp://h", token: fixedToken, wantErr: "join url: derive broker http base: "},
		{name: "BadToken", brokerURL: "wss://h/ws", token: "a/b", wantErr: "join url: malformed: token is not base64url"},
		{name: "EmptyToken", brokerURL: "wss://h/ws", token: "", wantErr: "token is not base64url"},
		{name: "Local", brokerURL: "ws://localhost:7900/ws", token: "abc", want: "http://localhost:7900/join/abc"},
		{name: "Production", brokerURL: "wss://ic.claudemesh.com/ws", token: fixedToken, want: "https://ic.claudemesh.com/join/" + fixedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := invite.JoinURL(tt.brokerURL, tt.token)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, identity.ErrMalformed)
				require.ErrorContains(t, err, tt.wantErr)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			// A join URL is itself an accepted link form.
			tok, err := invite.TokenFromLink(got)
			require.NoError(t, err)
			require.Equal(t, tt.token, tok)
		})
	}
}

func TestICURL(t *testing.T) {
	t.Parallel()

	require.Equal(t, "ic://join/"+fixedToken, invite.ICURL(fixedToken))
	tok, err := invite.TokenFromLink(invite.ICURL(fixedToken))
	require.NoError(t, err)
	require.Equal(t, fixedToken, tok)
}

func TestNewRootKey(t *testing.T) {
	t.Parallel()

	a, b := invite.NewRootKey(), invite.NewRootKey()
	require.NotEqual(t, a, b)
	for _, k := range []string{a, b} {
		require.Len(t, k, 43)
		require.NotContains(t, k, "=")
		raw, err := base64.RawURLEncoding.DecodeString(k)
		require.NoError(t, err)
		require.Len(t, raw, 32)
	}
}
