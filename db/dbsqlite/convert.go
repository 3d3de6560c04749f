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

// JSON columns are TEXT. Typed values are marshalled here; a nil or empty
// slice is stored as [] and read back as nil, so what a caller stores is
// what it gets back (with empty meaning nil).

// jsonArray marshals a slice as a JSON array; nil and empty are [].
func jsonArray[T any](s []T) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// parseArray unmarshals a JSON array; an empty array is nil.
func parseArray[T any](s string) ([]T, error) {
	var out []T
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// jsonValue marshals a struct such as db.Profile.
func jsonValue(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// parseValue unmarshals a struct such as db.Profile.
func parseValue[T any](s string) (T, error) {
	var out T
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

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

// notNilBytes stores nil as an empty BLOB in a NOT NULL column.
func notNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullString is s, or nil (SQL NULL) when s is empty.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// derefString is *s, or "" when s is nil.
func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// limit clamps a caller's limit for SQLite, where a negative LIMIT means no
// limit at all (Postgres rejects it); zero or less returns no rows.
func limit(n int32) int64 {
	if n < 0 {
		return 0
	}
	return int64(n)
}

// mapRows converts generated rows to db rows; no rows is nil.
func mapRows[R, T any](rows []R, conv func(R) (T, error)) ([]T, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		t, err := conv(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
