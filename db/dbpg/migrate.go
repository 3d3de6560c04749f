package dbpg

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations returns the embedded goose migrations, *.sql files at the root
// of the returned file system. pgtest hashes them to key its template
// databases.
func Migrations() fs.FS {
	// fs.Sub fails only for an invalid path, and this one is a constant.
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return sub
}

// migrationLockID is the key of the session-level advisory lock held while
// migrating. It differs from goose's default so that another goose-managed
// application sharing the database never waits on us.
const migrationLockID int64 = 0x636d6573686d6967 // "cmeshmig"

// Migrate applies every pending migration. It holds a Postgres advisory
// lock while it works, so replicas starting together migrate one at a time
// and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	// goose's Postgres session locker polls pg_try_advisory_lock; one second
	// is its shortest period. The wait is bounded by ctx and by five minutes.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return fmt.Errorf("migrate: create locker: %w", err)
	}
	provider, err := s.newProvider(goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = provider.Close() }() // closes the database/sql view only

	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", interpretError(err))
	}
	return nil
}

// MigrationVersion reports the applied migration version and the latest
// version this binary knows. It takes no lock and, unlike goose, does not
// create the version table in a database that has never been migrated: it
// reports 0 there.
func (s *Store) MigrationVersion(ctx context.Context) (current, latest int64, err error) {
	provider, err := s.newProvider()
	if err != nil {
		return 0, 0, fmt.Errorf("migration version: %w", err)
	}
	defer func() { _ = provider.Close() }() // closes the database/sql view only

	if sources := provider.ListSources(); len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}

	var exists bool
	err = s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", goose.DefaultTablename).Scan(&exists)
	if err != nil {
		return 0, 0, fmt.Errorf("migration version: find version table: %w", interpretError(err))
	}
	if !exists {
		return 0, latest, nil
	}
	current, err = provider.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migration version: %w", interpretError(err))
	}
	return current, latest, nil
}

// newProvider returns a goose provider for the embedded migrations over a
// database/sql view of the pool. Closing the provider closes only that
// view, not the pool.
func (s *Store) newProvider(opts ...goose.ProviderOption) (*goose.Provider, error) {
	sqlDB := stdlib.OpenDBFromPool(s.pool)
	opts = append([]goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(s.logger.With(slog.String("component", "dbpg.migrate"))),
	}, opts...)
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations(), opts...)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create goose provider: %w", err), sqlDB.Close())
	}
	return provider, nil
}
