package dbpg

import (
	"context"
	"fmt"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// UpsertVaultEntry writes an entry, keeping its creation time.
func (q *queries) UpsertVaultEntry(ctx context.Context, e db.VaultEntry) error {
	err := q.q.UpsertVaultEntry(ctx, q.dbtx, sqlc.UpsertVaultEntryParams{
		MeshID:      e.MeshID,
		MemberID:    e.MemberID,
		Key:         e.Key,
		Ciphertext:  conv.NotNilBytes(e.Ciphertext),
		Nonce:       conv.NotNilBytes(e.Nonce),
		SealedKey:   conv.NotNilBytes(e.SealedKey),
		EntryType:   e.EntryType,
		MountPath:   e.MountPath,
		Description: e.Description,
		CreatedAt:   e.CreatedAt,
		UpdatedAt:   e.UpdatedAt,
	})
	if err != nil {
		return fmt.Errorf("upsert vault entry: %w", interpretError(err))
	}
	return nil
}

// ListVaultEntries returns a member's entries, by key.
func (q *queries) ListVaultEntries(ctx context.Context, meshID, memberID string) ([]db.VaultEntry, error) {
	rows, err := q.q.ListVaultEntries(ctx, q.dbtx, sqlc.ListVaultEntriesParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return nil, fmt.Errorf("list vault entries: %w", interpretError(err))
	}
	return conv.MapRows(rows, vaultEntryFromRow)
}

// GetVaultEntries returns a member's entries with those keys, by key.
func (q *queries) GetVaultEntries(ctx context.Context, meshID, memberID string, keys []string) ([]db.VaultEntry, error) {
	rows, err := q.q.GetVaultEntries(ctx, q.dbtx, sqlc.GetVaultEntriesParams{
		MeshID:   meshID,
		MemberID: memberID,
		Keys:     keys,
	})
	if err != nil {
		return nil, fmt.Errorf("get vault entries: %w", interpretError(err))
	}
	return conv.MapRows(rows, vaultEntryFromRow)
}

// DeleteVaultEntry deletes an entry; db.ErrNotFound if there is none.
func (q *queries) DeleteVaultEntry(ctx context.Context, meshID, memberID, key string) error {
	n, err := q.q.DeleteVaultEntry(ctx, q.dbtx, sqlc.DeleteVaultEntryParams{
		MeshID:   meshID,
		MemberID: memberID,
		Key:      key,
	})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("delete vault entry: %w", err)
	}
	return nil
}

func vaultEntryFromRow(row sqlc.VaultEntry) (db.VaultEntry, error) {
	return db.VaultEntry{
		MeshID:      row.MeshID,
		MemberID:    row.MemberID,
		Key:         row.Key,
		Ciphertext:  row.Ciphertext,
		Nonce:       row.Nonce,
		SealedKey:   row.SealedKey,
		EntryType:   row.EntryType,
		MountPath:   row.MountPath,
		Description: row.Description,
		CreatedAt:   row.CreatedAt.UTC(),
		UpdatedAt:   row.UpdatedAt.UTC(),
	}, nil
}
