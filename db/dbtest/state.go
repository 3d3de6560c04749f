package dbtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseState(t *testing.T, newStore NewStoreFunc) {
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

	t.Run("GetState", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		e := testStateEntry(bundle.mesh.ID, "build")
		require.NoError(t, bundle.store.UpsertState(ctx, e))
		other := createMesh(t, bundle.store)
		require.NoError(t, bundle.store.UpsertState(ctx, testStateEntry(other.ID, "build", func(e *db.StateEntry) {
			e.Value = json.RawMessage(`"other mesh"`)
		})))

		got, err := bundle.store.GetState(ctx, bundle.mesh.ID, "build")
		require.NoError(t, err)
		requireStateEntryEqual(t, e, got)

		_, err = bundle.store.GetState(ctx, bundle.mesh.ID, "missing")
		requireNotFound(t, err)
		_, err = bundle.store.GetState(ctx, db.NewID(), "build")
		requireNotFound(t, err)
	})

	t.Run("ListState", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListState(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		entries := make([]db.StateEntry, 0, 3)
		for _, key := range []string{"release", "branch", "owner"} {
			e := testStateEntry(bundle.mesh.ID, key)
			require.NoError(t, bundle.store.UpsertState(ctx, e))
			entries = append(entries, e)
		}
		other := createMesh(t, bundle.store)
		require.NoError(t, bundle.store.UpsertState(ctx, testStateEntry(other.ID, "alpha")))

		got, err = bundle.store.ListState(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		requireStateEntriesEqual(t, []db.StateEntry{entries[1], entries[2], entries[0]}, got)
	})

	t.Run("ListStateByteOrder", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Keys sort by their bytes, in every engine, whatever the database's
		// collation: upper case before lower case, punctuation by code.
		keys := []string{"b", "a_b", "B", "ab", "a-b", "A", "a.b", "é"}
		for _, key := range keys {
			require.NoError(t, bundle.store.UpsertState(ctx, testStateEntry(bundle.mesh.ID, key)))
		}

		list, err := bundle.store.ListState(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		got := make([]string, len(list))
		for i, e := range list {
			got[i] = e.Key
		}
		require.Equal(t, []string{"A", "B", "a-b", "a.b", "a_b", "ab", "b", "é"}, got)
	})

	t.Run("StateValueKinds", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		values := map[string]string{
			"array":  `[1, "two", {"three": 3}, [], null]`,
			"bool":   `false`,
			"float":  `-12.5e3`,
			"nested": `{"z": {"y": [true, {"x": null}]}, "a": "", "unicode": "héllo ✓"}`,
			"null":   `null`,
			"number": `42`,
			"object": `{"b": 2, "a": 1}`,
			"string": `"some \"quoted\" text"`,
		}
		for key, v := range values {
			require.NoError(t, bundle.store.UpsertState(ctx, testStateEntry(bundle.mesh.ID, key, func(e *db.StateEntry) {
				e.Value = json.RawMessage(v)
			})))
		}

		for key, v := range values {
			got, err := bundle.store.GetState(ctx, bundle.mesh.ID, key)
			require.NoError(t, err)
			require.JSONEq(t, v, string(got.Value), key)
		}

		list, err := bundle.store.ListState(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Len(t, list, len(values))
		for _, e := range list {
			require.JSONEq(t, values[e.Key], string(e.Value), e.Key)
		}
	})

	t.Run("UpsertState", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		first := testStateEntry(bundle.mesh.ID, "build")
		require.NoError(t, bundle.store.UpsertState(ctx, first))

		second := testStateEntry(bundle.mesh.ID, "build", func(e *db.StateEntry) {
			e.Value = json.RawMessage(`["red"]`)
			e.UpdatedByMemberID = db.NewID()
			e.UpdatedByName = "bob"
			e.UpdatedAt = at(time.Minute)
		})
		require.NoError(t, bundle.store.UpsertState(ctx, second))

		got, err := bundle.store.GetState(ctx, bundle.mesh.ID, "build")
		require.NoError(t, err)
		requireStateEntryEqual(t, second, got)

		list, err := bundle.store.ListState(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		requireStateEntriesEqual(t, []db.StateEntry{second}, list)
	})
}
