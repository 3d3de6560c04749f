package dbsqlite

import (
	"context"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func vaultEntryFromRow(r sqlc.VaultEntry) (db.VaultEntry, error) {
	return db.VaultEntry{
		MeshID:      r.MeshID,
		MemberID:    r.MemberID,
		Key:         r.Key,
		Ciphertext:  r.Ciphertext,
		Nonce:       r.Nonce,
		SealedKey:   r.SealedKey,
		EntryType:   r.EntryType,
		MountPath:   r.MountPath,
		Description: r.Description,
		CreatedAt:   fromMicros(r.CreatedAt),
		UpdatedAt:   fromMicros(r.UpdatedAt),
	}, nil
}

// UpsertVaultEntry writes an entry (keeping its creation time).
func (q *queries) UpsertVaultEntry(ctx context.Context, e db.VaultEntry) error {
	return wrapErr("upsert vault entry", q.q.UpsertVaultEntry(ctx, q.dbtx, sqlc.UpsertVaultEntryParams{
		MeshID:      e.MeshID,
		MemberID:    e.MemberID,
		Key:         e.Key,
		Ciphertext:  conv.NotNilBytes(e.Ciphertext),
		Nonce:       conv.NotNilBytes(e.Nonce),
		SealedKey:   conv.NotNilBytes(e.SealedKey),
		EntryType:   e.EntryType,
		MountPath:   e.MountPath,
		Description: e.Description,
		CreatedAt:   micros(e.CreatedAt),
		UpdatedAt:   micros(e.UpdatedAt),
	}))
}

// ListVaultEntries returns a member's entries, by key.
func (q *queries) ListVaultEntries(ctx context.Context, meshID, memberID string) ([]db.VaultEntry, error) {
	rows, err := q.q.ListVaultEntries(ctx, q.dbtx, sqlc.ListVaultEntriesParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return nil, wrapErr("list vault entries", err)
	}
	out, err := conv.MapRows(rows, vaultEntryFromRow)
	return out, wrapErr("list vault entries", err)
}

// GetVaultEntries returns a member's entries with those keys, by key.
func (q *queries) GetVaultEntries(ctx context.Context, meshID, memberID string, keys []string) ([]db.VaultEntry, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	keyArray, err := conv.EncodeArray(keys)
	if err != nil {
		return nil, wrapErr("get vault entries", err)
	}
	rows, err := q.q.GetVaultEntries(ctx, q.dbtx, sqlc.GetVaultEntriesParams{
		MeshID:   meshID,
		MemberID: memberID,
		Keys:     string(keyArray),
	})
	if err != nil {
		return nil, wrapErr("get vault entries", err)
	}
	out, err := conv.MapRows(rows, vaultEntryFromRow)
	return out, wrapErr("get vault entries", err)
}

// DeleteVaultEntry deletes an entry; db.ErrNotFound if there is none.
func (q *queries) DeleteVaultEntry(ctx context.Context, meshID, memberID, key string) error {
	n, err := q.q.DeleteVaultEntry(ctx, q.dbtx, sqlc.DeleteVaultEntryParams{
		MeshID:   meshID,
		MemberID: memberID,
		Key:      key,
	})
	return requireRows("delete vault entry", n, err)
}
