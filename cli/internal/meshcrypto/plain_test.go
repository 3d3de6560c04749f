package meshcrypto_test

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshcrypto"
)

func TestPlain(t *testing.T) {
	t.Parallel()

	t.Run("AcceptsUnpadded", func(t *testing.T) {
		t.Parallel()
		got, err := meshcrypto.DecodePlain(base64.RawStdEncoding.EncodeToString([]byte("ab")))
		require.NoError(t, err)
		require.Equal(t, "ab", got)
	})

	t.Run("RandomNonce", func(t *testing.T) {
		t.Parallel()
		n1, _ := meshcrypto.EncodePlain("x")
		n2, _ := meshcrypto.EncodePlain("x")
		require.NotEqual(t, n1, n2)
	})

	t.Run("Rejects", func(t *testing.T) {
		t.Parallel()
		for name, body := range map[string]string{
			"BadBase64":        "not base64!",
			"Binary":           b64([]byte{0x9f, 0x00, 0x13, 0x37, 0xfe, 0xed}),
			"C1Control":        b64([]byte("a\u0085b")),
			"DEL":              b64([]byte("a\x7fb")),
			"Empty":            "",
			"FormFeed":         b64([]byte("a\fb")),
			"InvalidUTF8":      b64([]byte("caf\xe9")),
			"LineBreakInInput": b64([]byte("hello there"))[:4] + "\n" + b64([]byte("hello there"))[4:],
			"NUL":              b64([]byte("a\x00b")),
			"Truncated":        b64([]byte("hello"))[:5],
			"VerticalTab":      b64([]byte("a\vb")),
		} {
			got, err := meshcrypto.DecodePlain(body)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, name)
			require.Empty(t, got, name)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		for _, text := range []string{
			"hello everyone",
			"héllo wörld 🌍👋 日本語",
			"line one\nline two\r\n\ttabbed",
			"a",
			"\u00a0non-breaking and \u2028 separators\ufeff",
		} {
			nonceB64, ciphertextB64 := meshcrypto.EncodePlain(text)
			require.Len(t, unb64(t, nonceB64), 24)
			require.Equal(t, b64([]byte(text)), ciphertextB64)
			got, err := meshcrypto.DecodePlain(ciphertextB64)
			require.NoError(t, err)
			require.Equal(t, text, got)
		}
	})
}
