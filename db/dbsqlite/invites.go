package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func inviteFromRow(r sqlc.Invite) (db.Invite, error) {
	preset, err := conv.Decode[db.InvitePreset]([]byte(r.Preset))
	if err != nil {
		return db.Invite{}, err
	}
	return db.Invite{
		ID:                r.ID,
		MeshID:            r.MeshID,
		Token:             r.Token,
		MaxUses:           int32(r.MaxUses),
		UsedCount:         int32(r.UsedCount),
		Role:              r.Role,
		Preset:            preset,
		ExpiresAt:         fromMicros(r.ExpiresAt),
		CreatedByMemberID: r.CreatedByMemberID,
		CreatedAt:         fromMicros(r.CreatedAt),
		RevokedAt:         fromMicrosPtr(r.RevokedAt),
	}, nil
}

// CreateInvite inserts an invite; db.ErrConflict if the token exists.
func (q *queries) CreateInvite(ctx context.Context, inv db.Invite) error {
	preset, err := conv.Encode(inv.Preset)
	if err != nil {
		return wrapErr("create invite", err)
	}
	return wrapErr("create invite", q.q.CreateInvite(ctx, q.dbtx, sqlc.CreateInviteParams{
		ID:                inv.ID,
		MeshID:            inv.MeshID,
		Token:             inv.Token,
		MaxUses:           int64(inv.MaxUses),
		UsedCount:         int64(inv.UsedCount),
		Role:              inv.Role,
		Preset:            string(preset),
		ExpiresAt:         micros(inv.ExpiresAt),
		CreatedByMemberID: inv.CreatedByMemberID,
		CreatedAt:         micros(inv.CreatedAt),
		RevokedAt:         microsPtr(inv.RevokedAt),
	}))
}

// GetInvite returns an invite by id.
func (q *queries) GetInvite(ctx context.Context, id string) (db.Invite, error) {
	r, err := q.q.GetInvite(ctx, q.dbtx, id)
	if err != nil {
		return db.Invite{}, wrapErr("get invite", err)
	}
	inv, err := inviteFromRow(r)
	return inv, wrapErr("get invite", err)
}

// GetInviteByToken returns an invite by its token.
func (q *queries) GetInviteByToken(ctx context.Context, token string) (db.Invite, error) {
	r, err := q.q.GetInviteByToken(ctx, q.dbtx, token)
	if err != nil {
		return db.Invite{}, wrapErr("get invite by token", err)
	}
	inv, err := inviteFromRow(r)
	return inv, wrapErr("get invite by token", err)
}

// ListInvites returns a mesh's invites, newest first.
func (q *queries) ListInvites(ctx context.Context, meshID string) ([]db.Invite, error) {
	rows, err := q.q.ListInvites(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list invites", err)
	}
	out, err := conv.MapRows(rows, inviteFromRow)
	return out, wrapErr("list invites", err)
}

// RevokeInvite marks an invite revoked; db.ErrNotFound if there is none.
func (q *queries) RevokeInvite(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.RevokeInvite(ctx, q.dbtx, sqlc.RevokeInviteParams{
		RevokedAt: microsOf(at),
		ID:        id,
	})
	return requireRows("revoke invite", n, err)
}

// ConsumeInvite takes one use of an invite in one statement and returns the
// invite with its new used count; db.ErrNotFound when there is no such
// invite or no use is left.
func (q *queries) ConsumeInvite(ctx context.Context, id string, now time.Time) (db.Invite, error) {
	r, err := q.q.ConsumeInvite(ctx, q.dbtx, sqlc.ConsumeInviteParams{ID: id, Now: micros(now)})
	if err != nil {
		return db.Invite{}, wrapErr("consume invite", err)
	}
	inv, err := inviteFromRow(r)
	return inv, wrapErr("consume invite", err)
}
