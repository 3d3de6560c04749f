package meshcrypto_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"unicode/utf8"

	"claudemesh.dev/cli/internal/meshcrypto"
)

// FuzzOpen feeds Open arbitrary nonces, ciphertexts and sender keys, and the
// same bytes to the other Open* functions. None may panic; every failure
// must wrap ErrDecrypt; and whatever Open accepts must be text that its
// method can explain.
func FuzzOpen(f *testing.F) {
	sender, session, member := keyPair(f, 0x11), keyPair(f, 0x22), keyPair(f, 0x33)
	seed := func(text string, to []byte) {
		nonceB64, ciphertextB64, err := meshcrypto.SealDirect([]byte(text), to, sender.Secret)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(nonceB64, ciphertextB64, sender.PublicHex())
	}
	seed("to the session", session.Public)
	seed("to the member", member.Public)
	seed("", session.Public)
	nonceB64, ciphertextB64 := meshcrypto.EncodePlain("hello @group")
	f.Add(nonceB64, ciphertextB64, sender.PublicHex())
	f.Add("", ciphertextB64, "system")
	f.Add("", "", "")
	f.Add("AAAA", "////", "0100000000000000000000000000000000000000000000000000000000000000")
	f.Add(nonceB64, ciphertextB64, "zz")
	sealedB64, err := meshcrypto.SealKey([32]byte{1}, session.Public)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(nonceB64, sealedB64, session.PublicHex())

	f.Fuzz(func(t *testing.T, nonceB64, ciphertextB64, senderHex string) {
		text, how, err := meshcrypto.Open(nonceB64, ciphertextB64, senderHex, session.Secret, member.Secret)
		if err != nil {
			if !errors.Is(err, meshcrypto.ErrDecrypt) || how != meshcrypto.MethodNone || text != "" {
				t.Fatalf("Open failed badly: %q %v %v", text, how, err)
			}
		} else {
			if !utf8.ValidString(text) {
				t.Fatalf("Open returned invalid UTF-8 via %v", how)
			}
			switch how {
			case meshcrypto.MethodPlain:
				if plain, err := meshcrypto.DecodePlain(ciphertextB64); err != nil || plain != text {
					t.Fatalf("MethodPlain but DecodePlain says %q, %v", plain, err)
				}
			case meshcrypto.MethodSession, meshcrypto.MethodMember:
			default:
				t.Fatalf("success with method %v", how)
			}
		}

		if _, err := meshcrypto.OpenDirect(nonceB64, ciphertextB64, sender.Public, session.Secret); err != nil && !errors.Is(err, meshcrypto.ErrDecrypt) {
			t.Fatalf("OpenDirect: %v", err)
		}
		if _, err := meshcrypto.OpenSealedKey(ciphertextB64, session.Secret); err != nil && !errors.Is(err, meshcrypto.ErrDecrypt) {
			t.Fatalf("OpenSealedKey: %v", err)
		}
		raw, _ := base64.StdEncoding.DecodeString(ciphertextB64)
		if _, err := meshcrypto.OpenFile(raw, [32]byte{}); err != nil && !errors.Is(err, meshcrypto.ErrDecrypt) {
			t.Fatalf("OpenFile: %v", err)
		}
		rawNonce, _ := base64.StdEncoding.DecodeString(nonceB64)
		entry := meshcrypto.VaultEntry{Ciphertext: raw, Nonce: rawNonce, SealedKey: raw}
		if _, err := meshcrypto.OpenVault(entry, member.Secret); err != nil && !errors.Is(err, meshcrypto.ErrDecrypt) {
			t.Fatalf("OpenVault: %v", err)
		}
	})
}
