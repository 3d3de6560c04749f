package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func apiKeyFromRow(r sqlc.ApiKey) (db.APIKey, error) {
	caps, err := conv.DecodeArray[string]([]byte(r.Capabilities))
	if err != nil {
		return db.APIKey{}, err
	}
	return db.APIKey{
		ID:                r.ID,
		MeshID:            conv.Deref(r.MeshID),
		Label:             r.Label,
		SecretHash:        r.SecretHash,
		Prefix:            r.Prefix,
		Capabilities:      caps,
		CreatedByMemberID: r.CreatedByMemberID,
		CreatedAt:         fromMicros(r.CreatedAt),
		LastUsedAt:        fromMicrosPtr(r.LastUsedAt),
		ExpiresAt:         fromMicrosPtr(r.ExpiresAt),
		RevokedAt:         fromMicrosPtr(r.RevokedAt),
	}, nil
}

// CreateAPIKey inserts a key; db.ErrConflict if the hash exists. An empty
// MeshID stores an operator key (mesh_id NULL).
func (q *queries) CreateAPIKey(ctx context.Context, k db.APIKey) error {
	caps, err := conv.EncodeArray(k.Capabilities)
	if err != nil {
		return wrapErr("create api key", err)
	}
	return wrapErr("create api key", q.q.CreateAPIKey(ctx, q.dbtx, sqlc.CreateAPIKeyParams{
		ID:                k.ID,
		MeshID:            conv.NullString(k.MeshID),
		Label:             k.Label,
		SecretHash:        k.SecretHash,
		Prefix:            k.Prefix,
		Capabilities:      string(caps),
		CreatedByMemberID: k.CreatedByMemberID,
		CreatedAt:         micros(k.CreatedAt),
		LastUsedAt:        microsPtr(k.LastUsedAt),
		ExpiresAt:         microsPtr(k.ExpiresAt),
		RevokedAt:         microsPtr(k.RevokedAt),
	}))
}

// GetAPIKeyByHash returns a key by the SHA-256 of its secret.
func (q *queries) GetAPIKeyByHash(ctx context.Context, secretHash string) (db.APIKey, error) {
	r, err := q.q.GetAPIKeyByHash(ctx, q.dbtx, secretHash)
	if err != nil {
		return db.APIKey{}, wrapErr("get api key by hash", err)
	}
	k, err := apiKeyFromRow(r)
	return k, wrapErr("get api key by hash", err)
}

// ListAPIKeys returns a mesh's keys, newest first; an empty mesh id lists
// the operator keys.
func (q *queries) ListAPIKeys(ctx context.Context, meshID string) ([]db.APIKey, error) {
	var (
		rows []sqlc.ApiKey
		err  error
	)
	if meshID == "" {
		rows, err = q.q.ListOperatorAPIKeys(ctx, q.dbtx)
	} else {
		rows, err = q.q.ListAPIKeys(ctx, q.dbtx, &meshID)
	}
	if err != nil {
		return nil, wrapErr("list api keys", err)
	}
	out, err := conv.MapRows(rows, apiKeyFromRow)
	return out, wrapErr("list api keys", err)
}

// RevokeAPIKey marks a key revoked; db.ErrNotFound if there is none.
func (q *queries) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.RevokeAPIKey(ctx, q.dbtx, sqlc.RevokeAPIKeyParams{
		RevokedAt: microsOf(at),
		ID:        id,
	})
	return requireRows("revoke api key", n, err)
}

// TouchAPIKey records a key's last use; db.ErrNotFound if there is none.
func (q *queries) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.TouchAPIKey(ctx, q.dbtx, sqlc.TouchAPIKeyParams{
		LastUsedAt: microsOf(at),
		ID:         id,
	})
	return requireRows("touch api key", n, err)
}
