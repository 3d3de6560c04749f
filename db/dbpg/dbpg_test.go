package dbpg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg"
	"claudemesh.dev/db/dbtest"
	"claudemesh.dev/db/pgtest"
)

// openStore opens a Store on a fresh migrated database and closes it when
// the test ends.
func openStore(t *testing.T) *dbpg.Store {
	t.Helper()
	store, err := dbpg.Open(t.Context(), pgtest.NewURL(t), dbpg.Config{MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	return store
}

func TestConformance(t *testing.T) {
	t.Parallel()

	dbtest.Exercise(t, func(t *testing.T) db.Store {
		t.Helper()
		return openStore(t)
	})
}

func TestStore(t *testing.T) {
	t.Parallel()

	// A fixed, non-UTC clock with sub-microsecond noise: Postgres keeps
	// microseconds and the store returns UTC.
	base := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	stored := base.Truncate(time.Microsecond).UTC()

	type testBundle struct {
		ctx   context.Context
		mesh  db.Mesh
		store *dbpg.Store
	}

	setup := func(t *testing.T) *testBundle {
		t.Helper()
		store := openStore(t)
		mesh := db.Mesh{
			ID:          db.NewID(),
			Slug:        "mesh-" + db.NewID()[:8],
			Name:        "Test mesh",
			OwnerPubkey: "owner",
			CreatedAt:   base,
		}
		require.NoError(t, store.CreateMesh(t.Context(), mesh))
		return &testBundle{ctx: t.Context(), mesh: mesh, store: store}
	}

	newMember := func(t *testing.T, bundle *testBundle, pubkey string) db.Member {
		t.Helper()
		m := db.Member{
			ID:          db.NewID(),
			MeshID:      bundle.mesh.ID,
			Pubkey:      pubkey,
			DisplayName: pubkey,
			Role:        db.RoleMember,
			MessageMode: "push",
			JoinedAt:    base,
		}
		require.NoError(t, bundle.store.CreateMember(bundle.ctx, m))
		return m
	}

	t.Run("ClaimDeliveriesConcurrentDisjoint", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sender := newMember(t, bundle, "sender")
		recipient := newMember(t, bundle, "recipient")

		const messages = 40
		deliveries := make([]db.Delivery, 0, messages)
		for i := range messages {
			msg := db.Message{
				ID:             db.NewID(),
				MeshID:         bundle.mesh.ID,
				SenderMemberID: sender.ID,
				TargetSpec:     recipient.Pubkey,
				Priority:       "now",
				Ciphertext:     "c",
				CreatedAt:      base.Add(time.Duration(i) * time.Millisecond),
				ExpiresAt:      base.Add(time.Hour),
			}
			require.NoError(t, bundle.store.InsertMessages(bundle.ctx, []db.Message{msg}))
			deliveries = append(deliveries, db.Delivery{
				MessageID:         msg.ID,
				MeshID:            bundle.mesh.ID,
				RecipientMemberID: recipient.ID,
				Priority:          "now",
				CreatedAt:         msg.CreatedAt,
				ExpiresAt:         msg.ExpiresAt,
			})
		}
		require.NoError(t, bundle.store.InsertDeliveries(bundle.ctx, deliveries))

		const claimers = 8
		var (
			mu      sync.Mutex
			claimed = map[string]string{} // message id → presence
			wg      sync.WaitGroup
			errs    = make(chan error, claimers)
		)
		for i := range claimers {
			presence := "presence-" + string(rune('a'+i))
			wg.Go(func() {
				for {
					got, err := bundle.store.ClaimDeliveries(bundle.ctx, db.ClaimDeliveriesParams{
						MeshID:     bundle.mesh.ID,
						MemberID:   recipient.ID,
						Priorities: []string{"now", "next", "low"},
						ClaimedBy:  presence,
						Now:        base.Add(time.Second),
						LeaseUntil: base.Add(time.Minute),
						Limit:      3,
					})
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, c := range got {
						if prev, ok := claimed[c.Delivery.MessageID]; ok && prev != presence {
							mu.Unlock()
							errs <- errors.New("message " + c.Delivery.MessageID + " claimed by " + prev + " and " + presence)
							return
						}
						claimed[c.Delivery.MessageID] = presence
					}
					mu.Unlock()
					// Ack, so the rows are done with for good.
					ids := make([]string, 0, len(got))
					for _, c := range got {
						ids = append(ids, c.Delivery.MessageID)
					}
					n, err := bundle.store.AckDeliveries(bundle.ctx, presence, ids, base.Add(2*time.Second))
					if err != nil {
						errs <- err
						return
					}
					if n != int64(len(ids)) {
						errs <- fmt.Errorf("%s acked %d of its %d rows", presence, n, len(ids))
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, claimed, messages)

		pending, err := bundle.store.CountPendingDeliveries(bundle.ctx)
		require.NoError(t, err)
		require.Zero(t, pending)
	})

	t.Run("ClaimDeliveriesOrderAndTimes", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sender := newMember(t, bundle, "sender")
		recipient := newMember(t, bundle, "recipient")

		// Insert newest first: the claim must still come back oldest first.
		var ids []string
		for i := 2; i >= 0; i-- {
			msg := db.Message{
				ID:              db.NewID(),
				MeshID:          bundle.mesh.ID,
				SenderMemberID:  sender.ID,
				TargetSpec:      "*",
				Priority:        "next",
				Ciphertext:      "c",
				ClientMessageID: "client-" + string(rune('0'+i)),
				CreatedAt:       base.Add(time.Duration(i) * time.Second),
				ExpiresAt:       base.Add(time.Hour),
			}
			require.NoError(t, bundle.store.InsertMessages(bundle.ctx, []db.Message{msg}))
			require.NoError(t, bundle.store.InsertDeliveries(bundle.ctx, []db.Delivery{{
				MessageID:         msg.ID,
				MeshID:            bundle.mesh.ID,
				RecipientMemberID: recipient.ID,
				Priority:          msg.Priority,
				CreatedAt:         msg.CreatedAt,
				ExpiresAt:         msg.ExpiresAt,
			}}))
			ids = append([]string{msg.ID}, ids...)
		}

		now := base.Add(time.Minute)
		got, err := bundle.store.ClaimDeliveries(bundle.ctx, db.ClaimDeliveriesParams{
			MeshID:     bundle.mesh.ID,
			MemberID:   recipient.ID,
			Priorities: []string{"next"},
			ClaimedBy:  "p1",
			Now:        now,
			LeaseUntil: now.Add(time.Minute),
			Limit:      10,
		})
		require.NoError(t, err)
		require.Len(t, got, 3)
		for i, c := range got {
			require.Equal(t, ids[i], c.Delivery.MessageID)
			require.Equal(t, ids[i], c.Message.ID)
			require.Equal(t, "p1", c.Delivery.ClaimedBy)
			require.Equal(t, time.UTC, c.Delivery.CreatedAt.Location())
			require.Equal(t, now.Truncate(time.Microsecond).UTC(), *c.Delivery.PushedAt)
			require.Equal(t, "client-"+string(rune('0'+i)), c.Message.ClientMessageID)
		}

		// Nobody, the holder included, claims the rows while the lease
		// holds; released (a reconnect), the holder gets them again.
		for _, by := range []string{"p2", "p1"} {
			other, err := bundle.store.ClaimDeliveries(bundle.ctx, db.ClaimDeliveriesParams{
				MeshID: bundle.mesh.ID, MemberID: recipient.ID, Priorities: []string{"next"},
				ClaimedBy: by, Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10,
			})
			require.NoError(t, err)
			require.Empty(t, other)
		}
		n, err := bundle.store.ReleaseClaims(bundle.ctx, "p1")
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
		again, err := bundle.store.ClaimDeliveries(bundle.ctx, db.ClaimDeliveriesParams{
			MeshID: bundle.mesh.ID, MemberID: recipient.ID, Priorities: []string{"next"},
			ClaimedBy: "p1", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10,
		})
		require.NoError(t, err)
		require.Len(t, again, 3)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		dup := bundle.mesh
		dup.ID = db.NewID() // same slug
		err := bundle.store.CreateMesh(bundle.ctx, dup)
		require.ErrorIs(t, err, db.ErrConflict)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, "the driver error stays reachable")
		require.Equal(t, "meshes_slug_key", pgErr.ConstraintName)
		require.Contains(t, err.Error(), "create mesh: ")

		m := newMember(t, bundle, "pk")
		m.ID = db.NewID()
		require.ErrorIs(t, bundle.store.CreateMember(bundle.ctx, m), db.ErrConflict)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		_, err := bundle.store.GetMesh(bundle.ctx, "missing")
		require.ErrorIs(t, err, db.ErrNotFound)
		require.EqualError(t, err, "get mesh: not found")

		require.ErrorIs(t, bundle.store.ArchiveMesh(bundle.ctx, "missing", base), db.ErrNotFound)
		require.ErrorIs(t, bundle.store.DeleteService(bundle.ctx, "missing"), db.ErrNotFound)
		_, err = bundle.store.NextScheduleDue(bundle.ctx)
		require.ErrorIs(t, err, db.ErrNotFound)
		_, err = bundle.store.TakePendingStatus(bundle.ctx, bundle.mesh.ID, "session", base, base)
		require.ErrorIs(t, err, db.ErrNotFound)
	})

	t.Run("InTxRollsBack", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		errBoom := errors.New("boom")
		err := bundle.store.InTx(bundle.ctx, func(q db.Queries) error {
			require.NoError(t, q.UpsertState(bundle.ctx, db.StateEntry{
				MeshID: bundle.mesh.ID, Key: "k", Value: json.RawMessage(`1`), UpdatedAt: base,
			}))
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		_, err = bundle.store.GetState(bundle.ctx, bundle.mesh.ID, "k")
		require.ErrorIs(t, err, db.ErrNotFound)

		require.NoError(t, bundle.store.InTx(bundle.ctx, func(q db.Queries) error {
			return q.UpsertState(bundle.ctx, db.StateEntry{
				MeshID: bundle.mesh.ID, Key: "k", Value: json.RawMessage(`{"a": [1, 2]}`), UpdatedAt: base,
			})
		}))
		got, err := bundle.store.GetState(bundle.ctx, bundle.mesh.ID, "k")
		require.NoError(t, err)
		require.JSONEq(t, `{"a":[1,2]}`, string(got.Value))
		require.Equal(t, `{"a":[1,2]}`, string(got.Value), "jsonb comes back compacted")
	})

	t.Run("JSONAndTimesRoundTrip", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		got, err := bundle.store.GetMesh(bundle.ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Equal(t, stored, got.CreatedAt)
		require.Nil(t, got.ArchivedAt)

		m := newMember(t, bundle, "pk")
		groups := []db.GroupRole{{Name: "eng", Role: "lead"}, {Name: "ops"}}
		updated, err := bundle.store.UpdateMember(bundle.ctx, db.UpdateMemberParams{ID: m.ID, DefaultGroups: &groups})
		require.NoError(t, err)
		require.Equal(t, groups, updated.DefaultGroups)
		require.Equal(t, m.DisplayName, updated.DisplayName, "nil fields keep their value")

		empty := []db.GroupRole{}
		updated, err = bundle.store.UpdateMember(bundle.ctx, db.UpdateMemberParams{ID: m.ID, DefaultGroups: &empty})
		require.NoError(t, err)
		require.Nil(t, updated.DefaultGroups, "an empty array reads back as nil")

		svc, err := bundle.store.UpsertService(bundle.ctx, db.Service{
			ID: db.NewID(), MeshID: bundle.mesh.ID, Name: "svc", Type: "mcp", Status: "stopped",
			CreatedAt: base, UpdatedAt: base,
		})
		require.NoError(t, err)
		require.Equal(t, `{}`, string(svc.Source))
		require.Equal(t, `"peer"`, string(svc.Scope))
		require.Equal(t, `[]`, string(svc.Tools))
		require.Nil(t, svc.EnvSealed)
	})

	t.Run("ListAPIKeysOperator", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)

		operator := db.APIKey{ID: db.NewID(), Label: "op", SecretHash: db.NewID(), Prefix: "op", CreatedAt: base}
		meshKey := db.APIKey{
			ID: db.NewID(), MeshID: bundle.mesh.ID, Label: "mesh", SecretHash: db.NewID(), Prefix: "m",
			Capabilities: []string{"send"}, CreatedAt: base,
		}
		require.NoError(t, bundle.store.CreateAPIKey(bundle.ctx, operator))
		require.NoError(t, bundle.store.CreateAPIKey(bundle.ctx, meshKey))

		keys, err := bundle.store.ListAPIKeys(bundle.ctx, "")
		require.NoError(t, err)
		require.Len(t, keys, 1)
		require.Equal(t, operator.ID, keys[0].ID)
		require.Empty(t, keys[0].MeshID)
		require.Nil(t, keys[0].Capabilities)

		keys, err = bundle.store.ListAPIKeys(bundle.ctx, bundle.mesh.ID)
		require.NoError(t, err)
		require.Len(t, keys, 1)
		require.Equal(t, []string{"send"}, keys[0].Capabilities)
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()

	t.Run("Idempotent", func(t *testing.T) {
		t.Parallel()
		store := openStore(t)

		current, latest, err := store.MigrationVersion(t.Context())
		require.NoError(t, err)
		require.Positive(t, latest)
		require.Equal(t, latest, current, "pgtest databases come migrated")

		require.NoError(t, store.Migrate(t.Context()))
		require.NoError(t, store.Migrate(t.Context()))

		again, _, err := store.MigrationVersion(t.Context())
		require.NoError(t, err)
		require.Equal(t, current, again)
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		store := openStore(t)

		// Replicas starting together: every Migrate succeeds.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { errs <- store.Migrate(t.Context()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})

	t.Run("EmptyDatabase", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewURL(t)

		// Drop the schema pgtest built to get a never-migrated database.
		conn, err := pgx.Connect(t.Context(), url)
		require.NoError(t, err)
		_, err = conn.Exec(t.Context(), "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
		require.NoError(t, err)
		require.NoError(t, conn.Close(t.Context()))

		store, err := dbpg.Open(t.Context(), url, dbpg.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, store.Close()) })

		current, latest, err := store.MigrationVersion(t.Context())
		require.NoError(t, err)
		require.Zero(t, current)
		require.Positive(t, latest)

		require.NoError(t, store.Migrate(t.Context()))
		current, _, err = store.MigrationVersion(t.Context())
		require.NoError(t, err)
		require.Equal(t, latest, current)
		require.NoError(t, store.CreateMesh(t.Context(), db.Mesh{
			ID: db.NewID(), Slug: "s", Name: "n", OwnerPubkey: "o", CreatedAt: time.Now(),
		}))
	})
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("BadURL", func(t *testing.T) {
		t.Parallel()
		_, err := dbpg.Open(t.Context(), "postgres://%zz", dbpg.Config{})
		require.ErrorContains(t, err, "parse database url")
	})

	t.Run("NegativeMaxConns", func(t *testing.T) {
		t.Parallel()
		_, err := dbpg.Open(t.Context(), "postgres://localhost/x", dbpg.Config{MaxConns: -1})
		require.ErrorContains(t, err, "invalid config")
	})

	t.Run("PingAndEngine", func(t *testing.T) {
		t.Parallel()
		store := openStore(t)
		require.NoError(t, store.Ping(t.Context()))
		require.Equal(t, db.EnginePostgres, store.Engine())
	})
}
