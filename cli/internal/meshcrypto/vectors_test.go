package meshcrypto_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/curve25519"

	"claudemesh.dev/cli/internal/meshcrypto"
	"claudemesh.dev/services/identity"
)

// libsodiumVectors is testdata/libsodium-vectors.json, written by
// testdata/gen-vectors.mjs with libsodium-wrappers. Byte strings are hex
// unless the field name ends in _b64 (standard base64 with padding).
type libsodiumVectors struct {
	LibsodiumWrappers string `json:"libsodium_wrappers"`
	Libsodium         string `json:"libsodium"`
	Keypairs          []struct {
		Name           string `json:"name"`
		Seed           string `json:"seed"`
		PK             string `json:"pk"`
		SK             string `json:"sk"`
		X25519PK       string `json:"x25519_pk"`
		X25519SK       string `json:"x25519_sk"`
		X25519PKFromSK string `json:"x25519_pk_from_sk"`
	} `json:"keypairs"`
	PKToCurve25519 []struct {
		Note   string  `json:"note"`
		PK     string  `json:"pk"`
		X25519 *string `json:"x25519"`
	} `json:"pk_to_curve25519"`
	Box []struct {
		Name          string `json:"name"`
		Sender        string `json:"sender"`
		Recipient     string `json:"recipient"`
		Plaintext     string `json:"plaintext"`
		NonceB64      string `json:"nonce_b64"`
		CiphertextB64 string `json:"ciphertext_b64"`
	} `json:"box"`
	Secretbox []struct {
		Name          string `json:"name"`
		Key           string `json:"key"`
		Nonce         string `json:"nonce"`
		Plaintext     string `json:"plaintext"`
		CiphertextB64 string `json:"ciphertext_b64"`
		ObjectB64     string `json:"object_b64"`
	} `json:"secretbox"`
	BoxSeal []struct {
		Name      string `json:"name"`
		Recipient string `json:"recipient"`
		Plaintext string `json:"plaintext"`
		SealedB64 string `json:"sealed_b64"`
	} `json:"box_seal"`
	Vault []struct {
		Name          string `json:"name"`
		Member        string `json:"member"`
		Value         string `json:"value"`
		CiphertextB64 string `json:"ciphertext_b64"`
		NonceB64      string `json:"nonce_b64"`
		SealedKeyB64  string `json:"sealed_key_b64"`
	} `json:"vault"`
	Signatures []struct {
		Signer    string `json:"signer"`
		Message   string `json:"message"`
		Signature string `json:"signature"`
	} `json:"signatures"`
	Plain []struct {
		Text          string `json:"text"`
		CiphertextB64 string `json:"ciphertext_b64"`
	} `json:"plain"`
}

// loadVectors reads the libsodium vectors and the key pairs they name.
func loadVectors(t *testing.T) (*libsodiumVectors, map[string]identity.KeyPair) {
	t.Helper()
	raw, err := os.ReadFile("testdata/libsodium-vectors.json")
	require.NoError(t, err)
	var v libsodiumVectors
	require.NoError(t, json.Unmarshal(raw, &v))
	keys := make(map[string]identity.KeyPair, len(v.Keypairs))
	for _, kp := range v.Keypairs {
		k, err := identity.ParseKeyPair(kp.PK, kp.SK)
		require.NoError(t, err, kp.Name)
		keys[kp.Name] = k
	}
	return &v, keys
}

// unhex decodes hex.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestLibsodiumVectors(t *testing.T) {
	t.Parallel()

	t.Run("Box", func(t *testing.T) {
		t.Parallel()
		v, keys := loadVectors(t)
		require.NotEmpty(t, v.Box)
		for _, tc := range v.Box {
			sender, recipient := keys[tc.Sender], keys[tc.Recipient]
			plaintext := unhex(t, tc.Plaintext)
			nonce := unb64(t, tc.NonceB64)
			require.Len(t, nonce, 24, tc.Name)

			got, err := meshcrypto.SealDirectWithNonce(plaintext, (*[24]byte)(nonce), recipient.Public, sender.Secret)
			require.NoError(t, err, tc.Name)
			require.Equal(t, tc.CiphertextB64, b64(got), tc.Name)

			opened, err := meshcrypto.OpenDirect(tc.NonceB64, tc.CiphertextB64, sender.Public, recipient.Secret)
			require.NoError(t, err, tc.Name)
			require.Equal(t, plaintext, opened, tc.Name)

			if !utf8.Valid(plaintext) {
				continue
			}
			// The fallback chain: the member vectors are addressed to
			// the member key, the others to the session key.
			session, member := recipient, keys["member"]
			want := meshcrypto.MethodSession
			if tc.Recipient == "member" {
				session, want = keys["recipient"], meshcrypto.MethodMember
			}
			text, how, err := meshcrypto.Open(tc.NonceB64, tc.CiphertextB64, sender.PublicHex(), session.Secret, member.Secret)
			require.NoError(t, err, tc.Name)
			require.Equal(t, want, how, tc.Name)
			require.Equal(t, string(plaintext), text, tc.Name)
		}
	})

	t.Run("BoxSeal", func(t *testing.T) {
		t.Parallel()
		v, keys := loadVectors(t)
		require.NotEmpty(t, v.BoxSeal)
		for _, tc := range v.BoxSeal {
			recipient := keys[tc.Recipient]
			plaintext := unhex(t, tc.Plaintext)

			opened, err := meshcrypto.OpenSealed(unb64(t, tc.SealedB64), recipient.Secret)
			require.NoError(t, err, tc.Name)
			require.Equal(t, plaintext, opened, tc.Name)

			key, err := meshcrypto.OpenSealedKey(tc.SealedB64, recipient.Secret)
			if len(plaintext) == 32 {
				require.NoError(t, err, tc.Name)
				require.Equal(t, plaintext, key[:], tc.Name)
			} else {
				require.ErrorIs(t, err, meshcrypto.ErrDecrypt, tc.Name)
			}

			for name, other := range keys {
				if name != tc.Recipient {
					_, err := meshcrypto.OpenSealed(unb64(t, tc.SealedB64), other.Secret)
					require.ErrorIs(t, err, meshcrypto.ErrDecrypt, tc.Name)
				}
			}
		}
	})

	t.Run("Keypairs", func(t *testing.T) {
		t.Parallel()
		v, keys := loadVectors(t)
		require.NotEmpty(t, v.Keypairs)
		for _, kp := range v.Keypairs {
			k := keys[kp.Name]
			require.Equal(t, kp.SK, hex.EncodeToString(ed25519.NewKeyFromSeed(unhex(t, kp.Seed))), kp.Name)
			require.Equal(t, kp.SK, k.SecretHex(), kp.Name)

			pubX, err := meshcrypto.PublicToX25519(k.Public)
			require.NoError(t, err, kp.Name)
			require.Equal(t, kp.X25519PK, hex.EncodeToString(pubX[:]), kp.Name)

			privX, err := meshcrypto.PrivateToX25519(k.Secret)
			require.NoError(t, err, kp.Name)
			require.Equal(t, kp.X25519SK, hex.EncodeToString(privX[:]), kp.Name)

			derived, err := curve25519.X25519(privX[:], curve25519.Basepoint)
			require.NoError(t, err, kp.Name)
			require.Equal(t, kp.X25519PKFromSK, hex.EncodeToString(derived), kp.Name)
		}
	})

	t.Run("Meta", func(t *testing.T) {
		t.Parallel()
		v, _ := loadVectors(t)
		require.Equal(t, "0.8.4", v.LibsodiumWrappers)
		require.NotEmpty(t, v.Libsodium)
	})

	t.Run("Plain", func(t *testing.T) {
		t.Parallel()
		v, _ := loadVectors(t)
		require.NotEmpty(t, v.Plain)
		for _, tc := range v.Plain {
			_, ciphertextB64 := meshcrypto.EncodePlain(tc.Text)
			require.Equal(t, tc.CiphertextB64, ciphertextB64, tc.Text)
			text, err := meshcrypto.DecodePlain(tc.CiphertextB64)
			require.NoError(t, err, tc.Text)
			require.Equal(t, tc.Text, text)
		}
	})

	t.Run("PublicKeyConversion", func(t *testing.T) {
		t.Parallel()
		v, _ := loadVectors(t)
		require.NotEmpty(t, v.PKToCurve25519)
		for _, tc := range v.PKToCurve25519 {
			got, err := meshcrypto.PublicToX25519(unhex(t, tc.PK))
			if tc.X25519 == nil {
				require.ErrorIs(t, err, meshcrypto.ErrInvalidPublicKey, tc.Note)
				continue
			}
			require.NoError(t, err, tc.Note)
			require.Equal(t, *tc.X25519, hex.EncodeToString(got[:]), tc.Note)
		}
	})

	t.Run("Secretbox", func(t *testing.T) {
		t.Parallel()
		v, _ := loadVectors(t)
		require.NotEmpty(t, v.Secretbox)
		for _, tc := range v.Secretbox {
			key := [32]byte(unhex(t, tc.Key))
			nonce := [24]byte(unhex(t, tc.Nonce))
			plaintext := unhex(t, tc.Plaintext)

			object := meshcrypto.SealFileWithNonce(plaintext, &key, &nonce)
			require.Equal(t, tc.ObjectB64, b64(object), tc.Name)
			require.Equal(t, tc.CiphertextB64, b64(object[24:]), tc.Name)

			opened, err := meshcrypto.OpenFile(unb64(t, tc.ObjectB64), key)
			require.NoError(t, err, tc.Name)
			require.Equal(t, plaintext, opened, tc.Name)
		}
	})

	t.Run("Signatures", func(t *testing.T) {
		t.Parallel()
		v, keys := loadVectors(t)
		require.NotEmpty(t, v.Signatures)
		for _, tc := range v.Signatures {
			k := keys[tc.Signer]
			require.Equal(t, tc.Signature, identity.Sign(k, []byte(tc.Message)), tc.Message)
			require.NoError(t, identity.Verify(k.PublicHex(), []byte(tc.Message), tc.Signature), tc.Message)
		}
	})

	t.Run("Vault", func(t *testing.T) {
		t.Parallel()
		v, keys := loadVectors(t)
		require.NotEmpty(t, v.Vault)
		for _, tc := range v.Vault {
			entry := meshcrypto.VaultEntry{
				Ciphertext: unb64(t, tc.CiphertextB64),
				Nonce:      unb64(t, tc.NonceB64),
				SealedKey:  unb64(t, tc.SealedKeyB64),
			}
			value, err := meshcrypto.OpenVault(entry, keys[tc.Member].Secret)
			require.NoError(t, err, tc.Name)
			require.Equal(t, unhex(t, tc.Value), value, tc.Name)

			_, err = meshcrypto.OpenVault(entry, keys["recipient"].Secret)
			require.ErrorIs(t, err, meshcrypto.ErrDecrypt, tc.Name)
		}
	})
}
