package meshmsg_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshmsg"
)

func TestRender(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	now := time.Date(2026, 3, 1, 18, 0, 0, 0, berlin)
	today := time.Date(2026, 3, 1, 13, 3, 7, 0, time.UTC) // 14:03:07 CET
	yesterday := today.Add(-24 * time.Hour)
	tests := []struct {
		name string
		m    meshmsg.Message
		slug string
		want string
	}{
		{"DirectNow", meshmsg.Message{FromName: "Alice", Kind: "direct", Priority: "now", SentAt: today, Text: "ship it?"},
			"dev-team", "[dev-team] from Alice (direct, now, 14:03:07):\nship it?"},
		{"GroupNext", meshmsg.Message{FromName: "Alice", Kind: "group", Target: "@eng/backend", Priority: "next", SentAt: today, Text: "standup"},
			"dev-team", "[dev-team] from Alice (@eng/backend, 14:03:07):\nstandup"},
		{"BroadcastLowYesterday", meshmsg.Message{FromName: "Bob", Kind: "broadcast", Priority: "low", SentAt: yesterday, Text: "fyi"},
			"dev-team", "[dev-team] from Bob (broadcast, low, 2026-02-28 14:03):\nfyi"},
		{"NoSlugNoTime", meshmsg.Message{FromName: "Bob", Kind: "direct", Priority: "next", Text: "hi"},
			"", "from Bob (direct):\nhi"},
		{"UnknownKind", meshmsg.Message{FromName: "peer-01234567", Kind: "unknown", Priority: "next", Text: "?"},
			"", "from peer-01234567:\n?"},
		{"Reminder", meshmsg.Message{FromName: "Alice", Kind: "reminder", Priority: "next", SentAt: today, Text: "check the deploy"},
			"dev-team", "[dev-team] [REMINDER] from Alice (14:03:07):\ncheck the deploy"},
		{"System", meshmsg.Message{FromName: "system", Kind: "system", Priority: "low", SentAt: today, Text: `[system] Peer "bob" left the mesh`},
			"dev-team", `[dev-team] [system] Peer "bob" left the mesh (14:03:07)`},
		{"Webhook", meshmsg.Message{FromName: "webhook:ci", Kind: "webhook", Text: `[webhook:ci] {"ok":true}`},
			"dev-team", `[dev-team] [webhook:ci] {"ok":true}`},
		{"Undecryptable", meshmsg.Message{FromName: "Alice", Kind: "direct", Priority: "next", SentAt: today, Text: "⚠ could not decrypt a message from Alice", Undecryptable: true},
			"x", "[x] from Alice (direct, 14:03:07):\n⚠ could not decrypt a message from Alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, meshmsg.Render(tt.m, tt.slug, now))
		})
	}
}

func TestRenderAll(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC)
	ms := []meshmsg.Message{
		{MeshID: "m1", FromName: "Alice", Kind: "direct", Priority: "next", SentAt: now, Text: "one"},
		{MeshID: "m2", FromName: "Bob", Kind: "broadcast", Priority: "next", SentAt: now, Text: "two"},
	}
	slugs := map[string]string{"m1": "dev", "m2": "ops"}
	require.Equal(t, "[dev] from Alice (direct, 18:00:00):\none\n---\n[ops] from Bob (broadcast, 18:00:00):\ntwo",
		meshmsg.RenderAll(ms, func(id string) string { return slugs[id] }, now))
	require.Equal(t, "from Alice (direct, 18:00:00):\none\n---\nfrom Bob (broadcast, 18:00:00):\ntwo",
		meshmsg.RenderAll(ms, nil, now))
	require.Empty(t, meshmsg.RenderAll(nil, nil, now))
}
