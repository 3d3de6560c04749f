package identity_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"claudemesh.dev/services/identity"
)

func FuzzParsePublic(f *testing.F) {
	for _, s := range []string{"", fixedPublicHex, strings.ToUpper(fixedPublicHex), fixedSecretHex, fixedPublicHex[:63] + "g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := identity.ParsePublic(s)
		if err != nil {
			if !errors.Is(err, identity.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if identity.IsPublicHex(s) {
				t.Fatalf("IsPublicHex(%q) but ParsePublic failed: %v", s, err)
			}
			return
		}
		if got := hex.EncodeToString(pub); got != strings.ToLower(s) {
			t.Fatalf("ParsePublic(%q) = %s", s, got)
		}
		if identity.IsPublicHex(s) != (s == strings.ToLower(s)) {
			t.Fatalf("IsPublicHex(%q) disagrees with ParsePublic", s)
		}
	})
}

func FuzzParseKeyPair(f *testing.F) {
	f.Add(fixedPublicHex, fixedSecretHex)
	f.Add(strings.ToUpper(fixedPublicHex), fixedSecretHex)
	f.Add(fixedPublicHex, fixedSecretHex[:64])
	f.Add("", "")
	f.Fuzz(func(t *testing.T, publicHex, secretHex string) {
		k, err := identity.ParseKeyPair(publicHex, secretHex)
		if err != nil {
			if !errors.Is(err, identity.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if k.PublicHex() != strings.ToLower(publicHex) || k.SecretHex() != strings.ToLower(secretHex) {
			t.Fatalf("ParseKeyPair(%q, %q) did not round-trip", publicHex, secretHex)
		}
		if err := identity.VerifyHello(k.PublicHex(), identity.SignHello(k, "m", "u", 1), "m", "u", 1); err != nil {
			t.Fatalf("parsed key pair cannot sign: %v", err)
		}
	})
}

func FuzzVerifyHello(f *testing.F) {
	f.Add(fixedPublicHex, fixedHelloSig, fixedMeshID, fixedMemberID, fixedTimestamp)
	f.Add(fixedPublicHex, strings.ToUpper(fixedHelloSig), fixedMeshID, fixedMemberID, fixedTimestamp)
	f.Add(fixedPublicHex, fixedHelloSig, fixedMeshID, fixedMemberID, int64(0))
	f.Add("", "", "", "", int64(-1))
	f.Fuzz(func(t *testing.T, pubkey, sig, meshID, memberID string, ts int64) {
		err := identity.VerifyHello(pubkey, sig, meshID, memberID, ts)
		if err == nil {
			// Only the pinned signer can have made a valid signature here.
			if !strings.EqualFold(pubkey, fixedPublicHex) {
				t.Fatalf("unexpected valid signature for %q", pubkey)
			}
			return
		}
		if errors.Is(err, identity.ErrMalformed) == errors.Is(err, identity.ErrBadSignature) {
			t.Fatalf("error must wrap exactly one sentinel: %v", err)
		}
	})
}
