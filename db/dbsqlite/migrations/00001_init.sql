-- The claudemesh schema, version 1, for SQLite. It mirrors
-- db/dbpg/migrations/00001_init.sql: same tables, columns, constraints,
-- indexes and version numbers.
--
-- How the Postgres types translate:
--   - timestamptz is INTEGER microseconds since the Unix epoch (UTC). Text
--     timestamps compare badly; integers compare, sort and index exactly.
--   - jsonb is TEXT holding JSON, with the same defaults.
--   - bytea is BLOB; integer and bigint are INTEGER.
--   - boolean is INTEGER 0/1 with a CHECK. STRICT tables reject the BOOLEAN
--     type name, and STRICT is worth more: a time or a count can never be
--     stored as text by mistake. sqlc.yaml maps these columns to Go bool.
--
-- Every table is STRICT. Ids are text chosen by the application; every time
-- is written by the application (no defaults), so tests can inject a clock.

-- +goose Up
CREATE TABLE meshes (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    template      TEXT NOT NULL DEFAULT '',
    owner_pubkey  TEXT NOT NULL,
    policy        TEXT NOT NULL DEFAULT '{}',
    prompt_hint   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    archived_at   INTEGER
) STRICT;

-- Groups a mesh declares (from its template or an admin). Peers may also
-- join undeclared groups.
CREATE TABLE mesh_groups (
    mesh_id     TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    roles       TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (mesh_id, name)
) STRICT;

CREATE TABLE members (
    id              TEXT PRIMARY KEY,
    mesh_id         TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    pubkey          TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT 'member',
    role_tag        TEXT NOT NULL DEFAULT '',
    default_groups  TEXT NOT NULL DEFAULT '[]',
    message_mode    TEXT NOT NULL DEFAULT 'push',
    invite_id       TEXT NOT NULL DEFAULT '',
    joined_at       INTEGER NOT NULL,
    last_seen_at    INTEGER,
    revoked_at      INTEGER,
    revoke_reason   TEXT NOT NULL DEFAULT '',
    UNIQUE (mesh_id, pubkey)
) STRICT;

CREATE TABLE invites (
    id                    TEXT PRIMARY KEY,
    mesh_id               TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    token                 TEXT NOT NULL UNIQUE,
    max_uses              INTEGER NOT NULL DEFAULT 1,
    used_count            INTEGER NOT NULL DEFAULT 0,
    role                  TEXT NOT NULL DEFAULT 'member',
    preset                TEXT NOT NULL DEFAULT '{}',
    expires_at            INTEGER NOT NULL,
    created_by_member_id  TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    revoked_at            INTEGER
) STRICT;
CREATE INDEX invites_mesh_idx ON invites (mesh_id, created_at);

-- API keys; mesh_id NULL marks an operator key.
CREATE TABLE api_keys (
    id                    TEXT PRIMARY KEY,
    mesh_id               TEXT REFERENCES meshes (id) ON DELETE CASCADE,
    label                 TEXT NOT NULL,
    secret_hash           TEXT NOT NULL UNIQUE,
    prefix                TEXT NOT NULL,
    capabilities          TEXT NOT NULL DEFAULT '[]',
    created_by_member_id  TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    last_used_at          INTEGER,
    expires_at            INTEGER,
    revoked_at            INTEGER
) STRICT;
CREATE INDEX api_keys_mesh_idx ON api_keys (mesh_id, created_at);

-- One row per connected session; closed by setting disconnected_at.
CREATE TABLE presences (
    id                 TEXT PRIMARY KEY,
    mesh_id            TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id          TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    replica_id         TEXT NOT NULL,
    session_id         TEXT NOT NULL,
    session_pubkey     TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    pid                INTEGER NOT NULL DEFAULT 0,
    cwd                TEXT NOT NULL DEFAULT '',
    hostname           TEXT NOT NULL DEFAULT '',
    peer_type          TEXT NOT NULL DEFAULT '',
    channel            TEXT NOT NULL DEFAULT '',
    model              TEXT NOT NULL DEFAULT '',
    peer_role          TEXT NOT NULL DEFAULT 'session',
    status             TEXT NOT NULL DEFAULT 'idle',
    status_source      TEXT NOT NULL DEFAULT 'inferred',
    status_updated_at  INTEGER NOT NULL,
    summary            TEXT,
    groups             TEXT NOT NULL DEFAULT '[]',
    visible            INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
    profile            TEXT NOT NULL DEFAULT '{}',
    stats              TEXT NOT NULL DEFAULT '{}',
    hook_token_hash    TEXT NOT NULL DEFAULT '',
    connected_at       INTEGER NOT NULL,
    heartbeat_at       INTEGER NOT NULL,
    disconnected_at    INTEGER
) STRICT;
CREATE INDEX presences_mesh_live_idx ON presences (mesh_id, connected_at) WHERE disconnected_at IS NULL;
CREATE INDEX presences_replica_live_idx ON presences (replica_id) WHERE disconnected_at IS NULL;
CREATE INDEX presences_session_idx ON presences (mesh_id, session_id) WHERE disconnected_at IS NULL;
-- GetPresenceBySessionPubkey: live or not, newest connection first.
CREATE INDEX presences_session_pubkey_idx ON presences (mesh_id, session_pubkey, connected_at);

-- What a member's sessions leave behind for the next one ("welcome back").
CREATE TABLE peer_states (
    mesh_id            TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id          TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    groups             TEXT NOT NULL DEFAULT '[]',
    profile            TEXT NOT NULL DEFAULT '{}',
    visible            INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
    last_summary       TEXT NOT NULL DEFAULT '',
    last_display_name  TEXT NOT NULL DEFAULT '',
    cumulative_stats   TEXT NOT NULL DEFAULT '{}',
    last_seen_at       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (mesh_id, member_id)
) STRICT;

-- Message envelopes. The broker stores ciphertext only for direct messages.
CREATE TABLE messages (
    id                     TEXT PRIMARY KEY,
    mesh_id                TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    sender_member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    sender_session_pubkey  TEXT NOT NULL DEFAULT '',
    sender_name            TEXT NOT NULL DEFAULT '',
    target_spec            TEXT NOT NULL,
    priority               TEXT NOT NULL DEFAULT 'next',
    nonce                  TEXT NOT NULL DEFAULT '',
    ciphertext             TEXT NOT NULL,
    subtype                TEXT NOT NULL DEFAULT '',
    client_message_id      TEXT,
    request_fingerprint    TEXT NOT NULL DEFAULT '',
    reply_to_id            TEXT NOT NULL DEFAULT '',
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX messages_client_id_idx ON messages (sender_member_id, client_message_id) WHERE client_message_id IS NOT NULL;
CREATE INDEX messages_mesh_idx ON messages (mesh_id, id);

-- One row per message and recipient: the delivery journey. A recipient is a
-- session of a member (recipient_session_pubkey set: only that session may
-- take the row) or any session of the member (recipient_session_pubkey '':
-- for members offline when the message was sent, and messages addressed to
-- the member key). A message may have several rows for one member, one per
-- session key.
CREATE TABLE deliveries (
    message_id                TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    mesh_id                   TEXT NOT NULL,
    recipient_member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    recipient_session_pubkey  TEXT NOT NULL DEFAULT '',
    priority                  TEXT NOT NULL,
    created_at                INTEGER NOT NULL,
    expires_at                INTEGER NOT NULL,
    claimed_by                TEXT NOT NULL DEFAULT '',
    claim_expires_at          INTEGER,
    pushed_at                 INTEGER,
    acked_at                  INTEGER,
    expired_at                INTEGER,
    PRIMARY KEY (message_id, recipient_member_id, recipient_session_pubkey)
) STRICT;
-- The primary key serves the lookups by message (ListDeliveries,
-- AckDeliveries); the partial indexes cover pending rows only: by recipient
-- member for ClaimDeliveries, by claimer for ReleaseClaims, by expiry for
-- ExpireDeliveries.
CREATE INDEX deliveries_pending_idx ON deliveries (recipient_member_id, created_at, message_id) WHERE acked_at IS NULL AND expired_at IS NULL;
CREATE INDEX deliveries_claimed_idx ON deliveries (claimed_by) WHERE acked_at IS NULL AND expired_at IS NULL;
CREATE INDEX deliveries_lease_idx ON deliveries (claim_expires_at) WHERE claimed_by <> '' AND acked_at IS NULL AND expired_at IS NULL;
CREATE INDEX deliveries_expiry_idx ON deliveries (expires_at) WHERE acked_at IS NULL AND expired_at IS NULL;

CREATE TABLE state_entries (
    mesh_id               TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    key                   TEXT NOT NULL,
    value                 TEXT NOT NULL,
    updated_by_member_id  TEXT NOT NULL DEFAULT '',
    updated_by_name       TEXT NOT NULL DEFAULT '',
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (mesh_id, key)
) STRICT;

-- Scheduled messages. next_fire_at NULL means done (a fired one-shot).
CREATE TABLE schedules (
    id              TEXT PRIMARY KEY,
    mesh_id         TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    target_spec     TEXT NOT NULL,
    message         TEXT NOT NULL,
    subtype         TEXT NOT NULL DEFAULT '',
    cron            TEXT NOT NULL DEFAULT '',
    timezone        TEXT NOT NULL DEFAULT 'UTC',
    next_fire_at    INTEGER,
    fired_count     INTEGER NOT NULL DEFAULT 0,
    last_fired_at   INTEGER,
    last_fire_late  INTEGER NOT NULL DEFAULT 0 CHECK (last_fire_late IN (0, 1)),
    created_at      INTEGER NOT NULL,
    cancelled_at    INTEGER
) STRICT;
CREATE INDEX schedules_due_idx ON schedules (next_fire_at) WHERE cancelled_at IS NULL AND next_fire_at IS NOT NULL;
CREATE INDEX schedules_member_idx ON schedules (mesh_id, member_id);

-- Per-member encrypted secrets; the broker holds ciphertext only.
CREATE TABLE vault_entries (
    mesh_id      TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    ciphertext   BLOB NOT NULL,
    nonce        BLOB NOT NULL,
    sealed_key   BLOB NOT NULL,
    entry_type   TEXT NOT NULL DEFAULT 'env',
    mount_path   TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (mesh_id, member_id, key)
) STRICT;

-- Deployed MCP servers and skill bundles.
CREATE TABLE services (
    id                     TEXT PRIMARY KEY,
    mesh_id                TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    type                   TEXT NOT NULL DEFAULT 'mcp',
    description            TEXT NOT NULL DEFAULT '',
    source                 TEXT NOT NULL DEFAULT '{}',
    runtime                TEXT NOT NULL DEFAULT '',
    config                 TEXT NOT NULL DEFAULT '{}',
    env_sealed             BLOB,
    scope                  TEXT NOT NULL DEFAULT '"peer"',
    status                 TEXT NOT NULL DEFAULT 'stopped',
    status_error           TEXT NOT NULL DEFAULT '',
    tools                  TEXT NOT NULL DEFAULT '[]',
    restart_count          INTEGER NOT NULL DEFAULT 0,
    deployed_by_member_id  TEXT NOT NULL DEFAULT '',
    deployed_by_name       TEXT NOT NULL DEFAULT '',
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (mesh_id, name)
) STRICT;
CREATE INDEX services_status_idx ON services (status);

CREATE TABLE skills (
    id                TEXT PRIMARY KEY,
    mesh_id           TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    instructions      TEXT NOT NULL,
    tags              TEXT NOT NULL DEFAULT '[]',
    manifest          TEXT NOT NULL DEFAULT '{}',
    author_member_id  TEXT NOT NULL DEFAULT '',
    author_name       TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (mesh_id, name)
) STRICT;

-- Shared files; their bytes live in file_chunks so replicas need no shared
-- disk.
CREATE TABLE files (
    id                     TEXT PRIMARY KEY,
    mesh_id                TEXT NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    size_bytes             INTEGER NOT NULL,
    mime_type              TEXT NOT NULL DEFAULT '',
    tags                   TEXT NOT NULL DEFAULT '[]',
    persistent             INTEGER NOT NULL DEFAULT 1 CHECK (persistent IN (0, 1)),
    encrypted              INTEGER NOT NULL DEFAULT 0 CHECK (encrypted IN (0, 1)),
    owner_pubkey           TEXT NOT NULL DEFAULT '',
    uploaded_by_member_id  TEXT NOT NULL DEFAULT '',
    uploaded_by_name       TEXT NOT NULL DEFAULT '',
    target_spec            TEXT NOT NULL DEFAULT '',
    chunk_count            INTEGER NOT NULL DEFAULT 0,
    sha256                 TEXT NOT NULL DEFAULT '',
    uploaded_at            INTEGER NOT NULL,
    expires_at             INTEGER,
    deleted_at             INTEGER
) STRICT;
CREATE INDEX files_mesh_idx ON files (mesh_id, uploaded_at) WHERE deleted_at IS NULL;

CREATE TABLE file_chunks (
    file_id  TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (file_id, seq)
) STRICT;

CREATE TABLE file_keys (
    file_id            TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    peer_pubkey        TEXT NOT NULL,
    sealed_key         TEXT NOT NULL,
    granted_by_pubkey  TEXT NOT NULL DEFAULT '',
    granted_at         INTEGER NOT NULL,
    PRIMARY KEY (file_id, peer_pubkey)
) STRICT;

CREATE TABLE file_accesses (
    id                   TEXT PRIMARY KEY,
    file_id              TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    member_id            TEXT NOT NULL DEFAULT '',
    peer_session_pubkey  TEXT NOT NULL DEFAULT '',
    peer_name            TEXT NOT NULL DEFAULT '',
    accessed_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX file_accesses_file_idx ON file_accesses (file_id, accessed_at);

-- Hook statuses that arrived before their presence (first-turn race).
CREATE TABLE pending_statuses (
    id          TEXT PRIMARY KEY,
    mesh_id     TEXT NOT NULL DEFAULT '',
    session_id  TEXT NOT NULL,
    pid         INTEGER NOT NULL DEFAULT 0,
    cwd         TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    applied_at  INTEGER
) STRICT;
CREATE INDEX pending_statuses_session_idx ON pending_statuses (session_id, created_at);

-- +goose Down
DROP TABLE pending_statuses;
DROP TABLE file_accesses;
DROP TABLE file_keys;
DROP TABLE file_chunks;
DROP TABLE files;
DROP TABLE skills;
DROP TABLE services;
DROP TABLE vault_entries;
DROP TABLE schedules;
DROP TABLE state_entries;
DROP TABLE deliveries;
DROP TABLE messages;
DROP TABLE peer_states;
DROP TABLE presences;
DROP TABLE api_keys;
DROP TABLE invites;
DROP TABLE members;
DROP TABLE mesh_groups;
DROP TABLE meshes;
