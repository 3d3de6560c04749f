package meshcrypto

// Internal seams for the external tests in package meshcrypto_test: the
// fixed-nonce forms the libsodium vectors need, and the raw sealed box.
var (
	SealDirectWithNonce = sealDirectWithNonce
	SealFileWithNonce   = sealFileWithNonce
	SealAnonymous       = sealAnonymous
	OpenSealed          = openSealed
)

// SealWithNonce exposes Pair.sealWithNonce for the libsodium vectors.
func (p *Pair) SealWithNonce(plaintext []byte, nonce *[nonceSize]byte) []byte {
	return p.sealWithNonce(plaintext, nonce)
}
