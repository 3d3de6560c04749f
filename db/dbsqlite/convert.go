package dbsqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Times are stored as INTEGER microseconds since the Unix epoch: integers
// compare, sort and index exactly, where text timestamps compare correctly
// only when every writer uses the same layout and zone. Reads come back in
// UTC; anything finer than a microsecond is truncated on write, as on
// Postgres.

// micros is t as microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// microsPtr is micros for a nullable time: nil stays nil (SQL NULL).
func microsPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMicro()
	return &v
}

// microsOf is micros for a column that is nullable in the schema but always
// written here: sqlc types such a parameter *int64.
func microsOf(t time.Time) *int64 {
	v := t.UnixMicro()
	return &v
}

// fromMicros is the UTC time v microseconds after the Unix epoch.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// fromMicrosPtr is fromMicros for a nullable column.
func fromMicrosPtr(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMicros(*v)
	return &t
}

// JSON columns are TEXT. Typed values are marshalled with the helpers of
// claudemesh.dev/db/internal/conv, shared with dbpg (a nil or empty slice
// is stored as [] and read back as nil), converting between string and
// []byte at the call sites.

// rawJSON is a json.RawMessage to store: nil or empty is def (the column's
// default), anything else must be valid JSON (as Postgres' jsonb requires)
// and is stored compacted.
func rawJSON(raw []byte, def string) (string, error) {
	if len(raw) == 0 {
		return def, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	return buf.String(), nil
}

// limit clamps a caller's limit for SQLite, where a negative LIMIT means no
// limit at all (Postgres rejects it); zero or less returns no rows.
func limit(n int32) int64 {
	if n < 0 {
		return 0
	}
	return int64(n)
}
