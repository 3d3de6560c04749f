package dbsqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"claudemesh.dev/db/dbsqlite/internal/sqlc"
)

// maxStmts bounds the statements a stmtCache holds, for a query whose text
// varies (sqlc expands a sqlc.slice argument into one placeholder per
// element; our queries take lists as JSON arrays instead): once the cache is
// full, new queries run unprepared, as they would without the cache.
const maxStmts = 512

// stmtCache is the sqlc.DBTX of a Store outside transactions: it runs each
// query on a statement prepared on the pool once per distinct query, so
// that SQLite parses and plans the query once rather than at every call
// (database/sql prepares an unprepared query at every call; a prepared
// modernc statement keeps its sqlite3_stmt and resets it between runs).
//
// Preparing needs the pool's only connection, which a transaction holds
// while it runs, so a transaction cannot prepare on the pool: a query first
// seen in a transaction runs unprepared there and is left pending, and
// promote prepares it before the next transaction begins (see txStmts).
//
// It is safe for concurrent use.
type stmtCache struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	// pending holds the queries a transaction ran unprepared, for promote.
	pending map[string]struct{}
}

var _ sqlc.DBTX = (*stmtCache)(nil)

// newStmtCache returns an empty cache on the pool db.
func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{
		db:      db,
		stmts:   make(map[string]*sql.Stmt),
		pending: make(map[string]struct{}),
	}
}

// lookup returns query's statement, or nil when it is not cached; then, if
// there is room, it leaves query pending for promote.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stmts[query]
	if !ok && len(c.stmts)+len(c.pending) < maxStmts {
		c.pending[query] = struct{}{}
	}
	return s
}

// prepare returns query's statement, preparing it on the pool and caching
// it when it is not cached yet; nil, and no error, when the cache is full.
// A failed prepare is not cached. It needs the pool's connection: it must
// not run inside a transaction.
func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	s, ok := c.stmts[query]
	full := len(c.stmts) >= maxStmts
	c.mu.Unlock()
	if ok || full {
		return s, nil
	}

	// Prepare without the lock: waiting for the connection under it would
	// block every transaction's lookup, and the connection's holder with
	// it.
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.stmts[query]; ok {
		// Another call prepared it meanwhile. Closing a statement of the
		// pool only releases it; it cannot fail.
		_ = s.Close()
		return cached, nil
	}
	c.stmts[query] = s
	return s, nil
}

// promote prepares the pending queries on the pool. withTx runs it before
// it begins a transaction, which needs the connection too. A query that
// fails to prepare (because ctx ended, say) stays out of the cache until a
// later transaction leaves it pending again: there is nothing to report,
// that transaction has run the query already.
func (c *stmtCache) promote(ctx context.Context) {
	c.mu.Lock()
	pending := slices.Collect(maps.Keys(c.pending))
	clear(c.pending)
	c.mu.Unlock()
	for _, query := range pending {
		_, _ = c.prepare(ctx, query) // a failure leaves query uncached; see above
	}
}

// inTx returns the sqlc.DBTX that runs queries in tx on the cache's
// statements.
func (c *stmtCache) inTx(tx *sql.Tx) txStmts {
	return txStmts{cache: c, tx: tx}
}

// ExecContext runs query, on its cached statement when it has one.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.db.ExecContext(ctx, query, args...)
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs query, on its cached statement when it has one.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.db.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs query, on its cached statement when it has one.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := c.prepare(ctx, query)
	if err != nil || s == nil {
		// A *sql.Row cannot be made to carry err; running the query
		// unprepared fails the same way.
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// PrepareContext prepares query on the pool, outside the cache: the caller
// owns, and closes, the statement.
func (c *stmtCache) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, query)
}

// Close closes the cached statements. The pool stays open.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for query, s := range c.stmts {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close statement %q: %w", query, err))
		}
	}
	clear(c.stmts)
	clear(c.pending)
	return errors.Join(errs...)
}

// txStmts is the sqlc.DBTX of a transaction: it runs a query whose
// statement is cached on that statement, bound to tx (Tx.StmtContext,
// which reuses the sqlite3_stmt already prepared on the connection), and
// any other query unprepared, leaving it pending in the cache.
//
// The calls of one query share one sqlite3_stmt, so the same query must not
// run again in the transaction while rows of an earlier run are open; the
// sqlc methods read their rows to the end before they return.
type txStmts struct {
	cache *stmtCache
	tx    *sql.Tx
}

var _ sqlc.DBTX = txStmts{}

// stmt returns query's cached statement bound to t.tx, or nil when query is
// not cached.
func (t txStmts) stmt(ctx context.Context, query string) *sql.Stmt {
	s := t.cache.lookup(query)
	if s == nil {
		return nil
	}
	return t.tx.StmtContext(ctx, s)
}

// ExecContext runs query in the transaction.
func (t txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query in the transaction.
func (t txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query in the transaction.
func (t txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares query in the transaction, outside the cache.
func (t txStmts) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, query)
}
