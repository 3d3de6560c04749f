package meshcrypto_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/curve25519"

	"claudemesh.dev/cli/internal/meshcrypto"
)

func TestPrivateToX25519(t *testing.T) {
	t.Parallel()

	t.Run("Clamped", func(t *testing.T) {
		t.Parallel()
		for _, b := range []byte{0x00, 0x11, 0xff} {
			x, err := meshcrypto.PrivateToX25519(keyPair(t, b).Secret)
			require.NoError(t, err)
			require.Zero(t, x[0]&7, "low three bits must be clear")
			require.Equal(t, byte(0x40), x[31]&0xc0, "bit 254 set, bit 255 clear")
		}
	})

	t.Run("MatchesPublicToX25519", func(t *testing.T) {
		t.Parallel()
		for _, b := range []byte{0x01, 0x11, 0x22, 0x33, 0xfe} {
			k := keyPair(t, b)
			priv, err := meshcrypto.PrivateToX25519(k.Secret)
			require.NoError(t, err)
			pub, err := meshcrypto.PublicToX25519(k.Public)
			require.NoError(t, err)
			derived, err := curve25519.X25519(priv[:], curve25519.Basepoint)
			require.NoError(t, err)
			require.Equal(t, pub[:], derived)
		}
	})

	t.Run("WrongLength", func(t *testing.T) {
		t.Parallel()
		k := keyPair(t, 0x11)
		for _, priv := range []ed25519.PrivateKey{nil, k.Secret[:32], k.Secret[:63], append(k.Secret, 0)} {
			_, err := meshcrypto.PrivateToX25519(priv)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPrivateKey)
		}
	})
}

func TestPublicToX25519(t *testing.T) {
	t.Parallel()

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for name, h := range smallOrderKeys() {
			pub, err := hex.DecodeString(h)
			require.NoError(t, err)
			_, err = meshcrypto.PublicToX25519(pub)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey, name)
		}
	})

	t.Run("NegatedKeySameMontgomery", func(t *testing.T) {
		t.Parallel()
		// -P has the same y, hence the same u; libsodium agrees (vectors).
		k := keyPair(t, 0x11)
		neg := append(ed25519.PublicKey(nil), k.Public...)
		neg[31] ^= 0x80
		a, err := meshcrypto.PublicToX25519(k.Public)
		require.NoError(t, err)
		b, err := meshcrypto.PublicToX25519(neg)
		require.NoError(t, err)
		require.Equal(t, a, b)
	})

	t.Run("WrongLength", func(t *testing.T) {
		t.Parallel()
		k := keyPair(t, 0x11)
		for _, pub := range []ed25519.PublicKey{nil, k.Public[:31], append(k.Public, 0)} {
			_, err := meshcrypto.PublicToX25519(pub)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey)
		}
	})
}
