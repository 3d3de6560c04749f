package meshcrypto_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshcrypto"
	"claudemesh.dev/services/identity"
)

func TestOpen(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		member  identity.KeyPair
		sender  identity.KeyPair
		session identity.KeyPair
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{
			member:  keyPair(t, 0x33),
			sender:  keyPair(t, 0x11),
			session: keyPair(t, 0x22),
		}
	}

	seal := func(t *testing.T, text string, to identity.KeyPair, from identity.KeyPair) (string, string) {
		t.Helper()
		nonceB64, ciphertextB64, err := meshcrypto.SealDirect([]byte(text), to.Public, from.Secret)
		require.NoError(t, err)
		return nonceB64, ciphertextB64
	}

	t.Run("BinaryBoxIsNotText", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64, err := meshcrypto.SealDirect([]byte{0xff, 0xfe, 0xfd}, bundle.session.Public, bundle.sender.Secret)
		require.NoError(t, err)
		_, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.session.Secret, bundle.member.Secret)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.Equal(t, meshcrypto.MethodNone, how)
	})

	t.Run("EmptyDirectMessage", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := seal(t, "", bundle.session, bundle.sender)
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.session.Secret, bundle.member.Secret)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodSession, how)
		require.Empty(t, text)
	})

	t.Run("Failure", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		stranger := keyPair(t, 0x44)
		nonceB64, ciphertextB64 := seal(t, "for someone else", stranger, bundle.sender)
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.session.Secret, bundle.member.Secret)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.Equal(t, meshcrypto.MethodNone, how)
		require.Empty(t, text)
	})

	t.Run("Member", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := seal(t, "to the member key", bundle.member, bundle.sender)
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.session.Secret, bundle.member.Secret)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodMember, how)
		require.Equal(t, "to the member key", text)

		// Without the member key the chain ends in failure: the session
		// key cannot open it and the ciphertext is not text.
		_, how, err = meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.session.Secret, nil)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.Equal(t, meshcrypto.MethodNone, how)
	})

	t.Run("MethodString", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "none", meshcrypto.MethodNone.String())
		require.Equal(t, "session", meshcrypto.MethodSession.String())
		require.Equal(t, "member", meshcrypto.MethodMember.String())
		require.Equal(t, "plain", meshcrypto.MethodPlain.String())
		require.Equal(t, "Method(9)", meshcrypto.Method(9).String())
	})

	t.Run("Plain", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := meshcrypto.EncodePlain("hello @group")
		for _, sender := range []string{bundle.sender.PublicHex(), "", "system", "not hex"} {
			text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, sender, bundle.session.Secret, bundle.member.Secret)
			require.NoError(t, err, sender)
			require.Equal(t, meshcrypto.MethodPlain, how, sender)
			require.Equal(t, "hello @group", text, sender)
		}
		// A scheduled message has no nonce at all.
		text, how, err := meshcrypto.Open("", ciphertextB64, bundle.sender.PublicHex(), nil, nil)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodPlain, how)
		require.Equal(t, "hello @group", text)
	})

	t.Run("Session", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := seal(t, "to the session key", bundle.session, bundle.sender)
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.session.Secret, bundle.member.Secret)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodSession, how)
		require.Equal(t, "to the session key", text)
	})

	t.Run("SessionBeforeMember", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		// With the same key in both slots the session step must win.
		nonceB64, ciphertextB64 := seal(t, "both", bundle.member, bundle.sender)
		_, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), bundle.member.Secret, bundle.member.Secret)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodSession, how)
	})

	t.Run("SessionKeyMissing", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := seal(t, "no session yet", bundle.member, bundle.sender)
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, bundle.sender.PublicHex(), nil, bundle.member.Secret)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodMember, how)
		require.Equal(t, "no session yet", text)
	})

	t.Run("TamperedFallsThrough", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := seal(t, "tampered", bundle.session, bundle.sender)
		ciphertext := flip(unb64(t, ciphertextB64), 3)
		_, how, err := meshcrypto.Open(nonceB64, b64(ciphertext), bundle.sender.PublicHex(), bundle.session.Secret, bundle.member.Secret)
		require.ErrorIs(t, err, meshcrypto.ErrDecrypt)
		require.Equal(t, meshcrypto.MethodNone, how)
	})

	t.Run("UpperCaseSender", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		nonceB64, ciphertextB64 := seal(t, "hex case", bundle.session, bundle.sender)
		upper := []byte(bundle.sender.PublicHex())
		for i, c := range upper {
			if c >= 'a' && c <= 'f' {
				upper[i] = c - 'a' + 'A'
			}
		}
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, string(upper), bundle.session.Secret, nil)
		require.NoError(t, err)
		require.Equal(t, meshcrypto.MethodSession, how)
		require.Equal(t, "hex case", text)
	})
}
