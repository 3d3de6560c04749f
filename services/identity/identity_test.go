package identity_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/services/identity"
)

// Pinned vectors for the seed 0x01, 0x02, …, 0x20. They were computed once
// with crypto/ed25519 and cross-checked with OpenSSL (`openssl pkeyutl
// -sign -rawin`); ed25519 is deterministic, so they never change.
const (
	fixedPublicHex = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
	fixedSecretHex = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20" + fixedPublicHex
	fixedMeshID    = "mesh_0123456789abcdef0123456789ab"
	fixedMemberID  = "mem_0123456789abcdef0123456789abc"
	fixedTimestamp = int64(1776254400000)
	fixedHello     = fixedMeshID + "|" + fixedMemberID + "|" + fixedPublicHex + "|1776254400000"
	fixedHelloSig  = "c20b0fe3b7397d8b92206d063e811565bb514d13f7b3952b15ee647fba5d77c5" +
		"0cc46e9fcd1601493fc05b3880051be20f69ae1023bae1665f2cf080bb165507"
)

// fixedKeyPair returns the key pair for the seed 0x01..0x20.
func fixedKeyPair(t *testing.T) identity.KeyPair {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	sec := ed25519.NewKeyFromSeed(seed)
	return identity.KeyPair{Public: sec.Public().(ed25519.PublicKey), Secret: sec}
}

// otherKeyPair returns a second deterministic key pair (seed of 0x42s).
func otherKeyPair(t *testing.T) identity.KeyPair {
	t.Helper()
	sec := ed25519.NewKeyFromSeed([]byte(strings.Repeat("\x42", ed25519.SeedSize)))
	return identity.KeyPair{Public: sec.Public().(ed25519.PublicKey), Secret: sec}
}

func TestFixedVector(t *testing.T) {
	t.Parallel()

	t.Run("HelloSignature", func(t *testing.T) {
		t.Parallel()
		k := fixedKeyPair(t)
		require.Equal(t, fixedHello, identity.HelloString(fixedMeshID, fixedMemberID, k.PublicHex(), fixedTimestamp))
		require.Equal(t, fixedHelloSig, identity.SignHello(k, fixedMeshID, fixedMemberID, fixedTimestamp))
		require.Equal(t, fixedHelloSig, identity.Sign(k, []byte(fixedHello)))
		require.NoError(t, identity.VerifyHello(fixedPublicHex, fixedHelloSig, fixedMeshID, fixedMemberID, fixedTimestamp))
	})

	t.Run("Hex", func(t *testing.T) {
		t.Parallel()
		k := fixedKeyPair(t)
		require.Equal(t, fixedPublicHex, k.PublicHex())
		require.Equal(t, fixedSecretHex, k.SecretHex())
		require.True(t, identity.IsPublicHex(k.PublicHex()))
	})

	t.Run("LibsodiumSecretParses", func(t *testing.T) {
		t.Parallel()
		k, err := identity.ParseKeyPair(fixedPublicHex, fixedSecretHex)
		require.NoError(t, err)
		require.Equal(t, fixedKeyPair(t), k)
		require.Equal(t, fixedHelloSig, identity.SignHello(k, fixedMeshID, fixedMemberID, fixedTimestamp))
	})
}

func TestGenerate(t *testing.T) {
	t.Parallel()

	a, err := identity.Generate()
	require.NoError(t, err)
	b, err := identity.Generate()
	require.NoError(t, err)

	require.Len(t, a.Public, ed25519.PublicKeySize)
	require.Len(t, a.Secret, ed25519.PrivateKeySize)
	require.NotEqual(t, a.PublicHex(), b.PublicHex())
	require.True(t, identity.IsPublicHex(a.PublicHex()))
	require.Len(t, a.SecretHex(), 128)
	require.Equal(t, a.PublicHex(), a.SecretHex()[64:])

	parsed, err := identity.ParseKeyPair(a.PublicHex(), a.SecretHex())
	require.NoError(t, err)
	require.Equal(t, a, parsed)

	sig := identity.SignHello(a, "m", "u", 1)
	require.NoError(t, identity.VerifyHello(a.PublicHex(), sig, "m", "u", 1))
	require.ErrorIs(t, identity.VerifyHello(b.PublicHex(), sig, "m", "u", 1), identity.ErrBadSignature)
}

func TestParseKeyPair(t *testing.T) {
	t.Parallel()

	other := otherKeyPair(t)
	// A secret whose embedded public key is right but whose seed is not.
	wrongSeed := other.SecretHex()[:64] + fixedPublicHex

	tests := []struct {
		name      string
		publicHex string
		secretHex string
		wantErr   string
	}{
		{name: "EmbeddedPublicMismatch", publicHex: fixedPublicHex, secretHex: other.SecretHex(), wantErr: "embeds a different public key"},
		{name: "Empty", publicHex: "", secretHex: "", wantErr: "public key must be 64 hex characters, got 0"},
		{name: "PublicNotHex", publicHex: "zz" + fixedPublicHex[2:], secretHex: fixedSecretHex, wantErr: "public key is not hex"},
		{name: "PublicTooLong", publicHex: fixedPublicHex + "00", secretHex: fixedSecretHex, wantErr: "public key must be 64 hex characters, got 66"},
		{name: "PublicTooShort", publicHex: fixedPublicHex[:62], secretHex: fixedSecretHex, wantErr: "public key must be 64 hex characters, got 62"},
		{name: "SecretIsSeedOnly", publicHex: fixedPublicHex, secretHex: fixedSecretHex[:64], wantErr: "secret key must be 128 hex characters, got 64"},
		{name: "SecretNotHex", publicHex: fixedPublicHex, secretHex: "0g" + fixedSecretHex[2:], wantErr: "secret key is not hex"},
		{name: "SeedMismatch", publicHex: fixedPublicHex, secretHex: wrongSeed, wantErr: "seed does not derive the public key"},
		{name: "Uppercase", publicHex: strings.ToUpper(fixedPublicHex), secretHex: strings.ToUpper(fixedSecretHex)},
		{name: "Valid", publicHex: fixedPublicHex, secretHex: fixedSecretHex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := identity.ParseKeyPair(tt.publicHex, tt.secretHex)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, identity.ErrMalformed)
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorContains(t, err, "parse key pair: ")
				require.Equal(t, identity.KeyPair{}, k)
				return
			}
			require.NoError(t, err)
			require.Equal(t, fixedPublicHex, k.PublicHex())
			require.Equal(t, fixedSecretHex, k.SecretHex())
		})
	}
}

func TestParsePublic(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "Empty", in: "", wantErr: "must be 64 hex characters, got 0"},
		{name: "Lowercase", in: fixedPublicHex},
		{name: "Mixed", in: strings.ToUpper(fixedPublicHex[:32]) + fixedPublicHex[32:]},
		{name: "NotHex", in: strings.Repeat("x", 64), wantErr: "is not hex"},
		{name: "OddLength", in: fixedPublicHex[:63], wantErr: "got 63"},
		{name: "Padded", in: " " + fixedPublicHex[1:], wantErr: "is not hex"},
		{name: "SecretKey", in: fixedSecretHex, wantErr: "got 128"},
		{name: "Uppercase", in: strings.ToUpper(fixedPublicHex)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub, err := identity.ParsePublic(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, identity.ErrMalformed)
				require.ErrorContains(t, err, "parse public key: ")
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, pub)
				return
			}
			require.NoError(t, err)
			require.Equal(t, fixedPublicHex, hex.EncodeToString(pub))
		})
	}
}

func TestIsPublicHex(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "Empty", in: "", want: false},
		{name: "Lowercase", in: fixedPublicHex, want: true},
		{name: "NonHexLetter", in: "g" + fixedPublicHex[1:], want: false},
		{name: "OneUppercase", in: "A" + fixedPublicHex[1:], want: false},
		{name: "TooLong", in: fixedPublicHex + "0", want: false},
		{name: "TooShort", in: fixedPublicHex[1:], want: false},
		{name: "Uppercase", in: strings.ToUpper(fixedPublicHex), want: false},
		{name: "Zeros", in: strings.Repeat("0", 64), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, identity.IsPublicHex(tt.in))
		})
	}
}

func TestHelloString(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		meshID   string
		memberID string
		pubkey   string
		ts       int64
		want     string
	}{
		{name: "Empty", want: "|||0"},
		{name: "Fixed", meshID: fixedMeshID, memberID: fixedMemberID, pubkey: fixedPublicHex, ts: fixedTimestamp, want: fixedHello},
		{name: "NegativeTimestamp", meshID: "m", memberID: "u", pubkey: "p", ts: -5, want: "m|u|p|-5"},
		{name: "PubkeyVerbatim", meshID: "m", memberID: "u", pubkey: "ABCD", ts: 7, want: "m|u|ABCD|7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, identity.HelloString(tt.meshID, tt.memberID, tt.pubkey, tt.ts))
		})
	}
}

func TestVerifyHello(t *testing.T) {
	t.Parallel()

	upperPub := strings.ToUpper(fixedPublicHex)
	// A client that sends its pubkey in upper case signs the upper-case
	// string, because the signed string holds the pubkey as sent.
	upperSig := identity.Sign(fixedKeyPair(t), []byte(identity.HelloString(fixedMeshID, fixedMemberID, upperPub, fixedTimestamp)))
	flipped := []byte(fixedHelloSig)
	flipped[0] = '0' // c2… → 02…

	tests := []struct {
		name     string
		pubkey   string
		sig      string
		meshID   string
		memberID string
		ts       int64
		wantErr  error
	}{
		{name: "FlippedSignatureBit", pubkey: fixedPublicHex, sig: string(flipped), meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrBadSignature},
		{name: "NonHexSignature", pubkey: fixedPublicHex, sig: "zz" + fixedHelloSig[2:], meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrMalformed},
		{name: "OtherKey", pubkey: otherKeyPair(t).PublicHex(), sig: fixedHelloSig, meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrBadSignature},
		{name: "ShortPubkey", pubkey: fixedPublicHex[:62], sig: fixedHelloSig, meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrMalformed},
		{name: "ShortSignature", pubkey: fixedPublicHex, sig: fixedHelloSig[:126], meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrMalformed},
		{name: "UppercasePubkeyLowercaseSigned", pubkey: upperPub, sig: fixedHelloSig, meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrBadSignature},
		{name: "UppercasePubkeyUppercaseSigned", pubkey: upperPub, sig: upperSig, meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp},
		{name: "UppercaseSignature", pubkey: fixedPublicHex, sig: strings.ToUpper(fixedHelloSig), meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp},
		{name: "Valid", pubkey: fixedPublicHex, sig: fixedHelloSig, meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp},
		{name: "WrongMember", pubkey: fixedPublicHex, sig: fixedHelloSig, meshID: fixedMeshID, memberID: fixedMemberID + "x", ts: fixedTimestamp, wantErr: identity.ErrBadSignature},
		{name: "WrongMesh", pubkey: fixedPublicHex, sig: fixedHelloSig, meshID: "other", memberID: fixedMemberID, ts: fixedTimestamp, wantErr: identity.ErrBadSignature},
		{name: "WrongTimestamp", pubkey: fixedPublicHex, sig: fixedHelloSig, meshID: fixedMeshID, memberID: fixedMemberID, ts: fixedTimestamp + 1, wantErr: identity.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := identity.VerifyHello(tt.pubkey, tt.sig, tt.meshID, tt.memberID, tt.ts)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorContains(t, err, "verify hello: ")
			// The two sentinels never both match.
			require.NotEqual(t, errors.Is(err, identity.ErrMalformed), errors.Is(err, identity.ErrBadSignature))
		})
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()

	k := fixedKeyPair(t)
	msg := []byte("v=1|anything at all\x00\xff")
	sig := identity.Sign(k, msg)
	require.Len(t, sig, 128)
	require.Equal(t, strings.ToLower(sig), sig)

	tests := []struct {
		name    string
		pubkey  string
		msg     []byte
		sig     string
		wantErr error
	}{
		{name: "EmptyMessage", pubkey: k.PublicHex(), msg: nil, sig: identity.Sign(k, nil)},
		{name: "EmptySignature", pubkey: k.PublicHex(), msg: msg, sig: "", wantErr: identity.ErrMalformed},
		{name: "OtherMessage", pubkey: k.PublicHex(), msg: []byte("other"), sig: sig, wantErr: identity.ErrBadSignature},
		{name: "SignatureTooLong", pubkey: k.PublicHex(), msg: msg, sig: sig + "00", wantErr: identity.ErrMalformed},
		{name: "Valid", pubkey: k.PublicHex(), msg: msg, sig: sig},
		{name: "ZeroSignature", pubkey: k.PublicHex(), msg: msg, sig: strings.Repeat("0", 128), wantErr: identity.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := identity.Verify(tt.pubkey, tt.msg, tt.sig)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorContains(t, err, "verify signature: ")
		})
	}
}
