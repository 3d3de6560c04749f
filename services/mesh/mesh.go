// Package mesh implements claudemesh.mesh.v1.MeshService: meshes, invites,
// members, API keys, sessions, presence, messaging, shared state and files.
package mesh

import (
	"log/slog"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
)

// Config configures the mesh service.
type Config struct {
	// Store is the database. Required.
	Store db.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
}

// Service implements MeshService.
type Service struct {
	// UnimplementedMeshServiceHandler answers the RPCs whose issue has not
	// landed yet with CodeUnimplemented; it goes away once every RPC is
	// implemented, so that a new RPC becomes a compile error.
	meshv1connect.UnimplementedMeshServiceHandler

	cfg Config
}

var _ meshv1connect.MeshServiceHandler = (*Service)(nil)

// New returns a mesh service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Service{cfg: cfg}
}
