package meshcrypto

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EncodePlain encodes a group, broadcast or channel body the way the classic
// client sends it: not encrypted at all (spec §6.3). The ciphertext is the
// standard base64 of the UTF-8 text, and the nonce is 24 random bytes that
// nobody reads, kept only so the frame has the same shape as a direct
// message.
func EncodePlain(text string) (nonceB64, ciphertextB64 string) {
	var nonce [nonceSize]byte
	// crypto/rand.Read never returns an error: it crashes the program if
	// the system's random source fails.
	_, _ = rand.Read(nonce[:])
	return encodeBase64(nonce[:]), base64.StdEncoding.EncodeToString([]byte(text))
}

// DecodePlain decodes a body that EncodePlain (or the classic client's
// Buffer.from(text).toString("base64")) produced. Standard base64 with or
// without padding is accepted.
//
// Like the classic client, which falls back to this decoding when a message
// does not decrypt, it accepts the result only if it looks like text, so a
// real ciphertext is not shown as garbage: it must be non-empty, valid UTF-8,
// and free of control characters other than '\n', '\r' and '\t'. Anything
// else wraps ErrDecrypt.
//
// This is stricter than the classic check (a regular expression over the
// decoded string), which also let through '\v' and '\f', and invalid UTF-8
// because Node replaces it with U+FFFD before the check.
func DecodePlain(ciphertextB64 string) (string, error) {
	raw, err := decodeBase64(ciphertextB64)
	if err != nil && !strings.ContainsAny(ciphertextB64, "\r\n=") {
		// Node's Buffer.from(s, "base64") also takes unpadded input.
		raw, err = base64.RawStdEncoding.DecodeString(ciphertextB64)
	}
	if err != nil {
		return "", fmt.Errorf("decode plain body: %w: %w", ErrDecrypt, err)
	}
	if len(raw) == 0 {
		return "", fmt.Errorf("decode plain body: %w: empty body", ErrDecrypt)
	}
	if !utf8.Valid(raw) {
		return "", fmt.Errorf("decode plain body: %w: not UTF-8 text", ErrDecrypt)
	}
	text := string(raw)
	for _, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return "", fmt.Errorf("decode plain body: %w: control character %U", ErrDecrypt, r)
		}
	}
	return text, nil
}
