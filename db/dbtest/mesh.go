package dbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseMeshes(t *testing.T, newStore NewStoreFunc) {
	t.Helper()

	type testBundle struct {
		store db.Store
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{store: newStore(t)}
	}

	t.Run("ArchiveMesh", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		kept := createMesh(t, bundle.store)
		archived := createMesh(t, bundle.store)
		require.NoError(t, bundle.store.ArchiveMesh(ctx, archived.ID, at(time.Minute)))

		got, err := bundle.store.GetMesh(ctx, archived.ID)
		require.NoError(t, err)
		archived.ArchivedAt = ptr(at(time.Minute))
		require.Equal(t, archived, got)

		list, err := bundle.store.ListMeshes(ctx)
		require.NoError(t, err)
		require.Equal(t, []db.Mesh{kept}, list)
	})

	t.Run("CreateMeshConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)

		sameSlug := testMesh(func(x *db.Mesh) { x.Slug = m.Slug })
		requireConflict(t, bundle.store.CreateMesh(ctx, sameSlug))

		sameID := testMesh(func(x *db.Mesh) { x.ID = m.ID })
		requireConflict(t, bundle.store.CreateMesh(ctx, sameID))

		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("GetMesh", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)
		createMesh(t, bundle.store)

		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("GetMeshBySlug", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)
		createMesh(t, bundle.store)

		got, err := bundle.store.GetMeshBySlug(ctx, m.Slug)
		require.NoError(t, err)
		require.Equal(t, m, got)

		// Archived meshes are found too.
		require.NoError(t, bundle.store.ArchiveMesh(ctx, m.ID, at(time.Minute)))
		got, err = bundle.store.GetMeshBySlug(ctx, m.Slug)
		require.NoError(t, err)
		m.ArchivedAt = ptr(at(time.Minute))
		require.Equal(t, m, got)
	})

	t.Run("GetMeshNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)

		_, err := bundle.store.GetMesh(ctx, db.NewID())
		requireNotFound(t, err)
		_, err = bundle.store.GetMeshBySlug(ctx, "no-such-slug")
		requireNotFound(t, err)
		// The slug is not an id, nor the id a slug.
		_, err = bundle.store.GetMesh(ctx, m.Slug)
		requireNotFound(t, err)
		_, err = bundle.store.GetMeshBySlug(ctx, m.ID)
		requireNotFound(t, err)
	})

	t.Run("ListMeshGroups", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)
		other := createMesh(t, bundle.store)

		want := make([]db.MeshGroup, 0, 3)
		for _, name := range []string{"ops", "backend", "frontend"} {
			g := testMeshGroup(m.ID, func(g *db.MeshGroup) { g.Name = name })
			require.NoError(t, bundle.store.UpsertMeshGroup(ctx, g))
			want = append(want, g)
		}
		require.NoError(t, bundle.store.UpsertMeshGroup(ctx, testMeshGroup(other.ID)))

		got, err := bundle.store.ListMeshGroups(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []db.MeshGroup{want[1], want[2], want[0]}, got)

		got, err = bundle.store.ListMeshGroups(ctx, db.NewID())
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("ListMeshes", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		list, err := bundle.store.ListMeshes(ctx)
		require.NoError(t, err)
		require.Empty(t, list)

		// Inserted out of order: the list is by creation time.
		second := createMesh(t, bundle.store, func(m *db.Mesh) { m.CreatedAt = at(2 * time.Minute) })
		first := createMesh(t, bundle.store, func(m *db.Mesh) { m.CreatedAt = at(time.Minute) })
		third := createMesh(t, bundle.store, func(m *db.Mesh) { m.CreatedAt = at(3 * time.Minute) })
		archived := createMesh(t, bundle.store, func(m *db.Mesh) { m.CreatedAt = at(0) })
		require.NoError(t, bundle.store.ArchiveMesh(ctx, archived.ID, at(4*time.Minute)))

		list, err = bundle.store.ListMeshes(ctx)
		require.NoError(t, err)
		require.Equal(t, []db.Mesh{first, second, third}, list)
	})

	t.Run("MeshZeroValues", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Empty optional text and an all-false policy round-trip as such.
		m := createMesh(t, bundle.store, func(m *db.Mesh) {
			m.Template = ""
			m.PromptHint = ""
			m.Policy = db.MeshPolicy{}
		})
		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to a mesh that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		missing := db.NewID()
		requireNotFound(t, bundle.store.UpdateMeshPolicy(ctx, missing, db.MeshPolicy{}))
		requireNotFound(t, bundle.store.ArchiveMesh(ctx, missing, at(time.Minute)))
	})

	t.Run("UpdateMeshPolicy", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)
		other := createMesh(t, bundle.store)

		policy := db.MeshPolicy{SelfEditable: db.SelfEditable{RoleTag: true, MessageMode: true}}
		require.NoError(t, bundle.store.UpdateMeshPolicy(ctx, m.ID, policy))

		got, err := bundle.store.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		m.Policy = policy
		require.Equal(t, m, got)

		got, err = bundle.store.GetMesh(ctx, other.ID)
		require.NoError(t, err)
		require.Equal(t, other, got)
	})

	t.Run("UpsertMeshGroup", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)
		g := testMeshGroup(m.ID)
		require.NoError(t, bundle.store.UpsertMeshGroup(ctx, g))

		got, err := bundle.store.ListMeshGroups(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []db.MeshGroup{g}, got)

		// A second upsert replaces the roles only: the group keeps the time it
		// was first declared.
		again := g
		again.Roles = []string{"owner"}
		again.CreatedAt = at(time.Hour)
		require.NoError(t, bundle.store.UpsertMeshGroup(ctx, again))

		got, err = bundle.store.ListMeshGroups(ctx, m.ID)
		require.NoError(t, err)
		g.Roles = []string{"owner"}
		require.Equal(t, []db.MeshGroup{g}, got)
	})

	t.Run("UpsertMeshGroupEmptyRoles", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		m := createMesh(t, bundle.store)
		withNil := testMeshGroup(m.ID, func(g *db.MeshGroup) { g.Name = "a"; g.Roles = nil })
		withEmpty := testMeshGroup(m.ID, func(g *db.MeshGroup) { g.Name = "b"; g.Roles = []string{} })
		require.NoError(t, bundle.store.UpsertMeshGroup(ctx, withNil))
		require.NoError(t, bundle.store.UpsertMeshGroup(ctx, withEmpty))

		got, err := bundle.store.ListMeshGroups(ctx, m.ID)
		require.NoError(t, err)
		withEmpty.Roles = nil
		require.Equal(t, []db.MeshGroup{withNil, withEmpty}, got)
	})
}
