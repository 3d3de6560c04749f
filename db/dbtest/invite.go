package dbtest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseInvites(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store db.Store
		mesh  db.Mesh
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		store := newStore(t)
		return &testBundle{store: store, mesh: createMesh(t, store)}
	}

	t.Run("ConsumeInvite", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		inv := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.MaxUses = 2 })

		got, err := bundle.store.ConsumeInvite(ctx, inv.ID, at(time.Hour))
		require.NoError(t, err)
		inv.UsedCount = 1
		require.Equal(t, inv, got)

		got, err = bundle.store.ConsumeInvite(ctx, inv.ID, at(time.Hour))
		require.NoError(t, err)
		inv.UsedCount = 2
		require.Equal(t, inv, got)

		_, err = bundle.store.ConsumeInvite(ctx, inv.ID, at(time.Hour))
		requireNotFound(t, err)

		stored, err := bundle.store.GetInvite(ctx, inv.ID)
		require.NoError(t, err)
		require.Equal(t, inv, stored)

		_, err = bundle.store.ConsumeInvite(ctx, db.NewID(), at(time.Hour))
		requireNotFound(t, err)
	})

	t.Run("ConsumeInviteRevokedOrExpired", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		revoked := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.MaxUses = 5 })
		require.NoError(t, bundle.store.RevokeInvite(ctx, revoked.ID, at(time.Minute)))
		_, err := bundle.store.ConsumeInvite(ctx, revoked.ID, at(time.Hour))
		requireNotFound(t, err)

		// The fixture expires at base+24h: usable just before, not at it.
		expiring := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.MaxUses = 5 })
		_, err = bundle.store.ConsumeInvite(ctx, expiring.ID, expiring.ExpiresAt)
		requireNotFound(t, err)
		got, err := bundle.store.ConsumeInvite(ctx, expiring.ID, expiring.ExpiresAt.Add(-time.Microsecond))
		require.NoError(t, err)
		require.Equal(t, int32(1), got.UsedCount)

		for _, id := range []string{revoked.ID, expiring.ID} {
			stored, err := bundle.store.GetInvite(ctx, id)
			require.NoError(t, err)
			require.LessOrEqual(t, stored.UsedCount, int32(1))
		}
	})

	t.Run("ConsumeInviteConcurrent", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		inv := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.MaxUses = 1 })

		const workers = 10
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, workers)
		)
		for i := range workers {
			wg.Go(func() {
				<-start
				_, errs[i] = bundle.store.ConsumeInvite(ctx, inv.ID, at(time.Hour))
			})
		}
		close(start)
		wg.Wait()

		var ok, notFound int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, db.ErrNotFound):
				notFound++
			default:
				require.NoError(t, err)
			}
		}
		require.Equal(t, 1, ok)
		require.Equal(t, workers-1, notFound)

		stored, err := bundle.store.GetInvite(ctx, inv.ID)
		require.NoError(t, err)
		require.Equal(t, int32(1), stored.UsedCount)
	})

	t.Run("CreateInviteConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		inv := createInvite(t, bundle.store, bundle.mesh.ID)
		dup := testInvite(bundle.mesh.ID, func(i *db.Invite) { i.Token = inv.Token })
		requireConflict(t, bundle.store.CreateInvite(ctx, dup))
	})

	t.Run("GetInvite", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		inv := createInvite(t, bundle.store, bundle.mesh.ID)
		createInvite(t, bundle.store, bundle.mesh.ID)

		got, err := bundle.store.GetInvite(ctx, inv.ID)
		require.NoError(t, err)
		require.Equal(t, inv, got)

		_, err = bundle.store.GetInvite(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("GetInviteByToken", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		inv := createInvite(t, bundle.store, bundle.mesh.ID)
		createInvite(t, bundle.store, bundle.mesh.ID)

		got, err := bundle.store.GetInviteByToken(ctx, inv.Token)
		require.NoError(t, err)
		require.Equal(t, inv, got)

		_, err = bundle.store.GetInviteByToken(ctx, db.NewID())
		requireNotFound(t, err)
		_, err = bundle.store.GetInviteByToken(ctx, inv.ID)
		requireNotFound(t, err)
	})

	t.Run("InviteEmptyPreset", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		withEmpty := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) {
			i.Preset = db.InvitePreset{Groups: []db.GroupRole{}}
			i.CreatedByMemberID = ""
		})
		got, err := bundle.store.GetInvite(ctx, withEmpty.ID)
		require.NoError(t, err)
		withEmpty.Preset = db.InvitePreset{}
		require.Equal(t, withEmpty, got)
	})

	t.Run("ListInvites", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		second := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.CreatedAt = at(2 * time.Minute) })
		first := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.CreatedAt = at(time.Minute) })
		third := createInvite(t, bundle.store, bundle.mesh.ID, func(i *db.Invite) { i.CreatedAt = at(3 * time.Minute) })
		other := createMesh(t, bundle.store)
		createInvite(t, bundle.store, other.ID)

		// Revoked invites are listed too.
		require.NoError(t, bundle.store.RevokeInvite(ctx, first.ID, at(4*time.Minute)))
		first.RevokedAt = ptr(at(4 * time.Minute))

		got, err := bundle.store.ListInvites(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Invite{third, second, first}, got)

		got, err = bundle.store.ListInvites(ctx, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to an invite that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		missing := db.NewID()
		requireNotFound(t, bundle.store.RevokeInvite(ctx, missing, at(time.Minute)))
		_, err := bundle.store.ConsumeInvite(ctx, missing, at(time.Hour))
		requireNotFound(t, err)
	})

	t.Run("RevokeInvite", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		inv := createInvite(t, bundle.store, bundle.mesh.ID)
		bystander := createInvite(t, bundle.store, bundle.mesh.ID)

		require.NoError(t, bundle.store.RevokeInvite(ctx, inv.ID, at(time.Minute)))

		got, err := bundle.store.GetInvite(ctx, inv.ID)
		require.NoError(t, err)
		inv.RevokedAt = ptr(at(time.Minute))
		require.Equal(t, inv, got)

		got, err = bundle.store.GetInvite(ctx, bystander.ID)
		require.NoError(t, err)
		require.Equal(t, bystander, got)
	})
}
