package dbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exercisePendingStatuses(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store db.Store
		// meshID needs no mesh row: pending statuses arrive before anything
		// is known about their session.
		meshID  string
		session string
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{store: newStore(t), meshID: db.NewID(), session: db.NewID()}
	}

	createdAt := func(d time.Duration) func(*db.PendingStatus) {
		return func(p *db.PendingStatus) { p.CreatedAt = at(d) }
	}

	// applied is p as TakePendingStatus returns it.
	applied := func(p db.PendingStatus, when time.Time) db.PendingStatus {
		p.AppliedAt = ptr(when)
		return p
	}

	t.Run("DeletePendingStatuses", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		before := at(0)
		createPendingStatus(t, bundle.store, bundle.meshID, db.NewID(), createdAt(-time.Hour))
		createPendingStatus(t, bundle.store, bundle.meshID, db.NewID(), createdAt(-time.Microsecond))
		oldApplied := createPendingStatus(t, bundle.store, bundle.meshID, db.NewID(), createdAt(-time.Hour))
		recentApplied := createPendingStatus(t, bundle.store, bundle.meshID, db.NewID(), createdAt(time.Minute))
		recent := createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, createdAt(0))
		for _, p := range []db.PendingStatus{oldApplied, recentApplied} {
			_, err := bundle.store.TakePendingStatus(ctx, p.MeshID, p.SessionID, at(-2*time.Hour), at(2*time.Minute))
			require.NoError(t, err)
		}

		n, err := bundle.store.DeletePendingStatuses(ctx, before)
		require.NoError(t, err)
		require.Equal(t, int64(4), n)

		// The recent unapplied status (created exactly at before) is kept.
		got, err := bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, at(-2*time.Hour), at(3*time.Minute))
		require.NoError(t, err)
		require.Equal(t, applied(recent, at(3*time.Minute)), got)

		// Now applied, it goes on the next sweep.
		n, err = bundle.store.DeletePendingStatuses(ctx, before)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		n, err = bundle.store.DeletePendingStatuses(ctx, before)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("TakePendingStatus", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		since := at(-5 * time.Minute)
		createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, createdAt(-10*time.Minute)) // before the window
		onSince := createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, func(p *db.PendingStatus) {
			p.CreatedAt = since
			p.Status = "idle"
		})
		newest := createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, createdAt(-time.Minute))
		older := createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, createdAt(-3*time.Minute))
		createPendingStatus(t, bundle.store, bundle.meshID, db.NewID(), createdAt(-30*time.Second))  // another session
		createPendingStatus(t, bundle.store, db.NewID(), bundle.session, createdAt(-30*time.Second)) // another mesh

		// Newest first, each once.
		for i, want := range []db.PendingStatus{newest, older, onSince} {
			when := at(time.Duration(i) * time.Second)
			got, err := bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, since, when)
			require.NoError(t, err)
			require.Equal(t, applied(want, when), got)
		}

		_, err := bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, since, at(time.Minute))
		requireNotFound(t, err)
		_, err = bundle.store.TakePendingStatus(ctx, bundle.meshID, db.NewID(), since, at(time.Minute))
		requireNotFound(t, err)
	})

	t.Run("TakePendingStatusAnyMesh", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A hook that could not tell its mesh writes the status for any mesh.
		agnostic := createPendingStatus(t, bundle.store, "", bundle.session, createdAt(-time.Minute))
		meshed := createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, createdAt(-2*time.Minute))

		got, err := bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, at(-time.Hour), at(0))
		require.NoError(t, err)
		require.Equal(t, applied(agnostic, at(0)), got)

		got, err = bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, at(-time.Hour), at(time.Second))
		require.NoError(t, err)
		require.Equal(t, applied(meshed, at(time.Second)), got)

		// Any mesh means any mesh.
		otherSession := db.NewID()
		agnostic2 := createPendingStatus(t, bundle.store, "", otherSession, createdAt(0))
		got, err = bundle.store.TakePendingStatus(ctx, db.NewID(), otherSession, at(-time.Hour), at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, applied(agnostic2, at(time.Minute)), got)
	})

	t.Run("TakePendingStatusOnce", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		p := createPendingStatus(t, bundle.store, bundle.meshID, bundle.session, func(p *db.PendingStatus) {
			p.PID = 0
			p.Cwd = ""
		})

		got, err := bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, at(-time.Minute), at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, applied(p, at(time.Minute)), got)

		_, err = bundle.store.TakePendingStatus(ctx, bundle.meshID, bundle.session, at(-time.Minute), at(2*time.Minute))
		requireNotFound(t, err)
	})
}
