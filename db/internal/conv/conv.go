// Package conv holds the conversions that both storage engines (dbpg and
// dbsqlite) apply between the db types and their generated rows: JSON
// documents for typed columns, nullable strings and bytes, and whole row
// slices.
//
// JSON columns follow one rule on both engines, so both store the same
// documents: a nil or empty slice is stored as [] and an empty array reads
// back as nil. Postgres keeps JSON as jsonb and SQLite as TEXT; these
// helpers work on []byte and the SQLite engine converts at its call sites.
package conv

import (
	"encoding/json"
	"fmt"
)

// EncodeArray marshals s for a JSON array column; nil and empty are [].
func EncodeArray[T any](s []T) ([]byte, error) {
	if len(s) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(s)
}

// DecodeArray unmarshals a JSON array column; an empty array is nil.
func DecodeArray[T any](b []byte) ([]T, error) {
	var out []T
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Encode marshals v, a value such as db.Profile, for a JSON column.
func Encode(v any) ([]byte, error) {
	return json.Marshal(v)
}

// Decode unmarshals a JSON column into a T, such as db.Profile.
func Decode[T any](b []byte) (T, error) {
	var out T
	err := json.Unmarshal(b, &out)
	return out, err
}

// MapRows converts generated rows to db rows with conv; no rows is nil. The
// first failure stops it and is returned wrapped with the row's index.
func MapRows[R, T any](rows []R, conv func(R) (T, error)) ([]T, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]T, 0, len(rows))
	for i, row := range rows {
		v, err := conv(row)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// NullString is s, or nil (SQL NULL) when s is empty, for a nullable text
// column that the db types carry as a plain string.
func NullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Deref is *p, or "" when p is nil (SQL NULL): the inverse of NullString.
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// NotNilBytes is b, or an empty slice when b is nil, for a NOT NULL binary
// column (bytea, BLOB), where a nil slice would be written as NULL.
func NotNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
