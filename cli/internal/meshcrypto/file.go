package meshcrypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// keySize is the length of a file or vault key (crypto_secretbox_KEYBYTES).
const keySize = 32

// SealFile encrypts a file for upload as the classic client does (spec
// §6.4): under a fresh random 32-byte key and a fresh random 24-byte nonce,
// with crypto_secretbox_easy. The object to upload is nonce(24) ‖ MAC(16) ‖
// box, 40 bytes longer than data. The key is returned for SealKey and must
// be kept secret.
func SealFile(data []byte) (object []byte, key [keySize]byte, err error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, key, fmt.Errorf("seal file: read key: %w", err)
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, key, fmt.Errorf("seal file: read nonce: %w", err)
	}
	return sealFileWithNonce(data, &key, &nonce), key, nil
}

// sealFileWithNonce is SealFile with a caller-chosen key and nonce. It
// exists for the libsodium test vectors.
func sealFileWithNonce(data []byte, key *[keySize]byte, nonce *[nonceSize]byte) []byte {
	object := make([]byte, nonceSize, nonceSize+secretbox.Overhead+len(data))
	copy(object, nonce[:])
	return secretbox.Seal(object, data, nonce, key)
}

// OpenFile decrypts an object made by SealFile, or by the classic client:
// the first 24 bytes are the nonce, the rest is the crypto_secretbox_easy
// ciphertext. A short object, a wrong key or a tampered object wraps
// ErrDecrypt.
func OpenFile(object []byte, key [keySize]byte) ([]byte, error) {
	if len(object) < nonceSize+secretbox.Overhead {
		return nil, fmt.Errorf("open file: %w: object is %d bytes, want at least %d", ErrDecrypt, len(object), nonceSize+secretbox.Overhead)
	}
	var nonce [nonceSize]byte
	copy(nonce[:], object[:nonceSize])
	data, err := openSecretbox(object[nonceSize:], &nonce, &key)
	if err != nil {
		return nil, fmt.Errorf("open file: %w", err)
	}
	return data, nil
}

// SealKey wraps a file key for one reader as the classic client does:
// crypto_box_seal (an anonymous sealed box, with a fresh ephemeral sender
// key) to the X25519 form of the reader's ed25519 public key, in standard
// base64 with padding. The sealed key is 80 bytes before encoding.
//
// For files the reader is a peer's session key, or the owner's own; for the
// vault it is the member key. A key libsodium would not convert fails with
// ErrInvalidPublicKey.
func SealKey(key [keySize]byte, recipient ed25519.PublicKey) (sealedB64 string, err error) {
	sealed, err := sealAnonymous(key[:], recipient)
	if err != nil {
		return "", fmt.Errorf("seal key: %w", err)
	}
	return encodeBase64(sealed), nil
}

// OpenSealedKey unwraps a file key sealed to recipient by SealKey or by the
// classic client's crypto_box_seal. Bad base64, a sealed box that does not
// open for this key, or one that holds anything but exactly 32 bytes wraps
// ErrDecrypt.
func OpenSealedKey(sealedB64 string, recipient ed25519.PrivateKey) ([keySize]byte, error) {
	sealed, err := decodeBase64(sealedB64)
	if err != nil {
		return [keySize]byte{}, fmt.Errorf("open sealed key: %w: decode: %w", ErrDecrypt, err)
	}
	key, err := openKey(sealed, recipient)
	if err != nil {
		return [keySize]byte{}, fmt.Errorf("open sealed key: %w", err)
	}
	return key, nil
}

// VaultEntry is a vault value as the broker stores it (spec §6.4, §11.5):
// the value encrypted like a file, but with the nonce kept apart from the
// ciphertext, and its key sealed to the member key. On the wire each field
// is standard base64 with padding.
type VaultEntry struct {
	// Ciphertext is crypto_secretbox_easy of the value, MAC ‖ box, without
	// the nonce prefix that file objects carry.
	Ciphertext []byte
	// Nonce is the 24-byte secretbox nonce.
	Nonce []byte
	// SealedKey is the 32-byte value key in a crypto_box_seal to the
	// member's X25519 key, 80 bytes in all.
	SealedKey []byte
}

// SealVault encrypts a vault value for member, the member's stable ed25519
// public key: a fresh random key and nonce for crypto_secretbox_easy, and the
// key sealed with crypto_box_seal. A key libsodium would not convert fails
// with ErrInvalidPublicKey.
func SealVault(value []byte, member ed25519.PublicKey) (VaultEntry, error) {
	var key [keySize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return VaultEntry{}, fmt.Errorf("seal vault entry: read key: %w", err)
	}
	defer clear(key[:])
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return VaultEntry{}, fmt.Errorf("seal vault entry: read nonce: %w", err)
	}
	sealed, err := sealAnonymous(key[:], member)
	if err != nil {
		return VaultEntry{}, fmt.Errorf("seal vault entry: %w", err)
	}
	return VaultEntry{
		Ciphertext: secretbox.Seal(nil, value, (*[nonceSize]byte)(nonce), &key),
		Nonce:      nonce,
		SealedKey:  sealed,
	}, nil
}

// OpenVault decrypts a vault entry with the member's private key: it opens
// the sealed key, then the secretbox. A nonce that is not 24 bytes, a sealed
// key that does not open or does not hold 32 bytes, or a tampered ciphertext
// wraps ErrDecrypt.
func OpenVault(e VaultEntry, member ed25519.PrivateKey) ([]byte, error) {
	if len(e.Nonce) != nonceSize {
		return nil, fmt.Errorf("open vault entry: %w: nonce is %d bytes, want %d", ErrDecrypt, len(e.Nonce), nonceSize)
	}
	key, err := openKey(e.SealedKey, member)
	if err != nil {
		return nil, fmt.Errorf("open vault entry: %w", err)
	}
	defer clear(key[:])
	value, err := openSecretbox(e.Ciphertext, (*[nonceSize]byte)(e.Nonce), &key)
	if err != nil {
		return nil, fmt.Errorf("open vault entry: %w", err)
	}
	return value, nil
}

// openSecretbox is crypto_secretbox_open_easy. Errors wrap ErrDecrypt.
func openSecretbox(ciphertext []byte, nonce *[nonceSize]byte, key *[keySize]byte) ([]byte, error) {
	plaintext, ok := secretbox.Open(nil, ciphertext, nonce, key)
	if !ok {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// sealAnonymous is crypto_box_seal to the X25519 form of recipient.
func sealAnonymous(message []byte, recipient ed25519.PublicKey) ([]byte, error) {
	recipientX, err := PublicToX25519(recipient)
	if err != nil {
		return nil, err
	}
	sealed, err := box.SealAnonymous(nil, message, &recipientX, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("crypto_box_seal: %w", err)
	}
	return sealed, nil
}

// openKey opens a sealed box that must hold a 32-byte key. Errors wrap
// ErrDecrypt.
func openKey(sealed []byte, recipient ed25519.PrivateKey) ([keySize]byte, error) {
	var key [keySize]byte
	plaintext, err := openSealed(sealed, recipient)
	if err != nil {
		return key, err
	}
	defer clear(plaintext)
	if len(plaintext) != keySize {
		return key, fmt.Errorf("%w: sealed key is %d bytes, want %d", ErrDecrypt, len(plaintext), keySize)
	}
	copy(key[:], plaintext)
	return key, nil
}

// openSealed is libsodium's crypto_box_seal_open for the X25519 form of
// recipient. The sealed box is ephemeralPub(32) ‖ crypto_box_easy(message)
// from the ephemeral key, with the nonce BLAKE2b-192(ephemeralPub ‖
// recipientPub). Errors wrap ErrDecrypt.
func openSealed(sealed []byte, recipient ed25519.PrivateKey) ([]byte, error) {
	if len(sealed) < box.AnonymousOverhead {
		return nil, fmt.Errorf("%w: sealed box is %d bytes, want at least %d", ErrDecrypt, len(sealed), box.AnonymousOverhead)
	}
	privX, err := PrivateToX25519(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	defer clear(privX[:])
	// libsodium refuses an ephemeral key of small order, whose shared
	// secret is all zeros (anyone could compute the box key), and
	// box.OpenAnonymous does not check. curve25519.X25519 fails on exactly
	// those keys, so both accept the same sealed boxes.
	shared, err := curve25519.X25519(privX[:], sealed[:32])
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %w", ErrDecrypt, err)
	}
	clear(shared)
	pubX, err := curve25519.X25519(privX[:], curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("%w: derive public key: %w", ErrDecrypt, err)
	}
	plaintext, ok := box.OpenAnonymous(nil, sealed, (*[32]byte)(pubX), &privX)
	if !ok {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}
