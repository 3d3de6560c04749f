package dbtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

// baseTime is the suite's fixed "now". It has a non-zero microsecond part so
// that a engine losing sub-second precision shows up, and no nanoseconds, so
// it survives the microsecond storage precision unchanged.
func baseTime() time.Time {
	return time.Date(2026, 11, 28, 12, 0, 0, 123456000, time.UTC)
}

// at returns the base time moved by d.
func at(d time.Duration) time.Time { return baseTime().Add(d) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// build applies mods to a row in order.
func build[T any](row T, mods []func(*T)) T {
	for _, mod := range mods {
		mod(&row)
	}
	return row
}

// Every builder below fills every field with a non-zero value (and every
// slice with at least one element) so a column an engine forgets to write or
// read shows up as a difference. Tests change what they need with mods.

func testMesh(mods ...func(*db.Mesh)) db.Mesh {
	id := db.NewID()
	return build(db.Mesh{
		ID:          id,
		Slug:        "mesh-" + id,
		Name:        "Test mesh",
		Template:    "pair-programming",
		OwnerPubkey: db.NewID(),
		Policy: db.MeshPolicy{SelfEditable: db.SelfEditable{
			DisplayName: true,
			Groups:      true,
		}},
		PromptHint: "Be brief.",
		CreatedAt:  baseTime(),
	}, mods)
}

func createMesh(t *testing.T, q db.Queries, mods ...func(*db.Mesh)) db.Mesh {
	t.Helper()
	m := testMesh(mods...)
	require.NoError(t, q.CreateMesh(t.Context(), m))
	return m
}

func testMeshGroup(meshID string, mods ...func(*db.MeshGroup)) db.MeshGroup {
	return build(db.MeshGroup{
		MeshID:    meshID,
		Name:      "backend",
		Roles:     []string{"lead", "reviewer"},
		CreatedAt: baseTime(),
	}, mods)
}

func testMember(meshID string, mods ...func(*db.Member)) db.Member {
	return build(db.Member{
		ID:          db.NewID(),
		MeshID:      meshID,
		Pubkey:      db.NewID(),
		DisplayName: "alice",
		Role:        db.RoleMember,
		RoleTag:     "reviewer",
		DefaultGroups: []db.GroupRole{
			{Name: "backend", Role: "lead"},
			{Name: "all"},
		},
		MessageMode: "push",
		InviteID:    db.NewID(),
		JoinedAt:    baseTime(),
	}, mods)
}

func createMember(t *testing.T, q db.Queries, meshID string, mods ...func(*db.Member)) db.Member {
	t.Helper()
	m := testMember(meshID, mods...)
	require.NoError(t, q.CreateMember(t.Context(), m))
	return m
}

func testInvite(meshID string, mods ...func(*db.Invite)) db.Invite {
	return build(db.Invite{
		ID:      db.NewID(),
		MeshID:  meshID,
		Token:   db.NewID(),
		MaxUses: 3,
		Role:    db.RoleMember,
		Preset: db.InvitePreset{
			DisplayName: "bob",
			RoleTag:     "qa",
			Groups:      []db.GroupRole{{Name: "frontend", Role: "owner"}},
			MessageMode: "inbox",
		},
		ExpiresAt:         at(24 * time.Hour),
		CreatedByMemberID: db.NewID(),
		CreatedAt:         baseTime(),
	}, mods)
}

func createInvite(t *testing.T, q db.Queries, meshID string, mods ...func(*db.Invite)) db.Invite {
	t.Helper()
	inv := testInvite(meshID, mods...)
	require.NoError(t, q.CreateInvite(t.Context(), inv))
	return inv
}

func testAPIKey(meshID string, mods ...func(*db.APIKey)) db.APIKey {
	return build(db.APIKey{
		ID:                db.NewID(),
		MeshID:            meshID,
		Label:             "ci",
		SecretHash:        db.NewID() + db.NewID(),
		Prefix:            "cm_live_",
		Capabilities:      []string{"send", "read"},
		CreatedByMemberID: db.NewID(),
		CreatedAt:         baseTime(),
		ExpiresAt:         ptr(at(30 * 24 * time.Hour)),
	}, mods)
}

func createAPIKey(t *testing.T, q db.Queries, meshID string, mods ...func(*db.APIKey)) db.APIKey {
	t.Helper()
	k := testAPIKey(meshID, mods...)
	require.NoError(t, q.CreateAPIKey(t.Context(), k))
	return k
}

func testPresence(meshID, memberID string, mods ...func(*db.Presence)) db.Presence {
	return build(db.Presence{
		ID:              db.NewID(),
		MeshID:          meshID,
		MemberID:        memberID,
		ReplicaID:       "replica-a",
		SessionID:       db.NewID(),
		SessionPubkey:   db.NewID(),
		DisplayName:     "alice",
		PID:             4242,
		Cwd:             "/home/alice/src/claudemesh",
		Hostname:        "workstation",
		PeerType:        "claude-code",
		Channel:         "stable",
		Model:           "opus",
		PeerRole:        "session",
		Status:          "idle",
		StatusSource:    "hook",
		StatusUpdatedAt: baseTime(),
		Summary:         ptr("reviewing the storage layer"),
		Groups:          []db.GroupRole{{Name: "backend", Role: "lead"}},
		Visible:         true,
		Profile: db.Profile{
			Avatar:       "🦊",
			Title:        "Reviewer",
			Bio:          "Reads every diff.",
			Capabilities: []string{"go", "sql"},
		},
		Stats:         db.Stats{MessagesIn: 1, MessagesOut: 2, ToolCalls: 3, Uptime: 4, Errors: 5},
		HookTokenHash: db.NewID(),
		ConnectedAt:   baseTime(),
		HeartbeatAt:   baseTime(),
	}, mods)
}

func createPresence(t *testing.T, q db.Queries, meshID, memberID string, mods ...func(*db.Presence)) db.Presence {
	t.Helper()
	p := testPresence(meshID, memberID, mods...)
	require.NoError(t, q.CreatePresence(t.Context(), p))
	return p
}

func testPeerState(meshID, memberID string, mods ...func(*db.PeerState)) db.PeerState {
	return build(db.PeerState{
		MeshID:   meshID,
		MemberID: memberID,
		Groups:   []db.GroupRole{{Name: "backend"}, {Name: "ops", Role: "oncall"}},
		Profile: db.Profile{
			Title:        "Builder",
			Capabilities: []string{"deploy"},
		},
		Visible:         true,
		LastSummary:     "shipped the edge",
		LastDisplayName: "alice",
		CumulativeStats: db.Stats{MessagesIn: 10, MessagesOut: 20, ToolCalls: 30, Uptime: 40, Errors: 1},
		LastSeenAt:      baseTime(),
		CreatedAt:       baseTime(),
		UpdatedAt:       baseTime(),
	}, mods)
}

func testMessage(meshID, senderID string, mods ...func(*db.Message)) db.Message {
	return build(db.Message{
		ID:                  db.NewID(),
		MeshID:              meshID,
		SenderMemberID:      senderID,
		SenderSessionPubkey: db.NewID(),
		SenderName:          "alice",
		TargetSpec:          "@bob",
		Priority:            "next",
		Nonce:               "bm9uY2Ugbm9uY2Ugbm9uY2U=",
		Ciphertext:          "Y2lwaGVydGV4dA==",
		Subtype:             "reply",
		ClientMessageID:     db.NewID(),
		RequestFingerprint:  "fp-" + db.NewID(),
		ReplyToID:           db.NewID(),
		CreatedAt:           baseTime(),
		ExpiresAt:           at(7 * 24 * time.Hour),
	}, mods)
}

// testDelivery is the delivery of m to a recipient, as the broker writes it:
// unclaimed, unpushed, unacked.
func testDelivery(m db.Message, recipientID string, mods ...func(*db.Delivery)) db.Delivery {
	return build(db.Delivery{
		MessageID:         m.ID,
		MeshID:            m.MeshID,
		RecipientMemberID: recipientID,
		Priority:          m.Priority,
		CreatedAt:         m.CreatedAt,
		ExpiresAt:         m.ExpiresAt,
	}, mods)
}

// sendMessage inserts a message and one delivery per recipient member (to
// any session of it).
func sendMessage(t *testing.T, q db.Queries, m db.Message, recipientIDs ...string) []db.Delivery {
	t.Helper()
	require.NoError(t, q.InsertMessages(t.Context(), []db.Message{m}))
	ds := make([]db.Delivery, 0, len(recipientIDs))
	for _, id := range recipientIDs {
		ds = append(ds, testDelivery(m, id))
	}
	if len(ds) > 0 {
		require.NoError(t, q.InsertDeliveries(t.Context(), ds))
	}
	return ds
}

func testStateEntry(meshID, key string, mods ...func(*db.StateEntry)) db.StateEntry {
	return build(db.StateEntry{
		MeshID:            meshID,
		Key:               key,
		Value:             json.RawMessage(`{"branch":"main","green":true}`),
		UpdatedByMemberID: db.NewID(),
		UpdatedByName:     "alice",
		UpdatedAt:         baseTime(),
	}, mods)
}

func testSchedule(meshID, memberID string, mods ...func(*db.Schedule)) db.Schedule {
	return build(db.Schedule{
		ID:         db.NewID(),
		MeshID:     meshID,
		MemberID:   memberID,
		TargetSpec: "@all",
		Message:    "stand-up in five minutes",
		Subtype:    "reminder",
		Cron:       "55 8 * * 1-5",
		Timezone:   "Europe/Paris",
		NextFireAt: ptr(at(time.Hour)),
		CreatedAt:  baseTime(),
	}, mods)
}

func createSchedule(t *testing.T, q db.Queries, meshID, memberID string, mods ...func(*db.Schedule)) db.Schedule {
	t.Helper()
	s := testSchedule(meshID, memberID, mods...)
	require.NoError(t, q.CreateSchedule(t.Context(), s))
	return s
}

func testVaultEntry(meshID, memberID, key string, mods ...func(*db.VaultEntry)) db.VaultEntry {
	return build(db.VaultEntry{
		MeshID:      meshID,
		MemberID:    memberID,
		Key:         key,
		Ciphertext:  []byte{0x01, 0x02, 0x03, 0x00, 0xff},
		Nonce:       []byte{0x10, 0x11, 0x12},
		SealedKey:   []byte{0x20, 0x21, 0x22, 0x23},
		EntryType:   "file",
		MountPath:   "/run/secrets/" + key,
		Description: "secret " + key,
		CreatedAt:   baseTime(),
		UpdatedAt:   baseTime(),
	}, mods)
}

func testService(meshID, name string, mods ...func(*db.Service)) db.Service {
	return build(db.Service{
		ID:                 db.NewID(),
		MeshID:             meshID,
		Name:               name,
		Type:               "mcp",
		Description:        "Service " + name,
		Source:             json.RawMessage(`{"kind":"npm","package":"@acme/` + name + `"}`),
		Runtime:            "node",
		Config:             json.RawMessage(`{"args":["--stdio"],"port":8080}`),
		EnvSealed:          []byte{0xde, 0xad, 0xbe, 0xef},
		Scope:              json.RawMessage(`"mesh"`),
		Status:             "running",
		StatusError:        "last restart: exit 1",
		Tools:              json.RawMessage(`[{"name":"search"}]`),
		RestartCount:       2,
		DeployedByMemberID: db.NewID(),
		DeployedByName:     "alice",
		CreatedAt:          baseTime(),
		UpdatedAt:          baseTime(),
	}, mods)
}

func testSkill(meshID, name string, mods ...func(*db.Skill)) db.Skill {
	return build(db.Skill{
		ID:             db.NewID(),
		MeshID:         meshID,
		Name:           name,
		Description:    "Skill " + name,
		Instructions:   "Do the " + name + " thing.",
		Tags:           []string{"go", "review"},
		Manifest:       json.RawMessage(`{"version":1,"files":["SKILL.md"]}`),
		AuthorMemberID: db.NewID(),
		AuthorName:     "alice",
		CreatedAt:      baseTime(),
		UpdatedAt:      baseTime(),
	}, mods)
}

func testFile(meshID string, mods ...func(*db.File)) db.File {
	return build(db.File{
		ID:                 db.NewID(),
		MeshID:             meshID,
		Name:               "notes.md",
		SizeBytes:          5 << 20,
		MimeType:           "text/markdown",
		Tags:               []string{"notes", "design"},
		Persistent:         true,
		Encrypted:          true,
		OwnerPubkey:        db.NewID(),
		UploadedByMemberID: db.NewID(),
		UploadedByName:     "alice",
		TargetSpec:         "@bob",
		ChunkCount:         2,
		SHA256:             "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		UploadedAt:         baseTime(),
		ExpiresAt:          ptr(at(24 * time.Hour)),
	}, mods)
}

func createFile(t *testing.T, q db.Queries, meshID string, mods ...func(*db.File)) db.File {
	t.Helper()
	f := testFile(meshID, mods...)
	require.NoError(t, q.CreateFile(t.Context(), f))
	return f
}

func testPendingStatus(meshID, sessionID string, mods ...func(*db.PendingStatus)) db.PendingStatus {
	return build(db.PendingStatus{
		ID:        db.NewID(),
		MeshID:    meshID,
		SessionID: sessionID,
		PID:       4242,
		Cwd:       "/home/alice/src",
		Status:    "working",
		CreatedAt: baseTime(),
	}, mods)
}

func createPendingStatus(t *testing.T, q db.Queries, meshID, sessionID string, mods ...func(*db.PendingStatus)) db.PendingStatus {
	t.Helper()
	p := testPendingStatus(meshID, sessionID, mods...)
	require.NoError(t, q.InsertPendingStatus(t.Context(), p))
	return p
}

// orderedIDs returns n ids that sort the same way (ascending) under any
// collation: they share a random 31-character stem and end in a digit.
// Postgres may compare text with a locale collation that folds case, where
// two random base62 ids can sort differently than in SQLite's binary order.
func orderedIDs(n int) []string {
	if n > 10 {
		panic("dbtest: orderedIDs supports at most 10 ids")
	}
	stem := db.NewID()[:db.IDLength-1]
	ids := make([]string, n)
	for i := range ids {
		ids[i] = stem + string(rune('0'+i))
	}
	return ids
}
