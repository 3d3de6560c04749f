package dbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseVault(t *testing.T, newStore NewStoreFunc) {
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

	// upsert writes entries for the bundle's member, in order.
	upsert := func(t *testing.T, bundle *testBundle, keys ...string) []db.VaultEntry {
		t.Helper()
		entries := make([]db.VaultEntry, 0, len(keys))
		for _, key := range keys {
			e := testVaultEntry(bundle.mesh.ID, bundle.member.ID, key)
			require.NoError(t, bundle.store.UpsertVaultEntry(t.Context(), e))
			entries = append(entries, e)
		}
		return entries
	}

	t.Run("DeleteVaultEntry", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		entries := upsert(t, bundle, "api_token", "db_password")

		require.NoError(t, bundle.store.DeleteVaultEntry(ctx, bundle.mesh.ID, bundle.member.ID, "api_token"))
		got, err := bundle.store.ListVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, entries[1:], got)

		requireNotFound(t, bundle.store.DeleteVaultEntry(ctx, bundle.mesh.ID, bundle.member.ID, "api_token"))
		requireNotFound(t, bundle.store.DeleteVaultEntry(ctx, bundle.mesh.ID, db.NewID(), "db_password"))
		requireNotFound(t, bundle.store.DeleteVaultEntry(ctx, db.NewID(), bundle.member.ID, "db_password"))
	})

	t.Run("GetVaultEntries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		entries := upsert(t, bundle, "zeta", "alpha", "mid")

		got, err := bundle.store.GetVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID, []string{"zeta", "missing", "alpha"})
		require.NoError(t, err)
		require.Equal(t, []db.VaultEntry{entries[1], entries[0]}, got)

		got, err = bundle.store.GetVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID, []string{"mid"})
		require.NoError(t, err)
		require.Equal(t, []db.VaultEntry{entries[2]}, got)

		got, err = bundle.store.GetVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID, []string{"missing"})
		require.NoError(t, err)
		require.Empty(t, got)

		got, err = bundle.store.GetVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID, nil)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ListVaultEntries", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		entries := upsert(t, bundle, "zeta", "alpha", "mid")
		got, err = bundle.store.ListVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, []db.VaultEntry{entries[1], entries[2], entries[0]}, got)
	})

	t.Run("MemberIsolation", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		mine := upsert(t, bundle, "token")
		other := createMember(t, bundle.store, bundle.mesh.ID)
		theirs := testVaultEntry(bundle.mesh.ID, other.ID, "token", func(e *db.VaultEntry) {
			e.Ciphertext = []byte("theirs")
		})
		require.NoError(t, bundle.store.UpsertVaultEntry(ctx, theirs))

		got, err := bundle.store.ListVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, mine, got)
		got, err = bundle.store.GetVaultEntries(ctx, bundle.mesh.ID, other.ID, []string{"token"})
		require.NoError(t, err)
		require.Equal(t, []db.VaultEntry{theirs}, got)

		require.NoError(t, bundle.store.DeleteVaultEntry(ctx, bundle.mesh.ID, other.ID, "token"))
		got, err = bundle.store.ListVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID)
		require.NoError(t, err)
		require.Equal(t, mine, got)
		got, err = bundle.store.ListVaultEntries(ctx, bundle.mesh.ID, other.ID)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("UpsertVaultEntry", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		first := upsert(t, bundle, "token")[0]

		second := testVaultEntry(bundle.mesh.ID, bundle.member.ID, "token", func(e *db.VaultEntry) {
			e.Ciphertext = []byte{0xaa, 0xbb}
			e.Nonce = []byte{0xcc}
			e.SealedKey = []byte{0xdd, 0xee, 0xff}
			e.EntryType = "env"
			e.MountPath = ""
			e.Description = "rotated"
			e.CreatedAt = at(time.Hour)
			e.UpdatedAt = at(time.Hour)
		})
		require.NoError(t, bundle.store.UpsertVaultEntry(ctx, second))

		got, err := bundle.store.GetVaultEntries(ctx, bundle.mesh.ID, bundle.member.ID, []string{"token"})
		require.NoError(t, err)
		want := second
		want.CreatedAt = first.CreatedAt
		require.Equal(t, []db.VaultEntry{want}, got)
	})
}
