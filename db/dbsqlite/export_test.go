package dbsqlite

import "database/sql"

// SQLDB exposes a store's *sql.DB to the external tests, to check the
// connection's pragmas.
func SQLDB(s *Store) *sql.DB { return s.db }
