package dbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseMembers(t *testing.T, newStore NewStoreFunc) {
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

	t.Run("CreateMemberConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMember(t, bundle.store, bundle.mesh.ID)

		dup := testMember(bundle.mesh.ID, func(x *db.Member) { x.Pubkey = m.Pubkey })
		requireConflict(t, bundle.store.CreateMember(ctx, dup))

		// The same key may enroll in another mesh.
		other := createMesh(t, bundle.store)
		elsewhere := createMember(t, bundle.store, other.ID, func(x *db.Member) { x.Pubkey = m.Pubkey })

		got, err := bundle.store.GetMemberByPubkey(ctx, other.ID, m.Pubkey)
		require.NoError(t, err)
		require.Equal(t, elsewhere, got)
		got, err = bundle.store.GetMemberByPubkey(ctx, bundle.mesh.ID, m.Pubkey)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("EmptyDefaultGroups", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		withNil := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) { m.DefaultGroups = nil })
		withEmpty := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) { m.DefaultGroups = []db.GroupRole{} })

		got, err := bundle.store.GetMember(ctx, withNil.ID)
		require.NoError(t, err)
		require.Nil(t, got.DefaultGroups)
		require.Equal(t, withNil, got)

		got, err = bundle.store.GetMember(ctx, withEmpty.ID)
		require.NoError(t, err)
		require.Nil(t, got.DefaultGroups)
	})

	t.Run("GetMember", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) {
			m.Role = db.RoleAdmin
			m.LastSeenAt = ptr(at(time.Minute))
		})
		createMember(t, bundle.store, bundle.mesh.ID)

		got, err := bundle.store.GetMember(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)

		_, err = bundle.store.GetMember(ctx, db.NewID())
		requireNotFound(t, err)
	})

	t.Run("GetMemberByPubkey", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMember(t, bundle.store, bundle.mesh.ID)
		createMember(t, bundle.store, bundle.mesh.ID)

		got, err := bundle.store.GetMemberByPubkey(ctx, bundle.mesh.ID, m.Pubkey)
		require.NoError(t, err)
		require.Equal(t, m, got)

		// Revoked members are still found.
		require.NoError(t, bundle.store.RevokeMember(ctx, m.ID, at(time.Minute), "left"))
		got, err = bundle.store.GetMemberByPubkey(ctx, bundle.mesh.ID, m.Pubkey)
		require.NoError(t, err)
		require.Equal(t, m.ID, got.ID)
		require.NotNil(t, got.RevokedAt)

		_, err = bundle.store.GetMemberByPubkey(ctx, bundle.mesh.ID, db.NewID())
		requireNotFound(t, err)
		other := createMesh(t, bundle.store)
		_, err = bundle.store.GetMemberByPubkey(ctx, other.ID, m.Pubkey)
		requireNotFound(t, err)
	})

	t.Run("ListMembers", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		second := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) { m.JoinedAt = at(2 * time.Minute) })
		first := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) { m.JoinedAt = at(time.Minute) })
		third := createMember(t, bundle.store, bundle.mesh.ID, func(m *db.Member) { m.JoinedAt = at(3 * time.Minute) })
		other := createMesh(t, bundle.store)
		createMember(t, bundle.store, other.ID)

		// Revoked members are listed too.
		require.NoError(t, bundle.store.RevokeMember(ctx, second.ID, at(4*time.Minute), "left"))
		second.RevokedAt = ptr(at(4 * time.Minute))
		second.RevokeReason = "left"

		got, err := bundle.store.ListMembers(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, []db.Member{first, second, third}, got)

		got, err = bundle.store.ListMembers(ctx, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to a member that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		missing := db.NewID()
		_, err := bundle.store.UpdateMember(ctx, db.UpdateMemberParams{ID: missing, DisplayName: ptr("x")})
		requireNotFound(t, err)
		_, err = bundle.store.UpdateMember(ctx, db.UpdateMemberParams{ID: missing})
		requireNotFound(t, err)
		requireNotFound(t, bundle.store.RevokeMember(ctx, missing, at(time.Minute), "gone"))
		requireNotFound(t, bundle.store.RestoreMember(ctx, missing))
		requireNotFound(t, bundle.store.TouchMember(ctx, missing, at(time.Minute)))
	})

	t.Run("RevokeAndRestoreMember", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMember(t, bundle.store, bundle.mesh.ID)
		bystander := createMember(t, bundle.store, bundle.mesh.ID)

		require.NoError(t, bundle.store.RevokeMember(ctx, m.ID, at(time.Minute), "key leaked"))
		got, err := bundle.store.GetMember(ctx, m.ID)
		require.NoError(t, err)
		revoked := m
		revoked.RevokedAt = ptr(at(time.Minute))
		revoked.RevokeReason = "key leaked"
		require.Equal(t, revoked, got)

		// Restoring clears the whole revocation, reason included.
		require.NoError(t, bundle.store.RestoreMember(ctx, m.ID))
		got, err = bundle.store.GetMember(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)

		got, err = bundle.store.GetMember(ctx, bystander.ID)
		require.NoError(t, err)
		require.Equal(t, bystander, got)
	})

	t.Run("TouchMember", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMember(t, bundle.store, bundle.mesh.ID)
		bystander := createMember(t, bundle.store, bundle.mesh.ID)

		require.NoError(t, bundle.store.TouchMember(ctx, m.ID, at(time.Minute)))
		require.NoError(t, bundle.store.TouchMember(ctx, m.ID, at(2*time.Minute)))

		got, err := bundle.store.GetMember(ctx, m.ID)
		require.NoError(t, err)
		m.LastSeenAt = ptr(at(2 * time.Minute))
		require.Equal(t, m, got)

		got, err = bundle.store.GetMember(ctx, bystander.ID)
		require.NoError(t, err)
		require.Equal(t, bystander, got)
	})

	t.Run("UpdateMember", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMember(t, bundle.store, bundle.mesh.ID)

		// No field set: nothing changes.
		got, err := bundle.store.UpdateMember(ctx, db.UpdateMemberParams{ID: m.ID})
		require.NoError(t, err)
		require.Equal(t, m, got)

		// Some fields set: only those change.
		got, err = bundle.store.UpdateMember(ctx, db.UpdateMemberParams{
			ID:          m.ID,
			DisplayName: ptr("alice2"),
			MessageMode: ptr("inbox"),
		})
		require.NoError(t, err)
		m.DisplayName = "alice2"
		m.MessageMode = "inbox"
		require.Equal(t, m, got)

		// Every field set.
		groups := []db.GroupRole{{Name: "ops", Role: "oncall"}}
		got, err = bundle.store.UpdateMember(ctx, db.UpdateMemberParams{
			ID:            m.ID,
			DisplayName:   ptr("Alice"),
			Role:          ptr(db.RoleAdmin),
			RoleTag:       ptr("lead"),
			DefaultGroups: &groups,
			MessageMode:   ptr("push"),
		})
		require.NoError(t, err)
		m.DisplayName = "Alice"
		m.Role = db.RoleAdmin
		m.RoleTag = "lead"
		m.DefaultGroups = groups
		m.MessageMode = "push"
		require.Equal(t, m, got)

		// Set to empty values (not nil pointers): they are written.
		empty := []db.GroupRole{}
		got, err = bundle.store.UpdateMember(ctx, db.UpdateMemberParams{
			ID:            m.ID,
			RoleTag:       ptr(""),
			DefaultGroups: &empty,
		})
		require.NoError(t, err)
		m.RoleTag = ""
		m.DefaultGroups = nil
		require.Equal(t, m, got)

		stored, err := bundle.store.GetMember(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, stored)
	})

}
