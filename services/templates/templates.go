// Package templates holds the classic claudemesh mesh templates (spec §12.1,
// CLI v0.10.6): dev-team, research, ops-incident, simulation and personal.
//
// Templates are advisory only. `claudemesh create --template X` prints one
// and `--list-templates` lists them; nothing creates the groups or state keys
// they suggest.
package templates

// Group is a group a template suggests, with the roles members take in it.
type Group struct {
	// Name is the group name, used as @name in messages.
	Name string
	// Roles are the roles a member can hold in the group.
	Roles []string
}

// StateKey is a shared-state key a template suggests, with its initial value.
// Values are strings exactly as the classic template files give them, for
// example "false" or "[]".
type StateKey struct {
	// Key is the state key.
	Key string
	// Value is the key's initial value.
	Value string
}

// Template is a mesh template.
type Template struct {
	// Name is the template's registry key, e.g. "dev-team".
	Name string
	// Description is a one-line summary.
	Description string
	// Groups are the suggested groups, in the classic order; empty for none.
	Groups []Group
	// StateKeys are the suggested state keys in the classic order. (The
	// classic files hold them as a JSON object; a slice keeps the order.)
	StateKeys []StateKey
	// SuggestedRoles are the suggested member roles; empty for none.
	SuggestedRoles []string
	// PromptHint is the classic systemPromptHint: a hint for the sessions
	// that join the mesh.
	PromptHint string
}

// All returns the five classic templates in registry order: dev-team,
// research, ops-incident, simulation, personal. Each call returns fresh
// values, so callers may modify them.
func All() []Template {
	return []Template{
		{
			Name:        "dev-team",
			Description: "Software development team with frontend, backend, and devops groups",
			Groups: []Group{
				{Name: "frontend", Roles: []string{"lead", "member"}},
				{Name: "backend", Roles: []string{"lead", "member"}},
				{Name: "devops", Roles: []string{"lead", "member"}},
				{Name: "qa", Roles: []string{"lead", "member"}},
			},
			StateKeys: []StateKey{
				{Key: "sprint", Value: "current"},
				{Key: "deploy-frozen", Value: "false"},
				{Key: "pr-queue", Value: "[]"},
			},
			SuggestedRoles: []string{"lead", "member", "reviewer"},
			PromptHint: "You are part of a dev team. Coordinate with @frontend, @backend, @devops groups. " +
				"Check state keys for sprint status and deploy freezes before making changes.",
		},
		{
			Name:        "research",
			Description: "Research and analysis team focused on deep investigation and knowledge sharing",
			Groups: []Group{
				{Name: "analysis", Roles: []string{"lead", "analyst"}},
				{Name: "writing", Roles: []string{"lead", "writer", "reviewer"}},
				{Name: "data", Roles: []string{"engineer", "analyst"}},
			},
			StateKeys: []StateKey{
				{Key: "research-topic", Value: ""},
				{Key: "phase", Value: "exploration"},
				{Key: "findings-count", Value: "0"},
			},
			SuggestedRoles: []string{"lead", "analyst", "writer", "reviewer"},
			PromptHint: "You are part of a research team. Share findings via remember(), " +
				"use recall() before starting new analysis. Coordinate phases through state keys.",
		},
		{
			Name:        "ops-incident",
			Description: "Incident response team with oncall, comms, and engineering groups",
			Groups: []Group{
				{Name: "oncall", Roles: []string{"primary", "secondary"}},
				{Name: "comms", Roles: []string{"lead", "scribe"}},
				{Name: "engineering", Roles: []string{"lead", "responder"}},
			},
			StateKeys: []StateKey{
				{Key: "incident-status", Value: "investigating"},
				{Key: "severity", Value: "unknown"},
				{Key: "commander", Value: ""},
				{Key: "timeline", Value: "[]"},
			},
			SuggestedRoles: []string{"commander", "primary-oncall", "scribe", "responder"},
			PromptHint: "INCIDENT MODE. Priority: now for all messages. Update incident-status state. " +
				"Commander coordinates. Scribe maintains timeline. Engineering fixes.",
		},
		{
			Name:        "simulation",
			Description: "Load testing simulation with configurable time multiplier and user personas",
			Groups: []Group{
				{Name: "personas", Roles: []string{"admin", "user", "customer"}},
				{Name: "observers", Roles: []string{"monitor", "analyst"}},
				{Name: "control", Roles: []string{"orchestrator"}},
			},
			StateKeys: []StateKey{
				{Key: "clock-speed", Value: "x1"},
				{Key: "sim-status", Value: "paused"},
				{Key: "tick-count", Value: "0"},
				{Key: "scenario", Value: ""},
			},
			SuggestedRoles: []string{"orchestrator", "persona", "monitor"},
			PromptHint: "SIMULATION MODE. Follow the clock-speed state for time multiplier. " +
				"Act according to your persona role and the simulated time. Report actions to @observers.",
		},
		{
			Name:        "personal",
			Description: "Private mesh for a single user — all sessions auto-join",
			Groups:      []Group{},
			StateKeys: []StateKey{
				{Key: "focus", Value: ""},
				{Key: "todos", Value: "[]"},
			},
			SuggestedRoles: []string{},
			PromptHint: "Personal workspace. All your Claude Code sessions share this mesh. " +
				"Use state keys to track focus and todos across sessions.",
		},
	}
}

// Get returns the template registered under name, and whether there is one.
// Names are matched exactly.
func Get(name string) (Template, bool) {
	for _, t := range All() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// Names returns the registry keys in the order of All.
func Names() []string {
	all := All()
	names := make([]string, 0, len(all))
	for _, t := range all {
		names = append(names, t.Name)
	}
	return names
}
