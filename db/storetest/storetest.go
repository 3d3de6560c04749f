// Package storetest opens real, migrated, empty databases of every engine for
// tests outside the db module's own: a SQLite file in the test's temp dir and
// a fresh Postgres database from pgtest.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg"
	"claudemesh.dev/db/dbsqlite"
	"claudemesh.dev/db/pgtest"
)

// Engine opens stores of one engine.
type Engine struct {
	// Name is "sqlite" or "postgres", for subtest names.
	Name string
	// Open returns a fresh, migrated, empty store closed at the end of t.
	Open func(t testing.TB) db.Store
}

// Engines returns both engines, SQLite first. The Postgres engine skips (or,
// under CI=true, fails) its test when no Postgres is available; see pgtest.
func Engines() []Engine {
	return []Engine{{Name: "sqlite", Open: SQLite}, {Name: "postgres", Open: Postgres}}
}

// SQLite opens a migrated SQLite store in t's temp dir.
func SQLite(t testing.TB) db.Store {
	t.Helper()
	ctx := context.Background()
	s, err := dbsqlite.Open(ctx, filepath.Join(t.TempDir(), "claudemesh.db"), dbsqlite.Config{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return s
}

// Postgres opens a store on a fresh migrated Postgres database.
func Postgres(t testing.TB) db.Store {
	t.Helper()
	ctx := context.Background()
	s, err := dbpg.Open(ctx, pgtest.NewURL(t), dbpg.Config{})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
