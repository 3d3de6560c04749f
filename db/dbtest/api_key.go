package dbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseAPIKeys(t *testing.T, newStore NewStoreFunc) {
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

	t.Run("CreateAPIKeyConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		k := createAPIKey(t, bundle.store, bundle.mesh.ID)

		dup := testAPIKey(bundle.mesh.ID, func(x *db.APIKey) { x.SecretHash = k.SecretHash })
		requireConflict(t, bundle.store.CreateAPIKey(ctx, dup))

		// The hash is unique across meshes and operator keys too.
		opDup := testAPIKey("", func(x *db.APIKey) { x.SecretHash = k.SecretHash })
		requireConflict(t, bundle.store.CreateAPIKey(ctx, opDup))
	})

	t.Run("EmptyCapabilities", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		withNil := createAPIKey(t, bundle.store, bundle.mesh.ID, func(k *db.APIKey) { k.Capabilities = nil })
		withEmpty := createAPIKey(t, bundle.store, bundle.mesh.ID, func(k *db.APIKey) { k.Capabilities = []string{} })

		got, err := bundle.store.GetAPIKeyByHash(ctx, withNil.SecretHash)
		require.NoError(t, err)
		require.Equal(t, withNil, got)

		got, err = bundle.store.GetAPIKeyByHash(ctx, withEmpty.SecretHash)
		require.NoError(t, err)
		require.Nil(t, got.Capabilities)
	})

	t.Run("GetAPIKeyByHash", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		meshKey := createAPIKey(t, bundle.store, bundle.mesh.ID)
		opKey := createAPIKey(t, bundle.store, "", func(k *db.APIKey) {
			k.ExpiresAt = nil
			k.CreatedByMemberID = ""
		})

		got, err := bundle.store.GetAPIKeyByHash(ctx, meshKey.SecretHash)
		require.NoError(t, err)
		require.Equal(t, meshKey, got)

		got, err = bundle.store.GetAPIKeyByHash(ctx, opKey.SecretHash)
		require.NoError(t, err)
		require.Equal(t, opKey, got)

		_, err = bundle.store.GetAPIKeyByHash(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("ListAPIKeys", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		second := createAPIKey(t, bundle.store, bundle.mesh.ID, func(k *db.APIKey) { k.CreatedAt = at(2 * time.Minute) })
		first := createAPIKey(t, bundle.store, bundle.mesh.ID, func(k *db.APIKey) { k.CreatedAt = at(time.Minute) })
		third := createAPIKey(t, bundle.store, bundle.mesh.ID, func(k *db.APIKey) { k.CreatedAt = at(3 * time.Minute) })
		other := createMesh(t, bundle.store)
		otherKey := createAPIKey(t, bundle.store, other.ID)
		opOld := createAPIKey(t, bundle.store, "", func(k *db.APIKey) { k.CreatedAt = at(time.Minute) })
		opNew := createAPIKey(t, bundle.store, "", func(k *db.APIKey) { k.CreatedAt = at(2 * time.Minute) })

		// Revoked keys are listed too.
		require.NoError(t, bundle.store.RevokeAPIKey(ctx, first.ID, at(4*time.Minute)))
		first.RevokedAt = ptr(at(4 * time.Minute))

		got, err := bundle.store.ListAPIKeys(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, []db.APIKey{third, second, first}, got)

		got, err = bundle.store.ListAPIKeys(ctx, other.ID)
		require.NoError(t, err)
		require.Equal(t, []db.APIKey{otherKey}, got)

		got, err = bundle.store.ListAPIKeys(ctx, "")
		require.NoError(t, err)
		require.Equal(t, []db.APIKey{opNew, opOld}, got)

		got, err = bundle.store.ListAPIKeys(ctx, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to a key that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		missing := db.NewID()
		requireNotFound(t, bundle.store.RevokeAPIKey(ctx, missing, at(time.Minute)))
		requireNotFound(t, bundle.store.TouchAPIKey(ctx, missing, at(time.Minute)))
	})

	t.Run("RevokeAPIKey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		k := createAPIKey(t, bundle.store, bundle.mesh.ID)
		bystander := createAPIKey(t, bundle.store, bundle.mesh.ID)

		require.NoError(t, bundle.store.RevokeAPIKey(ctx, k.ID, at(time.Minute)))

		got, err := bundle.store.GetAPIKeyByHash(ctx, k.SecretHash)
		require.NoError(t, err)
		k.RevokedAt = ptr(at(time.Minute))
		require.Equal(t, k, got)

		got, err = bundle.store.GetAPIKeyByHash(ctx, bystander.SecretHash)
		require.NoError(t, err)
		require.Equal(t, bystander, got)
	})

	t.Run("TouchAPIKey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		k := createAPIKey(t, bundle.store, "")
		bystander := createAPIKey(t, bundle.store, "")

		require.NoError(t, bundle.store.TouchAPIKey(ctx, k.ID, at(time.Minute)))
		require.NoError(t, bundle.store.TouchAPIKey(ctx, k.ID, at(2*time.Minute)))

		got, err := bundle.store.GetAPIKeyByHash(ctx, k.SecretHash)
		require.NoError(t, err)
		k.LastUsedAt = ptr(at(2 * time.Minute))
		require.Equal(t, k, got)

		got, err = bundle.store.GetAPIKeyByHash(ctx, bystander.SecretHash)
		require.NoError(t, err)
		require.Equal(t, bystander, got)
	})
}
