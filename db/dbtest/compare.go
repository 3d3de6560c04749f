package dbtest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db"
)

// Raw JSON columns (json.RawMessage) come back semantically equal but not
// byte-equal: Postgres jsonb reorders keys and adds whitespace. The helpers
// below compare them with JSONEq and everything else exactly.

func requireJSONEq(t *testing.T, want, got json.RawMessage, field string) {
	t.Helper()
	if want == nil || got == nil {
		require.Equal(t, want, got, field)
		return
	}
	require.JSONEq(t, string(want), string(got), field)
}

func requireStateEntryEqual(t *testing.T, want, got db.StateEntry) {
	t.Helper()
	requireJSONEq(t, want.Value, got.Value, "Value")
	want.Value, got.Value = nil, nil
	require.Equal(t, want, got)
}

func requireStateEntriesEqual(t *testing.T, want, got []db.StateEntry) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		requireStateEntryEqual(t, want[i], got[i])
	}
}

func requireServiceEqual(t *testing.T, want, got db.Service) {
	t.Helper()
	requireJSONEq(t, want.Source, got.Source, "Source")
	requireJSONEq(t, want.Config, got.Config, "Config")
	requireJSONEq(t, want.Scope, got.Scope, "Scope")
	requireJSONEq(t, want.Tools, got.Tools, "Tools")
	want.Source, want.Config, want.Scope, want.Tools = nil, nil, nil, nil
	got.Source, got.Config, got.Scope, got.Tools = nil, nil, nil, nil
	require.Equal(t, want, got)
}

func requireServicesEqual(t *testing.T, want, got []db.Service) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		requireServiceEqual(t, want[i], got[i])
	}
}

func requireSkillEqual(t *testing.T, want, got db.Skill) {
	t.Helper()
	requireJSONEq(t, want.Manifest, got.Manifest, "Manifest")
	want.Manifest, got.Manifest = nil, nil
	require.Equal(t, want, got)
}

func requireSkillsEqual(t *testing.T, want, got []db.Skill) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		requireSkillEqual(t, want[i], got[i])
	}
}

// requireNotFound fails unless err is (or wraps) db.ErrNotFound.
func requireNotFound(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, db.ErrNotFound)
}

// requireConflict fails unless err is (or wraps) db.ErrConflict.
func requireConflict(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, db.ErrConflict)
}

// presenceIDs returns the ids of ps, in order.
func presenceIDs(ps []db.Presence) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}
