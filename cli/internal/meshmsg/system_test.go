package meshmsg_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/cli/internal/meshmsg"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

func systemPush(t *testing.T, event string, data map[string]any) *edgev1.Push {
	t.Helper()
	st, err := structpb.NewStruct(data)
	require.NoError(t, err)
	subtype := "system"
	return &edgev1.Push{
		MessageId: "ev-1", MeshId: "mesh-1", SenderPubkey: "system", Priority: "low",
		CreatedAt: "2026-03-01T14:00:00.000Z", Subtype: &subtype, Event: &event, EventData: st,
	}
}

func TestDecodeSystemEvents(t *testing.T) {
	t.Parallel()
	key := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		event string
		data  map[string]any
		want  string
	}{
		{"peer_joined", map[string]any{"name": "alice", "pubkey": key, "groups": []any{
			map[string]any{"name": "eng/backend", "role": "lead"}, map[string]any{"name": "ops"},
		}}, `[system] Peer "alice" joined the mesh (@eng/backend:lead, @ops)`},
		{"peer_joined", map[string]any{"name": "alice", "pubkey": key, "groups": []any{}}, `[system] Peer "alice" joined the mesh`},
		{"peer_returned", map[string]any{
			"name": "alice", "pubkey": key, "groups": []any{map[string]any{"name": "eng"}},
			"lastSeenAt": "2026-03-01T11:00:00.000Z", "summary": "fixing the flaky test",
		}, `[system] Welcome back, "alice"! Last seen 3h ago. Restored: @eng. Summary: "fixing the flaky test"`},
		{"peer_returned", map[string]any{"name": "alice", "lastSeenAt": "2026-03-01T13:58:30.000Z", "summary": ""},
			`[system] Welcome back, "alice"! Last seen 1m ago.`},
		{"peers_joined", map[string]any{"count": 3, "peers": []any{
			map[string]any{"name": "alice"}, map[string]any{"name": "bob", "returned": true}, map[string]any{"pubkey": key},
		}}, `[system] 3 peers joined the mesh: alice, bob, peer-01234567`},
		{"peers_joined", map[string]any{"count": 40.0, "peers": []any{map[string]any{"name": "x"}}},
			`[system] 40 peers joined the mesh: x (+39 more)`},
		{"peers_joined", map[string]any{"count": 12, "peers": func() []any {
			out := make([]any, 12)
			for i := range out {
				out[i] = map[string]any{"name": string(rune('a' + i))}
			}
			return out
		}()}, `[system] 12 peers joined the mesh: a, b, c, d, e, f, g, h, i, j (+2 more)`},
		{"peer_left", map[string]any{"name": "alice", "pubkey": key}, `[system] Peer "alice" left the mesh`},
		{"peer_left", map[string]any{"pubkey": key}, `[system] Peer "peer-01234567" left the mesh`},
		{"peer_visible", map[string]any{"name": "alice"}, `[system] Peer "alice" is visible again`},
		{"peer_hidden", map[string]any{"name": "alice"}, `[system] Peer "alice" is hidden now`},
		{"loop_guard", map[string]any{
			"members": []any{"m1", "m2"}, "count": 20, "windowSec": 300,
			"reason": "too many messages between two members without a human prompt",
		}, "[system] Loop guard: messages between you and another member are held after 20 in 300s " +
			"(too many messages between two members without a human prompt). It resets when a person prompts either of you."},
		{"loop_guard", map[string]any{}, "[system] Loop guard: messages between you and another member are held. It resets when a person prompts either of you."},
		{"mcp_deployed", map[string]any{"name": "github", "tool_count": 12, "deployed_by": "alice"}, `[SERVICE] "github" deployed (12 tools) by alice`},
		{"mcp_undeployed", map[string]any{"name": "github", "by": "alice"}, `[SERVICE] "github" undeployed by alice`},
		{"mcp_scope_changed", map[string]any{"name": "github", "scope": map[string]any{"group": "eng"}, "by": "bob"},
			`[SERVICE] "github" scope changed to {"group":"eng"} by bob`},
		{"tick", map[string]any{"tick": 3, "speed": 2}, `[system] tick: {"speed":2,"tick":3}`},
		{"maintenance", nil, `[system] maintenance`},
		{"", nil, `[system] event`},
	}
	for _, tt := range tests {
		m := meshmsg.Decode(systemPush(t, tt.event, tt.data), nil, nil)
		require.Equal(t, tt.want, m.Text, tt.event)
		require.Equal(t, "system", m.Kind)
		require.Equal(t, "system", m.FromName)
		require.Equal(t, tt.event, m.Event)
		require.False(t, m.Undecryptable)
	}
}

func TestDecodeSystemWithoutSubtype(t *testing.T) {
	t.Parallel()
	p := systemPush(t, "peer_left", map[string]any{"name": "bob"})
	p.Subtype = nil
	require.Equal(t, `[system] Peer "bob" left the mesh`, meshmsg.Decode(p, nil, nil).Text)
}

func TestDecodeWebhook(t *testing.T) {
	t.Parallel()
	p := systemPush(t, "ci", map[string]any{"status": "green", "run": 42})
	subtype := "webhook"
	p.Subtype, p.SenderPubkey = &subtype, "webhook:ci"
	m := meshmsg.Decode(p, nil, nil)
	require.Equal(t, "webhook", m.Kind)
	require.Equal(t, `[webhook:ci] {"run":42,"status":"green"}`, m.Text)
	require.Equal(t, "webhook:ci", m.FromName)

	// A classic webhook push names itself only in the sender.
	p.Subtype, p.Event = nil, nil
	require.Equal(t, `[webhook:ci] {"run":42,"status":"green"}`, meshmsg.Decode(p, nil, nil).Text)
}
