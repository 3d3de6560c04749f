package dbpg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// JSON columns. Typed fields are marshalled here, in Go, so both engines
// store the same documents. Array fields round-trip with one rule, shared
// with dbsqlite: nil is stored as [] and an empty array reads back as nil.

// encodeArray marshals a slice for a JSON array column; nil becomes [].
func encodeArray[T any](s []T) ([]byte, error) {
	if len(s) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(s)
}

// decodeArray unmarshals a JSON array column; an empty array becomes nil.
func decodeArray[T any](b []byte) ([]T, error) {
	var out []T
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// decodeObject unmarshals a JSON object column into a T.
func decodeObject[T any](b []byte) (T, error) {
	var out T
	err := json.Unmarshal(b, &out)
	return out, err
}

// The column defaults of the raw JSON columns, written when the caller
// leaves a json.RawMessage nil.
const (
	jsonEmptyArray  = "[]"
	jsonEmptyObject = "{}"
	jsonNull        = "null"
	jsonScopePeer   = `"peer"`
)

// rawOr returns raw for a jsonb column, or def when raw is empty.
func rawOr(raw []byte, def string) []byte {
	if len(raw) == 0 {
		return []byte(def)
	}
	return raw
}

// rawJSON returns a jsonb column's document compacted. Postgres prints
// jsonb with a space after each ':' and ','; compacting gives back what
// json.Marshal wrote, though jsonb may still have reordered object keys.
func rawJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(b)
	}
	return buf.Bytes()
}

// notNullBytes returns b, or an empty slice for nil, for a NOT NULL bytea
// column (pgx writes a nil slice as NULL).
func notNullBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullString maps "" to NULL for the nullable text columns that the db
// types carry as a plain string (api_keys.mesh_id,
// messages.client_message_id).
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// stringOrEmpty maps NULL back to "".
func stringOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// utcPtr returns t in UTC. pgx reads timestamptz in the local zone; the
// contract returns UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// convertAll converts rows with convert; no rows give a nil slice.
func convertAll[R, T any](rows []R, convert func(R) (T, error)) ([]T, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]T, 0, len(rows))
	for i, row := range rows {
		v, err := convert(row)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// mapAll converts rows with a conversion that cannot fail; no rows give a
// nil slice.
func mapAll[R, T any](rows []R, convert func(R) T) []T {
	if len(rows) == 0 {
		return nil
	}
	out := make([]T, 0, len(rows))
	for _, row := range rows {
		out = append(out, convert(row))
	}
	return out
}
