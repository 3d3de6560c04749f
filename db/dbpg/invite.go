package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreateInvite inserts an invite; db.ErrConflict if the token exists.
func (q *queries) CreateInvite(ctx context.Context, inv db.Invite) error {
	preset, err := conv.Encode(inv.Preset)
	if err != nil {
		return fmt.Errorf("create invite: encode preset: %w", err)
	}
	err = q.q.CreateInvite(ctx, q.dbtx, sqlc.CreateInviteParams{
		ID:                inv.ID,
		MeshID:            inv.MeshID,
		Token:             inv.Token,
		MaxUses:           inv.MaxUses,
		UsedCount:         inv.UsedCount,
		Role:              inv.Role,
		Preset:            preset,
		ExpiresAt:         inv.ExpiresAt,
		CreatedByMemberID: inv.CreatedByMemberID,
		CreatedAt:         inv.CreatedAt,
		RevokedAt:         inv.RevokedAt,
	})
	if err != nil {
		return fmt.Errorf("create invite: %w", interpretError(err))
	}
	return nil
}

// GetInvite returns an invite by id.
func (q *queries) GetInvite(ctx context.Context, id string) (db.Invite, error) {
	row, err := q.q.GetInvite(ctx, q.dbtx, id)
	if err != nil {
		return db.Invite{}, fmt.Errorf("get invite: %w", interpretError(err))
	}
	inv, err := inviteFromRow(row)
	if err != nil {
		return db.Invite{}, fmt.Errorf("get invite: %w", err)
	}
	return inv, nil
}

// GetInviteByToken returns an invite by its token.
func (q *queries) GetInviteByToken(ctx context.Context, token string) (db.Invite, error) {
	row, err := q.q.GetInviteByToken(ctx, q.dbtx, token)
	if err != nil {
		return db.Invite{}, fmt.Errorf("get invite by token: %w", interpretError(err))
	}
	inv, err := inviteFromRow(row)
	if err != nil {
		return db.Invite{}, fmt.Errorf("get invite by token: %w", err)
	}
	return inv, nil
}

// ListInvites returns a mesh's invites, newest first.
func (q *queries) ListInvites(ctx context.Context, meshID string) ([]db.Invite, error) {
	rows, err := q.q.ListInvites(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", interpretError(err))
	}
	invites, err := conv.MapRows(rows, inviteFromRow)
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	return invites, nil
}

// RevokeInvite marks an invite revoked; db.ErrNotFound if there is no such
// invite.
func (q *queries) RevokeInvite(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.RevokeInvite(ctx, q.dbtx, sqlc.RevokeInviteParams{ID: id, RevokedAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("revoke invite: %w", err)
	}
	return nil
}

// ConsumeInvite takes one use of an invite atomically: it returns the
// invite with its new used count, or db.ErrNotFound when no use is left (or
// there is no such invite). It does not check expiry or revocation.
func (q *queries) ConsumeInvite(ctx context.Context, id string, now time.Time) (db.Invite, error) {
	row, err := q.q.ConsumeInvite(ctx, q.dbtx, sqlc.ConsumeInviteParams{ID: id, Now: now})
	if err != nil {
		return db.Invite{}, fmt.Errorf("consume invite: %w", interpretError(err))
	}
	inv, err := inviteFromRow(row)
	if err != nil {
		return db.Invite{}, fmt.Errorf("consume invite: %w", err)
	}
	return inv, nil
}

func inviteFromRow(row sqlc.Invite) (db.Invite, error) {
	preset, err := conv.Decode[db.InvitePreset](row.Preset)
	if err != nil {
		return db.Invite{}, fmt.Errorf("decode invite preset: %w", err)
	}
	return db.Invite{
		ID:                row.ID,
		MeshID:            row.MeshID,
		Token:             row.Token,
		MaxUses:           row.MaxUses,
		UsedCount:         row.UsedCount,
		Role:              row.Role,
		Preset:            preset,
		ExpiresAt:         row.ExpiresAt.UTC(),
		CreatedByMemberID: row.CreatedByMemberID,
		CreatedAt:         row.CreatedAt.UTC(),
		RevokedAt:         utcPtr(row.RevokedAt),
	}, nil
}
