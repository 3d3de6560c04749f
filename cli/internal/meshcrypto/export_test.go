package meshcrypto

// Internal seams for the external tests in package meshcrypto_test: the
// fixed-nonce forms the libsodium vectors need, and the raw sealed box.
var (
	SealDirectWithNonce = sealDirectWithNonce
	SealFileWithNonce   = sealFileWithNonce
	SealAnonymous       = sealAnonymous
	OpenSealed          = openSealed
)
