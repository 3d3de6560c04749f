package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func memberFromRow(r sqlc.Member) (db.Member, error) {
	groups, err := conv.DecodeArray[db.GroupRole]([]byte(r.DefaultGroups))
	if err != nil {
		return db.Member{}, err
	}
	return db.Member{
		ID:            r.ID,
		MeshID:        r.MeshID,
		Pubkey:        r.Pubkey,
		DisplayName:   r.DisplayName,
		Role:          r.Role,
		RoleTag:       r.RoleTag,
		DefaultGroups: groups,
		MessageMode:   r.MessageMode,
		InviteID:      r.InviteID,
		JoinedAt:      fromMicros(r.JoinedAt),
		LastSeenAt:    fromMicrosPtr(r.LastSeenAt),
		RevokedAt:     fromMicrosPtr(r.RevokedAt),
		RevokeReason:  r.RevokeReason,
	}, nil
}

// CreateMember inserts a member; db.ErrConflict if the mesh already has a
// member with that pubkey.
func (q *queries) CreateMember(ctx context.Context, m db.Member) error {
	groups, err := conv.EncodeArray(m.DefaultGroups)
	if err != nil {
		return wrapErr("create member", err)
	}
	return wrapErr("create member", q.q.CreateMember(ctx, q.dbtx, sqlc.CreateMemberParams{
		ID:            m.ID,
		MeshID:        m.MeshID,
		Pubkey:        m.Pubkey,
		DisplayName:   m.DisplayName,
		Role:          m.Role,
		RoleTag:       m.RoleTag,
		DefaultGroups: string(groups),
		MessageMode:   m.MessageMode,
		InviteID:      m.InviteID,
		JoinedAt:      micros(m.JoinedAt),
		LastSeenAt:    microsPtr(m.LastSeenAt),
		RevokedAt:     microsPtr(m.RevokedAt),
		RevokeReason:  m.RevokeReason,
	}))
}

// GetMember returns a member by id.
func (q *queries) GetMember(ctx context.Context, id string) (db.Member, error) {
	r, err := q.q.GetMember(ctx, q.dbtx, id)
	if err != nil {
		return db.Member{}, wrapErr("get member", err)
	}
	m, err := memberFromRow(r)
	return m, wrapErr("get member", err)
}

// GetMemberByPubkey returns the member of a mesh with that pubkey, revoked
// or not.
func (q *queries) GetMemberByPubkey(ctx context.Context, meshID, pubkey string) (db.Member, error) {
	r, err := q.q.GetMemberByPubkey(ctx, q.dbtx, sqlc.GetMemberByPubkeyParams{MeshID: meshID, Pubkey: pubkey})
	if err != nil {
		return db.Member{}, wrapErr("get member by pubkey", err)
	}
	m, err := memberFromRow(r)
	return m, wrapErr("get member by pubkey", err)
}

// ListMembers returns a mesh's members (revoked included), oldest first.
func (q *queries) ListMembers(ctx context.Context, meshID string) ([]db.Member, error) {
	rows, err := q.q.ListMembers(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list members", err)
	}
	out, err := conv.MapRows(rows, memberFromRow)
	return out, wrapErr("list members", err)
}

// UpdateMember applies the non-nil fields and returns the member;
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdateMember(ctx context.Context, p db.UpdateMemberParams) (db.Member, error) {
	var groups *string
	if p.DefaultGroups != nil {
		g, err := conv.EncodeArray(*p.DefaultGroups)
		if err != nil {
			return db.Member{}, wrapErr("update member", err)
		}
		groups = new(string(g))
	}
	r, err := q.q.UpdateMember(ctx, q.dbtx, sqlc.UpdateMemberParams{
		DisplayName:   p.DisplayName,
		Role:          p.Role,
		RoleTag:       p.RoleTag,
		DefaultGroups: groups,
		MessageMode:   p.MessageMode,
		ID:            p.ID,
	})
	if err != nil {
		return db.Member{}, wrapErr("update member", err)
	}
	m, err := memberFromRow(r)
	return m, wrapErr("update member", err)
}

// RevokeMember marks a member revoked; db.ErrNotFound if there is none.
func (q *queries) RevokeMember(ctx context.Context, id string, at time.Time, reason string) error {
	n, err := q.q.RevokeMember(ctx, q.dbtx, sqlc.RevokeMemberParams{
		RevokedAt:    microsOf(at),
		RevokeReason: reason,
		ID:           id,
	})
	return requireRows("revoke member", n, err)
}

// RestoreMember clears a member's revocation.
// It returns db.ErrNotFound if there is none.
func (q *queries) RestoreMember(ctx context.Context, id string) error {
	n, err := q.q.RestoreMember(ctx, q.dbtx, id)
	return requireRows("restore member", n, err)
}

// TouchMember records when a member was last seen.
// It returns db.ErrNotFound if there is none.
func (q *queries) TouchMember(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.TouchMember(ctx, q.dbtx, sqlc.TouchMemberParams{
		LastSeenAt: microsOf(at),
		ID:         id,
	})
	return requireRows("touch member", n, err)
}
