package dbsqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
)

// queries implements db.Queries on one sqlc.DBTX: the statement cache on
// the pool for the Store, its statements bound to a transaction inside InTx
// (see stmtCache).
type queries struct {
	dbtx sqlc.DBTX
	q    *sqlc.Queries
	// pool, the statement cache on the pool, is set outside a transaction.
	// Methods that need several statements to be atomic open their own
	// transaction on it; inside a transaction (pool nil) they run on dbtx
	// directly.
	pool *stmtCache
}

var _ db.Queries = (*queries)(nil)

// withTx runs fn atomically: in a new transaction when q runs on the pool,
// under a savepoint of q's own transaction when q already runs in one (see
// withSavepoint).
func (q *queries) withTx(ctx context.Context, fn func(q *queries) error) (err error) {
	if q.pool == nil {
		return q.withSavepoint(ctx, fn)
	}
	q.pool.promote(ctx)
	tx, err := q.pool.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, fmt.Errorf("roll back transaction: %w", rbErr))
			}
		}
	}()
	if err := fn(&queries{dbtx: q.pool.inTx(tx), q: q.q}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", interpretError(err))
	}
	committed = true
	return nil
}

// savepointName names withSavepoint's savepoint. Savepoints nest, so one
// name serves every level.
const savepointName = "dbsqlite_atomic"

// withSavepoint runs fn in q's transaction under a savepoint. When fn fails
// its writes are rolled back and the caller's earlier writes, and the
// transaction, stay usable: a multi-statement method fails as a whole
// inside InTx too, as it does outside one. (Postgres instead aborts the
// whole transaction on a failed statement; portable callers return the
// error.)
func (q *queries) withSavepoint(ctx context.Context, fn func(q *queries) error) error {
	if _, err := q.dbtx.ExecContext(ctx, "SAVEPOINT "+savepointName); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(q); err != nil {
		// Undo fn's writes even when ctx is done. ROLLBACK TO keeps the
		// savepoint, so release it too.
		undoCtx := context.WithoutCancel(ctx)
		if _, rbErr := q.dbtx.ExecContext(undoCtx, "ROLLBACK TO "+savepointName); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rbErr))
		}
		if _, relErr := q.dbtx.ExecContext(undoCtx, "RELEASE "+savepointName); relErr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint: %w", relErr))
		}
		return err
	}
	if _, err := q.dbtx.ExecContext(ctx, "RELEASE "+savepointName); err != nil {
		return fmt.Errorf("release savepoint: %w", interpretError(err))
	}
	return nil
}

// interpretError maps SQLite errors onto the db sentinels: no row is
// db.ErrNotFound, a unique or primary-key violation is db.ErrConflict
// (wrapping the SQLite error, which names the constraint). Any other error
// comes back unchanged.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return db.ErrNotFound
	}
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		switch sqliteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", db.ErrConflict, err)
		}
	}
	return err
}

// wrapErr interprets err and prefixes it with what was being done, such as
// "get mesh". It returns nil for a nil err.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, interpretError(err))
}

// requireRows turns an update or delete that touched no row into
// db.ErrNotFound.
func requireRows(op string, n int64, err error) error {
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, db.ErrNotFound)
	}
	return nil
}
