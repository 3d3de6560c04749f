package meshcrypto_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshcrypto"
)

func TestDirect(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		ciphertext []byte
		nonce      []byte
		plaintext  []byte
		recipient  ed25519.PrivateKey
		sender     ed25519.PublicKey
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		sender, recipient := keyPair(t, 0x11), keyPair(t, 0x22)
		plaintext := []byte("hello from claudemesh")
		nonceB64, ciphertextB64, err := meshcrypto.SealDirect(plaintext, recipient.Public, sender.Secret)
		require.NoError(t, err)
		return &testBundle{
			ciphertext: unb64(t, ciphertextB64),
			nonce:      unb64(t, nonceB64),
			plaintext:  plaintext,
			recipient:  recipient.Secret,
			sender:     sender.Public,
		}
	}

	requireDecryptErr := func(t *testing.T, nonceB64, ciphertextB64 string, sender ed25519.PublicKey, recipient ed25519.PrivateKey) {
		t.Helper()
		got, err := meshcrypto.OpenDirect(nonceB64, ciphertextB64, sender, recipient)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.Nil(t, got)
	}

	t.Run("BadBase64", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		requireDecryptErr(t, "!!!", b64(bundle.ciphertext), bundle.sender, bundle.recipient)
		requireDecryptErr(t, b64(bundle.nonce), "!!!", bundle.sender, bundle.recipient)
		// Unpadded and line-broken forms are refused, as by
		// libsodium's base64_variants.ORIGINAL.
		requireDecryptErr(t, b64(bundle.nonce), base64.RawStdEncoding.EncodeToString(bundle.ciphertext[:20]), bundle.sender, bundle.recipient)
		wrapped := b64(bundle.ciphertext)
		requireDecryptErr(t, b64(bundle.nonce), wrapped[:8]+"\n"+wrapped[8:], bundle.sender, bundle.recipient)
	})

	t.Run("FreshNonce", func(t *testing.T) {
		t.Parallel()
		sender, recipient := keyPair(t, 0x11), keyPair(t, 0x22)
		n1, c1, err := meshcrypto.SealDirect([]byte("same"), recipient.Public, sender.Secret)
		require.NoError(t, err)
		n2, c2, err := meshcrypto.SealDirect([]byte("same"), recipient.Public, sender.Secret)
		require.NoError(t, err)
		require.NotEqual(t, n1, n2)
		require.NotEqual(t, c1, c2)
	})

	t.Run("InvalidRecipientKey", func(t *testing.T) {
		t.Parallel()
		sender := keyPair(t, 0x11)
		for name, h := range smallOrderKeys() {
			pub, err := hex.DecodeString(h)
			require.NoError(t, err)
			_, _, err = meshcrypto.SealDirect([]byte("x"), pub, sender.Secret)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey, name)
		}
		_, _, err := meshcrypto.SealDirect([]byte("x"), keyPair(t, 0x22).Public[:31], sender.Secret)
		require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey)
	})

	t.Run("InvalidSenderKey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		for name, h := range smallOrderKeys() {
			pub, err := hex.DecodeString(h)
			require.NoError(t, err)
			_, err = meshcrypto.OpenDirect(b64(bundle.nonce), b64(bundle.ciphertext), pub, bundle.recipient)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, name)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey, name)
		}
	})

	t.Run("Layout", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		require.Len(t, bundle.nonce, 24)
		require.Len(t, bundle.ciphertext, len(bundle.plaintext)+16, "MAC ‖ box")
	})

	t.Run("MalformedPrivateKey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, _, err := meshcrypto.SealDirect([]byte("x"), bundle.sender, bundle.recipient[:32])
		require.ErrorIs(t, err, meshcrypto.ErrInvalidPrivateKey)
		_, err = meshcrypto.OpenDirect(b64(bundle.nonce), b64(bundle.ciphertext), bundle.sender, nil)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.ErrorIs(t, err, meshcrypto.ErrInvalidPrivateKey)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		sender, recipient := keyPair(t, 0x11), keyPair(t, 0x22)
		for _, plaintext := range [][]byte{
			{},
			[]byte("hello"),
			[]byte("héllo 🌍👋"),
			bytes.Repeat([]byte{0x00, 0xff}, 32<<10),
		} {
			nonceB64, ciphertextB64, err := meshcrypto.SealDirect(plaintext, recipient.Public, sender.Secret)
			require.NoError(t, err)
			got, err := meshcrypto.OpenDirect(nonceB64, ciphertextB64, sender.Public, recipient.Secret)
			require.NoError(t, err)
			require.Equal(t, plaintext, got)
			// crypto_box is symmetric in the key pairs: the sender can
			// read its own message with the recipient's public key.
			got, err = meshcrypto.OpenDirect(nonceB64, ciphertextB64, recipient.Public, sender.Secret)
			require.NoError(t, err)
			require.Equal(t, plaintext, got)
		}
	})

	t.Run("TamperedBox", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		for _, i := range []int{16, len(bundle.ciphertext) - 1} {
			requireDecryptErr(t, b64(bundle.nonce), b64(flip(bundle.ciphertext, i)), bundle.sender, bundle.recipient)
		}
	})

	t.Run("TamperedMAC", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		for _, i := range []int{0, 15} {
			requireDecryptErr(t, b64(bundle.nonce), b64(flip(bundle.ciphertext, i)), bundle.sender, bundle.recipient)
		}
	})

	t.Run("TamperedNonce", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		for _, i := range []int{0, 23} {
			requireDecryptErr(t, b64(flip(bundle.nonce, i)), b64(bundle.ciphertext), bundle.sender, bundle.recipient)
		}
	})

	t.Run("Truncated", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		requireDecryptErr(t, b64(bundle.nonce), b64(bundle.ciphertext[:15]), bundle.sender, bundle.recipient)
		requireDecryptErr(t, b64(bundle.nonce), b64(bundle.ciphertext[:len(bundle.ciphertext)-1]), bundle.sender, bundle.recipient)
		requireDecryptErr(t, b64(bundle.nonce), "", bundle.sender, bundle.recipient)
		requireDecryptErr(t, b64(bundle.nonce[:23]), b64(bundle.ciphertext), bundle.sender, bundle.recipient)
		requireDecryptErr(t, b64(append(bundle.nonce, 0)), b64(bundle.ciphertext), bundle.sender, bundle.recipient)
	})

	t.Run("WrongKeys", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		other := keyPair(t, 0x33)
		requireDecryptErr(t, b64(bundle.nonce), b64(bundle.ciphertext), bundle.sender, other.Secret)
		requireDecryptErr(t, b64(bundle.nonce), b64(bundle.ciphertext), other.Public, bundle.recipient)
	})
}

func BenchmarkSealDirect(b *testing.B) {
	sender, recipient := keyPair(b, 0x11), keyPair(b, 0x22)
	plaintext := []byte(strings.Repeat("a direct message of typical length. ", 8))
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		if _, _, err := meshcrypto.SealDirect(plaintext, recipient.Public, sender.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenDirect(b *testing.B) {
	sender, recipient := keyPair(b, 0x11), keyPair(b, 0x22)
	plaintext := []byte(strings.Repeat("a direct message of typical length. ", 8))
	nonceB64, ciphertextB64, err := meshcrypto.SealDirect(plaintext, recipient.Public, sender.Secret)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		if _, err := meshcrypto.OpenDirect(nonceB64, ciphertextB64, sender.Public, recipient.Secret); err != nil {
			b.Fatal(err)
		}
	}
}
