// Package scheduler implements claudemesh.scheduler.v1.SchedulerService: scheduled messages and reminders.
package scheduler

import (
	"log/slog"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/gen/pb/claudemesh/scheduler/v1/schedulerv1connect"
)

// Config configures the scheduler service.
type Config struct {
	// Store is the database. Required.
	Store db.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now.
	NowFunc func() time.Time
}

// Service implements SchedulerService.
type Service struct {
	// UnimplementedSchedulerServiceHandler answers the RPCs whose issue has not
	// landed yet with CodeUnimplemented; it goes away once every RPC is
	// implemented, so that a new RPC becomes a compile error.
	schedulerv1connect.UnimplementedSchedulerServiceHandler

	cfg Config
}

var _ schedulerv1connect.SchedulerServiceHandler = (*Service)(nil)

// New returns a scheduler service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Service{cfg: cfg}
}
