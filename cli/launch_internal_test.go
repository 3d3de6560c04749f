package cli

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
)

func TestParsePassthrough(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   []string
		want passthrough
	}{
		{name: "Empty", in: nil, want: passthrough{}},
		{name: "Plain", in: []string{"--model", "opus", "fix it"}, want: passthrough{args: []string{"--model", "opus", "fix it"}}},
		{
			name: "OurFlagsRemoved",
			in:   []string{"--dangerously-load-development-channels", "server:x", "-p", "--dangerously-skip-permissions", "--dangerously-load-development-channels=server:y", "hi"},
			want: passthrough{args: []string{"-p", "hi"}, skipPermissions: true},
		},
		{name: "ChannelsLast", in: []string{"--verbose", "--dangerously-load-development-channels"}, want: passthrough{args: []string{"--verbose"}}},
		{
			name: "SessionID", in: []string{"--session-id", "abc", "--verbose"},
			want: passthrough{args: []string{"--session-id", "abc", "--verbose"}, sessionID: "abc"},
		},
		{name: "SessionIDEquals", in: []string{"--session-id=abc"}, want: passthrough{args: []string{"--session-id=abc"}, sessionID: "abc"}},
		{name: "Resume", in: []string{"--resume", "x"}, want: passthrough{args: []string{"--resume", "x"}, resumes: true}},
		{name: "ResumeEquals", in: []string{"--resume=x"}, want: passthrough{args: []string{"--resume=x"}, resumes: true}},
		{name: "ResumeShort", in: []string{"-r"}, want: passthrough{args: []string{"-r"}, resumes: true}},
		{name: "Continue", in: []string{"-c", "go on"}, want: passthrough{args: []string{"-c", "go on"}, resumes: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, parsePassthrough(tt.in))
		})
	}
}

func TestClaudeArgs(t *testing.T) {
	t.Parallel()
	base := []string{"--dangerously-load-development-channels", "server:claudemesh"}
	for _, tt := range []struct {
		name string
		plan launchPlan
		want []string
	}{
		{name: "Resume", plan: launchPlan{resume: "r1"}, want: append(base, "--resume", "r1")},
		{name: "Continue", plan: launchPlan{continueLast: true}, want: append(base, "--continue")},
		{
			name: "Everything",
			plan: launchPlan{
				sessionID: "s1", passSessionID: true, skipPermissions: true, systemPrompt: "be brief",
				mcpConfig: `{"mcpServers":{}}`, passthrough: []string{"--model", "opus"},
			},
			want: append(base, "--mcp-config", `{"mcpServers":{}}`, "--session-id", "s1",
				"--dangerously-skip-permissions", "--system-prompt", "be brief", "--model", "opus"),
		},
		{
			name: "SessionIDFromPassthrough",
			plan: launchPlan{sessionID: "s1", passthrough: []string{"--session-id", "s1"}},
			want: append(base, "--session-id", "s1"),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.plan.claudeArgs())
		})
	}
}

func TestLaunchEnviron(t *testing.T) {
	t.Parallel()
	p := &launchPlan{
		mesh: "alpha", displayName: "alice", role: "lead", messageMode: "inbox", sessionID: "s1",
		groups: []config.Group{{Name: "eng", Role: "lead"}, {Name: "qa"}},
	}
	base := []string{"PATH=/bin", "CLAUDEMESH_MESH=old", "CLAUDEMESH_ROLE=old", "MCP_TIMEOUT=5", "KEEP=x=y", "MAX_MCP_OUTPUT_TOKENS="}
	getenv := func(k string) string {
		for _, e := range base {
			if name, v, _ := strings.Cut(e, "="); name == k {
				return v
			}
		}
		return ""
	}
	require.Equal(t, []string{
		"PATH=/bin", "MCP_TIMEOUT=5", "KEEP=x=y",
		"CLAUDEMESH_MESH=alpha", "CLAUDEMESH_DISPLAY_NAME=alice", "CLAUDEMESH_MESSAGE_MODE=inbox", "CLAUDEMESH_CHANNELS=1",
		"CLAUDEMESH_ROLE=lead", "CLAUDEMESH_GROUPS=eng:lead,qa", "CLAUDEMESH_SESSION_ID=s1",
		"MAX_MCP_OUTPUT_TOKENS=50000", "MCP_PROTOCOL_NEGOTIATION=legacy",
	}, p.environ(base, getenv))

	// No role, groups or session id: inherited ones are removed.
	p = &launchPlan{mesh: "alpha", displayName: "alice", messageMode: "push"}
	base = []string{"CLAUDEMESH_ROLE=old", "CLAUDEMESH_GROUPS=old", "CLAUDEMESH_SESSION_ID=old", "CLAUDEMESH_CONFIG_DIR=/c"}
	require.Equal(t, []string{
		"CLAUDEMESH_CONFIG_DIR=/c",
		"CLAUDEMESH_MESH=alpha", "CLAUDEMESH_DISPLAY_NAME=alice", "CLAUDEMESH_MESSAGE_MODE=push", "CLAUDEMESH_CHANNELS=1",
		"MCP_TIMEOUT=30000", "MAX_MCP_OUTPUT_TOKENS=50000", "MCP_PROTOCOL_NEGOTIATION=legacy",
	}, p.environ(base, func(string) string { return "" }))
}

func TestLaunchBanner(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	printLaunchBanner(&b, &launchPlan{displayName: "bob", mesh: "alpha", messageMode: "off"})
	require.Equal(t, "claudemesh launch — as bob on alpha [off]\n  off: no notices; Claude sees messages only when it calls check_messages.\n", b.String())
	b.Reset()
	printLaunchBanner(&b, &launchPlan{displayName: "bob", role: "qa", mesh: "alpha", messageMode: "push", groups: []config.Group{{Name: "eng/web"}}})
	require.Equal(t, "claudemesh launch — as bob (qa) on alpha [@eng/web] [push]\n  push: peers' messages appear in the conversation as they arrive.\n", b.String())
}

func TestNewSessionID(t *testing.T) {
	t.Parallel()
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id, err := newSessionID()
		require.NoError(t, err)
		require.Regexp(t, v4, id)
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestWithImplicitLaunch(t *testing.T) {
	t.Parallel()
	root := NewRootCommand(&Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	for _, tt := range []struct {
		in, want []string
	}{
		{in: nil, want: nil},
		{in: []string{"-y"}, want: []string{"launch", "-y"}},
		{in: []string{"--resume", "x"}, want: []string{"launch", "--resume", "x"}},
		{in: []string{"--", "--model", "opus"}, want: []string{"launch", "--", "--model", "opus"}},
		{in: []string{"typo"}, want: []string{"launch", "typo"}},
		{in: []string{"launch", "-y"}, want: []string{"launch", "-y"}},
		{in: []string{"peers", "--json"}, want: []string{"peers", "--json"}},
		{in: []string{"version"}, want: []string{"version"}},
		{in: []string{"help", "launch"}, want: []string{"help", "launch"}},
		{in: []string{"completion", "bash"}, want: []string{"completion", "bash"}},
		{in: []string{"__complete", "la"}, want: []string{"__complete", "la"}},
		{in: []string{"--help"}, want: []string{"--help"}},
		{in: []string{"-h"}, want: []string{"-h"}},
		{in: []string{"--version"}, want: []string{"--version"}},
		{in: []string{"-v"}, want: []string{"-v"}},
	} {
		require.Equal(t, tt.want, withImplicitLaunch(root, tt.in), "%q", tt.in)
	}
}

// TestWizard answers the wizard's questions as a user at a terminal would,
// with some wrong answers first.
func TestWizard(t *testing.T) {
	t.Parallel()
	in := strings.NewReader("5\nbeta\n  reviewer \n@eng\neng/web:lead, qa\nloud\n2\nmaybe\ny\nleft for claude\n")
	var out strings.Builder
	plan := &launchPlan{messageMode: modePush}
	err := newWizard(in, &out).run(t.Context(), plan, wizardAsks{meshes: []string{"alpha", "beta"}, role: true, groups: true, mode: true, permissions: true})
	require.NoError(t, err)
	require.Equal(t, "beta", plan.mesh)
	require.Equal(t, "reviewer", plan.role)
	require.Equal(t, []config.Group{{Name: "eng/web", Role: "lead"}, {Name: "qa"}}, plan.groups)
	require.Equal(t, modeInbox, plan.messageMode)
	require.True(t, plan.skipPermissions)
	rest, err := io.ReadAll(in)
	require.NoError(t, err)
	require.Equal(t, "left for claude\n", string(rest), "the wizard reads no further than its answers")
	for _, want := range []string{
		"  1) alpha\n  2) beta\n", `"5" is not one of them`, "a group name has no '@'", `"loud": type 1, 2 or 3`,
		"Let Claude run without permission prompts? [y/N] ", "Type y or n.",
	} {
		require.Contains(t, out.String(), want)
	}
}

func TestWizardDefaults(t *testing.T) {
	t.Parallel()
	plan := &launchPlan{messageMode: modeOff}
	err := newWizard(strings.NewReader("\n\n\n\n\n"), io.Discard).run(t.Context(), plan,
		wizardAsks{meshes: []string{"alpha", "beta"}, role: true, groups: true, mode: true, permissions: true})
	require.NoError(t, err)
	require.Equal(t, &launchPlan{mesh: "alpha", messageMode: modePush}, plan)

	// Only what is open is asked: here, nothing but the permissions.
	var out strings.Builder
	plan = &launchPlan{mesh: "alpha", role: "lead", messageMode: modeInbox}
	require.NoError(t, newWizard(strings.NewReader("n\n"), &out).run(t.Context(), plan, wizardAsks{permissions: true}))
	require.False(t, plan.skipPermissions)
	require.NotContains(t, out.String(), "Your role")
	require.NotContains(t, out.String(), "Message mode")

	// Nothing open: nothing printed, nothing read.
	out.Reset()
	require.NoError(t, newWizard(strings.NewReader("y\n"), &out).run(t.Context(), plan, wizardAsks{}))
	require.Empty(t, out.String())
}

func TestWizardCancel(t *testing.T) {
	t.Parallel()
	err := newWizard(strings.NewReader("alpha\n"), io.Discard).run(t.Context(), &launchPlan{}, wizardAsks{role: true, groups: true})
	var exit *ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, ExitFailure, exit.Code)
	require.ErrorIs(t, err, errNoAnswer)

	// Ctrl-C at a prompt (the context ends) cancels with 130.
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	done := make(chan error, 1)
	go func() { done <- newWizard(pr, io.Discard).run(ctx, &launchPlan{}, wizardAsks{role: true}) }()
	cancel()
	err = <-done
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 130, exit.Code)
	require.False(t, errors.Is(err, errNoAnswer))
}
