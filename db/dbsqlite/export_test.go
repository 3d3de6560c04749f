package dbsqlite

import (
	"context"
	"database/sql"
)

// SQLDB exposes a store's *sql.DB to the external tests, to check the
// connection's pragmas.
func SQLDB(s *Store) *sql.DB { return s.db }

// MaxStmts is how many statements a store's cache holds at most.
const MaxStmts = maxStmts

// StmtCache is the part of a store's statement cache the external tests
// run their own SQL through.
type StmtCache interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Stmts exposes the statement cache a store's own calls run on.
func Stmts(s *Store) StmtCache { return s.pool }

// CachedStmts reports how many statements a store's cache holds.
func CachedStmts(s *Store) int {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return len(s.pool.stmts)
}
