// Package pgtest gives each test its own real, migrated Postgres database.
//
// NewURL clones a template database that pgtestdb builds once per
// migrations hash, so a fresh database costs a CREATE DATABASE … TEMPLATE,
// not a migration run. The server comes from TEST_DATABASE_URL, a superuser
// URL such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable;
// scripts/with-postgres.sh starts a throwaway cluster and sets it.
package pgtest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"claudemesh.dev/db/dbpg"
)

// EnvURL names the environment variable holding the admin connection URL.
const EnvURL = "TEST_DATABASE_URL"

// NewURL returns a connection URL to a fresh, fully migrated, empty
// database for this test. The database is dropped when the test passes and
// kept for inspection when it fails; close every connection to it in a
// t.Cleanup registered after NewURL.
//
// Without TEST_DATABASE_URL the test is skipped, or failed when CI is set
// to a true value, so CI never passes by skipping.
func NewURL(t testing.TB) string {
	t.Helper()

	adminURL := os.Getenv(EnvURL)
	if adminURL == "" {
		const howTo = "run `make test`, or wrap the command in scripts/with-postgres.sh, " +
			"which starts a throwaway Postgres cluster and sets " + EnvURL
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("pgtest: %s is not set, and CI must run the Postgres tests: %s", EnvURL, howTo)
		}
		t.Skipf("pgtest: SKIPPING POSTGRES TEST: %s is not set; %s", EnvURL, howTo)
	}

	conf, err := configFromURL(adminURL)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// configFromURL turns a postgres:// URL into a pgtestdb config.
func configFromURL(raw string) (pgtestdb.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return pgtestdb.Config{}, fmt.Errorf("parse url: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return pgtestdb.Config{}, fmt.Errorf("want a postgres:// url, got scheme %q", u.Scheme)
	}
	password, _ := u.User.Password()
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       cmp.Or(u.Hostname(), "localhost"),
		Port:       cmp.Or(u.Port(), "5432"),
		User:       cmp.Or(u.User.Username(), "postgres"),
		Password:   password,
		Database:   cmp.Or(strings.TrimPrefix(u.Path, "/"), "postgres"),
		Options:    u.RawQuery,
	}, nil
}

// migrator builds pgtestdb's template database with dbpg's own Migrate, so
// tests run on exactly the schema production gets.
type migrator struct{}

var _ pgtestdb.Migrator = migrator{}

// hashVersion changes whenever the way templates are built changes, to
// retire old templates even when the migrations did not change.
const hashVersion = "pgtest/v1"

// Hash identifies the schema: a SHA-256 of the migration file names and
// contents.
func (migrator) Hash() (string, error) {
	migrations := dbpg.Migrations()
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\n", hashVersion)
	for _, name := range names { // fs.Glob sorts
		data, err := fs.ReadFile(migrations, name)
		if err != nil {
			return "", fmt.Errorf("read migration %s: %w", name, err)
		}
		_, _ = fmt.Fprintf(h, "%s %d\n", name, len(data))
		_, _ = h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Migrate runs dbpg's migrations on the new template database. It connects
// with its own pool, as the application does, rather than through the
// *sql.DB pgtestdb offers.
func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	store, err := dbpg.Open(ctx, conf.URL(), dbpg.Config{MaxConns: 2})
	if err != nil {
		return fmt.Errorf("open template database: %w", err)
	}
	defer func() { _ = store.Close() }()
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}
