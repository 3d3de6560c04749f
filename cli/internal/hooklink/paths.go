package hooklink

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// maxSocketPath is the longest socket path we use: sun_path holds 104 bytes
// on macOS and 108 on Linux, including the terminating NUL.
const maxSocketPath = 100

// Paths returns the socket and token file paths for a session: in
// <configDir>/run, named after the first 16 hex digits of
// sha256(sessionID), with the suffixes .sock and .token. When the socket
// path would be longer than a Unix socket address can hold, both live in
// os.TempDir()/claudemesh-<uid> instead.
func Paths(configDir, sessionID string) (socket, token string) {
	sum := sha256.Sum256([]byte(sessionID))
	name := hex.EncodeToString(sum[:])[:16]
	dir := filepath.Join(configDir, "run")
	if len(filepath.Join(dir, name+".sock")) > maxSocketPath {
		dir = filepath.Join(os.TempDir(), "claudemesh-"+strconv.Itoa(os.Getuid()))
	}
	return filepath.Join(dir, name+".sock"), filepath.Join(dir, name+".token")
}

// ensureDir creates dir (mode 0700) when missing, tightens its mode when it
// is ours, and refuses a directory that is not ours.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if err := checkOwner(dir, info); err != nil {
		return err
	}
	if info.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make %s private: %w", dir, err)
		}
	}
	return nil
}

// checkDir checks that dir is a private directory of this user: a hook
// must not talk to a server, or read a token, that someone else planted.
func checkDir(dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if err := checkOwner(dir, info); err != nil {
		return err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is open to other users (mode %v)", dir, info.Mode().Perm())
	}
	return nil
}
