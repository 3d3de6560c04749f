package meshsession

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"claudemesh.dev/cli/internal/config"
	"claudemesh.dev/services/identity"
)

// keyMaxAge is how long a session key file lives unused before LoadKey
// removes it.
const keyMaxAge = 30 * 24 * time.Hour

// keyFile is a stored session key pair; the names are those of config.Mesh.
type keyFile struct {
	Pubkey    string `json:"pubkey"`
	SecretKey string `json:"secretKey"`
}

// LoadKey returns the session key pair of a Claude Code session in a mesh,
// kept in <configDir>/sessions/<meshID>/<hash>.json (mode 0600, directories
// 0700, written atomically), so that `claude --resume` comes back with the
// same identity; hash is the first 32 hex digits of the SHA-256 of
// claudeSessionID. A missing or unreadable file gets a fresh key. An empty
// claudeSessionID returns a fresh key that is not stored. Key files of the
// mesh unused for 30 days are removed (best effort). Errors are I/O
// failures and a meshID that cannot name a directory.
func LoadKey(configDir, meshID, claudeSessionID string) (identity.KeyPair, error) {
	if claudeSessionID == "" {
		return identity.Generate()
	}
	if meshID == "" || meshID == "." || meshID == ".." || strings.ContainsAny(meshID, `/\`) {
		return identity.KeyPair{}, fmt.Errorf("session key: mesh id %q cannot name a directory", meshID)
	}
	dir := filepath.Join(configDir, "sessions", meshID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return identity.KeyPair{}, fmt.Errorf("session key: %w", err)
	}
	sum := sha256.Sum256([]byte(claudeSessionID))
	name := hex.EncodeToString(sum[:])[:32] + ".json"
	path := filepath.Join(dir, name)
	removeStaleKeys(dir, name, time.Now())

	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if k, ok := parseKeyFile(data); ok {
			// Used again: not stale. Best effort; at worst the key is
			// replaced after 30 days.
			now := time.Now()
			_ = os.Chtimes(path, now, now)
			return k, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return identity.KeyPair{}, fmt.Errorf("session key: %w", err)
	}
	k, err := identity.Generate()
	if err != nil {
		return identity.KeyPair{}, fmt.Errorf("session key: %w", err)
	}
	data, err = json.MarshalIndent(keyFile{Pubkey: k.PublicHex(), SecretKey: k.SecretHex()}, "", "  ")
	if err != nil {
		return identity.KeyPair{}, fmt.Errorf("session key: %w", err)
	}
	if err := config.WriteFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return identity.KeyPair{}, fmt.Errorf("session key: %w", err)
	}
	return k, nil
}

func parseKeyFile(data []byte) (identity.KeyPair, bool) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return identity.KeyPair{}, false
	}
	k, err := identity.ParseKeyPair(f.Pubkey, f.SecretKey)
	return k, err == nil
}

// removeStaleKeys removes the key files in dir, other than keep, not
// modified for keyMaxAge. Best effort: errors are ignored.
func removeStaleKeys(dir, keep string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if name == keep || !e.Type().IsRegular() || !isKeyFileName(name) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < keyMaxAge {
			continue
		}
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// isKeyFileName reports whether name is a LoadKey file name: 32 lowercase
// hex digits and ".json".
func isKeyFileName(name string) bool {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok || len(base) != 32 {
		return false
	}
	_, err := hex.DecodeString(base)
	return err == nil && strings.ToLower(base) == base
}
