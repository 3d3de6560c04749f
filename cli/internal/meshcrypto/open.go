package meshcrypto

import (
	"crypto/ed25519"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/nacl/box"

	"claudemesh.dev/services/identity"
)

// Method says which step of Open's fallback chain produced the text.
type Method int

const (
	// MethodNone is what Open returns with an error: no step worked.
	MethodNone Method = iota
	// MethodSession means crypto_box_open with the session key: a direct
	// message to this session.
	MethodSession
	// MethodMember means crypto_box_open with the member key: a direct
	// message addressed to the member key, readable from any session.
	MethodMember
	// MethodPlain means the body was not encrypted (a group, broadcast,
	// channel or scheduled message) and decoded as text with DecodePlain.
	MethodPlain
)

// String returns the lower-case name of the method, for logs.
func (m Method) String() string {
	switch m {
	case MethodNone:
		return "none"
	case MethodSession:
		return "session"
	case MethodMember:
		return "member"
	case MethodPlain:
		return "plain"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Open decodes the body of a pushed message with the classic client's
// decrypt fallback chain (spec §6.3), trying in order:
//
//  1. crypto_box_open from senderPubkeyHex (64 hex characters, either case)
//     with the session key;
//  2. the same with the member key;
//  3. DecodePlain, for bodies that were never encrypted.
//
// The box steps run only when senderPubkeyHex, nonceB64 and ciphertextB64
// are all present and the sender key is valid; a nil session or member key
// skips its step. A box that opens but does not hold valid UTF-8 counts as a
// failed step: the text must be a Go string that means what it says, and
// libsodium-wrappers' to_string also throws on such bytes.
//
// When no step works, Open returns MethodNone and an error wrapping
// ErrDecrypt; the classic client then shows "⚠ message from <first 12
// characters of the sender>… failed to decrypt (tampered or wrong
// keypair)". System pushes (senderPubkey "system") carry their content in
// eventData and should not be passed to Open at all.
func Open(nonceB64, ciphertextB64, senderPubkeyHex string, session, member ed25519.PrivateKey) (text string, how Method, err error) {
	if text, how, ok := openBox(nonceB64, ciphertextB64, senderPubkeyHex, session, member); ok {
		return text, how, nil
	}
	text, err = DecodePlain(ciphertextB64)
	if err != nil {
		return "", MethodNone, fmt.Errorf("open message: %w", err)
	}
	return text, MethodPlain, nil
}

// openBox runs the crypto_box steps of Open. It decodes the inputs and
// converts the sender key once for both recipient keys.
func openBox(nonceB64, ciphertextB64, senderPubkeyHex string, session, member ed25519.PrivateKey) (string, Method, bool) {
	if senderPubkeyHex == "" || nonceB64 == "" || ciphertextB64 == "" {
		return "", MethodNone, false
	}
	sender, err := identity.ParsePublic(senderPubkeyHex)
	if err != nil {
		return "", MethodNone, false
	}
	senderX, err := PublicToX25519(sender)
	if err != nil {
		return "", MethodNone, false
	}
	nonce, ciphertext, err := decodeDirect(nonceB64, ciphertextB64)
	if err != nil {
		return "", MethodNone, false
	}
	steps := [...]struct {
		key ed25519.PrivateKey
		how Method
	}{{session, MethodSession}, {member, MethodMember}}
	for _, step := range steps {
		if step.key == nil {
			continue
		}
		if text, ok := openBoxWith(nonce, ciphertext, &senderX, step.key); ok {
			return text, step.how, true
		}
	}
	return "", MethodNone, false
}

// openBoxWith tries one recipient key; it reports false for a malformed key,
// a failed MAC check, or a plaintext that is not valid UTF-8.
func openBoxWith(nonce *[nonceSize]byte, ciphertext []byte, senderX *[32]byte, recipient ed25519.PrivateKey) (string, bool) {
	privX, err := PrivateToX25519(recipient)
	if err != nil {
		return "", false
	}
	var key [32]byte
	precompute(&key, senderX, &privX)
	clear(privX[:])
	plaintext, ok := box.OpenAfterPrecomputation(nil, ciphertext, nonce, &key)
	clear(key[:])
	if !ok || !utf8.Valid(plaintext) {
		return "", false
	}
	return string(plaintext), true
}
