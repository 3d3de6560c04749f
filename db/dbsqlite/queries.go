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

// queries implements db.Queries on one sqlc.DBTX: the pool for the Store,
// a transaction inside InTx.
type queries struct {
	dbtx sqlc.DBTX
	q    *sqlc.Queries
	// pool is set outside a transaction. Methods that need several
	// statements to be atomic open their own transaction on it; inside a
	// transaction (pool nil) they run on dbtx directly.
	pool *sql.DB
}

var _ db.Queries = (*queries)(nil)

// withTx runs fn in a transaction: a new one when q runs on the pool, q's
// own when q already runs in one.
func (q *queries) withTx(ctx context.Context, fn func(q *queries) error) (err error) {
	if q.pool == nil {
		return fn(q)
	}
	tx, err := q.pool.BeginTx(ctx, nil)
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
	if err := fn(&queries{dbtx: tx, q: q.q}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", interpretError(err))
	}
	committed = true
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
