// Package vault implements claudemesh.vault.v1.VaultService: per-member encrypted secrets.
package vault

import (
	"log/slog"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/gen/pb/claudemesh/vault/v1/vaultv1connect"
)

// Config configures the vault service.
type Config struct {
	// Store is the database. Required.
	Store db.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
}

// Service implements VaultService.
type Service struct {
	// UnimplementedVaultServiceHandler answers the RPCs whose issue has not
	// landed yet with CodeUnimplemented; it goes away once every RPC is
	// implemented, so that a new RPC becomes a compile error.
	vaultv1connect.UnimplementedVaultServiceHandler

	cfg Config
}

var _ vaultv1connect.VaultServiceHandler = (*Service)(nil)

// New returns a vault service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Service{cfg: cfg}
}
