package dbtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

func exerciseServices(t *testing.T, newStore NewStoreFunc) {
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

	upsertService := func(t *testing.T, q db.Queries, s db.Service) db.Service {
		t.Helper()
		got, err := q.UpsertService(t.Context(), s)
		require.NoError(t, err)
		requireServiceEqual(t, s, got)
		return s
	}

	requireService := func(t *testing.T, q db.Queries, want db.Service) {
		t.Helper()
		got, err := q.GetService(t.Context(), want.MeshID, want.Name)
		require.NoError(t, err)
		requireServiceEqual(t, want, got)
	}

	t.Run("CountServices", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		n, err := bundle.store.CountServices(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Zero(t, n)

		upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		upsertService(t, bundle.store, testService(bundle.mesh.ID, "github"))
		_, err = bundle.store.UpsertService(ctx, testService(bundle.mesh.ID, "github")) // a replace
		require.NoError(t, err)
		other := createMesh(t, bundle.store)
		upsertService(t, bundle.store, testService(other.ID, "search"))

		n, err = bundle.store.CountServices(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
	})

	t.Run("DeleteService", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		bystander := upsertService(t, bundle.store, testService(bundle.mesh.ID, "github"))

		require.NoError(t, bundle.store.DeleteService(ctx, s.ID))
		_, err := bundle.store.GetService(ctx, bundle.mesh.ID, "search")
		requireNotFound(t, err)
		requireService(t, bundle.store, bystander)

		requireNotFound(t, bundle.store.DeleteService(ctx, s.ID))
		requireNotFound(t, bundle.store.DeleteService(ctx, db.NewID()))

		// The name is free again.
		again := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		requireService(t, bundle.store, again)
	})

	t.Run("GetService", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		bare := upsertService(t, bundle.store, testService(bundle.mesh.ID, "bare", func(s *db.Service) {
			s.EnvSealed = nil
			s.Description = ""
			s.Runtime = ""
			s.StatusError = ""
			s.RestartCount = 0
			s.Source = json.RawMessage(`{}`)
			s.Config = json.RawMessage(`{}`)
			s.Scope = json.RawMessage(`"peer"`)
			s.Tools = json.RawMessage(`[]`)
		}))
		other := createMesh(t, bundle.store)
		upsertService(t, bundle.store, testService(other.ID, "search"))

		requireService(t, bundle.store, s)
		requireService(t, bundle.store, bare)

		_, err := bundle.store.GetService(ctx, bundle.mesh.ID, "missing")
		requireNotFound(t, err)
		_, err = bundle.store.GetService(ctx, db.NewID(), "search")
		requireNotFound(t, err)
	})

	t.Run("ListServices", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		got, err := bundle.store.ListServices(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Empty(t, got)

		search := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		github := upsertService(t, bundle.store, testService(bundle.mesh.ID, "github"))
		linear := upsertService(t, bundle.store, testService(bundle.mesh.ID, "linear"))
		other := createMesh(t, bundle.store)
		upsertService(t, bundle.store, testService(other.ID, "alpha"))

		got, err = bundle.store.ListServices(ctx, bundle.mesh.ID)
		require.NoError(t, err)
		requireServicesEqual(t, []db.Service{github, linear, search}, got)
	})

	t.Run("ListServicesByStatus", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		other := createMesh(t, bundle.store)
		running1 := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search", func(s *db.Service) { s.Status = "running" }))
		running2 := upsertService(t, bundle.store, testService(other.ID, "search", func(s *db.Service) { s.Status = "running" }))
		upsertService(t, bundle.store, testService(bundle.mesh.ID, "github", func(s *db.Service) { s.Status = "failed" }))

		got, err := bundle.store.ListServicesByStatus(ctx, "running")
		require.NoError(t, err)
		require.Len(t, got, 2)
		// The order across meshes is not part of the contract.
		if got[0].ID != running1.ID {
			got[0], got[1] = got[1], got[0]
		}
		requireServicesEqual(t, []db.Service{running1, running2}, got)

		got, err = bundle.store.ListServicesByStatus(ctx, "stopped")
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("MissingRowNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Writes to a service that does not exist are ErrNotFound, not silent
		// no-ops ("a missing row is ErrNotFound").
		missing := db.NewID()
		requireNotFound(t, bundle.store.UpdateServiceStatus(ctx, db.UpdateServiceStatusParams{ID: missing, Status: "running", UpdatedAt: at(0)}))
		requireNotFound(t, bundle.store.UpdateServiceScope(ctx, missing, []byte(`"mesh"`), at(0)))
	})

	t.Run("NilJSONDefaults", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		// Nil JSON documents store the column defaults.
		s := testService(bundle.mesh.ID, "search", func(s *db.Service) {
			s.Source, s.Config, s.Scope, s.Tools = nil, nil, nil, nil
			s.EnvSealed = nil
		})
		want := s
		want.Source = json.RawMessage(`{}`)
		want.Config = json.RawMessage(`{}`)
		want.Scope = json.RawMessage(`"peer"`)
		want.Tools = json.RawMessage(`[]`)
		got, err := bundle.store.UpsertService(ctx, s)
		require.NoError(t, err)
		requireServiceEqual(t, want, got)
		requireService(t, bundle.store, want)

		require.NoError(t, bundle.store.UpdateServiceStatus(ctx, db.UpdateServiceStatusParams{
			ID:        s.ID,
			Status:    "running",
			UpdatedAt: at(time.Minute),
		}))
		require.NoError(t, bundle.store.UpdateServiceScope(ctx, s.ID, nil, at(2*time.Minute)))
		want.Status = "running"
		want.StatusError = ""
		want.RestartCount = 0
		want.UpdatedAt = at(2 * time.Minute)
		requireService(t, bundle.store, want)
	})

	t.Run("UpdateServiceScope", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		bystander := upsertService(t, bundle.store, testService(bundle.mesh.ID, "github"))

		scope := []byte(`{"groups":["backend","ops"]}`)
		require.NoError(t, bundle.store.UpdateServiceScope(ctx, s.ID, scope, at(time.Minute)))
		s.Scope = scope
		s.UpdatedAt = at(time.Minute)
		requireService(t, bundle.store, s)
		requireService(t, bundle.store, bystander)
	})

	t.Run("UpdateServiceStatus", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		s := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))
		bystander := upsertService(t, bundle.store, testService(bundle.mesh.ID, "github"))

		tools := []byte(`[{"name":"search","inputSchema":{"type":"object"}},{"name":"fetch"}]`)
		require.NoError(t, bundle.store.UpdateServiceStatus(ctx, db.UpdateServiceStatusParams{
			ID:           s.ID,
			Status:       "failed",
			StatusError:  "exit status 1",
			Tools:        tools,
			RestartCount: 3,
			UpdatedAt:    at(time.Minute),
		}))
		s.Status = "failed"
		s.StatusError = "exit status 1"
		s.Tools = tools
		s.RestartCount = 3
		s.UpdatedAt = at(time.Minute)
		requireService(t, bundle.store, s)
		requireService(t, bundle.store, bystander)
	})

	t.Run("UpsertService", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		ctx := t.Context()

		first := upsertService(t, bundle.store, testService(bundle.mesh.ID, "search"))

		// A second upsert of the same mesh and name replaces everything but
		// the id and the creation time, and returns the stored row.
		second := testService(bundle.mesh.ID, "search", func(s *db.Service) {
			s.Type = "skill"
			s.Description = "replaced"
			s.Source = json.RawMessage(`{"kind":"git","url":"https://example.com/x.git"}`)
			s.Runtime = "python"
			s.Config = json.RawMessage(`{}`)
			s.EnvSealed = nil
			s.Scope = json.RawMessage(`{"peers":["bob"]}`)
			s.Status = "deploying"
			s.StatusError = ""
			s.Tools = json.RawMessage(`[]`)
			s.RestartCount = 0
			s.DeployedByMemberID = db.NewID()
			s.DeployedByName = "bob"
			s.CreatedAt = at(time.Hour)
			s.UpdatedAt = at(time.Hour)
		})
		got, err := bundle.store.UpsertService(ctx, second)
		require.NoError(t, err)
		want := second
		want.ID = first.ID
		want.CreatedAt = first.CreatedAt
		requireServiceEqual(t, want, got)
		requireService(t, bundle.store, want)

		// The same name in another mesh is another service.
		other := createMesh(t, bundle.store)
		elsewhere := upsertService(t, bundle.store, testService(other.ID, "search"))
		requireService(t, bundle.store, elsewhere)
		requireService(t, bundle.store, want)
	})
}
