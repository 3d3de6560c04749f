package dbsqlite

import (
	"context"
	"encoding/json"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func stateEntryFromRow(r sqlc.StateEntry) (db.StateEntry, error) {
	return db.StateEntry{
		MeshID:            r.MeshID,
		Key:               r.Key,
		Value:             json.RawMessage(r.Value),
		UpdatedByMemberID: r.UpdatedByMemberID,
		UpdatedByName:     r.UpdatedByName,
		UpdatedAt:         fromMicros(r.UpdatedAt),
	}, nil
}

// UpsertState writes a key. The value must be JSON; a nil value is stored
// as JSON null (the column has no default).
func (q *queries) UpsertState(ctx context.Context, e db.StateEntry) error {
	value, err := rawJSON(e.Value, "null")
	if err != nil {
		return wrapErr("upsert state", err)
	}
	return wrapErr("upsert state", q.q.UpsertState(ctx, q.dbtx, sqlc.UpsertStateParams{
		MeshID:            e.MeshID,
		Key:               e.Key,
		Value:             value,
		UpdatedByMemberID: e.UpdatedByMemberID,
		UpdatedByName:     e.UpdatedByName,
		UpdatedAt:         micros(e.UpdatedAt),
	}))
}

// GetState reads a key.
func (q *queries) GetState(ctx context.Context, meshID, key string) (db.StateEntry, error) {
	r, err := q.q.GetState(ctx, q.dbtx, sqlc.GetStateParams{MeshID: meshID, Key: key})
	if err != nil {
		return db.StateEntry{}, wrapErr("get state", err)
	}
	e, err := stateEntryFromRow(r)
	return e, wrapErr("get state", err)
}

// ListState returns a mesh's keys, by key.
func (q *queries) ListState(ctx context.Context, meshID string) ([]db.StateEntry, error) {
	rows, err := q.q.ListState(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list state", err)
	}
	out, err := conv.MapRows(rows, stateEntryFromRow)
	return out, wrapErr("list state", err)
}
