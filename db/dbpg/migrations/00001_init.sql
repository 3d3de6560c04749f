-- The claudemesh schema, version 1. Keep db/dbsqlite/migrations/00001_init.sql
-- in step: same tables, columns, constraints and version numbers.
--
-- Conventions: ids are text chosen by the application (32-char base62);
-- every time is written by the application (no now() defaults), so tests can
-- inject a clock; JSON documents are jsonb.

-- +goose Up
CREATE TABLE meshes (
    id            text PRIMARY KEY,
    slug          text NOT NULL UNIQUE,
    name          text NOT NULL,
    template      text NOT NULL DEFAULT '',
    owner_pubkey  text NOT NULL,
    policy        jsonb NOT NULL DEFAULT '{}',
    prompt_hint   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    archived_at   timestamptz
);

-- Groups a mesh declares (from its template or an admin). Peers may also
-- join undeclared groups.
CREATE TABLE mesh_groups (
    mesh_id     text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name        text NOT NULL,
    roles       jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (mesh_id, name)
);

CREATE TABLE members (
    id              text PRIMARY KEY,
    mesh_id         text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    pubkey          text NOT NULL,
    display_name    text NOT NULL,
    role            text NOT NULL DEFAULT 'member',
    role_tag        text NOT NULL DEFAULT '',
    default_groups  jsonb NOT NULL DEFAULT '[]',
    message_mode    text NOT NULL DEFAULT 'push',
    invite_id       text NOT NULL DEFAULT '',
    joined_at       timestamptz NOT NULL,
    last_seen_at    timestamptz,
    revoked_at      timestamptz,
    revoke_reason   text NOT NULL DEFAULT '',
    UNIQUE (mesh_id, pubkey)
);

CREATE TABLE invites (
    id                    text PRIMARY KEY,
    mesh_id               text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    token                 text NOT NULL UNIQUE,
    max_uses              integer NOT NULL DEFAULT 1,
    used_count            integer NOT NULL DEFAULT 0,
    role                  text NOT NULL DEFAULT 'member',
    preset                jsonb NOT NULL DEFAULT '{}',
    expires_at            timestamptz NOT NULL,
    created_by_member_id  text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL,
    revoked_at            timestamptz
);
CREATE INDEX invites_mesh_idx ON invites (mesh_id, created_at);

-- API keys; mesh_id NULL marks an operator key.
CREATE TABLE api_keys (
    id                    text PRIMARY KEY,
    mesh_id               text REFERENCES meshes (id) ON DELETE CASCADE,
    label                 text NOT NULL,
    secret_hash           text NOT NULL UNIQUE,
    prefix                text NOT NULL,
    capabilities          jsonb NOT NULL DEFAULT '[]',
    created_by_member_id  text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL,
    last_used_at          timestamptz,
    expires_at            timestamptz,
    revoked_at            timestamptz
);
CREATE INDEX api_keys_mesh_idx ON api_keys (mesh_id, created_at);

-- One row per connected session; closed by setting disconnected_at.
CREATE TABLE presences (
    id                 text PRIMARY KEY,
    mesh_id            text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id          text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    replica_id         text NOT NULL,
    session_id         text NOT NULL,
    session_pubkey     text NOT NULL,
    display_name       text NOT NULL,
    pid                integer NOT NULL DEFAULT 0,
    cwd                text NOT NULL DEFAULT '',
    hostname           text NOT NULL DEFAULT '',
    peer_type          text NOT NULL DEFAULT '',
    channel            text NOT NULL DEFAULT '',
    model              text NOT NULL DEFAULT '',
    peer_role          text NOT NULL DEFAULT 'session',
    status             text NOT NULL DEFAULT 'idle',
    status_source      text NOT NULL DEFAULT 'inferred',
    status_updated_at  timestamptz NOT NULL,
    summary            text,
    groups             jsonb NOT NULL DEFAULT '[]',
    visible            boolean NOT NULL DEFAULT true,
    profile            jsonb NOT NULL DEFAULT '{}',
    stats              jsonb NOT NULL DEFAULT '{}',
    hook_token_hash    text NOT NULL DEFAULT '',
    connected_at       timestamptz NOT NULL,
    heartbeat_at       timestamptz NOT NULL,
    disconnected_at    timestamptz
);
CREATE INDEX presences_mesh_live_idx ON presences (mesh_id, connected_at) WHERE disconnected_at IS NULL;
CREATE INDEX presences_replica_live_idx ON presences (replica_id) WHERE disconnected_at IS NULL;
CREATE INDEX presences_session_idx ON presences (mesh_id, session_id) WHERE disconnected_at IS NULL;
-- GetPresenceBySessionPubkey: live or not, newest connection first.
CREATE INDEX presences_session_pubkey_idx ON presences (mesh_id, session_pubkey, connected_at);

-- What a member's sessions leave behind for the next one ("welcome back").
CREATE TABLE peer_states (
    mesh_id            text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id          text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    groups             jsonb NOT NULL DEFAULT '[]',
    profile            jsonb NOT NULL DEFAULT '{}',
    visible            boolean NOT NULL DEFAULT true,
    last_summary       text NOT NULL DEFAULT '',
    last_display_name  text NOT NULL DEFAULT '',
    cumulative_stats   jsonb NOT NULL DEFAULT '{}',
    last_seen_at       timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (mesh_id, member_id)
);

-- Message envelopes. The broker stores ciphertext only for direct messages.
CREATE TABLE messages (
    id                     text PRIMARY KEY,
    mesh_id                text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    sender_member_id       text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    sender_session_pubkey  text NOT NULL DEFAULT '',
    sender_name            text NOT NULL DEFAULT '',
    target_spec            text NOT NULL,
    priority               text NOT NULL DEFAULT 'next',
    nonce                  text NOT NULL DEFAULT '',
    ciphertext             text NOT NULL,
    subtype                text NOT NULL DEFAULT '',
    client_message_id      text,
    request_fingerprint    text NOT NULL DEFAULT '',
    reply_to_id            text NOT NULL DEFAULT '',
    created_at             timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL
);
CREATE UNIQUE INDEX messages_client_id_idx ON messages (sender_member_id, client_message_id) WHERE client_message_id IS NOT NULL;
CREATE INDEX messages_mesh_idx ON messages (mesh_id, id);

-- One row per message and recipient: the delivery journey. A recipient is a
-- session of a member (recipient_session_pubkey set: only that session may
-- take the row) or any session of the member (recipient_session_pubkey '':
-- for members offline when the message was sent, and messages addressed to
-- the member key). A message may have several rows for one member, one per
-- session key.
CREATE TABLE deliveries (
    message_id                text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    mesh_id                   text NOT NULL,
    recipient_member_id       text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    recipient_session_pubkey  text NOT NULL DEFAULT '',
    priority                  text NOT NULL,
    created_at                timestamptz NOT NULL,
    expires_at                timestamptz NOT NULL,
    claimed_by                text NOT NULL DEFAULT '',
    claim_expires_at          timestamptz,
    pushed_at                 timestamptz,
    acked_at                  timestamptz,
    expired_at                timestamptz,
    PRIMARY KEY (message_id, recipient_member_id, recipient_session_pubkey)
);
-- The primary key serves the lookups by message (ListDeliveries,
-- AckDeliveries); the partial indexes cover pending rows only: by recipient
-- member for ClaimDeliveries, by claimer for ReleaseClaims, by expiry for
-- ExpireDeliveries.
CREATE INDEX deliveries_pending_idx ON deliveries (recipient_member_id, created_at, message_id) WHERE acked_at IS NULL AND expired_at IS NULL;
CREATE INDEX deliveries_claimed_idx ON deliveries (claimed_by) WHERE acked_at IS NULL AND expired_at IS NULL;
CREATE INDEX deliveries_lease_idx ON deliveries (claim_expires_at) WHERE claimed_by <> '' AND acked_at IS NULL AND expired_at IS NULL;
CREATE INDEX deliveries_expiry_idx ON deliveries (expires_at) WHERE acked_at IS NULL AND expired_at IS NULL;

CREATE TABLE state_entries (
    mesh_id               text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    key                   text NOT NULL,
    value                 jsonb NOT NULL,
    updated_by_member_id  text NOT NULL DEFAULT '',
    updated_by_name       text NOT NULL DEFAULT '',
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (mesh_id, key)
);

-- Scheduled messages. next_fire_at NULL means done (a fired one-shot).
CREATE TABLE schedules (
    id              text PRIMARY KEY,
    mesh_id         text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id       text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    target_spec     text NOT NULL,
    message         text NOT NULL,
    subtype         text NOT NULL DEFAULT '',
    cron            text NOT NULL DEFAULT '',
    timezone        text NOT NULL DEFAULT 'UTC',
    next_fire_at    timestamptz,
    fired_count     integer NOT NULL DEFAULT 0,
    last_fired_at   timestamptz,
    last_fire_late  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    cancelled_at    timestamptz
);
CREATE INDEX schedules_due_idx ON schedules (next_fire_at) WHERE cancelled_at IS NULL AND next_fire_at IS NOT NULL;
CREATE INDEX schedules_member_idx ON schedules (mesh_id, member_id);

-- Per-member encrypted secrets; the broker holds ciphertext only.
CREATE TABLE vault_entries (
    mesh_id      text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    member_id    text NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    key          text NOT NULL,
    ciphertext   bytea NOT NULL,
    nonce        bytea NOT NULL,
    sealed_key   bytea NOT NULL,
    entry_type   text NOT NULL DEFAULT 'env',
    mount_path   text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (mesh_id, member_id, key)
);

-- Deployed MCP servers and skill bundles.
CREATE TABLE services (
    id                     text PRIMARY KEY,
    mesh_id                text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name                   text NOT NULL,
    type                   text NOT NULL DEFAULT 'mcp',
    description            text NOT NULL DEFAULT '',
    source                 jsonb NOT NULL DEFAULT '{}',
    runtime                text NOT NULL DEFAULT '',
    config                 jsonb NOT NULL DEFAULT '{}',
    env_sealed             bytea,
    scope                  jsonb NOT NULL DEFAULT '"peer"',
    status                 text NOT NULL DEFAULT 'stopped',
    status_error           text NOT NULL DEFAULT '',
    tools                  jsonb NOT NULL DEFAULT '[]',
    restart_count          integer NOT NULL DEFAULT 0,
    deployed_by_member_id  text NOT NULL DEFAULT '',
    deployed_by_name       text NOT NULL DEFAULT '',
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    UNIQUE (mesh_id, name)
);
CREATE INDEX services_status_idx ON services (status);

CREATE TABLE skills (
    id                text PRIMARY KEY,
    mesh_id           text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name              text NOT NULL,
    description       text NOT NULL,
    instructions      text NOT NULL,
    tags              jsonb NOT NULL DEFAULT '[]',
    manifest          jsonb NOT NULL DEFAULT '{}',
    author_member_id  text NOT NULL DEFAULT '',
    author_name       text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (mesh_id, name)
);

-- Shared files; their bytes live in file_chunks so replicas need no shared
-- disk.
CREATE TABLE files (
    id                     text PRIMARY KEY,
    mesh_id                text NOT NULL REFERENCES meshes (id) ON DELETE CASCADE,
    name                   text NOT NULL,
    size_bytes             bigint NOT NULL,
    mime_type              text NOT NULL DEFAULT '',
    tags                   jsonb NOT NULL DEFAULT '[]',
    persistent             boolean NOT NULL DEFAULT true,
    encrypted              boolean NOT NULL DEFAULT false,
    owner_pubkey           text NOT NULL DEFAULT '',
    uploaded_by_member_id  text NOT NULL DEFAULT '',
    uploaded_by_name       text NOT NULL DEFAULT '',
    target_spec            text NOT NULL DEFAULT '',
    chunk_count            integer NOT NULL DEFAULT 0,
    sha256                 text NOT NULL DEFAULT '',
    uploaded_at            timestamptz NOT NULL,
    expires_at             timestamptz,
    deleted_at             timestamptz
);
CREATE INDEX files_mesh_idx ON files (mesh_id, uploaded_at) WHERE deleted_at IS NULL;

CREATE TABLE file_chunks (
    file_id  text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    seq      integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (file_id, seq)
);

CREATE TABLE file_keys (
    file_id            text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    peer_pubkey        text NOT NULL,
    sealed_key         text NOT NULL,
    granted_by_pubkey  text NOT NULL DEFAULT '',
    granted_at         timestamptz NOT NULL,
    PRIMARY KEY (file_id, peer_pubkey)
);

CREATE TABLE file_accesses (
    id                   text PRIMARY KEY,
    file_id              text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    member_id            text NOT NULL DEFAULT '',
    peer_session_pubkey  text NOT NULL DEFAULT '',
    peer_name            text NOT NULL DEFAULT '',
    accessed_at          timestamptz NOT NULL
);
CREATE INDEX file_accesses_file_idx ON file_accesses (file_id, accessed_at);

-- Hook statuses that arrived before their presence (first-turn race).
CREATE TABLE pending_statuses (
    id          text PRIMARY KEY,
    mesh_id     text NOT NULL DEFAULT '',
    session_id  text NOT NULL,
    pid         integer NOT NULL DEFAULT 0,
    cwd         text NOT NULL DEFAULT '',
    status      text NOT NULL,
    created_at  timestamptz NOT NULL,
    applied_at  timestamptz
);
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
