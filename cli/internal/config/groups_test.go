package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
)

func TestParseGroups(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   string
		want []config.Group
		// format is FormatGroups of the result.
		format string
	}{
		{name: "Empty", in: "", want: nil, format: ""},
		{name: "OnlySeparators", in: " , ,", want: nil, format: ""},
		{name: "OneName", in: "eng", want: []config.Group{{Name: "eng"}}, format: "eng"},
		{
			name:   "Brief",
			in:     "g1:lead, g2/sub, g3:",
			want:   []config.Group{{Name: "g1", Role: "lead"}, {Name: "g2/sub"}, {Name: "g3"}},
			format: "g1:lead,g2/sub,g3",
		},
		{
			name:   "Trimmed",
			in:     "  eng/x : lead ,qa ",
			want:   []config.Group{{Name: "eng/x", Role: "lead"}, {Name: "qa"}},
			format: "eng/x:lead,qa",
		},
		{
			name:   "Deep",
			in:     "org/eng/backend/api:observer",
			want:   []config.Group{{Name: "org/eng/backend/api", Role: "observer"}},
			format: "org/eng/backend/api:observer",
		},
		{
			name:   "LongestName",
			in:     strings.Repeat("a", config.MaxGroupNameLen),
			want:   []config.Group{{Name: strings.Repeat("a", config.MaxGroupNameLen)}},
			format: strings.Repeat("a", config.MaxGroupNameLen),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseGroups(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.format, config.FormatGroups(got))
			again, err := config.ParseGroups(config.FormatGroups(got))
			require.NoError(t, err)
			require.Equal(t, got, again, "round trip")
		})
	}
}

func TestParseGroupsErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in, want string
	}{
		{name: "EmptyName", in: "eng,:lead", want: `group ":lead": the name is empty`},
		{name: "At", in: "@eng", want: `group "@eng": a group name has no '@' (write eng)`},
		{name: "AtInside", in: "eng@x:lead", want: `a group name has no '@'`},
		{name: "SpaceInside", in: "my team", want: `group "my team": a group name has no spaces`},
		{name: "TabInside", in: "my\tteam:lead", want: `a group name has no spaces`},
		{name: "TooLong", in: strings.Repeat("a", config.MaxGroupNameLen+1), want: "longer than 64 characters"},
		{name: "EmptyLevel", in: "eng//backend", want: "a level of the name is empty"},
		{name: "LeadingSlash", in: "/eng", want: "a level of the name is empty"},
		{name: "TrailingSlash", in: "eng/", want: "a level of the name is empty"},
		{name: "TwoColons", in: "eng:lead:x", want: "one ':' separates the name from the role"},
		{name: "RoleSpace", in: "eng:team lead", want: "a role has no spaces"},
		{name: "RoleTooLong", in: "eng:" + strings.Repeat("r", config.MaxGroupRoleLen+1), want: "the role is longer than 32 characters"},
		{name: "Control", in: "eng\x00", want: "control character"},
		{name: "Twice", in: "eng:lead,qa,eng", want: `group "eng" is listed twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseGroups(tt.in)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, got)
		})
	}
}

func TestFormatGroups(t *testing.T) {
	t.Parallel()
	require.Empty(t, config.FormatGroups(nil))
	gs := []config.Group{{Name: "eng/backend", Role: "lead"}, {Name: "qa"}, {Name: "ops", Role: "observer"}}
	require.Equal(t, "eng/backend:lead,qa,ops:observer", config.FormatGroups(gs))
	got, err := config.ParseGroups(config.FormatGroups(gs))
	require.NoError(t, err)
	require.Equal(t, gs, got)
}
