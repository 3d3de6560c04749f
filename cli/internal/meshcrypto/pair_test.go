package meshcrypto_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshcrypto"
)

func TestPair(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		fromSender    *meshcrypto.Pair
		fromRecipient *meshcrypto.Pair
		sender        []byte
		recipient     []byte
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		sender, recipient := keyPair(t, 0x11), keyPair(t, 0x22)
		fromSender, err := meshcrypto.NewPair(recipient.Public, sender.Secret)
		require.NoError(t, err)
		fromRecipient, err := meshcrypto.NewPair(sender.Public, recipient.Secret)
		require.NoError(t, err)
		return &testBundle{fromSender: fromSender, fromRecipient: fromRecipient, sender: sender.Secret, recipient: recipient.Secret}
	}

	t.Run("BothEndsAgree", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		require.Equal(t, *bundle.fromSender, *bundle.fromRecipient)
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		t.Parallel()
		sender := keyPair(t, 0x11)
		for name, pk := range smallOrderKeys() {
			_, err := meshcrypto.NewPair(unhex(t, pk), sender.Secret)
			require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey, name)
		}
		_, err := meshcrypto.NewPair(sender.Public, sender.Secret[:32])
		require.ErrorIs(t, err, meshcrypto.ErrInvalidPrivateKey)
	})

	t.Run("InteroperatesWithDirect", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sender, recipient := keyPair(t, 0x11), keyPair(t, 0x22)
		nonce, ciphertext := bundle.fromSender.Seal([]byte("sealed by a pair"))
		got, err := meshcrypto.OpenDirect(nonce, ciphertext, sender.Public, recipient.Secret)
		require.NoError(t, err)
		require.Equal(t, "sealed by a pair", string(got))

		nonce, ciphertext, err = meshcrypto.SealDirect([]byte("sealed directly"), recipient.Public, sender.Secret)
		require.NoError(t, err)
		got, err = bundle.fromRecipient.Open(nonce, ciphertext)
		require.NoError(t, err)
		require.Equal(t, "sealed directly", string(got))
	})

	t.Run("LibsodiumVectors", func(t *testing.T) {
		t.Parallel()
		v, keys := loadVectors(t)
		for _, tc := range v.Box {
			sender, recipient := keys[tc.Sender], keys[tc.Recipient]
			p, err := meshcrypto.NewPair(recipient.Public, sender.Secret)
			require.NoError(t, err, tc.Name)
			nonce := unb64(t, tc.NonceB64)
			require.Equal(t, tc.CiphertextB64, b64(p.SealWithNonce(unhex(t, tc.Plaintext), (*[24]byte)(nonce))), tc.Name)
			back, err := meshcrypto.NewPair(sender.Public, recipient.Secret)
			require.NoError(t, err, tc.Name)
			opened, err := back.Open(tc.NonceB64, tc.CiphertextB64)
			require.NoError(t, err, tc.Name)
			require.Equal(t, unhex(t, tc.Plaintext), opened, tc.Name)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonce, ciphertext := bundle.fromSender.Seal([]byte("do not touch"))
		raw := unb64(t, ciphertext)
		for _, i := range []int{0, len(raw) - 1} {
			_, err := bundle.fromRecipient.Open(nonce, b64(flip(raw, i)))
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		}
		_, err := bundle.fromRecipient.Open("!!!", ciphertext)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		other, err := meshcrypto.NewPair(keyPair(t, 0x33).Public, bundle.recipient)
		require.NoError(t, err)
		_, err = other.Open(nonce, ciphertext)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonce, ciphertext := bundle.fromSender.Seal(nil)
		got, err := bundle.fromRecipient.Open(nonce, ciphertext)
		require.NoError(t, err)
		require.NotNil(t, got)
		require.Empty(t, got)
	})
}

func BenchmarkPairSeal(b *testing.B) {
	sender, recipient := keyPair(b, 0x11), keyPair(b, 0x22)
	p, err := meshcrypto.NewPair(recipient.Public, sender.Secret)
	require.NoError(b, err)
	msg := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		p.Seal(msg)
	}
}

func BenchmarkPairOpen(b *testing.B) {
	sender, recipient := keyPair(b, 0x11), keyPair(b, 0x22)
	p, err := meshcrypto.NewPair(recipient.Public, sender.Secret)
	require.NoError(b, err)
	nonce, ciphertext := p.Seal(make([]byte, 256))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Open(nonce, ciphertext); err != nil {
			b.Fatal(err)
		}
	}
}
