package dbpg

import (
	"context"
	"fmt"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreateMember inserts a member; db.ErrConflict if the mesh already has a
// member with that pubkey.
func (q *queries) CreateMember(ctx context.Context, m db.Member) error {
	groups, err := conv.EncodeArray(m.DefaultGroups)
	if err != nil {
		return fmt.Errorf("create member: encode default groups: %w", err)
	}
	err = q.q.CreateMember(ctx, q.dbtx, sqlc.CreateMemberParams{
		ID:            m.ID,
		MeshID:        m.MeshID,
		Pubkey:        m.Pubkey,
		DisplayName:   m.DisplayName,
		Role:          m.Role,
		RoleTag:       m.RoleTag,
		DefaultGroups: groups,
		MessageMode:   m.MessageMode,
		InviteID:      m.InviteID,
		JoinedAt:      m.JoinedAt,
		LastSeenAt:    m.LastSeenAt,
		RevokedAt:     m.RevokedAt,
		RevokeReason:  m.RevokeReason,
	})
	if err != nil {
		return fmt.Errorf("create member: %w", interpretError(err))
	}
	return nil
}

// GetMember returns a member by id.
func (q *queries) GetMember(ctx context.Context, id string) (db.Member, error) {
	row, err := q.q.GetMember(ctx, q.dbtx, id)
	if err != nil {
		return db.Member{}, fmt.Errorf("get member: %w", interpretError(err))
	}
	m, err := memberFromRow(row)
	if err != nil {
		return db.Member{}, fmt.Errorf("get member: %w", err)
	}
	return m, nil
}

// GetMemberByPubkey returns the member of a mesh with that pubkey, revoked
// or not.
func (q *queries) GetMemberByPubkey(ctx context.Context, meshID, pubkey string) (db.Member, error) {
	row, err := q.q.GetMemberByPubkey(ctx, q.dbtx, sqlc.GetMemberByPubkeyParams{MeshID: meshID, Pubkey: pubkey})
	if err != nil {
		return db.Member{}, fmt.Errorf("get member by pubkey: %w", interpretError(err))
	}
	m, err := memberFromRow(row)
	if err != nil {
		return db.Member{}, fmt.Errorf("get member by pubkey: %w", err)
	}
	return m, nil
}

// ListMembers returns a mesh's members (revoked included), oldest first.
func (q *queries) ListMembers(ctx context.Context, meshID string) ([]db.Member, error) {
	rows, err := q.q.ListMembers(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", interpretError(err))
	}
	members, err := conv.MapRows(rows, memberFromRow)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return members, nil
}

// UpdateMember applies the non-nil fields and returns the member;
// db.ErrNotFound if there is no such member.
func (q *queries) UpdateMember(ctx context.Context, p db.UpdateMemberParams) (db.Member, error) {
	var groups []byte // nil is NULL: keep the column
	if p.DefaultGroups != nil {
		var err error
		if groups, err = conv.EncodeArray(*p.DefaultGroups); err != nil {
			return db.Member{}, fmt.Errorf("update member: encode default groups: %w", err)
		}
	}
	row, err := q.q.UpdateMember(ctx, q.dbtx, sqlc.UpdateMemberParams{
		ID:            p.ID,
		DisplayName:   p.DisplayName,
		Role:          p.Role,
		RoleTag:       p.RoleTag,
		DefaultGroups: groups,
		MessageMode:   p.MessageMode,
	})
	if err != nil {
		return db.Member{}, fmt.Errorf("update member: %w", interpretError(err))
	}
	m, err := memberFromRow(row)
	if err != nil {
		return db.Member{}, fmt.Errorf("update member: %w", err)
	}
	return m, nil
}

// RevokeMember marks a member revoked; db.ErrNotFound if there is no such
// member.
func (q *queries) RevokeMember(ctx context.Context, id string, at time.Time, reason string) error {
	n, err := q.q.RevokeMember(ctx, q.dbtx, sqlc.RevokeMemberParams{ID: id, RevokedAt: at, RevokeReason: reason})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("revoke member: %w", err)
	}
	return nil
}

// RestoreMember clears a member's revocation; db.ErrNotFound if there is no
// such member.
func (q *queries) RestoreMember(ctx context.Context, id string) error {
	n, err := q.q.RestoreMember(ctx, q.dbtx, id)
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("restore member: %w", err)
	}
	return nil
}

// TouchMember records when a member was last seen; db.ErrNotFound if there
// is no such member.
func (q *queries) TouchMember(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.TouchMember(ctx, q.dbtx, sqlc.TouchMemberParams{ID: id, LastSeenAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("touch member: %w", err)
	}
	return nil
}

func memberFromRow(row sqlc.Member) (db.Member, error) {
	groups, err := conv.DecodeArray[db.GroupRole](row.DefaultGroups)
	if err != nil {
		return db.Member{}, fmt.Errorf("decode member default groups: %w", err)
	}
	return db.Member{
		ID:            row.ID,
		MeshID:        row.MeshID,
		Pubkey:        row.Pubkey,
		DisplayName:   row.DisplayName,
		Role:          row.Role,
		RoleTag:       row.RoleTag,
		DefaultGroups: groups,
		MessageMode:   row.MessageMode,
		InviteID:      row.InviteID,
		JoinedAt:      row.JoinedAt.UTC(),
		LastSeenAt:    utcPtr(row.LastSeenAt),
		RevokedAt:     utcPtr(row.RevokedAt),
		RevokeReason:  row.RevokeReason,
	}, nil
}
