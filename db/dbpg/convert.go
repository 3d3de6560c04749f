package dbpg

import (
	"bytes"
	"encoding/json"
	"time"
)

// JSON columns. Typed fields are marshalled in Go, with the helpers of
// claudemesh.dev/db/internal/conv shared with dbsqlite, so both engines
// store the same documents. What stays here is Postgres-specific.

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

// utcPtr returns t in UTC. pgx reads timestamptz in the local zone; the
// contract returns UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
