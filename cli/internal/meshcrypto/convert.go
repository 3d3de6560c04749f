package meshcrypto

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"fmt"

	"filippo.io/edwards25519"
)

// PublicToX25519 converts an ed25519 public key to the X25519 public key of
// the same key pair, as libsodium's crypto_sign_ed25519_pk_to_curve25519
// does: it maps the Edwards point (x, y) to the Montgomery u = (1+y)/(1-y).
//
// Like libsodium it refuses, with ErrInvalidPublicKey, a key that is not 32
// bytes, that has small order (including the non-canonical encodings of
// small-order points), that is not a point on the curve, or whose point lies
// outside the prime-order subgroup. Non-canonical encodings of other points
// are accepted, as libsodium accepts them. Only public data is involved, so
// the checks need not be constant-time.
func PublicToX25519(pub ed25519.PublicKey) ([32]byte, error) {
	var out [32]byte
	if len(pub) != ed25519.PublicKeySize {
		return out, fmt.Errorf("convert public key: %w: %d bytes, want %d", ErrInvalidPublicKey, len(pub), ed25519.PublicKeySize)
	}
	if hasSmallOrder(pub) {
		return out, fmt.Errorf("convert public key: %w: point of small order", ErrInvalidPublicKey)
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return out, fmt.Errorf("convert public key: %w: not a point on the curve", ErrInvalidPublicKey)
	}
	if !inPrimeOrderSubgroup(p) {
		return out, fmt.Errorf("convert public key: %w: point outside the prime-order subgroup", ErrInvalidPublicKey)
	}
	copy(out[:], p.BytesMontgomery())
	return out, nil
}

// PrivateToX25519 converts a 64-byte ed25519 private key (seed ‖ public key)
// to the X25519 private key that matches PublicToX25519 of its public half,
// as libsodium's crypto_sign_ed25519_sk_to_curve25519 does: the first 32
// bytes of SHA-512(seed), clamped. It only reads the seed, as libsodium does,
// and fails with ErrInvalidPrivateKey when priv is not 64 bytes long.
func PrivateToX25519(priv ed25519.PrivateKey) ([32]byte, error) {
	var out [32]byte
	if len(priv) != ed25519.PrivateKeySize {
		return out, fmt.Errorf("convert private key: %w: %d bytes, want %d", ErrInvalidPrivateKey, len(priv), ed25519.PrivateKeySize)
	}
	h := sha512.Sum512(priv[:ed25519.SeedSize])
	copy(out[:], h[:32])
	clear(h[:])
	out[0] &= 248
	out[31] &= 127
	out[31] |= 64
	return out, nil
}

// hasSmallOrder reports whether b (32 bytes), with its sign bit cleared, is
// one of the encodings libsodium's ge25519_has_small_order rejects: the
// points of order 1, 2, 4 and 8, and the non-canonical encodings y = p and
// y = p+1 of the order-4 and order-1 points.
func hasSmallOrder(b []byte) bool {
	var masked [32]byte
	copy(masked[:], b)
	masked[31] &= 0x7f
	switch hex.EncodeToString(masked[:]) {
	case "0000000000000000000000000000000000000000000000000000000000000000", // y = 0, order 4
		"0100000000000000000000000000000000000000000000000000000000000000", // y = 1, order 1
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p-1, order 2
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p, order 4
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f": // y = p+1, order 1
		return true
	}
	return false
}

// inPrimeOrderSubgroup reports whether [ℓ]p is the identity, where ℓ is the
// order of the prime-order subgroup, as libsodium's
// ge25519_is_on_main_subgroup does. ℓ itself is not a valid Scalar (it
// reduces to zero), so it computes [ℓ-1]p + p. The scalar multiplication
// works on the integer ℓ-1, so it is exact for points of any order.
func inPrimeOrderSubgroup(p *edwards25519.Point) bool {
	var oneBytes [32]byte
	oneBytes[0] = 1
	one, err := new(edwards25519.Scalar).SetCanonicalBytes(oneBytes[:])
	if err != nil {
		return false // unreachable: 1 is a canonical scalar
	}
	minusOne := new(edwards25519.Scalar).Negate(one)
	zero := edwards25519.NewScalar()
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(minusOne, p, zero)
	q.Add(q, p)
	return q.Equal(edwards25519.NewIdentityPoint()) == 1
}
