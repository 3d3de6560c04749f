package meshcrypto_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/services/identity"
)

// keyPair returns the deterministic key pair whose seed is 32 copies of b,
// the same seeds testdata/gen-vectors.mjs uses (0x11 sender, 0x22
// recipient, 0x33 member).
func keyPair(t testing.TB, b byte) identity.KeyPair {
	t.Helper()
	sec := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	pub, ok := sec.Public().(ed25519.PublicKey)
	require.True(t, ok)
	return identity.KeyPair{Public: pub, Secret: sec}
}

// b64 is standard base64 with padding.
func b64(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

// unb64 decodes standard base64 with padding.
func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// flip returns a copy of b with bit 0 of byte i inverted.
func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1
	return out
}

// smallOrderKeys are ed25519 public keys libsodium refuses to convert:
// points of small order, a y with no point, and a valid key plus a point of
// order 8 (see testdata/libsodium-vectors.json for libsodium's verdicts).
func smallOrderKeys() map[string]string {
	return map[string]string{
		"Identity":          "0100000000000000000000000000000000000000000000000000000000000000",
		"MixedOrder":        "05d5383d77d4debb792d3dde7fa57bbb201404f277691fac68f5b1e669aea2eb",
		"NotOnCurve":        "0200000000000000000000000000000000000000000000000000000000000000",
		"Order8":            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"Order8SignBit":     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
		"YIsPMinusOne":      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"ZeroOrder4":        "0000000000000000000000000000000000000000000000000000000000000000",
		"ZeroOrder4SignBit": "0000000000000000000000000000000000000000000000000000000000000080",
	}
}
