package dbpg

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"claudemesh.dev/db"
)

// pgUniqueViolation is the SQLSTATE of a unique constraint violation.
const pgUniqueViolation = "23505"

// interpretError maps Postgres errors onto the db sentinels: no rows is
// db.ErrNotFound, a unique violation db.ErrConflict (still wrapping the
// *pgconn.PgError, so callers can see the constraint). Other errors come
// back as they are; callers add what they were doing.
func interpretError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return db.ErrNotFound
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == pgUniqueViolation {
		return fmt.Errorf("%w: %w", db.ErrConflict, err)
	}
	return err
}

// oneRow turns an update or delete that matched no row into db.ErrNotFound.
func oneRow(n int64, err error) error {
	if err != nil {
		return interpretError(err)
	}
	if n == 0 {
		return db.ErrNotFound
	}
	return nil
}
