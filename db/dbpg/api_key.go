package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreateAPIKey inserts a key; db.ErrConflict if the hash exists. An empty
// MeshID stores an operator key (mesh_id NULL).
func (q *queries) CreateAPIKey(ctx context.Context, k db.APIKey) error {
	capabilities, err := conv.EncodeArray(k.Capabilities)
	if err != nil {
		return fmt.Errorf("create api key: encode capabilities: %w", err)
	}
	err = q.q.CreateAPIKey(ctx, q.dbtx, sqlc.CreateAPIKeyParams{
		ID:                k.ID,
		MeshID:            conv.NullString(k.MeshID),
		Label:             k.Label,
		SecretHash:        k.SecretHash,
		Prefix:            k.Prefix,
		Capabilities:      capabilities,
		CreatedByMemberID: k.CreatedByMemberID,
		CreatedAt:         k.CreatedAt,
		LastUsedAt:        k.LastUsedAt,
		ExpiresAt:         k.ExpiresAt,
		RevokedAt:         k.RevokedAt,
	})
	if err != nil {
		return fmt.Errorf("create api key: %w", interpretError(err))
	}
	return nil
}

// GetAPIKeyByHash returns a key by the SHA-256 of its secret.
func (q *queries) GetAPIKeyByHash(ctx context.Context, secretHash string) (db.APIKey, error) {
	row, err := q.q.GetAPIKeyByHash(ctx, q.dbtx, secretHash)
	if err != nil {
		return db.APIKey{}, fmt.Errorf("get api key by hash: %w", interpretError(err))
	}
	k, err := apiKeyFromRow(row)
	if err != nil {
		return db.APIKey{}, fmt.Errorf("get api key by hash: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns a mesh's keys, newest first; an empty mesh id lists
// the operator keys.
func (q *queries) ListAPIKeys(ctx context.Context, meshID string) ([]db.APIKey, error) {
	rows, err := q.q.ListAPIKeys(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", interpretError(err))
	}
	keys, err := conv.MapRows(rows, apiKeyFromRow)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey marks a key revoked; db.ErrNotFound if there is no such key.
func (q *queries) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.RevokeAPIKey(ctx, q.dbtx, sqlc.RevokeAPIKeyParams{ID: id, RevokedAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// TouchAPIKey records a key's last use; db.ErrNotFound if there is no such
// key.
func (q *queries) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.TouchAPIKey(ctx, q.dbtx, sqlc.TouchAPIKeyParams{ID: id, LastUsedAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}

func apiKeyFromRow(row sqlc.ApiKey) (db.APIKey, error) {
	capabilities, err := conv.DecodeArray[string](row.Capabilities)
	if err != nil {
		return db.APIKey{}, fmt.Errorf("decode api key capabilities: %w", err)
	}
	return db.APIKey{
		ID:                row.ID,
		MeshID:            conv.Deref(row.MeshID),
		Label:             row.Label,
		SecretHash:        row.SecretHash,
		Prefix:            row.Prefix,
		Capabilities:      capabilities,
		CreatedByMemberID: row.CreatedByMemberID,
		CreatedAt:         row.CreatedAt.UTC(),
		LastUsedAt:        utcPtr(row.LastUsedAt),
		ExpiresAt:         utcPtr(row.ExpiresAt),
		RevokedAt:         utcPtr(row.RevokedAt),
	}, nil
}
