package identity

import "encoding/hex"

// libsodium's crypto_sign_verify_detached rejects some signatures that Go's
// ed25519.Verify accepts: those whose public key is a non-canonical point
// encoding or a point of small order, and those whose R half is a point of
// small order. With a small-order public key a signature can verify for
// many messages (for example the all-zero key and the all-zero signature,
// which go test -fuzz found), so the classic broker and CLI, both libsodium,
// would say bad_signature where plain Go says valid. Verify applies the same
// checks so the two implementations agree.

// isCanonicalPoint reports whether b (32 bytes) encodes its y coordinate
// below the field prime 2^255-19, ignoring the sign bit, as libsodium's
// ge25519_is_canonical does.
func isCanonicalPoint(b []byte) bool {
	if b[31]&0x7f != 0x7f {
		return true
	}
	for _, c := range b[1:31] {
		if c != 0xff {
			return true
		}
	}
	return b[0] < 0xed
}

// hasSmallOrder reports whether b (32 bytes), with its sign bit cleared, is
// one of the encodings libsodium's ge25519_has_small_order rejects: the
// points of order 1, 2, 4 and 8, and the non-canonical encodings y = p and
// y = p+1 of order-4 and order-1 points.
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
