package templates_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/services/templates"
)

// specTable is spec §12.1 (classic v0.10.6), transcribed independently of
// the package so a typo in either shows up as a difference.
func specTable() []templates.Template {
	g := func(name string, roles ...string) templates.Group { return templates.Group{Name: name, Roles: roles} }
	kv := func(k, v string) templates.StateKey { return templates.StateKey{Key: k, Value: v} }
	return []templates.Template{
		{
			Name:           "dev-team",
			Description:    "Software development team with frontend, backend, and devops groups",
			Groups:         []templates.Group{g("frontend", "lead", "member"), g("backend", "lead", "member"), g("devops", "lead", "member"), g("qa", "lead", "member")},
			StateKeys:      []templates.StateKey{kv("sprint", "current"), kv("deploy-frozen", "false"), kv("pr-queue", "[]")},
			SuggestedRoles: []string{"lead", "member", "reviewer"},
			PromptHint:     "You are part of a dev team. Coordinate with @frontend, @backend, @devops groups. Check state keys for sprint status and deploy freezes before making changes.",
		},
		{
			Name:           "research",
			Description:    "Research and analysis team focused on deep investigation and knowledge sharing",
			Groups:         []templates.Group{g("analysis", "lead", "analyst"), g("writing", "lead", "writer", "reviewer"), g("data", "engineer", "analyst")},
			StateKeys:      []templates.StateKey{kv("research-topic", ""), kv("phase", "exploration"), kv("findings-count", "0")},
			SuggestedRoles: []string{"lead", "analyst", "writer", "reviewer"},
			PromptHint:     "You are part of a research team. Share findings via remember(), use recall() before starting new analysis. Coordinate phases through state keys.",
		},
		{
			Name:           "ops-incident",
			Description:    "Incident response team with oncall, comms, and engineering groups",
			Groups:         []templates.Group{g("oncall", "primary", "secondary"), g("comms", "lead", "scribe"), g("engineering", "lead", "responder")},
			StateKeys:      []templates.StateKey{kv("incident-status", "investigating"), kv("severity", "unknown"), kv("commander", ""), kv("timeline", "[]")},
			SuggestedRoles: []string{"commander", "primary-oncall", "scribe", "responder"},
			PromptHint:     "INCIDENT MODE. Priority: now for all messages. Update incident-status state. Commander coordinates. Scribe maintains timeline. Engineering fixes.",
		},
		{
			Name:           "simulation",
			Description:    "Load testing simulation with configurable time multiplier and user personas",
			Groups:         []templates.Group{g("personas", "admin", "user", "customer"), g("observers", "monitor", "analyst"), g("control", "orchestrator")},
			StateKeys:      []templates.StateKey{kv("clock-speed", "x1"), kv("sim-status", "paused"), kv("tick-count", "0"), kv("scenario", "")},
			SuggestedRoles: []string{"orchestrator", "persona", "monitor"},
			PromptHint:     "SIMULATION MODE. Follow the clock-speed state for time multiplier. Act according to your persona role and the simulated time. Report actions to @observers.",
		},
		{
			Name:           "personal",
			Description:    "Private mesh for a single user — all sessions auto-join",
			Groups:         []templates.Group{},
			StateKeys:      []templates.StateKey{kv("focus", ""), kv("todos", "[]")},
			SuggestedRoles: []string{},
			PromptHint:     "Personal workspace. All your Claude Code sessions share this mesh. Use state keys to track focus and todos across sessions.",
		},
	}
}

func TestAll(t *testing.T) {
	t.Parallel()

	all := templates.All()
	require.Len(t, all, 5)
	require.Equal(t, []string{"dev-team", "research", "ops-incident", "simulation", "personal"}, templates.Names())

	for i, want := range specTable() {
		t.Run(want.Name, func(t *testing.T) {
			t.Parallel()
			got := all[i]
			require.Equal(t, want.Name, got.Name)
			require.Equal(t, want.Description, got.Description)
			require.Equal(t, want.Groups, got.Groups)
			require.Equal(t, want.StateKeys, got.StateKeys)
			require.Equal(t, want.SuggestedRoles, got.SuggestedRoles)
			require.Equal(t, want.PromptHint, got.PromptHint)
			require.Equal(t, want, got)

			// Empty lists are empty, not nil, so they print as [] as the
			// classic JSON has them.
			require.NotNil(t, got.Groups)
			require.NotNil(t, got.SuggestedRoles)
			require.NotEmpty(t, got.StateKeys)

			seen := map[string]bool{}
			for _, k := range got.StateKeys {
				require.False(t, seen[k.Key], "duplicate state key %q", k.Key)
				seen[k.Key] = true
			}
		})
	}
}

func TestGet(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		key    string
		wantOK bool
	}{
		{name: "CaseMismatch", key: "Dev-Team", wantOK: false},
		{name: "DevTeam", key: "dev-team", wantOK: true},
		{name: "Empty", key: "", wantOK: false},
		{name: "HeadDisplayName", key: "Dev Team", wantOK: false},
		{name: "OpsIncident", key: "ops-incident", wantOK: true},
		{name: "Personal", key: "personal", wantOK: true},
		{name: "Research", key: "research", wantOK: true},
		{name: "Simulation", key: "simulation", wantOK: true},
		{name: "Unknown", key: "marketing", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := templates.Get(tt.key)
			require.Equal(t, tt.wantOK, ok)
			if !ok {
				require.Equal(t, templates.Template{}, got)
				return
			}
			require.Equal(t, tt.key, got.Name)
			for _, want := range specTable() {
				if want.Name == tt.key {
					require.Equal(t, want, got)
				}
			}
		})
	}
}

func TestFreshValues(t *testing.T) {
	t.Parallel()

	all := templates.All()
	all[0].Groups[0].Roles[0] = "changed"
	all[0].StateKeys[0].Value = "changed"
	all[4].Name = "changed"

	got, ok := templates.Get("dev-team")
	require.True(t, ok)
	require.Equal(t, "lead", got.Groups[0].Roles[0])
	require.Equal(t, "current", got.StateKeys[0].Value)
	require.Equal(t, "personal", templates.Names()[4])
}
