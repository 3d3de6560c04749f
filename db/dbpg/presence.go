package dbpg

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbpg/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

// CreatePresence inserts a presence.
func (q *queries) CreatePresence(ctx context.Context, p db.Presence) error {
	groups, err := conv.EncodeArray(p.Groups)
	if err != nil {
		return fmt.Errorf("create presence: encode groups: %w", err)
	}
	profile, err := conv.Encode(p.Profile)
	if err != nil {
		return fmt.Errorf("create presence: encode profile: %w", err)
	}
	stats, err := conv.Encode(p.Stats)
	if err != nil {
		return fmt.Errorf("create presence: encode stats: %w", err)
	}
	err = q.q.CreatePresence(ctx, q.dbtx, sqlc.CreatePresenceParams{
		ID:              p.ID,
		MeshID:          p.MeshID,
		MemberID:        p.MemberID,
		ReplicaID:       p.ReplicaID,
		SessionID:       p.SessionID,
		SessionPubkey:   p.SessionPubkey,
		DisplayName:     p.DisplayName,
		Pid:             p.PID,
		Cwd:             p.Cwd,
		Hostname:        p.Hostname,
		PeerType:        p.PeerType,
		Channel:         p.Channel,
		Model:           p.Model,
		PeerRole:        p.PeerRole,
		Status:          p.Status,
		StatusSource:    p.StatusSource,
		StatusUpdatedAt: p.StatusUpdatedAt,
		Summary:         p.Summary,
		Groups:          groups,
		Visible:         p.Visible,
		Profile:         profile,
		Stats:           stats,
		HookTokenHash:   p.HookTokenHash,
		ConnectedAt:     p.ConnectedAt,
		HeartbeatAt:     p.HeartbeatAt,
		DisconnectedAt:  p.DisconnectedAt,
	})
	if err != nil {
		return fmt.Errorf("create presence: %w", interpretError(err))
	}
	return nil
}

// GetPresence returns a presence by id, live or not.
func (q *queries) GetPresence(ctx context.Context, id string) (db.Presence, error) {
	row, err := q.q.GetPresence(ctx, q.dbtx, id)
	if err != nil {
		return db.Presence{}, fmt.Errorf("get presence: %w", interpretError(err))
	}
	p, err := presenceFromRow(row)
	if err != nil {
		return db.Presence{}, fmt.Errorf("get presence: %w", err)
	}
	return p, nil
}

// GetPresenceBySessionPubkey returns the most recently connected presence
// of a mesh with a session key, live or not (the latest id on a tie).
func (q *queries) GetPresenceBySessionPubkey(ctx context.Context, meshID, sessionPubkey string) (db.Presence, error) {
	row, err := q.q.GetPresenceBySessionPubkey(ctx, q.dbtx, sqlc.GetPresenceBySessionPubkeyParams{
		MeshID:        meshID,
		SessionPubkey: sessionPubkey,
	})
	if err != nil {
		return db.Presence{}, fmt.Errorf("get presence by session pubkey: %w", interpretError(err))
	}
	p, err := presenceFromRow(row)
	if err != nil {
		return db.Presence{}, fmt.Errorf("get presence by session pubkey: %w", err)
	}
	return p, nil
}

// ListLivePresences returns a mesh's live presences, by connection time.
func (q *queries) ListLivePresences(ctx context.Context, meshID string) ([]db.Presence, error) {
	rows, err := q.q.ListLivePresences(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list live presences: %w", interpretError(err))
	}
	presences, err := conv.MapRows(rows, presenceFromRow)
	if err != nil {
		return nil, fmt.Errorf("list live presences: %w", err)
	}
	return presences, nil
}

// ListLiveSessionPresences returns the live presences of a mesh with a
// Claude Code session id, by connection time.
func (q *queries) ListLiveSessionPresences(ctx context.Context, meshID, sessionID string) ([]db.Presence, error) {
	rows, err := q.q.ListLiveSessionPresences(ctx, q.dbtx, sqlc.ListLiveSessionPresencesParams{
		MeshID:    meshID,
		SessionID: sessionID,
	})
	if err != nil {
		return nil, fmt.Errorf("list live session presences: %w", interpretError(err))
	}
	presences, err := conv.MapRows(rows, presenceFromRow)
	if err != nil {
		return nil, fmt.Errorf("list live session presences: %w", err)
	}
	return presences, nil
}

// UpdatePresenceStatus writes a presence's status; db.ErrNotFound if there
// is no such presence.
func (q *queries) UpdatePresenceStatus(ctx context.Context, id string, s db.PresenceStatus) error {
	n, err := q.q.UpdatePresenceStatus(ctx, q.dbtx, sqlc.UpdatePresenceStatusParams{
		ID:              id,
		Status:          s.Status,
		StatusSource:    s.Source,
		StatusUpdatedAt: s.UpdatedAt,
	})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update presence status: %w", err)
	}
	return nil
}

// UpdatePresenceSummary writes a presence's summary (nil clears it);
// db.ErrNotFound if there is no such presence.
func (q *queries) UpdatePresenceSummary(ctx context.Context, id string, summary *string) error {
	n, err := q.q.UpdatePresenceSummary(ctx, q.dbtx, sqlc.UpdatePresenceSummaryParams{ID: id, Summary: summary})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update presence summary: %w", err)
	}
	return nil
}

// UpdatePresenceGroups replaces a presence's groups; db.ErrNotFound if
// there is no such presence.
func (q *queries) UpdatePresenceGroups(ctx context.Context, id string, groups []db.GroupRole) error {
	doc, err := conv.EncodeArray(groups)
	if err != nil {
		return fmt.Errorf("update presence groups: encode groups: %w", err)
	}
	n, err := q.q.UpdatePresenceGroups(ctx, q.dbtx, sqlc.UpdatePresenceGroupsParams{ID: id, Groups: doc})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update presence groups: %w", err)
	}
	return nil
}

// UpdatePresenceVisible writes a presence's visibility; db.ErrNotFound if
// there is no such presence.
func (q *queries) UpdatePresenceVisible(ctx context.Context, id string, visible bool) error {
	n, err := q.q.UpdatePresenceVisible(ctx, q.dbtx, sqlc.UpdatePresenceVisibleParams{ID: id, Visible: visible})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update presence visible: %w", err)
	}
	return nil
}

// UpdatePresenceProfile replaces a presence's profile; db.ErrNotFound if
// there is no such presence.
func (q *queries) UpdatePresenceProfile(ctx context.Context, id string, p db.Profile) error {
	doc, err := conv.Encode(p)
	if err != nil {
		return fmt.Errorf("update presence profile: encode profile: %w", err)
	}
	n, err := q.q.UpdatePresenceProfile(ctx, q.dbtx, sqlc.UpdatePresenceProfileParams{ID: id, Profile: doc})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update presence profile: %w", err)
	}
	return nil
}

// UpdatePresenceStats replaces a presence's stats; db.ErrNotFound if there
// is no such presence.
func (q *queries) UpdatePresenceStats(ctx context.Context, id string, s db.Stats) error {
	doc, err := conv.Encode(s)
	if err != nil {
		return fmt.Errorf("update presence stats: encode stats: %w", err)
	}
	n, err := q.q.UpdatePresenceStats(ctx, q.dbtx, sqlc.UpdatePresenceStatsParams{ID: id, Stats: doc})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("update presence stats: %w", err)
	}
	return nil
}

// ReattachPresence moves a presence to a replica, marks it live again and
// refreshes its heartbeat; db.ErrNotFound if there is no such presence.
func (q *queries) ReattachPresence(ctx context.Context, id, replicaID string, at time.Time) error {
	n, err := q.q.ReattachPresence(ctx, q.dbtx, sqlc.ReattachPresenceParams{
		ID:          id,
		ReplicaID:   replicaID,
		HeartbeatAt: at,
	})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("reattach presence: %w", err)
	}
	return nil
}

// DisconnectPresence marks a presence disconnected, keeping the first
// disconnection time; db.ErrNotFound if there is no such presence.
func (q *queries) DisconnectPresence(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.DisconnectPresence(ctx, q.dbtx, sqlc.DisconnectPresenceParams{ID: id, DisconnectedAt: at})
	if err := oneRow(n, err); err != nil {
		return fmt.Errorf("disconnect presence: %w", err)
	}
	return nil
}

// HeartbeatReplica refreshes the heartbeat of every live presence of a
// replica and returns how many there are.
func (q *queries) HeartbeatReplica(ctx context.Context, replicaID string, at time.Time) (int64, error) {
	n, err := q.q.HeartbeatReplica(ctx, q.dbtx, sqlc.HeartbeatReplicaParams{ReplicaID: replicaID, HeartbeatAt: at})
	if err != nil {
		return 0, fmt.Errorf("heartbeat replica: %w", interpretError(err))
	}
	return n, nil
}

// DisconnectReplica marks every live presence of a replica disconnected and
// returns their ids, sorted.
func (q *queries) DisconnectReplica(ctx context.Context, replicaID string, at time.Time) ([]string, error) {
	ids, err := q.q.DisconnectReplica(ctx, q.dbtx, sqlc.DisconnectReplicaParams{ReplicaID: replicaID, DisconnectedAt: at})
	if err != nil {
		return nil, fmt.Errorf("disconnect replica: %w", interpretError(err))
	}
	slices.Sort(ids)
	return ids, nil
}

// DisconnectStalePresences marks live presences whose heartbeat is older
// than before disconnected, and returns them by connection time.
func (q *queries) DisconnectStalePresences(ctx context.Context, before, at time.Time) ([]db.Presence, error) {
	rows, err := q.q.DisconnectStalePresences(ctx, q.dbtx, sqlc.DisconnectStalePresencesParams{
		Before:         before,
		DisconnectedAt: at,
	})
	if err != nil {
		return nil, fmt.Errorf("disconnect stale presences: %w", interpretError(err))
	}
	presences, err := conv.MapRows(rows, presenceFromRow)
	if err != nil {
		return nil, fmt.Errorf("disconnect stale presences: %w", err)
	}
	slices.SortFunc(presences, func(a, b db.Presence) int {
		return cmp.Or(a.ConnectedAt.Compare(b.ConnectedAt), cmp.Compare(a.ID, b.ID))
	})
	return presences, nil
}

// ExpireWorkingStatuses flips live presences stuck in "working" since
// before to "idle" with source "inferred", and returns their ids, sorted.
func (q *queries) ExpireWorkingStatuses(ctx context.Context, before, at time.Time) ([]string, error) {
	ids, err := q.q.ExpireWorkingStatuses(ctx, q.dbtx, sqlc.ExpireWorkingStatusesParams{
		Before:          before,
		StatusUpdatedAt: at,
	})
	if err != nil {
		return nil, fmt.Errorf("expire working statuses: %w", interpretError(err))
	}
	slices.Sort(ids)
	return ids, nil
}

// UpsertPeerState writes a member's peer state, keeping its creation time.
func (q *queries) UpsertPeerState(ctx context.Context, s db.PeerState) error {
	groups, err := conv.EncodeArray(s.Groups)
	if err != nil {
		return fmt.Errorf("upsert peer state: encode groups: %w", err)
	}
	profile, err := conv.Encode(s.Profile)
	if err != nil {
		return fmt.Errorf("upsert peer state: encode profile: %w", err)
	}
	stats, err := conv.Encode(s.CumulativeStats)
	if err != nil {
		return fmt.Errorf("upsert peer state: encode stats: %w", err)
	}
	err = q.q.UpsertPeerState(ctx, q.dbtx, sqlc.UpsertPeerStateParams{
		MeshID:          s.MeshID,
		MemberID:        s.MemberID,
		Groups:          groups,
		Profile:         profile,
		Visible:         s.Visible,
		LastSummary:     s.LastSummary,
		LastDisplayName: s.LastDisplayName,
		CumulativeStats: stats,
		LastSeenAt:      s.LastSeenAt,
		CreatedAt:       s.CreatedAt,
		UpdatedAt:       s.UpdatedAt,
	})
	if err != nil {
		return fmt.Errorf("upsert peer state: %w", interpretError(err))
	}
	return nil
}

// GetPeerState returns a member's peer state.
func (q *queries) GetPeerState(ctx context.Context, meshID, memberID string) (db.PeerState, error) {
	row, err := q.q.GetPeerState(ctx, q.dbtx, sqlc.GetPeerStateParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return db.PeerState{}, fmt.Errorf("get peer state: %w", interpretError(err))
	}
	s, err := peerStateFromRow(row)
	if err != nil {
		return db.PeerState{}, fmt.Errorf("get peer state: %w", err)
	}
	return s, nil
}

// ListPeerStates returns the peer states of a mesh's members, by member id.
func (q *queries) ListPeerStates(ctx context.Context, meshID string) ([]db.PeerState, error) {
	rows, err := q.q.ListPeerStates(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, fmt.Errorf("list peer states: %w", interpretError(err))
	}
	states, err := conv.MapRows(rows, peerStateFromRow)
	if err != nil {
		return nil, fmt.Errorf("list peer states: %w", err)
	}
	return states, nil
}

func presenceFromRow(row sqlc.Presence) (db.Presence, error) {
	groups, err := conv.DecodeArray[db.GroupRole](row.Groups)
	if err != nil {
		return db.Presence{}, fmt.Errorf("decode presence groups: %w", err)
	}
	profile, err := conv.Decode[db.Profile](row.Profile)
	if err != nil {
		return db.Presence{}, fmt.Errorf("decode presence profile: %w", err)
	}
	stats, err := conv.Decode[db.Stats](row.Stats)
	if err != nil {
		return db.Presence{}, fmt.Errorf("decode presence stats: %w", err)
	}
	return db.Presence{
		ID:              row.ID,
		MeshID:          row.MeshID,
		MemberID:        row.MemberID,
		ReplicaID:       row.ReplicaID,
		SessionID:       row.SessionID,
		SessionPubkey:   row.SessionPubkey,
		DisplayName:     row.DisplayName,
		PID:             row.Pid,
		Cwd:             row.Cwd,
		Hostname:        row.Hostname,
		PeerType:        row.PeerType,
		Channel:         row.Channel,
		Model:           row.Model,
		PeerRole:        row.PeerRole,
		Status:          row.Status,
		StatusSource:    row.StatusSource,
		StatusUpdatedAt: row.StatusUpdatedAt.UTC(),
		Summary:         row.Summary,
		Groups:          groups,
		Visible:         row.Visible,
		Profile:         profile,
		Stats:           stats,
		HookTokenHash:   row.HookTokenHash,
		ConnectedAt:     row.ConnectedAt.UTC(),
		HeartbeatAt:     row.HeartbeatAt.UTC(),
		DisconnectedAt:  utcPtr(row.DisconnectedAt),
	}, nil
}

func peerStateFromRow(row sqlc.PeerState) (db.PeerState, error) {
	groups, err := conv.DecodeArray[db.GroupRole](row.Groups)
	if err != nil {
		return db.PeerState{}, fmt.Errorf("decode peer state groups: %w", err)
	}
	profile, err := conv.Decode[db.Profile](row.Profile)
	if err != nil {
		return db.PeerState{}, fmt.Errorf("decode peer state profile: %w", err)
	}
	stats, err := conv.Decode[db.Stats](row.CumulativeStats)
	if err != nil {
		return db.PeerState{}, fmt.Errorf("decode peer state stats: %w", err)
	}
	return db.PeerState{
		MeshID:          row.MeshID,
		MemberID:        row.MemberID,
		Groups:          groups,
		Profile:         profile,
		Visible:         row.Visible,
		LastSummary:     row.LastSummary,
		LastDisplayName: row.LastDisplayName,
		CumulativeStats: stats,
		LastSeenAt:      row.LastSeenAt.UTC(),
		CreatedAt:       row.CreatedAt.UTC(),
		UpdatedAt:       row.UpdatedAt.UTC(),
	}, nil
}
