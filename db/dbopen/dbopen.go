// Package dbopen opens a claudemesh database by URL, choosing the engine
// from the scheme: postgres:// or postgresql:// for Postgres, sqlite://PATH
// for SQLite.
package dbopen

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg"
	"claudemesh.dev/db/dbsqlite"
)

// Open opens the database at rawURL. A sqlite:// URL names a file path,
// absolute (sqlite:///var/lib/claudemesh.db) or relative
// (sqlite://claudemesh.db).
func Open(ctx context.Context, rawURL string, log *slog.Logger) (db.Store, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("database URL %q has no scheme: use postgres://… or sqlite://PATH", redact(rawURL))
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		store, err := dbpg.Open(ctx, rawURL, dbpg.Config{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", redact(rawURL), err)
		}
		return store, nil
	case "sqlite", "sqlite3", "file":
		path := rest
		if path == "" {
			return nil, fmt.Errorf("database URL %q names no file", rawURL)
		}
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		store, err := dbsqlite.Open(ctx, path, dbsqlite.Config{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		return store, nil
	default:
		return nil, fmt.Errorf("unsupported database URL scheme %q: use postgres://… or sqlite://PATH", scheme)
	}
}

// redact hides the password of a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
