package dbtest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseSchedules(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store  db.Store
		mesh   db.Mesh
		member db.Member
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		store := newStore(t)
		mesh := createMesh(t, store)
		return &testBundle{store: store, mesh: mesh, member: createMember(t, store, mesh.ID)}
	}

	requireSchedule := func(t *testing.T, q db.Queries, want db.Schedule) {
		t.Helper()
		got, err := q.GetSchedule(t.Context(), want.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	// claimDue runs ClaimDueSchedules in a transaction, as the scheduler does.
	claimDue := func(t *testing.T, store db.Store, now time.Time, limit int32) []db.Schedule {
		t.Helper()
		var got []db.Schedule
		require.NoError(t, store.InTx(t.Context(), func(q db.Queries) error {
			var err error
			got, err = q.ClaimDueSchedules(t.Context(), now, limit)
			return err
		}))
		return got
	}

	scheduleIDs := func(ss []db.Schedule) []string {
		ids := make([]string, len(ss))
		for i, s := range ss {
			ids[i] = s.ID
		}
		return ids
	}

	nextAt := func(d time.Duration) func(*db.Schedule) {
		return func(s *db.Schedule) { s.NextFireAt = ptr(at(d)) }
	}

	t.Run("AdvanceSchedule", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		bystander := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(2*time.Hour))

		// A recurring fire, on time.
		require.NoError(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{
			ID:         s.ID,
			Due:        at(time.Hour),
			FiredAt:    at(time.Hour),
			NextFireAt: ptr(at(25 * time.Hour)),
		}))
		s.FiredCount = 1
		s.LastFiredAt = ptr(at(time.Hour))
		s.NextFireAt = ptr(at(25 * time.Hour))
		requireSchedule(t, bundle.store, s)
		requireSchedule(t, bundle.store, bystander)

		// A late fire.
		require.NoError(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{
			ID:         s.ID,
			Due:        at(25 * time.Hour),
			FiredAt:    at(26 * time.Hour),
			NextFireAt: ptr(at(49 * time.Hour)),
			Late:       true,
		}))
		s.FiredCount = 2
		s.LastFiredAt = ptr(at(26 * time.Hour))
		s.NextFireAt = ptr(at(49 * time.Hour))
		s.LastFireLate = true
		requireSchedule(t, bundle.store, s)

		// The last fire: the schedule is done.
		require.NoError(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{
			ID:      s.ID,
			Due:     at(49 * time.Hour),
			FiredAt: at(49 * time.Hour),
		}))
		s.FiredCount = 3
		s.LastFiredAt = ptr(at(49 * time.Hour))
		s.NextFireAt = nil
		s.LastFireLate = false
		requireSchedule(t, bundle.store, s)

		// A done schedule is no longer active.
		list, err := bundle.store.ListSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Schedule{bystander}, list)
		n, err := bundle.store.CountSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		require.Equal(t, []string{bystander.ID}, scheduleIDs(claimDue(t, bundle.store, at(100*time.Hour), 10)))
		requireNotFound(t, bundle.store.CancelSchedule(ctx, s.ID, bundle.member.ID, at(100*time.Hour)))
	})

	t.Run("AdvanceScheduleCompareAndSet", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		fire := db.AdvanceScheduleParams{ID: s.ID, Due: at(time.Hour), FiredAt: at(time.Hour), NextFireAt: ptr(at(2 * time.Hour))}

		// A fire that is not the schedule's next one changes nothing.
		stale := fire
		stale.Due = at(time.Hour - time.Microsecond)
		requireNotFound(t, bundle.store.AdvanceSchedule(ctx, stale))
		requireSchedule(t, bundle.store, s)

		// The fire is recorded once: a second scheduler recording it finds it
		// advanced.
		require.NoError(t, bundle.store.AdvanceSchedule(ctx, fire))
		requireNotFound(t, bundle.store.AdvanceSchedule(ctx, fire))
		s.FiredCount, s.LastFiredAt, s.NextFireAt = 1, ptr(at(time.Hour)), ptr(at(2*time.Hour))
		requireSchedule(t, bundle.store, s)

		// A cancelled schedule does not fire.
		require.NoError(t, bundle.store.CancelSchedule(ctx, s.ID, bundle.member.ID, at(90*time.Minute)))
		s.CancelledAt = ptr(at(90 * time.Minute))
		requireNotFound(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{ID: s.ID, Due: at(2 * time.Hour), FiredAt: at(2 * time.Hour)}))
		requireSchedule(t, bundle.store, s)

		// A done one-shot schedule does not fire again.
		oneShot := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		require.NoError(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{ID: oneShot.ID, Due: at(time.Hour), FiredAt: at(time.Hour)}))
		requireNotFound(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{ID: oneShot.ID, Due: at(time.Hour), FiredAt: at(time.Hour)}))
	})

	t.Run("AdvanceScheduleConcurrent", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Schedulers that read the same due row without claiming it (as a
		// scheduler does that stores a fire's message in the transaction of
		// the advance) race to record the fire: exactly one does.
		s := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		const workers = 4
		errs := make([]error, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				<-start
				errs[w] = bundle.store.InTx(ctx, func(q db.Queries) error {
					return q.AdvanceSchedule(ctx, db.AdvanceScheduleParams{ID: s.ID, Due: at(time.Hour), FiredAt: at(time.Hour), NextFireAt: ptr(at(2 * time.Hour))})
				})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			requireNotFound(t, err)
		}
		require.Equal(t, 1, won)
		got, err := bundle.store.GetSchedule(ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, int32(1), got.FiredCount)
	})

	t.Run("CancelSchedule", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		bystander := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		other := createMember(t, bundle.store, bundle.mesh.ID)

		// Not theirs.
		requireNotFound(t, bundle.store.CancelSchedule(ctx, s.ID, other.ID, at(time.Minute)))
		requireSchedule(t, bundle.store, s)

		require.NoError(t, bundle.store.CancelSchedule(ctx, s.ID, bundle.member.ID, at(time.Minute)))
		s.CancelledAt = ptr(at(time.Minute))
		requireSchedule(t, bundle.store, s)
		requireSchedule(t, bundle.store, bystander)

		// Already cancelled: the first cancellation time stays.
		requireNotFound(t, bundle.store.CancelSchedule(ctx, s.ID, bundle.member.ID, at(2*time.Minute)))
		requireSchedule(t, bundle.store, s)

		requireNotFound(t, bundle.store.CancelSchedule(ctx, db.NewID(), bundle.member.ID, at(time.Minute)))

		// Cancelled schedules are no longer active.
		list, err := bundle.store.ListSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Schedule{bystander}, list)
		require.Equal(t, []string{bystander.ID}, scheduleIDs(claimDue(t, bundle.store, at(100*time.Hour), 10)))
	})

	t.Run("ClaimDueSchedules", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		now := at(time.Hour)
		otherMesh := createMesh(t, bundle.store)
		otherMember := createMember(t, bundle.store, otherMesh.ID)

		second := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(30*time.Minute))
		first := createSchedule(t, bundle.store, otherMesh.ID, otherMember.ID, nextAt(10*time.Minute))
		onTime := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour+time.Microsecond))
		cancelled := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(0))
		require.NoError(t, bundle.store.CancelSchedule(ctx, cancelled.ID, bundle.member.ID, at(time.Minute)))
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) { s.NextFireAt = nil })

		got := claimDue(t, bundle.store, now, 10)
		require.Equal(t, []db.Schedule{first, second, onTime}, got)

		require.Equal(t, []string{first.ID, second.ID}, scheduleIDs(claimDue(t, bundle.store, now, 2)))

		// Claimed and advanced in one transaction, they are no longer due.
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			due, err := q.ClaimDueSchedules(ctx, now, 10)
			if err != nil {
				return err
			}
			for _, s := range due {
				if err := q.AdvanceSchedule(ctx, db.AdvanceScheduleParams{
					ID:         s.ID,
					Due:        *s.NextFireAt,
					FiredAt:    now,
					NextFireAt: ptr(at(24 * time.Hour)),
				}); err != nil {
					return err
				}
			}
			return nil
		}))
		require.Empty(t, claimDue(t, bundle.store, now, 10))
	})

	t.Run("ClaimDueSchedulesConcurrent", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		const schedules = 20
		want := make([]string, 0, schedules)
		for i := range schedules {
			s := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Duration(i)*time.Second))
			want = append(want, s.ID)
		}

		// Four schedulers (replicas) claim and advance in transactions at
		// once: each due schedule fires exactly once.
		const workers = 4
		now := at(time.Hour)
		type result struct {
			ids []string
			err error
		}
		results := make([]result, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				<-start
				for range schedules + 1 {
					var fired []string
					err := bundle.store.InTx(ctx, func(q db.Queries) error {
						fired = nil
						due, err := q.ClaimDueSchedules(ctx, now, 3)
						if err != nil {
							return err
						}
						for _, s := range due {
							if err := q.AdvanceSchedule(ctx, db.AdvanceScheduleParams{ID: s.ID, Due: *s.NextFireAt, FiredAt: now}); err != nil {
								return err
							}
							fired = append(fired, s.ID)
						}
						return nil
					})
					if err != nil {
						results[w].err = err
						return
					}
					if len(fired) == 0 {
						return
					}
					results[w].ids = append(results[w].ids, fired...)
				}
			})
		}
		close(start)
		wg.Wait()

		var all []string
		for w, r := range results {
			require.NoError(t, r.err, "scheduler %d", w)
			all = append(all, r.ids...)
		}
		require.ElementsMatch(t, want, all)
		for _, id := range want {
			got, err := bundle.store.GetSchedule(ctx, id)
			require.NoError(t, err)
			require.Equal(t, int32(1), got.FiredCount)
		}
	})

	t.Run("ClaimDueSchedulesWholeSecond", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A time on the whole second against one in the same second with a
		// fraction: a text time encoding that drops a zero fraction compares
		// these the wrong way round.
		whole := time.Date(2026, 11, 28, 12, 0, 1, 0, time.UTC)
		half := whole.Add(500 * time.Millisecond)
		onWhole := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) { s.NextFireAt = ptr(whole) })
		onHalf := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) { s.NextFireAt = ptr(half) })

		require.Empty(t, claimDue(t, bundle.store, whole.Add(-time.Microsecond), 10))
		require.Equal(t, []string{onWhole.ID}, scheduleIDs(claimDue(t, bundle.store, whole.Add(100*time.Millisecond), 10)))
		require.Equal(t, []string{onWhole.ID, onHalf.ID}, scheduleIDs(claimDue(t, bundle.store, half, 10)))

		next, err := bundle.store.NextScheduleDue(ctx)
		require.NoError(t, err)
		require.Equal(t, whole, next)

		list, err := bundle.store.ListSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, []string{onWhole.ID, onHalf.ID}, scheduleIDs(list))
	})

	t.Run("CountSchedules", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		n, err := bundle.store.CountSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Zero(t, n)

		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		cancelled := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, bundle.store.CancelSchedule(ctx, cancelled.ID, bundle.member.ID, at(time.Minute)))
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) { s.NextFireAt = nil })
		other := createMember(t, bundle.store, bundle.mesh.ID)
		createSchedule(t, bundle.store, bundle.mesh.ID, other.ID)

		n, err = bundle.store.CountSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		n, err = bundle.store.CountSchedules(ctx, bundle.mesh.ID, other.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})

	t.Run("GetSchedule", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		recurring := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) {
			s.FiredCount = 4
			s.LastFiredAt = ptr(at(-time.Hour))
			s.LastFireLate = true
		})
		oneShot := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) {
			s.Cron = ""
			s.Subtype = ""
			s.Timezone = "UTC"
		})

		requireSchedule(t, bundle.store, recurring)
		requireSchedule(t, bundle.store, oneShot)

		_, err := bundle.store.GetSchedule(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("ListSchedules", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		later := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(2*time.Hour))
		sooner := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		latest := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(3*time.Hour))
		cancelled := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(0))
		require.NoError(t, bundle.store.CancelSchedule(ctx, cancelled.ID, bundle.member.ID, at(time.Minute)))
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) { s.NextFireAt = nil })
		other := createMember(t, bundle.store, bundle.mesh.ID)
		createSchedule(t, bundle.store, bundle.mesh.ID, other.ID)
		otherMesh := createMesh(t, bundle.store)
		createSchedule(t, bundle.store, otherMesh.ID, createMember(t, bundle.store, otherMesh.ID).ID)

		got, err = bundle.store.ListSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Schedule{sooner, later, latest}, got)

		// The member is looked up in the given mesh only.
		got, err = bundle.store.ListSchedules(ctx, otherMesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to a schedule that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		requireNotFound(t, bundle.store.AdvanceSchedule(ctx, db.AdvanceScheduleParams{ID: db.NewID(), Due: at(0), FiredAt: at(0)}))
	})

	t.Run("NextScheduleDue", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		_, err := bundle.store.NextScheduleDue(ctx)
		requireNotFound(t, err)

		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(2*time.Hour))
		soonest := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Hour))
		cancelled := createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(time.Minute))
		require.NoError(t, bundle.store.CancelSchedule(ctx, cancelled.ID, bundle.member.ID, at(0)))
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, func(s *db.Schedule) { s.NextFireAt = nil })

		next, err := bundle.store.NextScheduleDue(ctx)
		require.NoError(t, err)
		require.Equal(t, at(time.Hour), next)

		// Overdue schedules count too.
		createSchedule(t, bundle.store, bundle.mesh.ID, bundle.member.ID, nextAt(-time.Hour))
		next, err = bundle.store.NextScheduleDue(ctx)
		require.NoError(t, err)
		require.Equal(t, at(-time.Hour), next)

		// Once nothing is active, there is none.
		require.NoError(t, bundle.store.CancelSchedule(ctx, soonest.ID, bundle.member.ID, at(0)))
		list, err := bundle.store.ListSchedules(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		for _, s := range list {
			require.NoError(t, bundle.store.CancelSchedule(ctx, s.ID, bundle.member.ID, at(0)))
		}
		_, err = bundle.store.NextScheduleDue(ctx)
		requireNotFound(t, err)
	})
}
