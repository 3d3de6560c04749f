// Package scheduler implements claudemesh.scheduler.v1.SchedulerService:
// one-shot and recurring (cron) messages and reminders, kept in the
// schedules table so they survive restarts, and the loop that fires them.
//
// A fire is a normal message sent as the schedule's member, through the
// mesh service: it queues for offline recipients, is pushed, acked and
// reported by message_status like any other. The message, its deliveries
// and the schedule's advance are written in one transaction, and the
// advance is a compare-and-set on the fire time, so each fire happens
// exactly once however many broker replicas share the database.
//
// Downtime: a schedule whose fire time passed while no broker ran fires
// once when a broker comes back (not once per missed cron slot), marked
// late; a cron schedule's next fire is then the first slot after that.
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
	_ "time/tzdata" // time zones must not depend on the host's zoneinfo

	"github.com/prometheus/client_golang/prometheus"

	"claudemesh.dev/db"
	"claudemesh.dev/gen/pb/claudemesh/scheduler/v1/schedulerv1connect"
	"claudemesh.dev/services/mesh"
)

// schedulesChannel is the NOTIFY channel on which a replica tells the
// others that schedules changed, so that their loops look again.
const schedulesChannel = "claudemesh_schedules"

// Mesh is what the scheduler needs of the mesh service: who a caller acts
// as, target checks, and sending as a member.
type Mesh interface {
	CallerMember(ctx context.Context, meshID string) (mesh.ActingMember, error)
	CheckMemberTarget(ctx context.Context, member db.Member, target string) error
	SendAsMember(ctx context.Context, m mesh.MemberMessage) (string, error)
}

// Config configures the scheduler service.
type Config struct {
	// Store is the database. Required.
	Store db.Store
	// Mesh sends the fired messages. Required.
	Mesh Mesh
	// Logger defaults to discarding.
	Logger *slog.Logger
	// NowFunc is the clock. Defaults to time.Now. The loop sleeps on real
	// timers; a test that moves an injected clock calls Wake.
	NowFunc func() time.Time
	// Registerer receives the scheduler's metrics. Defaults to none.
	Registerer prometheus.Registerer
	// MaxSchedulesPerMember caps a member's active schedules. Defaults to
	// 100.
	MaxSchedulesPerMember int
	// MaxMessageBytes caps a scheduled message as Send caps one (its base64
	// body and target). Defaults to 65536.
	MaxMessageBytes int
	// MaxLeadTime is how far ahead a one-shot schedule may be set. Defaults
	// to 366 days.
	MaxLeadTime time.Duration
	// LateAfter is how long after its time a fire counts as late (a
	// catch-up after downtime). Defaults to one minute.
	LateAfter time.Duration
	// MaxSleep bounds how long the loop sleeps without looking at the
	// table, so that schedules another replica created (and told about
	// over a lost notification) or left behind when it died are not missed
	// for long. Defaults to one minute.
	MaxSleep time.Duration
}

// WithDefaults returns the config with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	setDefault(&c.MaxSchedulesPerMember, 100)
	setDefault(&c.MaxMessageBytes, 64<<10)
	setDefault(&c.MaxLeadTime, 366*24*time.Hour)
	setDefault(&c.LateAfter, time.Minute)
	setDefault(&c.MaxSleep, time.Minute)
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Service implements SchedulerService and runs the fire loop.
type Service struct {
	cfg     Config
	store   db.Store
	log     *slog.Logger
	metrics *metrics
	// wake asks the loop to look at the table now.
	wake chan struct{}
}

var _ schedulerv1connect.SchedulerServiceHandler = (*Service)(nil)

// New returns a scheduler service. Run its loop with Run.
func New(cfg Config) *Service {
	cfg = cfg.WithDefaults()
	return &Service{
		cfg:     cfg,
		store:   cfg.Store,
		log:     cfg.Logger,
		metrics: newMetrics(cfg.Registerer),
		wake:    make(chan struct{}, 1),
	}
}

// now is the clock's time as stored: UTC, microseconds.
func (s *Service) now() time.Time { return s.cfg.NowFunc().UTC().Truncate(time.Microsecond) }

// Wake makes the loop look for due schedules now (it also wakes by itself
// at the next fire time, when a schedule is created or cancelled, and when
// another replica says schedules changed).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake is already pending
	}
}

// retryDelay is how long the loop waits after a failure (the database did
// not answer) before it tries again.
const retryDelay = time.Second

// busyDelay is how long the loop waits when a due schedule is held by
// another replica that is firing it.
const busyDelay = 50 * time.Millisecond

// Run fires due schedules until ctx is done: it sleeps until the next fire
// time (no polling), fires what is due, and repeats. The first round, at
// start, fires what came due while no broker ran.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if l, ok := s.store.(db.Listener); ok {
		wg.Go(func() {
			if err := l.Listen(ctx, schedulesChannel, s.Wake, func(string) { s.Wake() }); err != nil {
				s.log.ErrorContext(ctx, "listen for other replicas' schedules", "err", err)
			}
		})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		timer.Reset(s.fireDue(ctx))
	}
}

// claimBatch is how many due schedules one round reads at a time.
const claimBatch = 100

// fireDue fires every due schedule and returns how long to sleep before the
// next round.
//
// ClaimDueSchedules serves as a read here, outside a transaction: the fire's
// recipients are resolved through the Store, which SQLite's one connection
// forbids inside one. Its row locks end with the statement, but SKIP LOCKED
// still passes over the schedules another replica is firing at that moment.
// Exactly-once rests on the compare-and-set advance in each fire's
// transaction.
func (s *Service) fireDue(ctx context.Context) time.Duration {
	fired := 0
	for {
		due, err := s.store.ClaimDueSchedules(ctx, s.now(), claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "read due schedules", "err", err)
			}
			return retryDelay
		}
		failed := false
		for _, sch := range due {
			if err := s.fire(ctx, sch); err != nil {
				// It is still due: a later round tries it again.
				failed = true
				if ctx.Err() == nil {
					s.metrics.fires.WithLabelValues("failed").Inc()
					s.log.ErrorContext(ctx, "fire schedule", "schedule_id", sch.ID, "err", err)
				}
			}
		}
		if failed {
			return retryDelay
		}
		fired += len(due)
		if len(due) < claimBatch {
			break
		}
	}
	next, err := s.store.NextScheduleDue(ctx)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return s.cfg.MaxSleep
	case err != nil:
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "read the next fire time", "err", err)
		}
		return retryDelay
	}
	wait := next.Sub(s.now())
	if wait <= 0 && fired == 0 {
		// Due, yet not ours to read: another replica holds it.
		return busyDelay
	}
	return min(max(wait, 0), s.cfg.MaxSleep)
}
