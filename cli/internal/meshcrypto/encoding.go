package meshcrypto

import (
	"encoding/base64"
	"errors"
	"strings"
)

// nonceSize is the length of a crypto_box or crypto_secretbox nonce.
const nonceSize = 24

// encodeBase64 returns standard base64 with padding, libsodium's
// base64_variants.ORIGINAL and the classic wire encoding of nonces,
// ciphertexts and sealed keys.
func encodeBase64(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

// decodeBase64 decodes standard base64 with padding, as libsodium's
// from_base64 with base64_variants.ORIGINAL does. encoding/base64 skips
// line breaks, which libsodium rejects, so they are refused here too.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	return base64.StdEncoding.DecodeString(s)
}
