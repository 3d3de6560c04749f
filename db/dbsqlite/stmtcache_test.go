package dbsqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite"
)

func TestStmtCache(t *testing.T) {
	t.Parallel()

	t.Run("PreparesOncePerQuery", func(t *testing.T) {
		t.Parallel()

		s := newStore(t).(*dbsqlite.Store)
		ctx := t.Context()
		m := testMesh()
		require.NoError(t, s.CreateMesh(ctx, m))

		n := dbsqlite.CachedStmts(s)
		for range 3 {
			got, err := s.GetMesh(ctx, m.ID)
			require.NoError(t, err)
			require.Equal(t, m.ID, got.ID)
		}
		require.Equal(t, n+1, dbsqlite.CachedStmts(s))
	})

	t.Run("QueryFirstSeenInTx", func(t *testing.T) {
		t.Parallel()

		s := newStore(t).(*dbsqlite.Store)
		ctx := t.Context()
		f := newMsgFixture()
		insert := func() {
			t.Helper()
			ms, ds := f.rows(2)
			require.NoError(t, s.InTx(ctx, func(q db.Queries) error {
				if err := q.InsertMessages(ctx, ms); err != nil {
					return err
				}
				return q.InsertDeliveries(ctx, ds)
			}))
			for _, m := range ms {
				_, err := s.GetMessage(ctx, m.ID)
				require.NoError(t, err)
			}
		}
		require.NoError(t, s.InTx(ctx, func(q db.Queries) error { return f.create(ctx, q) }))

		// A transaction cannot prepare on the pool (it holds the
		// connection): its queries run unprepared and are prepared before
		// the next transaction, which runs them on the cached statements.
		insert()
		n := dbsqlite.CachedStmts(s)
		insert()
		// InsertMessage, InsertDelivery, SAVEPOINT and RELEASE.
		require.Equal(t, n+4, dbsqlite.CachedStmts(s))
		insert()
		require.Equal(t, n+4, dbsqlite.CachedStmts(s))
	})

	t.Run("ErrorsOnCachedStatements", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()
		m := testMesh()
		sender := testMember(m.ID)
		require.NoError(t, s.CreateMesh(ctx, m))
		require.NoError(t, s.CreateMember(ctx, sender))
		message := func(clientID string) db.Message {
			return db.Message{
				ID: db.NewID(), MeshID: m.ID, SenderMemberID: sender.ID, TargetSpec: "@bob",
				Priority: "next", Ciphertext: "x", ClientMessageID: clientID,
				CreatedAt: m.CreatedAt, ExpiresAt: m.CreatedAt.Add(time.Hour),
			}
		}

		// The second round runs on the statements the first one left
		// cached: the conflict is still db.ErrConflict, and the savepoint
		// still undoes the failed batch alone.
		for i := range 2 {
			kept := message("")
			clientID := fmt.Sprintf("c%d", i)
			require.NoError(t, s.InTx(ctx, func(q db.Queries) error {
				err := q.InsertMessages(ctx, []db.Message{message(clientID), message(clientID)})
				require.ErrorIs(t, err, db.ErrConflict)
				return q.InsertMessages(ctx, []db.Message{kept})
			}))
			_, err := s.GetMessage(ctx, kept.ID)
			require.NoError(t, err)
			_, err = s.GetMessageByClientID(ctx, sender.ID, clientID)
			require.ErrorIs(t, err, db.ErrNotFound)
			require.ErrorIs(t, s.CreateMesh(ctx, m), db.ErrConflict)
		}
	})

	t.Run("FailedPrepareNotCached", func(t *testing.T) {
		t.Parallel()

		s := newStore(t).(*dbsqlite.Store)
		ctx := t.Context()
		stmts := dbsqlite.Stmts(s)
		const insert, sel = "INSERT INTO scratch (x) VALUES (?)", "SELECT x FROM scratch"

		n := dbsqlite.CachedStmts(s)
		_, err := stmts.ExecContext(ctx, insert, 1)
		require.ErrorContains(t, err, "no such table: scratch")
		var x int
		require.ErrorContains(t, stmts.QueryRowContext(ctx, sel).Scan(&x), "no such table: scratch")
		require.Equal(t, n, dbsqlite.CachedStmts(s))

		_, err = dbsqlite.SQLDB(s).ExecContext(ctx, "CREATE TABLE scratch (x INTEGER)")
		require.NoError(t, err)
		_, err = stmts.ExecContext(ctx, insert, 1)
		require.NoError(t, err)
		require.NoError(t, stmts.QueryRowContext(ctx, sel).Scan(&x))
		require.Equal(t, 1, x)
		require.Equal(t, n+2, dbsqlite.CachedStmts(s))
	})

	t.Run("Full", func(t *testing.T) {
		t.Parallel()

		s := newStore(t).(*dbsqlite.Store)
		ctx := t.Context()
		stmts := dbsqlite.Stmts(s)

		// Past the bound, queries run unprepared.
		for i := range dbsqlite.MaxStmts + 10 {
			var got int
			require.NoError(t, stmts.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&got))
			require.Equal(t, i, got)
		}
		require.Equal(t, dbsqlite.MaxStmts, dbsqlite.CachedStmts(s))
		_, err := s.ListMeshes(ctx)
		require.NoError(t, err)
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()

		s := newStore(t)
		ctx := t.Context()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					m := testMesh()
					err := s.InTx(ctx, func(q db.Queries) error {
						if err := q.CreateMesh(ctx, m); err != nil {
							return err
						}
						_, err := q.GetMesh(ctx, m.ID)
						return err
					})
					if err != nil {
						t.Errorf("in tx: %v", err)
						return
					}
					if _, err := s.GetMeshBySlug(ctx, m.Slug); err != nil {
						t.Errorf("get mesh by slug: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// benchBatch is how many messages, and deliveries, a benchmark transaction
// inserts, as the broker's batch writer does.
const benchBatch = 256

// msgFixture is a mesh with a sender and a recipient, to make messages in.
type msgFixture struct {
	mesh      db.Mesh
	sender    db.Member
	recipient db.Member
}

// newMsgFixture returns a new mesh and two members of it, not yet stored.
func newMsgFixture() msgFixture {
	m := testMesh()
	return msgFixture{mesh: m, sender: testMember(m.ID), recipient: testMember(m.ID)}
}

// create stores the mesh and its members.
func (f msgFixture) create(ctx context.Context, q db.Queries) error {
	return errors.Join(
		q.CreateMesh(ctx, f.mesh),
		q.CreateMember(ctx, f.sender),
		q.CreateMember(ctx, f.recipient),
	)
}

// rows returns n new messages from the sender, each with a delivery to the
// recipient.
func (f msgFixture) rows(n int) ([]db.Message, []db.Delivery) {
	at := f.mesh.CreatedAt
	ms := make([]db.Message, n)
	ds := make([]db.Delivery, n)
	for i := range ms {
		ms[i] = db.Message{
			ID: db.NewID(), MeshID: f.mesh.ID, SenderMemberID: f.sender.ID, TargetSpec: "@bob",
			Priority: "next", Ciphertext: "x", CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		}
		ds[i] = db.Delivery{
			MessageID: ms[i].ID, MeshID: f.mesh.ID, RecipientMemberID: f.recipient.ID,
			Priority: "next", CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		}
	}
	return ms, ds
}

// newBenchStore opens a migrated store on a fresh file, with f stored in
// it, and closes it when b ends.
func newBenchStore(b *testing.B, f msgFixture) *dbsqlite.Store {
	b.Helper()
	ctx := b.Context()
	s, err := dbsqlite.Open(ctx, filepath.Join(b.TempDir(), "claudemesh.db"), dbsqlite.Config{})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, s.Close()) })
	require.NoError(b, s.Migrate(ctx))
	require.NoError(b, f.create(ctx, s))
	return s
}

// BenchmarkInsertMessages inserts a batch of messages and their deliveries
// in one InTx, as the broker's batch writer does.
func BenchmarkInsertMessages(b *testing.B) {
	f := newMsgFixture()
	s := newBenchStore(b, f)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		ms, ds := f.rows(benchBatch)
		require.NoError(b, s.InTx(ctx, func(q db.Queries) error {
			if err := q.InsertMessages(ctx, ms); err != nil {
				return err
			}
			return q.InsertDeliveries(ctx, ds)
		}))
	}
}

// BenchmarkInsertMessage inserts one message and its delivery on the Store,
// each in a transaction of its own.
func BenchmarkInsertMessage(b *testing.B) {
	f := newMsgFixture()
	s := newBenchStore(b, f)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		ms, ds := f.rows(1)
		require.NoError(b, s.InsertMessages(ctx, ms))
		require.NoError(b, s.InsertDeliveries(ctx, ds))
	}
}

// BenchmarkGetMessage reads one message on the Store, outside any
// transaction.
func BenchmarkGetMessage(b *testing.B) {
	f := newMsgFixture()
	s := newBenchStore(b, f)
	ctx := b.Context()
	ms, _ := f.rows(1)
	require.NoError(b, s.InsertMessages(ctx, ms))
	b.ReportAllocs()
	for b.Loop() {
		_, err := s.GetMessage(ctx, ms[0].ID)
		require.NoError(b, err)
	}
}
