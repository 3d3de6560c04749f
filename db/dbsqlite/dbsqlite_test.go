package dbsqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite"
)

// schemaVersion is the newest migration's version.
const schemaVersion = int64(2)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openStore opens an unmigrated store on a fresh file and closes it when t
// ends.
func openStore(t *testing.T, path string) *dbsqlite.Store {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := dbsqlite.Open(t.Context(), path, dbsqlite.Config{Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// newStore is the store factory: a migrated store on a file of its own.
func newStore(t *testing.T) db.Store {
	t.Helper()
	s := openStore(t, filepath.Join(t.TempDir(), "claudemesh.db"))
	require.NoError(t, s.Migrate(t.Context()))
	return s
}

func testMesh() db.Mesh {
	id := db.NewID()
	return db.Mesh{
		ID:          id,
		Slug:        "mesh-" + id,
		Name:        "Test mesh",
		OwnerPubkey: db.NewID(),
		CreatedAt:   time.Date(2026, 11, 28, 12, 0, 0, 123456000, time.UTC),
	}
}

func testMember(meshID string) db.Member {
	return db.Member{
		ID:          db.NewID(),
		MeshID:      meshID,
		Pubkey:      db.NewID(),
		DisplayName: "alice",
		Role:        db.RoleMember,
		MessageMode: "push",
		JoinedAt:    time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("CreatesParentDirectory", func(t *testing.T) {
		t.Parallel()

		dir := filepath.Join(t.TempDir(), "state", "claudemesh")
		s := openStore(t, filepath.Join(dir, "claudemesh.db"))
		require.NoError(t, s.Ping(t.Context()))

		info, err := os.Stat(dir)
		require.NoError(t, err)
		require.True(t, info.IsDir())
		require.Equal(t, os.FileMode(0o700), info.Mode().Perm())

		// The database and its WAL are private to the owner.
		require.NoError(t, s.Migrate(t.Context()))
		for _, name := range []string{"claudemesh.db", "claudemesh.db-wal"} {
			info, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), name)
		}
	})

	t.Run("Engine", func(t *testing.T) {
		t.Parallel()

		require.Equal(t, db.EngineSQLite, newStore(t).Engine())
	})

	t.Run("RejectsBadPaths", func(t *testing.T) {
		t.Parallel()

		_, err := dbsqlite.Open(t.Context(), "", dbsqlite.Config{})
		require.Error(t, err)
		_, err = dbsqlite.Open(t.Context(), filepath.Join(t.TempDir(), "a?b.db"), dbsqlite.Config{})
		require.Error(t, err)
	})

	t.Run("NotADatabase", func(t *testing.T) {
		t.Parallel()

		path := filepath.Join(t.TempDir(), "junk.db")
		require.NoError(t, os.WriteFile(path, []byte("this is not a database, just some text padding it out"), 0o600))
		s, err := dbsqlite.Open(t.Context(), path, dbsqlite.Config{})
		if err == nil {
			// Some failures only show at the first real statement.
			t.Cleanup(func() { _ = s.Close() })
			require.Error(t, s.Migrate(t.Context()))
		}
	})

	t.Run("Pragmas", func(t *testing.T) {
		t.Parallel()

		sqlDB := dbsqlite.SQLDB(newStore(t).(*dbsqlite.Store))
		ctx := t.Context()

		var journalMode string
		require.NoError(t, sqlDB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journalMode))
		require.Equal(t, "wal", journalMode)

		var foreignKeys, busyTimeout, synchronous, autoVacuum int
		require.NoError(t, sqlDB.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&foreignKeys))
		require.Equal(t, 1, foreignKeys)
		require.NoError(t, sqlDB.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busyTimeout))
		require.Equal(t, 10000, busyTimeout)
		require.NoError(t, sqlDB.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&synchronous))
		require.Equal(t, 1, synchronous) // NORMAL
		require.NoError(t, sqlDB.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&autoVacuum))
		require.Equal(t, 2, autoVacuum) // INCREMENTAL
	})

	t.Run("Ping", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		require.NoError(t, s.Ping(t.Context()))
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()

	t.Run("Idempotent", func(t *testing.T) {
		t.Parallel()

		s := openStore(t, filepath.Join(t.TempDir(), "claudemesh.db"))
		ctx := t.Context()

		current, latest, err := s.MigrationVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(0), current)
		require.Equal(t, schemaVersion, latest)

		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Migrate(ctx))

		current, latest, err = s.MigrationVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, schemaVersion, current)
		require.Equal(t, schemaVersion, latest)

		require.NoError(t, s.CreateMesh(ctx, testMesh()))
	})

	t.Run("Reopen", func(t *testing.T) {
		t.Parallel()

		path := filepath.Join(t.TempDir(), "claudemesh.db")
		ctx := t.Context()

		first, err := dbsqlite.Open(ctx, path, dbsqlite.Config{})
		require.NoError(t, err)
		require.NoError(t, first.Migrate(ctx))
		m := testMesh()
		require.NoError(t, first.CreateMesh(ctx, m))
		require.NoError(t, first.Close())

		second := openStore(t, path)
		current, _, err := second.MigrationVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, schemaVersion, current)
		require.NoError(t, second.Migrate(ctx))
		got, err := second.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})
}

func TestTimes(t *testing.T) {
	t.Parallel()

	t.Run("RoundTripMicrosecondsUTC", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			paris = time.FixedZone("CET", 3600)
		}
		// Nanoseconds are truncated; the zone becomes UTC.
		created := time.Date(2026, 7, 14, 9, 30, 15, 123456789, paris)
		archived := time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC) // before the epoch

		m := testMesh()
		m.CreatedAt = created
		m.ArchivedAt = &archived
		require.NoError(t, s.CreateMesh(ctx, m))

		got, err := s.GetMesh(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, time.UTC, got.CreatedAt.Location())
		require.Equal(t, created.Truncate(time.Microsecond).UTC(), got.CreatedAt)
		require.Equal(t, 123456000, got.CreatedAt.Nanosecond())
		require.NotNil(t, got.ArchivedAt)
		require.Equal(t, archived, *got.ArchivedAt)
	})

	t.Run("StoredAsIntegerMicroseconds", func(t *testing.T) {
		t.Parallel()

		st := newStore(t)
		ctx := t.Context()

		m := testMesh()
		require.NoError(t, st.CreateMesh(ctx, m))

		var typ string
		var v int64
		row := dbsqlite.SQLDB(st.(*dbsqlite.Store)).QueryRowContext(ctx,
			"SELECT typeof(created_at), created_at FROM meshes WHERE id = ?", m.ID)
		require.NoError(t, row.Scan(&typ, &v))
		require.Equal(t, "integer", typ)
		require.Equal(t, m.CreatedAt.UnixMicro(), v)
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()

	t.Run("Conflict", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		m := testMesh()
		require.NoError(t, s.CreateMesh(ctx, m))

		sameID := testMesh()
		sameID.ID = m.ID // primary key
		err := s.CreateMesh(ctx, sameID)
		require.ErrorIs(t, err, db.ErrConflict)
		require.ErrorContains(t, err, "create mesh")

		sameSlug := testMesh()
		sameSlug.Slug = m.Slug // unique constraint
		require.ErrorIs(t, s.CreateMesh(ctx, sameSlug), db.ErrConflict)

		mem := testMember(m.ID)
		require.NoError(t, s.CreateMember(ctx, mem))
		samePubkey := testMember(m.ID)
		samePubkey.Pubkey = mem.Pubkey
		require.ErrorIs(t, s.CreateMember(ctx, samePubkey), db.ErrConflict)
	})

	t.Run("ForeignKeyIsNeither", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)

		err := s.CreateMember(t.Context(), testMember(db.NewID()))
		require.Error(t, err)
		require.NotErrorIs(t, err, db.ErrConflict)
		require.NotErrorIs(t, err, db.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		_, err := s.GetMesh(ctx, db.NewID())
		require.ErrorIs(t, err, db.ErrNotFound)
		require.ErrorContains(t, err, "get mesh")

		_, err = s.ConsumeInvite(ctx, db.NewID(), time.Now())
		require.ErrorIs(t, err, db.ErrNotFound)
		require.ErrorIs(t, s.DeleteService(ctx, db.NewID()), db.ErrNotFound)
		_, err = s.NextScheduleDue(ctx)
		require.ErrorIs(t, err, db.ErrNotFound)
	})

	t.Run("InvalidJSON", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		m := testMesh()
		require.NoError(t, s.CreateMesh(ctx, m))
		err := s.UpsertState(ctx, db.StateEntry{MeshID: m.ID, Key: "k", Value: json.RawMessage(`{nope`)})
		require.ErrorContains(t, err, "invalid JSON")
	})
}

func TestJSONDefaults(t *testing.T) {
	t.Parallel()

	s := newStore(t)
	ctx := t.Context()

	m := testMesh()
	require.NoError(t, s.CreateMesh(ctx, m))

	svc, err := s.UpsertService(ctx, db.Service{ID: db.NewID(), MeshID: m.ID, Name: "search"})
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(svc.Source))
	require.JSONEq(t, `{}`, string(svc.Config))
	require.JSONEq(t, `"peer"`, string(svc.Scope))
	require.JSONEq(t, `[]`, string(svc.Tools))
	require.Nil(t, svc.EnvSealed)

	sk, err := s.UpsertSkill(ctx, db.Skill{ID: db.NewID(), MeshID: m.ID, Name: "review"})
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(sk.Manifest))
	require.Nil(t, sk.Tags)

	// Empty slices come back nil.
	mem := testMember(m.ID)
	mem.DefaultGroups = []db.GroupRole{}
	require.NoError(t, s.CreateMember(ctx, mem))
	got, err := s.GetMember(ctx, mem.ID)
	require.NoError(t, err)
	require.Nil(t, got.DefaultGroups)
}

func TestInTx(t *testing.T) {
	t.Parallel()

	t.Run("Commit", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		m := testMesh()
		require.NoError(t, s.InTx(ctx, func(q db.Queries) error {
			if err := q.CreateMesh(ctx, m); err != nil {
				return err
			}
			// A multi-statement method runs in the caller's transaction.
			return q.InsertDeliveries(ctx, nil)
		}))
		_, err := s.GetMesh(ctx, m.ID)
		require.NoError(t, err)
	})

	t.Run("FailedBatchUndoneInCallersTx", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		m := testMesh()
		sender := testMember(m.ID)
		message := func(clientID string) db.Message {
			return db.Message{
				ID: db.NewID(), MeshID: m.ID, SenderMemberID: sender.ID, TargetSpec: "@bob",
				Priority: "next", Ciphertext: "x", ClientMessageID: clientID,
				CreatedAt: m.CreatedAt, ExpiresAt: m.CreatedAt.Add(time.Hour),
			}
		}
		kept := message("")
		first, dup := message("c1"), message("c1")

		// A failing batch inside InTx undoes its own rows (a savepoint), and
		// leaves the transaction and the writes before it usable. (Postgres
		// aborts the whole transaction instead; see dbtest.)
		require.NoError(t, s.InTx(ctx, func(q db.Queries) error {
			require.NoError(t, q.CreateMesh(ctx, m))
			require.NoError(t, q.CreateMember(ctx, sender))
			require.ErrorIs(t, q.InsertMessages(ctx, []db.Message{first, dup}), db.ErrConflict)
			return q.InsertMessages(ctx, []db.Message{kept})
		}))

		_, err := s.GetMessage(ctx, kept.ID)
		require.NoError(t, err)
		for _, id := range []string{first.ID, dup.ID} {
			_, err = s.GetMessage(ctx, id)
			require.ErrorIs(t, err, db.ErrNotFound)
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		m := testMesh()
		errBoom := errors.New("boom")
		err := s.InTx(ctx, func(q db.Queries) error {
			require.NoError(t, q.CreateMesh(ctx, m))
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)

		_, err = s.GetMesh(ctx, m.ID)
		require.ErrorIs(t, err, db.ErrNotFound)
	})

	t.Run("StoreCallInsideWaitsForContext", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()

		// The transaction holds the only connection: a Store call from
		// inside fn cannot run and gives up when its context ends.
		err := s.InTx(ctx, func(db.Queries) error {
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := s.ListMeshes(short)
			return err
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestClaimDeliveriesConcurrent(t *testing.T) {
	t.Parallel()

	s := newStore(t)
	ctx := t.Context()
	base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

	m := testMesh()
	require.NoError(t, s.CreateMesh(ctx, m))
	sender := testMember(m.ID)
	recipient := testMember(m.ID)
	require.NoError(t, s.CreateMember(ctx, sender))
	require.NoError(t, s.CreateMember(ctx, recipient))

	const total = 40
	for i := range total {
		msg := db.Message{
			ID:             db.NewID(),
			MeshID:         m.ID,
			SenderMemberID: sender.ID,
			TargetSpec:     "@bob",
			Priority:       "next",
			Ciphertext:     "x",
			CreatedAt:      base.Add(time.Duration(i) * time.Second),
			ExpiresAt:      base.Add(time.Hour),
		}
		require.NoError(t, s.InsertMessages(ctx, []db.Message{msg}))
		require.NoError(t, s.InsertDeliveries(ctx, []db.Delivery{{
			MessageID:         msg.ID,
			MeshID:            m.ID,
			RecipientMemberID: recipient.ID,
			Priority:          msg.Priority,
			CreatedAt:         msg.CreatedAt,
			ExpiresAt:         msg.ExpiresAt,
		}}))
	}

	// Every claimer claims once, concurrently: the leases must not overlap
	// and, as each takes up to total/claimers rows, together they take all.
	const claimers = 8
	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		wg      sync.WaitGroup
	)
	for c := range claimers {
		claimer := "presence-" + string(rune('a'+c))
		wg.Go(func() {
			got, err := s.ClaimDeliveries(ctx, db.ClaimDeliveriesParams{
				MeshID:     m.ID,
				MemberID:   recipient.ID,
				Priorities: []string{"now", "next", "low"},
				ClaimedBy:  claimer,
				Now:        base.Add(time.Minute),
				LeaseUntil: base.Add(2 * time.Minute),
				Limit:      total / claimers,
			})
			if err != nil {
				t.Errorf("claim deliveries: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, cd := range got {
				if prev, ok := claimed[cd.Delivery.MessageID]; ok {
					t.Errorf("message %s claimed by %s and %s", cd.Delivery.MessageID, prev, claimer)
				}
				claimed[cd.Delivery.MessageID] = claimer
				if i > 0 && cd.Delivery.CreatedAt.Before(got[i-1].Delivery.CreatedAt) {
					t.Errorf("claims out of order")
				}
				if cd.Message.ID != cd.Delivery.MessageID || cd.Delivery.ClaimedBy != claimer {
					t.Errorf("claimed delivery does not match: %+v", cd)
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, claimed, total)
}
