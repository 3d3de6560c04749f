package dbtest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseStore(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store db.Store
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{store: newStore(t)}
	}

	t.Run("Engine", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		require.Contains(t, []db.Engine{db.EnginePostgres, db.EngineSQLite}, bundle.store.Engine())
	})

	t.Run("InTxCommit", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := testMesh()
		member := testMember(m.ID)
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			if err := q.CreateMesh(ctx, m); err != nil {
				return err
			}
			// The transaction reads its own writes.
			got, err := q.GetMesh(ctx, m.ID)
			if err != nil {
				return err
			}
			if got.ID != m.ID {
				return errors.New("mesh not visible inside its transaction")
			}
			return q.CreateMember(ctx, member)
		}))

		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
		gotMember, err := bundle.store.GetMember(ctx, member.ID)
		require.NoError(t, err)
		require.Equal(t, member, gotMember)
	})

	t.Run("InTxRollback", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		existing := createMesh(t, bundle.store)
		m := testMesh()
		errBoom := errors.New("boom")
		err := bundle.store.InTx(ctx, func(q db.Queries) error {
			if err := q.CreateMesh(ctx, m); err != nil {
				return err
			}
			if err := q.CreateMember(ctx, testMember(m.ID)); err != nil {
				return err
			}
			if err := q.ArchiveMesh(ctx, existing.ID, at(time.Minute)); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)

		// Every write of the transaction is gone.
		_, err = bundle.store.GetMesh(ctx, m.ID)
		requireNotFound(t, err)
		members, err := bundle.store.ListMembers(ctx, m.ID)
		require.NoError(t, err)
		require.Empty(t, members)
		got, err := bundle.store.GetMesh(ctx, existing.ID)
		require.NoError(t, err)
		require.Equal(t, existing, got)
	})

	t.Run("InTxRollbackOnStoreError", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A conflict inside the transaction surfaces as ErrConflict and undoes
		// the writes before it. (On Postgres the failed statement also aborts
		// the transaction, so fn must return its error.)
		existing := createMesh(t, bundle.store)
		m := testMesh()
		err := bundle.store.InTx(ctx, func(q db.Queries) error {
			if err := q.CreateMesh(ctx, m); err != nil {
				return err
			}
			return q.CreateMesh(ctx, testMesh(func(x *db.Mesh) { x.Slug = existing.Slug }))
		})
		requireConflict(t, err)

		_, err = bundle.store.GetMesh(ctx, m.ID)
		requireNotFound(t, err)
	})

	t.Run("Migrate", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		current, latest, err := bundle.store.MigrationVersion(ctx)
		require.NoError(t, err)
		require.Positive(t, latest)
		require.Equal(t, latest, current)

		// Migrating a migrated store is a no-op.
		m := createMesh(t, bundle.store)
		require.NoError(t, bundle.store.Migrate(ctx))
		require.NoError(t, bundle.store.Migrate(ctx))

		current2, latest2, err := bundle.store.MigrationVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, current, current2)
		require.Equal(t, latest, latest2)

		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("Notify", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Delivery is engine-specific (dbpg tests it with Listen); here
		// Notify only has to succeed, outside and inside a transaction, and
		// not disturb the transaction.
		require.NoError(t, bundle.store.Notify(ctx, "claudemesh_test", "outside"))
		m := testMesh()
		require.NoError(t, bundle.store.InTx(ctx, func(q db.Queries) error {
			if err := q.CreateMesh(ctx, m); err != nil {
				return err
			}
			if err := q.Notify(ctx, "claudemesh_test", `{"mesh":"`+m.ID+`"}`); err != nil {
				return err
			}
			return q.Notify(ctx, "claudemesh_test", "")
		}))
		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		require.NoError(t, bundle.store.Ping(t.Context()))
	})

	t.Run("TimePrecisionAndZone", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// A time in another zone comes back in UTC, truncated (not rounded)
		// to the microsecond.
		zone := time.FixedZone("UTC+5:30", 5*3600+30*60)
		in := time.Date(2026, 11, 28, 17, 30, 0, 123456789, zone)
		want := time.Date(2026, 11, 28, 12, 0, 0, 123456000, time.UTC)

		m := createMesh(t, bundle.store, func(m *db.Mesh) {
			m.CreatedAt = in
			m.ArchivedAt = ptr(in.Add(time.Hour))
		})
		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Same(t, time.UTC, got.CreatedAt.Location())
		require.NotNil(t, got.ArchivedAt)
		require.Equal(t, want.Add(time.Hour), *got.ArchivedAt)

		// Times far from the base time survive as well.
		for _, tm := range []time.Time{
			time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2000, 2, 29, 23, 59, 59, 999999000, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		} {
			m := createMesh(t, bundle.store, func(m *db.Mesh) { m.CreatedAt = tm })
			got, err := bundle.store.GetMesh(ctx, m.ID)
			require.NoError(t, err)
			require.Equal(t, tm, got.CreatedAt)
		}
	})
}
