-- name: CreatePresence :exec
INSERT INTO presences (
    id, mesh_id, member_id, replica_id, session_id, session_pubkey, display_name,
    pid, cwd, hostname, peer_type, channel, model, peer_role, status,
    status_source, status_updated_at, summary, groups, visible, profile, stats,
    hook_token_hash, connected_at, heartbeat_at, disconnected_at
) VALUES (
    @id, @mesh_id, @member_id, @replica_id, @session_id, @session_pubkey, @display_name,
    @pid, @cwd, @hostname, @peer_type, @channel, @model, @peer_role, @status,
    @status_source, @status_updated_at, sqlc.narg('summary'), @groups, @visible, @profile, @stats,
    @hook_token_hash, @connected_at, @heartbeat_at, sqlc.narg('disconnected_at')
);

-- name: GetPresence :one
SELECT * FROM presences WHERE id = @id;

-- name: ListLivePresences :many
SELECT * FROM presences
WHERE mesh_id = @mesh_id AND disconnected_at IS NULL
ORDER BY connected_at, id;

-- name: ListLiveSessionPresences :many
SELECT * FROM presences
WHERE mesh_id = @mesh_id AND session_id = @session_id AND disconnected_at IS NULL
ORDER BY connected_at, id;

-- name: UpdatePresenceStatus :execrows
UPDATE presences SET status = @status, status_source = @status_source, status_updated_at = @status_updated_at
WHERE id = @id;

-- name: UpdatePresenceSummary :execrows
UPDATE presences SET summary = sqlc.narg('summary') WHERE id = @id;

-- name: UpdatePresenceGroups :execrows
UPDATE presences SET groups = @groups WHERE id = @id;

-- name: UpdatePresenceVisible :execrows
UPDATE presences SET visible = @visible WHERE id = @id;

-- name: UpdatePresenceProfile :execrows
UPDATE presences SET profile = @profile WHERE id = @id;

-- name: UpdatePresenceStats :execrows
UPDATE presences SET stats = @stats WHERE id = @id;

-- name: ReattachPresence :execrows
UPDATE presences SET replica_id = @replica_id, disconnected_at = NULL, heartbeat_at = @heartbeat_at
WHERE id = @id;

-- DisconnectPresence keeps the first disconnection time.
-- name: DisconnectPresence :execrows
UPDATE presences SET disconnected_at = COALESCE(disconnected_at, @disconnected_at) WHERE id = @id;

-- name: HeartbeatReplica :execrows
UPDATE presences SET heartbeat_at = @heartbeat_at
WHERE replica_id = @replica_id AND disconnected_at IS NULL;

-- name: DisconnectReplica :many
UPDATE presences SET disconnected_at = @disconnected_at
WHERE replica_id = @replica_id AND disconnected_at IS NULL
RETURNING id;

-- name: DisconnectStalePresences :many
UPDATE presences SET disconnected_at = @disconnected_at
WHERE disconnected_at IS NULL AND heartbeat_at < @before
RETURNING *;

-- name: ExpireWorkingStatuses :many
UPDATE presences SET status = 'idle', status_source = 'inferred', status_updated_at = @status_updated_at
WHERE disconnected_at IS NULL AND status = 'working' AND status_updated_at < @before
RETURNING id;

-- name: UpsertPeerState :exec
INSERT INTO peer_states (
    mesh_id, member_id, groups, profile, visible, last_summary, last_display_name,
    cumulative_stats, last_seen_at, created_at, updated_at
) VALUES (
    @mesh_id, @member_id, @groups, @profile, @visible, @last_summary, @last_display_name,
    @cumulative_stats, @last_seen_at, @created_at, @updated_at
)
ON CONFLICT (mesh_id, member_id) DO UPDATE SET
    groups = excluded.groups,
    profile = excluded.profile,
    visible = excluded.visible,
    last_summary = excluded.last_summary,
    last_display_name = excluded.last_display_name,
    cumulative_stats = excluded.cumulative_stats,
    last_seen_at = excluded.last_seen_at,
    updated_at = excluded.updated_at;

-- name: GetPeerState :one
SELECT * FROM peer_states WHERE mesh_id = @mesh_id AND member_id = @member_id;

-- name: ListPeerStates :many
SELECT * FROM peer_states WHERE mesh_id = @mesh_id ORDER BY member_id;

-- GetPresenceBySessionPubkey returns the newest connection with a session
-- key, live or not (presences_session_pubkey_idx).
-- name: GetPresenceBySessionPubkey :one
SELECT * FROM presences
WHERE mesh_id = @mesh_id AND session_pubkey = @session_pubkey
ORDER BY connected_at DESC, id DESC
LIMIT 1;
