// Package identity holds ed25519 member identities in the encodings of the
// classic claudemesh protocol (spec §6.1, §6.2, §15.5): public keys are 64
// lowercase hex characters, secret keys are libsodium's 64-byte form (seed ‖
// public key) as 128 lowercase hex characters, and detached signatures are
// 128 lowercase hex characters.
//
// The package also builds and checks the signature a client puts in its
// WebSocket hello.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

const (
	// publicHexLen is the length of a hex-encoded ed25519 public key.
	publicHexLen = 2 * ed25519.PublicKeySize
	// secretHexLen is the length of a hex-encoded libsodium secret key.
	secretHexLen = 2 * ed25519.PrivateKeySize
	// signatureHexLen is the length of a hex-encoded detached signature.
	signatureHexLen = 2 * ed25519.SignatureSize
)

// ErrMalformed reports a key or signature that is not the hex of the right
// number of bytes, or a key pair whose halves do not belong together. It
// matches the broker's "malformed" hello rejection.
var ErrMalformed = errors.New("malformed")

// ErrBadSignature reports a well-formed signature that does not verify. It
// matches the broker's "bad_signature" hello rejection.
var ErrBadSignature = errors.New("bad signature")

// KeyPair is an ed25519 key pair in the classic encodings.
//
// Secret is the 64-byte libsodium secret key, seed ‖ public key, which is
// also the layout of ed25519.PrivateKey. Use Generate or ParseKeyPair to make
// one; the signing functions panic on a KeyPair whose Secret is not 64 bytes,
// as ed25519.Sign does.
type KeyPair struct {
	// Public is the 32-byte public key.
	Public ed25519.PublicKey
	// Secret is the 64-byte secret key (seed ‖ public key).
	Secret ed25519.PrivateKey
}

// Generate returns a fresh key pair from crypto/rand, like libsodium's
// crypto_sign_keypair.
func Generate() (KeyPair, error) {
	pub, sec, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key pair: %w", err)
	}
	return KeyPair{Public: pub, Secret: sec}, nil
}

// PublicHex returns the public key as 64 lowercase hex characters, the form
// the protocol routes by.
func (k KeyPair) PublicHex() string {
	return hex.EncodeToString(k.Public)
}

// SecretHex returns the secret key as 128 lowercase hex characters: the
// 32-byte seed followed by the 32-byte public key, as libsodium stores it and
// as the classic config.json holds it.
func (k KeyPair) SecretHex() string {
	return hex.EncodeToString(k.Secret)
}

// ParseKeyPair parses a key pair in the classic encodings: publicHex is 64
// hex characters and secretHex is 128 (seed ‖ public key). Either case is
// accepted. It checks that the public key embedded in the secret key equals
// publicHex and that the seed derives that same public key, so a config
// entry whose halves were mixed up is rejected with ErrMalformed.
func ParseKeyPair(publicHex, secretHex string) (KeyPair, error) {
	pub, err := ParsePublic(publicHex)
	if err != nil {
		return KeyPair{}, fmt.Errorf("parse key pair: %w", err)
	}
	sec, err := decodeHex(secretHex, secretHexLen, "secret key")
	if err != nil {
		return KeyPair{}, fmt.Errorf("parse key pair: %w", err)
	}
	if subtle.ConstantTimeCompare(sec[ed25519.SeedSize:], pub) != 1 {
		return KeyPair{}, fmt.Errorf("parse key pair: %w: the secret key embeds a different public key", ErrMalformed)
	}
	// NewKeyFromSeed returns seed ‖ derived public key.
	derived := ed25519.NewKeyFromSeed(sec[:ed25519.SeedSize])
	if subtle.ConstantTimeCompare(derived[ed25519.SeedSize:], pub) != 1 {
		return KeyPair{}, fmt.Errorf("parse key pair: %w: the seed does not derive the public key", ErrMalformed)
	}
	return KeyPair{Public: pub, Secret: derived}, nil
}

// ParsePublic parses an ed25519 public key given as exactly 64 hex
// characters, in upper or lower case. Anything else wraps ErrMalformed. It
// checks the encoding only, like the classic broker's shape check; Verify is
// what rejects weak (small-order or non-canonical) points.
func ParsePublic(s string) (ed25519.PublicKey, error) {
	b, err := decodeHex(s, publicHexLen, "public key")
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return ed25519.PublicKey(b), nil
}

// IsPublicHex reports whether s is 64 lowercase hex characters, the
// canonical public-key form the protocol routes and compares by.
func IsPublicHex(s string) bool {
	if len(s) != publicHexLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// HelloString returns the bytes a hello signature covers:
// "meshId|memberId|pubkey|timestamp", with the timestamp (epoch
// milliseconds) in decimal and no trailing newline. pubkeyHex is used as
// given, so a verifier must pass the pubkey exactly as the client sent it.
func HelloString(meshID, memberID, pubkeyHex string, timestampMs int64) string {
	return meshID + "|" + memberID + "|" + pubkeyHex + "|" + strconv.FormatInt(timestampMs, 10)
}

// SignHello returns the hello signature of k, as 128 lowercase hex
// characters, over HelloString(meshID, memberID, k.PublicHex(), timestampMs).
func SignHello(k KeyPair, meshID, memberID string, timestampMs int64) string {
	return Sign(k, []byte(HelloString(meshID, memberID, k.PublicHex(), timestampMs)))
}

// VerifyHello checks a hello signature made by pubkeyHex over
// HelloString(meshID, memberID, pubkeyHex, timestampMs). The key and the
// signature may be in either hex case. It returns an error wrapping
// ErrMalformed when the key or signature is not the hex of the right number
// of bytes, and one wrapping ErrBadSignature when the signature does not
// verify. It does not check the timestamp's skew; that is the caller's
// policy (the classic broker allows ±60 s).
func VerifyHello(pubkeyHex, signatureHex, meshID, memberID string, timestampMs int64) error {
	msg := HelloString(meshID, memberID, pubkeyHex, timestampMs)
	if err := Verify(pubkeyHex, []byte(msg), signatureHex); err != nil {
		return fmt.Errorf("verify hello: %w", err)
	}
	return nil
}

// Sign returns the detached ed25519 signature of msg by k as 128 lowercase
// hex characters, like libsodium's crypto_sign_detached.
func Sign(k KeyPair, msg []byte) string {
	return hex.EncodeToString(ed25519.Sign(k.Secret, msg))
}

// Verify checks a detached signature, given in hex, by the public key
// pubkeyHex over msg. Either hex case is accepted. Errors wrap ErrMalformed
// (bad hex or lengths) or ErrBadSignature (the signature does not verify).
//
// Like libsodium's crypto_sign_verify_detached, and unlike plain
// ed25519.Verify, it rejects public keys that are small-order or
// non-canonical point encodings and signatures whose R is a small-order
// point, so it accepts exactly what the classic implementation accepts.
func Verify(pubkeyHex string, msg []byte, signatureHex string) error {
	pub, err := ParsePublic(pubkeyHex)
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	sig, err := decodeHex(signatureHex, signatureHexLen, "signature")
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	if !isCanonicalPoint(pub) || hasSmallOrder(pub) {
		return fmt.Errorf("verify signature: %w: public key is a small-order or non-canonical point", ErrBadSignature)
	}
	if hasSmallOrder(sig[:32]) {
		return fmt.Errorf("verify signature: %w: signature R is a small-order point", ErrBadSignature)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("verify signature: %w", ErrBadSignature)
	}
	return nil
}

// decodeHex decodes s, which must be exactly n hex characters of either
// case. Errors wrap ErrMalformed and name what was being decoded.
func decodeHex(s string, n int, what string) ([]byte, error) {
	if len(s) != n {
		return nil, fmt.Errorf("%w: %s must be %d hex characters, got %d", ErrMalformed, what, n, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex: %w", ErrMalformed, what, err)
	}
	return b, nil
}
