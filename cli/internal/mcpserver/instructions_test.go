package mcpserver

import (
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
)

func TestInstructions(t *testing.T) {
	t.Parallel()
	text := instructions(facts{
		name: "alice", role: "reviewer", groups: []config.Group{{Name: "eng", Role: "lead"}},
		mode: ModePush, channels: true, meshes: []string{"team"}, hints: []string{"team: review before merge"},
	})
	require.Contains(t, text, "You are alice (reviewer)")
	require.Contains(t, text, "@eng:lead")
	require.Contains(t, text, `<channel source="claudemesh"`)
	require.Contains(t, text, "Mesh team: review before merge")
	require.NotContains(t, text, "Channels are off")

	text = instructions(facts{name: "bob", mode: ModePush, meshes: []string{"a", "b"}})
	require.Contains(t, text, "Channels are off")
	require.Contains(t, text, "prefix a target with <mesh-slug>:")
	require.NotContains(t, text, "<channel")

	require.Contains(t, instructions(facts{mode: ModeInbox, meshes: []string{"a"}}), "check_messages to read them")
	require.Contains(t, instructions(facts{}), "no mesh is joined")
}
