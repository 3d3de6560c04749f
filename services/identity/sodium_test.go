package identity_test

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/services/identity"
)

// smallOrderRSignature forges, for the fixed key, a signature over msg whose
// R is the identity point: S = k·a mod L, where a is the key's secret scalar
// and k = SHA-512(R ‖ A ‖ msg). Go's ed25519.Verify accepts it; libsodium
// does not.
func smallOrderRSignature(t *testing.T, msg []byte) string {
	t.Helper()
	k := fixedKeyPair(t)
	l, ok := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	require.True(t, ok)
	leInt := func(b []byte) *big.Int { return new(big.Int).SetBytes(reversed(b)) }

	h := sha512.Sum512(k.Secret.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	a := leInt(h[:32])

	r := make([]byte, 32)
	r[0] = 1 // the identity point (0, 1)
	d := sha512.New()
	d.Write(r)
	d.Write(k.Public)
	d.Write(msg)
	kk := leInt(d.Sum(nil))

	s := new(big.Int).Mod(new(big.Int).Mul(kk, a), l)
	sb := make([]byte, 32)
	s.FillBytes(sb)
	return hex.EncodeToString(slices.Concat(r, reversed(sb)))
}

// reversed returns a reversed copy of b (little-endian ↔ big-endian).
func reversed(b []byte) []byte {
	c := slices.Clone(b)
	slices.Reverse(c)
	return c
}

func TestVerifyLibsodiumParity(t *testing.T) {
	t.Parallel()

	zeroKey := strings.Repeat("0", 64)
	zeroSig := strings.Repeat("0", 128)
	// Found by FuzzVerifyHello: the all-zero key (order 4) and the all-zero
	// signature verify under Go's ed25519 for this hello string.
	zeroHello := identity.HelloString("0", "", zeroKey, -64)
	msg := []byte("any message")

	tests := []struct {
		name      string
		pubkey    string
		msg       []byte
		sig       string
		goAccepts bool   // plain ed25519.Verify accepts it (checked only when true)
		wantErr   string // "" means valid
	}{
		{name: "HonestSignature", pubkey: fixedPublicHex, msg: msg, sig: identity.Sign(fixedKeyPair(t), msg), goAccepts: true},
		{name: "NonCanonicalPublicKey", pubkey: "f0" + strings.Repeat("ff", 30) + "7f", msg: msg, sig: identity.Sign(fixedKeyPair(t), msg), wantErr: "small-order or non-canonical"},
		{name: "SmallOrderPublicKeyOrder8", pubkey: "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", msg: msg, sig: zeroSig, wantErr: "small-order or non-canonical"},
		{name: "SmallOrderR", pubkey: fixedPublicHex, msg: msg, sig: smallOrderRSignature(t, msg), goAccepts: true, wantErr: "signature R is a small-order point"},
		{name: "ZeroKeyZeroSignature", pubkey: zeroKey, msg: []byte(zeroHello), sig: zeroSig, goAccepts: true, wantErr: "small-order or non-canonical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub, err := hex.DecodeString(tt.pubkey)
			require.NoError(t, err)
			sig, err := hex.DecodeString(tt.sig)
			require.NoError(t, err)
			if tt.goAccepts {
				require.True(t, ed25519.Verify(pub, tt.msg, sig), "precondition: plain Go accepts it")
			}

			err = identity.Verify(tt.pubkey, tt.msg, tt.sig)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, identity.ErrBadSignature)
			require.NotErrorIs(t, err, identity.ErrMalformed)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}

	t.Run("ZeroKeyHello", func(t *testing.T) {
		t.Parallel()
		err := identity.VerifyHello(zeroKey, zeroSig, "0", "", -64)
		require.ErrorIs(t, err, identity.ErrBadSignature)
	})
}
