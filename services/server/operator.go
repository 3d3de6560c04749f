package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/services/auth"
)

// OperatorToken makes sure the broker has an operator API key whose secret is
// in the file at path (mode 0600). An existing file is reused, and its key
// registered again if the database does not know it (a fresh database). It
// returns the secret and whether the file was created.
func OperatorToken(ctx context.Context, store db.Store, path string, now time.Time) (string, bool, error) {
	secret, err := readToken(path)
	created := false
	switch {
	case errors.Is(err, os.ErrNotExist):
		secret = auth.NewSecret()
		if err := writeToken(path, secret); err != nil {
			return "", false, err
		}
		created = true
	case err != nil:
		return "", false, err
	}
	hash := auth.HashSecret(secret)
	_, err = store.GetAPIKeyByHash(ctx, hash)
	if err == nil {
		return secret, created, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return "", false, fmt.Errorf("look up operator key: %w", err)
	}
	err = store.CreateAPIKey(ctx, db.APIKey{
		ID:           db.NewID(),
		Label:        "operator",
		SecretHash:   hash,
		Prefix:       auth.SecretPrefix(secret),
		Capabilities: []string{auth.CapOperator},
		CreatedAt:    now,
	})
	if err != nil && !errors.Is(err, db.ErrConflict) {
		return "", false, fmt.Errorf("register operator key: %w", err)
	}
	return secret, created, nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read operator token: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if !strings.HasPrefix(secret, auth.KeyPrefix) {
		return "", fmt.Errorf("operator token %s is not a claudemesh key (cm_…); delete it to make a new one", path)
	}
	return secret, nil
}

// writeToken writes the secret atomically with mode 0600.
func writeToken(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".operator-token-*")
	if err != nil {
		return fmt.Errorf("write operator token: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write operator token: %w", err)
	}
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write operator token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write operator token: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write operator token: %w", err)
	}
	return nil
}
