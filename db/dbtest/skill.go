package dbtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseSkills(t *testing.T, newStore NewStoreFunc) {
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

	upsertSkill := func(t *testing.T, q db.Queries, s db.Skill) db.Skill {
		t.Helper()
		got, err := q.UpsertSkill(t.Context(), s)
		require.NoError(t, err)
		requireSkillEqual(t, s, got)
		return s
	}

	requireSkill := func(t *testing.T, q db.Queries, want db.Skill) {
		t.Helper()
		got, err := q.GetSkill(t.Context(), want.MeshID, want.Name)
		require.NoError(t, err)
		requireSkillEqual(t, want, got)
	}

	t.Run("DeleteSkill", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "review"))
		bystander := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "deploy"))
		other := createMesh(t, bundle.store)
		elsewhere := upsertSkill(t, bundle.store, testSkill(other.ID, "review"))

		require.NoError(t, bundle.store.DeleteSkill(ctx, bundle.mesh.ID, "review"))
		_, err := bundle.store.GetSkill(ctx, bundle.mesh.ID, "review")
		requireNotFound(t, err)
		requireSkill(t, bundle.store, bystander)
		requireSkill(t, bundle.store, elsewhere)

		requireNotFound(t, bundle.store.DeleteSkill(ctx, bundle.mesh.ID, "review"))
		requireNotFound(t, bundle.store.DeleteSkill(ctx, db.NewID(), "deploy"))
	})

	t.Run("GetSkill", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "review"))
		upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "deploy"))
		requireSkill(t, bundle.store, s)

		_, err := bundle.store.GetSkill(ctx, bundle.mesh.ID, "missing")
		requireNotFound(t, err)
		_, err = bundle.store.GetSkill(ctx, db.NewID(), "review")
		requireNotFound(t, err)
	})

	t.Run("ListSkills", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListSkills(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		review := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "review"))
		deploy := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "deploy"))
		triage := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "triage"))
		other := createMesh(t, bundle.store)
		upsertSkill(t, bundle.store, testSkill(other.ID, "alpha"))

		got, err = bundle.store.ListSkills(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		requireSkillsEqual(t, []db.Skill{deploy, review, triage}, got)
	})

	t.Run("NilManifestDefault", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		s := testSkill(bundle.mesh.ID, "review", func(s *db.Skill) { s.Manifest = nil })
		got, err := bundle.store.UpsertSkill(t.Context(), s)
		require.NoError(t, err)
		s.Manifest = json.RawMessage(`{}`)
		requireSkillEqual(t, s, got)
		requireSkill(t, bundle.store, s)
	})

	t.Run("SkillEmptyTags", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		withNil := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "a", func(s *db.Skill) { s.Tags = nil }))
		requireSkill(t, bundle.store, withNil)

		withEmpty := testSkill(bundle.mesh.ID, "b", func(s *db.Skill) { s.Tags = []string{} })
		got, err := bundle.store.UpsertSkill(t.Context(), withEmpty)
		require.NoError(t, err)
		require.Nil(t, got.Tags)
		withEmpty.Tags = nil
		requireSkill(t, bundle.store, withEmpty)
	})

	t.Run("UpsertSkill", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		first := upsertSkill(t, bundle.store, testSkill(bundle.mesh.ID, "review"))

		// A second upsert of the same mesh and name replaces everything but
		// the id and the creation time, and returns the stored row.
		second := testSkill(bundle.mesh.ID, "review", func(s *db.Skill) {
			s.Description = "replaced"
			s.Instructions = "Do it differently."
			s.Tags = []string{"new"}
			s.Manifest = json.RawMessage(`{"version":2}`)
			s.AuthorMemberID = db.NewID()
			s.AuthorName = "bob"
			s.CreatedAt = at(time.Hour)
			s.UpdatedAt = at(time.Hour)
		})
		got, err := bundle.store.UpsertSkill(ctx, second)
		require.NoError(t, err)
		want := second
		want.ID = first.ID
		want.CreatedAt = first.CreatedAt
		requireSkillEqual(t, want, got)
		requireSkill(t, bundle.store, want)

		// The same name in another mesh is another skill.
		other := createMesh(t, bundle.store)
		elsewhere := upsertSkill(t, bundle.store, testSkill(other.ID, "review"))
		requireSkill(t, bundle.store, elsewhere)
		requireSkill(t, bundle.store, want)
	})
}
