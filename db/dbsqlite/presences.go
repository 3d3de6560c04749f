package dbsqlite

import (
	"context"
	"time"

	"claudemesh.dev/db"
	"claudemesh.dev/db/dbsqlite/internal/sqlc"
	"claudemesh.dev/db/internal/conv"
)

func presenceFromRow(r sqlc.Presence) (db.Presence, error) {
	groups, err := conv.DecodeArray[db.GroupRole]([]byte(r.Groups))
	if err != nil {
		return db.Presence{}, err
	}
	profile, err := conv.Decode[db.Profile]([]byte(r.Profile))
	if err != nil {
		return db.Presence{}, err
	}
	stats, err := conv.Decode[db.Stats]([]byte(r.Stats))
	if err != nil {
		return db.Presence{}, err
	}
	return db.Presence{
		ID:              r.ID,
		MeshID:          r.MeshID,
		MemberID:        r.MemberID,
		ReplicaID:       r.ReplicaID,
		SessionID:       r.SessionID,
		SessionPubkey:   r.SessionPubkey,
		DisplayName:     r.DisplayName,
		PID:             int32(r.Pid),
		Cwd:             r.Cwd,
		Hostname:        r.Hostname,
		PeerType:        r.PeerType,
		Channel:         r.Channel,
		Model:           r.Model,
		PeerRole:        r.PeerRole,
		Status:          r.Status,
		StatusSource:    r.StatusSource,
		StatusUpdatedAt: fromMicros(r.StatusUpdatedAt),
		Summary:         r.Summary,
		Groups:          groups,
		Visible:         r.Visible,
		Profile:         profile,
		Stats:           stats,
		HookTokenHash:   r.HookTokenHash,
		ConnectedAt:     fromMicros(r.ConnectedAt),
		HeartbeatAt:     fromMicros(r.HeartbeatAt),
		DisconnectedAt:  fromMicrosPtr(r.DisconnectedAt),
	}, nil
}

func peerStateFromRow(r sqlc.PeerState) (db.PeerState, error) {
	groups, err := conv.DecodeArray[db.GroupRole]([]byte(r.Groups))
	if err != nil {
		return db.PeerState{}, err
	}
	profile, err := conv.Decode[db.Profile]([]byte(r.Profile))
	if err != nil {
		return db.PeerState{}, err
	}
	stats, err := conv.Decode[db.Stats]([]byte(r.CumulativeStats))
	if err != nil {
		return db.PeerState{}, err
	}
	return db.PeerState{
		MeshID:          r.MeshID,
		MemberID:        r.MemberID,
		Groups:          groups,
		Profile:         profile,
		Visible:         r.Visible,
		LastSummary:     r.LastSummary,
		LastDisplayName: r.LastDisplayName,
		CumulativeStats: stats,
		LastSeenAt:      fromMicros(r.LastSeenAt),
		CreatedAt:       fromMicros(r.CreatedAt),
		UpdatedAt:       fromMicros(r.UpdatedAt),
	}, nil
}

// CreatePresence inserts a presence.
func (q *queries) CreatePresence(ctx context.Context, p db.Presence) error {
	groups, err := conv.EncodeArray(p.Groups)
	if err != nil {
		return wrapErr("create presence", err)
	}
	profile, err := conv.Encode(p.Profile)
	if err != nil {
		return wrapErr("create presence", err)
	}
	stats, err := conv.Encode(p.Stats)
	if err != nil {
		return wrapErr("create presence", err)
	}
	return wrapErr("create presence", q.q.CreatePresence(ctx, q.dbtx, sqlc.CreatePresenceParams{
		ID:              p.ID,
		MeshID:          p.MeshID,
		MemberID:        p.MemberID,
		ReplicaID:       p.ReplicaID,
		SessionID:       p.SessionID,
		SessionPubkey:   p.SessionPubkey,
		DisplayName:     p.DisplayName,
		Pid:             int64(p.PID),
		Cwd:             p.Cwd,
		Hostname:        p.Hostname,
		PeerType:        p.PeerType,
		Channel:         p.Channel,
		Model:           p.Model,
		PeerRole:        p.PeerRole,
		Status:          p.Status,
		StatusSource:    p.StatusSource,
		StatusUpdatedAt: micros(p.StatusUpdatedAt),
		Summary:         p.Summary,
		Groups:          string(groups),
		Visible:         p.Visible,
		Profile:         string(profile),
		Stats:           string(stats),
		HookTokenHash:   p.HookTokenHash,
		ConnectedAt:     micros(p.ConnectedAt),
		HeartbeatAt:     micros(p.HeartbeatAt),
		DisconnectedAt:  microsPtr(p.DisconnectedAt),
	}))
}

// GetPresence returns a presence by id, live or not.
func (q *queries) GetPresence(ctx context.Context, id string) (db.Presence, error) {
	r, err := q.q.GetPresence(ctx, q.dbtx, id)
	if err != nil {
		return db.Presence{}, wrapErr("get presence", err)
	}
	p, err := presenceFromRow(r)
	return p, wrapErr("get presence", err)
}

// GetPresenceBySessionPubkey returns the most recently connected presence
// of a mesh with a session key, live or not (the latest id on a tie).
func (q *queries) GetPresenceBySessionPubkey(ctx context.Context, meshID, sessionPubkey string) (db.Presence, error) {
	r, err := q.q.GetPresenceBySessionPubkey(ctx, q.dbtx, sqlc.GetPresenceBySessionPubkeyParams{
		MeshID:        meshID,
		SessionPubkey: sessionPubkey,
	})
	if err != nil {
		return db.Presence{}, wrapErr("get presence by session pubkey", err)
	}
	p, err := presenceFromRow(r)
	return p, wrapErr("get presence by session pubkey", err)
}

// ListLivePresences returns a mesh's live presences, by connection time.
func (q *queries) ListLivePresences(ctx context.Context, meshID string) ([]db.Presence, error) {
	rows, err := q.q.ListLivePresences(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list live presences", err)
	}
	out, err := conv.MapRows(rows, presenceFromRow)
	return out, wrapErr("list live presences", err)
}

// ListLiveSessionPresences returns the live presences of a mesh with a
// Claude Code session id, by connection time.
func (q *queries) ListLiveSessionPresences(ctx context.Context, meshID, sessionID string) ([]db.Presence, error) {
	rows, err := q.q.ListLiveSessionPresences(ctx, q.dbtx, sqlc.ListLiveSessionPresencesParams{
		MeshID:    meshID,
		SessionID: sessionID,
	})
	if err != nil {
		return nil, wrapErr("list live session presences", err)
	}
	out, err := conv.MapRows(rows, presenceFromRow)
	return out, wrapErr("list live session presences", err)
}

// UpdatePresenceStatus writes a presence's status.
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdatePresenceStatus(ctx context.Context, id string, s db.PresenceStatus) error {
	n, err := q.q.UpdatePresenceStatus(ctx, q.dbtx, sqlc.UpdatePresenceStatusParams{
		Status:          s.Status,
		StatusSource:    s.Source,
		StatusUpdatedAt: micros(s.UpdatedAt),
		ID:              id,
	})
	return requireRows("update presence status", n, err)
}

// UpdatePresenceSummary writes a presence's summary (nil clears it).
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdatePresenceSummary(ctx context.Context, id string, summary *string) error {
	n, err := q.q.UpdatePresenceSummary(ctx, q.dbtx, sqlc.UpdatePresenceSummaryParams{
		Summary: summary,
		ID:      id,
	})
	return requireRows("update presence summary", n, err)
}

// UpdatePresenceGroups replaces a presence's groups.
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdatePresenceGroups(ctx context.Context, id string, groups []db.GroupRole) error {
	g, err := conv.EncodeArray(groups)
	if err != nil {
		return wrapErr("update presence groups", err)
	}
	n, err := q.q.UpdatePresenceGroups(ctx, q.dbtx, sqlc.UpdatePresenceGroupsParams{
		Groups: string(g),
		ID:     id,
	})
	return requireRows("update presence groups", n, err)
}

// UpdatePresenceVisible writes a presence's visibility.
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdatePresenceVisible(ctx context.Context, id string, visible bool) error {
	n, err := q.q.UpdatePresenceVisible(ctx, q.dbtx, sqlc.UpdatePresenceVisibleParams{
		Visible: visible,
		ID:      id,
	})
	return requireRows("update presence visible", n, err)
}

// UpdatePresenceProfile replaces a presence's profile.
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdatePresenceProfile(ctx context.Context, id string, p db.Profile) error {
	profile, err := conv.Encode(p)
	if err != nil {
		return wrapErr("update presence profile", err)
	}
	n, err := q.q.UpdatePresenceProfile(ctx, q.dbtx, sqlc.UpdatePresenceProfileParams{
		Profile: string(profile),
		ID:      id,
	})
	return requireRows("update presence profile", n, err)
}

// UpdatePresenceStats replaces a presence's stats.
// It returns db.ErrNotFound if there is none.
func (q *queries) UpdatePresenceStats(ctx context.Context, id string, s db.Stats) error {
	stats, err := conv.Encode(s)
	if err != nil {
		return wrapErr("update presence stats", err)
	}
	n, err := q.q.UpdatePresenceStats(ctx, q.dbtx, sqlc.UpdatePresenceStatsParams{
		Stats: string(stats),
		ID:    id,
	})
	return requireRows("update presence stats", n, err)
}

// ReattachPresence moves a presence to a replica, marks it live again and
// refreshes its heartbeat; db.ErrNotFound if there is none.
func (q *queries) ReattachPresence(ctx context.Context, id, replicaID string, at time.Time) error {
	n, err := q.q.ReattachPresence(ctx, q.dbtx, sqlc.ReattachPresenceParams{
		ReplicaID:   replicaID,
		HeartbeatAt: micros(at),
		ID:          id,
	})
	return requireRows("reattach presence", n, err)
}

// DisconnectPresence marks a presence disconnected; a presence already
// disconnected keeps its first disconnection time.
// It returns db.ErrNotFound if there is none.
func (q *queries) DisconnectPresence(ctx context.Context, id string, at time.Time) error {
	n, err := q.q.DisconnectPresence(ctx, q.dbtx, sqlc.DisconnectPresenceParams{
		DisconnectedAt: microsOf(at),
		ID:             id,
	})
	return requireRows("disconnect presence", n, err)
}

// HeartbeatReplica refreshes the heartbeat of every live presence of a
// replica and returns how many there are.
func (q *queries) HeartbeatReplica(ctx context.Context, replicaID string, at time.Time) (int64, error) {
	n, err := q.q.HeartbeatReplica(ctx, q.dbtx, sqlc.HeartbeatReplicaParams{
		HeartbeatAt: micros(at),
		ReplicaID:   replicaID,
	})
	return n, wrapErr("heartbeat replica", err)
}

// DisconnectReplica marks every live presence of a replica disconnected and
// returns their ids.
func (q *queries) DisconnectReplica(ctx context.Context, replicaID string, at time.Time) ([]string, error) {
	ids, err := q.q.DisconnectReplica(ctx, q.dbtx, sqlc.DisconnectReplicaParams{
		DisconnectedAt: microsOf(at),
		ReplicaID:      replicaID,
	})
	if err != nil {
		return nil, wrapErr("disconnect replica", err)
	}
	return ids, nil
}

// DisconnectStalePresences marks live presences whose heartbeat is older
// than before disconnected at at, and returns them as they are now.
func (q *queries) DisconnectStalePresences(ctx context.Context, before, at time.Time) ([]db.Presence, error) {
	rows, err := q.q.DisconnectStalePresences(ctx, q.dbtx, sqlc.DisconnectStalePresencesParams{
		DisconnectedAt: microsOf(at),
		Before:         micros(before),
	})
	if err != nil {
		return nil, wrapErr("disconnect stale presences", err)
	}
	out, err := conv.MapRows(rows, presenceFromRow)
	return out, wrapErr("disconnect stale presences", err)
}

// ExpireWorkingStatuses flips live presences stuck in "working" since
// before to "idle" with source "inferred", and returns their ids.
func (q *queries) ExpireWorkingStatuses(ctx context.Context, before, at time.Time) ([]string, error) {
	ids, err := q.q.ExpireWorkingStatuses(ctx, q.dbtx, sqlc.ExpireWorkingStatusesParams{
		StatusUpdatedAt: micros(at),
		Before:          micros(before),
	})
	if err != nil {
		return nil, wrapErr("expire working statuses", err)
	}
	return ids, nil
}

// UpsertPeerState writes a member's peer state (keeping its creation time).
func (q *queries) UpsertPeerState(ctx context.Context, s db.PeerState) error {
	groups, err := conv.EncodeArray(s.Groups)
	if err != nil {
		return wrapErr("upsert peer state", err)
	}
	profile, err := conv.Encode(s.Profile)
	if err != nil {
		return wrapErr("upsert peer state", err)
	}
	stats, err := conv.Encode(s.CumulativeStats)
	if err != nil {
		return wrapErr("upsert peer state", err)
	}
	return wrapErr("upsert peer state", q.q.UpsertPeerState(ctx, q.dbtx, sqlc.UpsertPeerStateParams{
		MeshID:          s.MeshID,
		MemberID:        s.MemberID,
		Groups:          string(groups),
		Profile:         string(profile),
		Visible:         s.Visible,
		LastSummary:     s.LastSummary,
		LastDisplayName: s.LastDisplayName,
		CumulativeStats: string(stats),
		LastSeenAt:      micros(s.LastSeenAt),
		CreatedAt:       micros(s.CreatedAt),
		UpdatedAt:       micros(s.UpdatedAt),
	}))
}

// GetPeerState returns a member's peer state.
func (q *queries) GetPeerState(ctx context.Context, meshID, memberID string) (db.PeerState, error) {
	r, err := q.q.GetPeerState(ctx, q.dbtx, sqlc.GetPeerStateParams{MeshID: meshID, MemberID: memberID})
	if err != nil {
		return db.PeerState{}, wrapErr("get peer state", err)
	}
	s, err := peerStateFromRow(r)
	return s, wrapErr("get peer state", err)
}

// ListPeerStates returns the peer states of a mesh's members, by member id.
func (q *queries) ListPeerStates(ctx context.Context, meshID string) ([]db.PeerState, error) {
	rows, err := q.q.ListPeerStates(ctx, q.dbtx, meshID)
	if err != nil {
		return nil, wrapErr("list peer states", err)
	}
	out, err := conv.MapRows(rows, peerStateFromRow)
	return out, wrapErr("list peer states", err)
}
