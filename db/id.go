package db

import "crypto/rand"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// IDLength is the length of the ids NewID makes, as in the classic broker.
const IDLength = 32

// NewID returns a random 32-character base62 id from a CSPRNG.
func NewID() string {
	const maxUnbiased = 248 // largest multiple of 62 that fits a byte
	out := make([]byte, 0, IDLength)
	buf := make([]byte, 48)
	for len(out) < IDLength {
		_, _ = rand.Read(buf) // never fails on supported platforms
		for _, b := range buf {
			if b < maxUnbiased && len(out) < IDLength {
				out = append(out, idAlphabet[int(b)%len(idAlphabet)])
			}
		}
	}
	return string(out)
}
