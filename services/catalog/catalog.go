// Package catalog implements claudemesh.catalog.v1.CatalogService: deployed MCP services and skills.
package catalog

import (
	"log/slog"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/gen/pb/claudemesh/catalog/v1/catalogv1connect"
)

// Config configures the catalog service.
type Config struct {
	// Store is the database. Required.
	Store db.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
}

// Service implements CatalogService.
type Service struct {
	// UnimplementedCatalogServiceHandler answers the RPCs whose issue has not
	// landed yet with CodeUnimplemented; it goes away once every RPC is
	// implemented, so that a new RPC becomes a compile error.
	catalogv1connect.UnimplementedCatalogServiceHandler

	cfg Config
}

var _ catalogv1connect.CatalogServiceHandler = (*Service)(nil)

// New returns a catalog service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Service{cfg: cfg}
}
