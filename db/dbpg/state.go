package dbpg

import (
	"context"
	"fmt"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// UpsertState writes a key. A nil Value is stored as JSON null.
func (q *queries) UpsertState(ctx context.Context, e db.StateEntry) error {
	err := q.q.UpsertState(ctx, q.dbtx, sqlc.UpsertStateParams{
		MeshID:            e.MeshID,
		Key:               e.Key,
		Value:             rawOr(e.Value, jsonNull),
		UpdatedByMemberID: e.UpdatedByMemberID,
		UpdatedByName:     e.UpdatedByName,
		UpdatedAt:         e.UpdatedAt,
	})
	if err != nil {
		return fmt.Errorf("upsert state: %w", interpretError(err))
	}
	return nil
}

// GetState reads a key.
func (q *queries) GetState(ctx context.Context, meshID, key string) (db.StateEntry, error) {
	row, err := q.q.GetState(ctx, q.dbtx, sqlc.GetStateParams{MeshID: meshID, Key: key})
	if err != nil {
		return db.StateEntry{}, fmt.Errorf("get state: %w", interpretError(err))
	}
	return stateEntryFromRow(row)
}

// ListState returns a mesh's keys, by key.
func (q *queries) ListState(ctx context.Context, meshID string) ([]db.StateEntry, error) {
	rows, err := q.q.ListState(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list state: %w", interpretError(err))
	}
	return conv.MapRows(rows, stateEntryFromRow)
}

func stateEntryFromRow(row sqlc.StateEntry) (db.StateEntry, error) {
	return db.StateEntry{
		MeshID:            row.MeshID,
		Key:               row.Key,
		Value:             rawJSON(row.Value),
		UpdatedByMemberID: row.UpdatedByMemberID,
		UpdatedByName:     row.UpdatedByName,
		UpdatedAt:         row.UpdatedAt.UTC(),
	}, nil
}
