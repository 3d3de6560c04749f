package meshcrypto_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshcrypto"
)

func TestFile(t *testing.T) {
	t.Parallel()

	t.Run("FreshKeyAndNonce", func(t *testing.T) {
		t.Parallel()
		o1, k1, err := meshcrypto.SealFile([]byte("same"))
		require.NoError(t, err)
		o2, k2, err := meshcrypto.SealFile([]byte("same"))
		require.NoError(t, err)
		require.NotEqual(t, k1, k2)
		require.NotEqual(t, o1[:24], o2[:24])
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		for _, data := range [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{0xab}, 1<<20)} {
			object, key, err := meshcrypto.SealFile(data)
			require.NoError(t, err)
			require.Len(t, object, 24+16+len(data), "nonce ‖ MAC ‖ box")
			got, err := meshcrypto.OpenFile(object, key)
			require.NoError(t, err)
			require.Equal(t, data, got)
		}
	})

	t.Run("Short", func(t *testing.T) {
		t.Parallel()
		object, key, err := meshcrypto.SealFile(nil)
		require.NoError(t, err)
		for _, n := range []int{0, 24, 39} {
			_, err := meshcrypto.OpenFile(object[:n], key)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		t.Parallel()
		object, key, err := meshcrypto.SealFile([]byte("file contents"))
		require.NoError(t, err)
		for _, i := range []int{0, 23, 24, 39, 40, len(object) - 1} {
			got, err := meshcrypto.OpenFile(flip(object, i), key)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, "byte %d", i)
			require.Nil(t, got)
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		t.Parallel()
		object, key, err := meshcrypto.SealFile([]byte("file contents"))
		require.NoError(t, err)
		key[0] ^= 1
		_, err = meshcrypto.OpenFile(object, key)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
	})
}

func TestSealedKey(t *testing.T) {
	t.Parallel()

	t.Run("BadBase64", func(t *testing.T) {
		t.Parallel()
		_, err := meshcrypto.OpenSealedKey("%%%", keyPair(t, 0x22).Secret)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
	})

	t.Run("InvalidRecipientKey", func(t *testing.T) {
		t.Parallel()
		for name, h := range smallOrderKeys() {
			pub, err := hex.DecodeString(h)
			require.NoError(t, err)
			_, err = meshcrypto.SealKey([32]byte{1}, pub)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey, name)
		}
	})

	t.Run("Layout", func(t *testing.T) {
		t.Parallel()
		sealedB64, err := meshcrypto.SealKey([32]byte{1}, keyPair(t, 0x22).Public)
		require.NoError(t, err)
		require.Len(t, unb64(t, sealedB64), 32+16+32, "ephemeral key ‖ MAC ‖ box")
	})

	t.Run("LowOrderEphemeralKey", func(t *testing.T) {
		t.Parallel()
		// libsodium's crypto_scalarmult_curve25519 refuses these
		// u-coordinates (its has_small_order list, with or without the top
		// bit), so crypto_box_seal_open fails on a sealed box that starts
		// with one. nacl/box alone would not refuse them.
		recipient := keyPair(t, 0x22)
		for _, h := range []string{
			"0000000000000000000000000000000000000000000000000000000000000000", // 0
			"0100000000000000000000000000000000000000000000000000000000000000", // 1
			"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
			"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
			"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
			"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p
			"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1
		} {
			for _, top := range []byte{0, 0x80} {
				sealed := make([]byte, 80)
				copy(sealed, unhex(t, h))
				sealed[31] |= top
				_, err := meshcrypto.OpenSealedKey(b64(sealed), recipient.Secret)
				require.ErrorIs(t, err, meshcrypto.ErrDecrypt, "%s top bit %#x", h, top)
				_, err = meshcrypto.OpenSealed(sealed, recipient.Secret)
				require.ErrorIs(t, err, meshcrypto.ErrDecrypt, "%s top bit %#x", h, top)
				require.ErrorContains(t, err, "ephemeral key", "%s top bit %#x", h, top)
			}
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		recipient := keyPair(t, 0x22)
		_, key, err := meshcrypto.SealFile([]byte("x"))
		require.NoError(t, err)
		sealedB64, err := meshcrypto.SealKey(key, recipient.Public)
		require.NoError(t, err)
		got, err := meshcrypto.OpenSealedKey(sealedB64, recipient.Secret)
		require.NoError(t, err)
		require.Equal(t, key, got)
	})

	t.Run("Short", func(t *testing.T) {
		t.Parallel()
		recipient := keyPair(t, 0x22)
		sealed := unb64(t, mustSealKey(t, recipient.Public))
		for _, n := range []int{0, 32, 47} {
			_, err := meshcrypto.OpenSealedKey(b64(sealed[:n]), recipient.Secret)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		t.Parallel()
		recipient := keyPair(t, 0x22)
		sealed := unb64(t, mustSealKey(t, recipient.Public))
		for _, i := range []int{0, 31, 32, 47, 48, 79} {
			_, err := meshcrypto.OpenSealedKey(b64(flip(sealed, i)), recipient.Secret)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, "byte %d", i)
		}
	})

	t.Run("WrongLength", func(t *testing.T) {
		t.Parallel()
		recipient := keyPair(t, 0x22)
		for _, n := range []int{0, 16, 31, 33, 64} {
			sealed, err := meshcrypto.SealAnonymous(bytes.Repeat([]byte{7}, n), recipient.Public)
			require.NoError(t, err)
			// The sealed box itself opens...
			opened, err := meshcrypto.OpenSealed(sealed, recipient.Secret)
			require.NoError(t, err)
			require.Len(t, opened, n)
			// ...but it does not hold a key.
			_, err = meshcrypto.OpenSealedKey(b64(sealed), recipient.Secret)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, "%d bytes", n)
		}
	})

	t.Run("WrongRecipient", func(t *testing.T) {
		t.Parallel()
		sealedB64 := mustSealKey(t, keyPair(t, 0x22).Public)
		_, err := meshcrypto.OpenSealedKey(sealedB64, keyPair(t, 0x33).Secret)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		_, err = meshcrypto.OpenSealedKey(sealedB64, nil)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.ErrorIs(t, err, meshcrypto.ErrInvalidPrivateKey)
	})
}

func TestVault(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		entry  meshcrypto.VaultEntry
		member []byte
		value  []byte
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		member := keyPair(t, 0x33)
		value := []byte("sk-live-0123456789abcdef")
		entry, err := meshcrypto.SealVault(value, member.Public)
		require.NoError(t, err)
		return &testBundle{entry: entry, member: member.Secret, value: value}
	}

	t.Run("BadNonce", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		for _, nonce := range [][]byte{nil, bundle.entry.Nonce[:23], append(bytes.Clone(bundle.entry.Nonce), 0)} {
			e := bundle.entry
			e.Nonce = nonce
			_, err := meshcrypto.OpenVault(e, bundle.member)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		}
	})

	t.Run("InvalidMemberKey", func(t *testing.T) {
		t.Parallel()
		pub, err := hex.DecodeString(smallOrderKeys()["Order8"])
		require.NoError(t, err)
		_, err = meshcrypto.SealVault([]byte("x"), pub)
		require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey)
	})

	t.Run("Layout", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		require.Len(t, bundle.entry.Nonce, 24)
		require.Len(t, bundle.entry.Ciphertext, len(bundle.value)+16, "MAC ‖ box, no nonce prefix")
		require.Len(t, bundle.entry.SealedKey, 80)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		got, err := meshcrypto.OpenVault(bundle.entry, bundle.member)
		require.NoError(t, err)
		require.Equal(t, bundle.value, got)
	})

	t.Run("SealedKeyWrongLength", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		e := bundle.entry
		var err error
		e.SealedKey, err = meshcrypto.SealAnonymous(make([]byte, 31), keyPair(t, 0x33).Public)
		require.NoError(t, err)
		_, err = meshcrypto.OpenVault(e, bundle.member)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
	})

	t.Run("Tampered", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		for _, field := range []string{"Ciphertext", "Nonce", "SealedKey"} {
			e := bundle.entry
			switch field {
			case "Ciphertext":
				e.Ciphertext = flip(e.Ciphertext, 0)
			case "Nonce":
				e.Nonce = flip(e.Nonce, 0)
			case "SealedKey":
				e.SealedKey = flip(e.SealedKey, 40)
			}
			_, err := meshcrypto.OpenVault(e, bundle.member)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, field)
		}
	})

	t.Run("WrongMember", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, err := meshcrypto.OpenVault(bundle.entry, keyPair(t, 0x22).Secret)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
	})
}

// mustSealKey seals a fixed key to pub.
func mustSealKey(t *testing.T, pub []byte) string {
	t.Helper()
	sealedB64, err := meshcrypto.SealKey([32]byte{9, 9, 9}, pub)
	require.NoError(t, err)
	return sealedB64
}
