package meshcrypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/nacl/box"
)

// SealDirect encrypts a direct message from sender to recipient as the
// classic client does, with libsodium's crypto_box_easy: the X25519 keys are
// derived from the two ed25519 keys, the nonce is 24 fresh random bytes, and
// the ciphertext is MAC ‖ box, 16 bytes longer than plaintext. Both come back
// as standard base64 with padding, the form the send frame carries.
//
// sender is normally the session key, or the member key when the session has
// none (spec §6.3). A recipient key that libsodium would not convert fails
// with ErrInvalidPublicKey, a malformed sender key with ErrInvalidPrivateKey.
func SealDirect(plaintext []byte, recipient ed25519.PublicKey, sender ed25519.PrivateKey) (nonceB64, ciphertextB64 string, err error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", "", fmt.Errorf("seal direct message: read nonce: %w", err)
	}
	ciphertext, err := sealDirectWithNonce(plaintext, &nonce, recipient, sender)
	if err != nil {
		return "", "", err
	}
	return encodeBase64(nonce[:]), encodeBase64(ciphertext), nil
}

// sealDirectWithNonce is SealDirect with a caller-chosen nonce and raw
// output. It exists for the libsodium test vectors; a nonce must never be
// reused with the same pair of keys.
func sealDirectWithNonce(plaintext []byte, nonce *[nonceSize]byte, recipient ed25519.PublicKey, sender ed25519.PrivateKey) ([]byte, error) {
	key, err := boxKey(recipient, sender)
	if err != nil {
		return nil, fmt.Errorf("seal direct message: %w", err)
	}
	defer clear(key[:])
	return box.SealAfterPrecomputation(nil, plaintext, nonce, &key), nil
}

// OpenDirect decrypts a direct message that sender sealed to recipient with
// SealDirect or libsodium's crypto_box_easy. nonceB64 and ciphertextB64 are
// standard base64 with padding, as they arrive in a push.
//
// Every failure wraps ErrDecrypt: bad base64, a nonce that is not 24 bytes, a
// ciphertext shorter than the 16-byte MAC, a failed MAC check (a tampered
// message or the wrong keys), or a sender key that libsodium would not
// convert (which also wraps ErrInvalidPublicKey).
func OpenDirect(nonceB64, ciphertextB64 string, sender ed25519.PublicKey, recipient ed25519.PrivateKey) ([]byte, error) {
	nonce, ciphertext, err := decodeDirect(nonceB64, ciphertextB64)
	if err != nil {
		return nil, fmt.Errorf("open direct message: %w", err)
	}
	key, err := boxKey(sender, recipient)
	if err != nil {
		return nil, fmt.Errorf("open direct message: %w: %w", ErrDecrypt, err)
	}
	defer clear(key[:])
	plaintext, ok := box.OpenAfterPrecomputation(nil, ciphertext, nonce, &key)
	if !ok {
		return nil, fmt.Errorf("open direct message: %w: authentication failed", ErrDecrypt)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// decodeDirect decodes the base64 nonce and ciphertext of a direct message
// and checks their lengths. Errors wrap ErrDecrypt.
func decodeDirect(nonceB64, ciphertextB64 string) (*[nonceSize]byte, []byte, error) {
	rawNonce, err := decodeBase64(nonceB64)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: decode nonce: %w", ErrDecrypt, err)
	}
	if len(rawNonce) != nonceSize {
		return nil, nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrDecrypt, len(rawNonce), nonceSize)
	}
	ciphertext, err := decodeBase64(ciphertextB64)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: decode ciphertext: %w", ErrDecrypt, err)
	}
	if len(ciphertext) < box.Overhead {
		return nil, nil, fmt.Errorf("%w: ciphertext is %d bytes, shorter than the %d-byte MAC", ErrDecrypt, len(ciphertext), box.Overhead)
	}
	var nonce [nonceSize]byte
	copy(nonce[:], rawNonce)
	return &nonce, ciphertext, nil
}

// boxKey returns the crypto_box key (libsodium's crypto_box_beforenm)
// between the ed25519 key pair of one side and the ed25519 public key of the
// other. It is the same from both ends.
func boxKey(peer ed25519.PublicKey, priv ed25519.PrivateKey) ([32]byte, error) {
	var key [32]byte
	peerX, err := PublicToX25519(peer)
	if err != nil {
		return key, err
	}
	privX, err := PrivateToX25519(priv)
	if err != nil {
		return key, err
	}
	precompute(&key, &peerX, &privX)
	clear(privX[:])
	return key, nil
}

// precompute is crypto_box_beforenm for a peer key that PublicToX25519
// produced. libsodium's version fails when the X25519 shared secret is all
// zeros, and nacl/box.Precompute does not check, but here that cannot happen:
// PublicToX25519 only returns points of prime order ℓ, so the secret is zero
// only if the scalar is a multiple of ℓ. A clamped scalar lies in
// [2^254, 2^255) and is a multiple of 8; the multiples of ℓ in that range are
// mℓ for m = 4…7, and none is a multiple of 8 because ℓ is odd.
func precompute(key, peerX, privX *[32]byte) {
	box.Precompute(key, peerX, privX)
}
