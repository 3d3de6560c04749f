package claudeconfig_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/claudeconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const bin = "/usr/local/bin/claudemesh"

func tools() []string {
	return []string{"send_message", "check_messages", "list_peers", "send_message"}
}

type testBundle struct {
	home string
	opts claudeconfig.Options
}

// setup makes a HOME holding the named fixtures as ~/.claude.json and
// ~/.claude/settings.json ("" leaves a file out).
func setup(t *testing.T, claudeJSON, settings string) *testBundle {
	t.Helper()
	home := t.TempDir()
	if claudeJSON != "" {
		copyFile(t, filepath.Join("testdata", claudeJSON), claudeconfig.ClaudeJSONPath(home))
	}
	if settings != "" {
		copyFile(t, filepath.Join("testdata", settings), claudeconfig.SettingsPath(home))
	}
	return &testBundle{home: home, opts: claudeconfig.Options{
		Binary:  bin,
		Tools:   tools(),
		NowFunc: func() time.Time { return time.UnixMilli(1_760_000_000_000) },
	}}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o700))
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func backups(t *testing.T, home string) []string {
	t.Helper()
	entries, err := os.ReadDir(claudeconfig.BackupDir(home))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	require.Equal(t, string(read(t, path)), string(got), "golden %s (go test -update rewrites it)", path)
}

func actions(r *claudeconfig.Result) map[string]claudeconfig.Action {
	m := map[string]claudeconfig.Action{}
	for _, f := range r.Files {
		for _, c := range f.Changes {
			m[c.Item] = c.Action
		}
	}
	return m
}

// --- an order-preserving decoder, independent of the package's scanner

type kv struct {
	K string
	V any
}

type object []kv

func decodeOrdered(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers keep their text: 1e3 stays "1e3"
	v, err := decodeValue(dec)
	require.NoError(t, err)
	_, err = dec.Token()
	require.ErrorIs(t, err, io.EOF)
	return v
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, kv{K: k.(string), V: v})
		}
		_, err = dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = dec.Token()
		return a, err
	}
	return tok, nil
}

func (o object) get(k string) (any, int) {
	for i, m := range o {
		if m.K == k {
			return m.V, i
		}
	}
	return nil, -1
}

func (o object) without(i int) object {
	return append(append(object{}, o[:i]...), o[i+1:]...)
}

// stripOurs removes from a decoded document what Install adds, by its own
// reading of the format: mcpServers.claudemesh, handlers that run
// "<bin> hook", mcp__claudemesh__ rules, and the containers left empty.
func stripOurs(doc any) any {
	root := doc.(object)
	if s, i := root.get("mcpServers"); i >= 0 {
		servers := s.(object)
		if _, j := servers.get("claudemesh"); j >= 0 {
			servers = servers.without(j)
		}
		root[i].V = servers
		if len(servers) == 0 {
			root = root.without(i)
		}
	}
	if h, i := root.get("hooks"); i >= 0 {
		hooks := object{}
		for _, ev := range h.(object) {
			groups := []any{}
			for _, g := range ev.V.([]any) {
				group := g.(object)
				hs, j := group.get("hooks")
				kept := []any{}
				for _, handler := range hs.([]any) {
					cmd, _ := handler.(object).get("command")
					if !strings.HasPrefix(cmd.(string), bin+" hook ") {
						kept = append(kept, handler)
					}
				}
				if len(kept) > 0 {
					group = append(object{}, group...)
					group[j].V = kept
					groups = append(groups, group)
				}
			}
			if len(groups) > 0 {
				hooks = append(hooks, kv{K: ev.K, V: groups})
			}
		}
		root[i].V = hooks
		if len(hooks) == 0 {
			root = root.without(i)
		}
	}
	if p, i := root.get("permissions"); i >= 0 {
		perms := p.(object)
		if a, j := perms.get("allow"); j >= 0 {
			kept := []any{}
			for _, r := range a.([]any) {
				if !strings.HasPrefix(r.(string), "mcp__claudemesh__") {
					kept = append(kept, r)
				}
			}
			perms = append(object{}, perms...)
			perms[j].V = kept
			if len(kept) == 0 {
				perms = perms.without(j)
			}
		}
		root[i].V = perms
		if len(perms) == 0 {
			root = root.without(i)
		}
	}
	return root
}

// lineDiff returns the lines only in a and only in b (a longest common
// subsequence diff).
func lineDiff(a, b []byte) ([]string, []string) {
	x, y := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var removed, added []string
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			added, j = append(added, y[j]), j+1
		default:
			removed, i = append(removed, x[i]), i+1
		}
	}
	return removed, added
}

// requireOnlyOurs checks that after holds before plus our items and nothing
// else changed: the same values in the same order with the same number
// literals, and, line by line, no line of before lost or altered except for
// a comma appended to the line an insertion follows.
func requireOnlyOurs(t *testing.T, before, after []byte) {
	t.Helper()
	require.Equal(t, decodeOrdered(t, before), stripOurs(decodeOrdered(t, after)))
	removed, added := lineDiff(before, after)
	for _, r := range removed {
		require.Contains(t, added, r+",", "line %q of the original changed", r)
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()

	t.Run("ClaudeJSONKeepsEverythingElse", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude.json", "")
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		got := read(t, claudeconfig.ClaudeJSONPath(b.home))
		golden(t, "claude.installed.json", got)
		orig := read(t, filepath.Join("testdata", "claude.json"))
		requireOnlyOurs(t, orig, got)
		// One insertion: the original is the installed file minus one run
		// of bytes.
		prefix := 0
		for prefix < len(orig) && orig[prefix] == got[prefix] {
			prefix++
		}
		require.Equal(t, orig[prefix:], got[len(got)-(len(orig)-prefix):])
		require.Equal(t, claudeconfig.Added, actions(res)[claudeconfig.ItemMCP])

		info, err := os.Stat(claudeconfig.ClaudeJSONPath(b.home))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		require.Equal(t, []string{".claude.json.pre-claudemesh.1760000000000"}, backups(t, b.home))
		require.Equal(t, orig, read(t, res.Files[0].Backup))
		info, err = os.Stat(res.Files[0].Backup)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	})

	t.Run("CreatesMissingFiles", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "")
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		require.True(t, res.Changed())
		golden(t, "claude.created.json", read(t, claudeconfig.ClaudeJSONPath(b.home)))
		golden(t, "settings.created.json", read(t, claudeconfig.SettingsPath(b.home)))
		for _, p := range []string{claudeconfig.ClaudeJSONPath(b.home), claudeconfig.SettingsPath(b.home)} {
			info, err := os.Stat(p)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		}
		require.Empty(t, backups(t, b.home), "nothing to back up")
		require.Empty(t, res.Files[0].Backup)
	})

	t.Run("IsIdempotent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude.json", "settings.json")
		_, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		claudeJSON, settings := read(t, claudeconfig.ClaudeJSONPath(b.home)), read(t, claudeconfig.SettingsPath(b.home))
		before := backups(t, b.home)
		require.Len(t, before, 2)

		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		require.False(t, res.Changed())
		for item, a := range actions(res) {
			require.Equal(t, claudeconfig.Unchanged, a, item)
		}
		require.Equal(t, claudeJSON, read(t, claudeconfig.ClaudeJSONPath(b.home)))
		require.Equal(t, settings, read(t, claudeconfig.SettingsPath(b.home)))
		require.Equal(t, before, backups(t, b.home), "no new backup")
	})

	t.Run("KeepsStricterModeAndSymlinks", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "settings.json")
		real := filepath.Join(b.home, "dotfiles", "claude.json")
		copyFile(t, filepath.Join("testdata", "claude.json"), real)
		require.NoError(t, os.Chmod(real, 0o400))
		require.NoError(t, os.Symlink(real, claudeconfig.ClaudeJSONPath(b.home)))

		_, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		info, err := os.Lstat(claudeconfig.ClaudeJSONPath(b.home))
		require.NoError(t, err)
		require.Equal(t, os.ModeSymlink, info.Mode()&os.ModeSymlink, "the link stays a link")
		info, err = os.Stat(real)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o400), info.Mode().Perm())
		require.Contains(t, string(read(t, real)), `"command": "`+bin+`"`)
		// settings.json was 0644: tightened.
		info, err = os.Stat(claudeconfig.SettingsPath(b.home))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	})

	t.Run("NoHooks", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude.json", "settings.json")
		b.opts.NoHooks = true
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		a := actions(res)
		require.Equal(t, claudeconfig.Skipped, a[claudeconfig.ItemPromptHook])
		require.Equal(t, claudeconfig.Skipped, a[claudeconfig.ItemStopHook])
		require.Equal(t, claudeconfig.Skipped, a[claudeconfig.ItemStopFailureHook])
		require.Equal(t, claudeconfig.Added, a[claudeconfig.ItemPermissions])
		got := read(t, claudeconfig.SettingsPath(b.home))
		require.NotContains(t, string(got), "hook working")
		requireOnlyOurs(t, read(t, filepath.Join("testdata", "settings.json")), got)
	})

	t.Run("RefusesInvalidJSON", func(t *testing.T) {
		t.Parallel()
		for name, content := range map[string]string{
			"Truncated": "{\n  \"numStartups\": 4,\n  \"projects\": {",
			"Empty":     "",
			"NotObject": "[1, 2]",
		} {
			b := setup(t, "", "settings.json")
			path := claudeconfig.ClaudeJSONPath(b.home)
			require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
			_, err := claudeconfig.Install(b.home, b.opts)
			require.ErrorContains(t, err, "not valid JSON", name)
			require.ErrorContains(t, err, "claudemesh changed nothing", name)
			require.Equal(t, content, string(read(t, path)), name)
			require.Equal(t, read(t, filepath.Join("testdata", "settings.json")), read(t, claudeconfig.SettingsPath(b.home)), name)
			require.Empty(t, backups(t, b.home), name)
			entries, err := os.ReadDir(b.home)
			require.NoError(t, err)
			require.Len(t, entries, 2, "no temporary file left: %v", entries)
		}
		b := setup(t, "", "")
		require.NoError(t, os.WriteFile(claudeconfig.ClaudeJSONPath(b.home), []byte("{\n  \"a\": 1,\n}\n"), 0o600))
		_, err := claudeconfig.Install(b.home, b.opts)
		require.ErrorContains(t, err, "line 3, column 1")
	})

	t.Run("RefusesUnexpectedShapes", func(t *testing.T) {
		t.Parallel()
		for content, msg := range map[string]string{
			`{"hooks": {"Stop": "claudemesh hook idle"}}`: "hooks.Stop is not a JSON array",
			`{"hooks": {"StopFailure": {}}}`:              "hooks.StopFailure is not a JSON array",
			`{"hooks": []}`:                               "hooks is not a JSON object",
			`{"permissions": {"allow": "all"}}`:           "permissions.allow is not a JSON array",
		} {
			b := setup(t, "claude.json", "")
			path := claudeconfig.SettingsPath(b.home)
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			_, err := claudeconfig.Install(b.home, b.opts)
			require.ErrorContains(t, err, msg)
			require.Equal(t, content, string(read(t, path)))
		}
		b := setup(t, "", "")
		require.NoError(t, os.WriteFile(claudeconfig.ClaudeJSONPath(b.home), []byte(`{"mcpServers": [1]}`), 0o600))
		_, err := claudeconfig.Install(b.home, b.opts)
		require.ErrorContains(t, err, "mcpServers is not a JSON object")
	})

	t.Run("SettingsKeepsOtherToolsHooks", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "settings.json")
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		got := read(t, claudeconfig.SettingsPath(b.home))
		golden(t, "settings.installed.json", got)
		requireOnlyOurs(t, read(t, filepath.Join("testdata", "settings.json")), got)
		a := actions(res)
		require.Equal(t, claudeconfig.Added, a[claudeconfig.ItemPromptHook])
		require.Equal(t, claudeconfig.Added, a[claudeconfig.ItemStopHook])
		require.Equal(t, claudeconfig.Added, a[claudeconfig.ItemStopFailureHook])
		require.Equal(t, claudeconfig.Added, a[claudeconfig.ItemPermissions])
		require.Equal(t, "3 tools", res.Files[1].Changes[3].Detail, "the duplicate is approved once")
	})

	t.Run("UpdatesClassicHooks", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "settings-classic.json")
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		a := actions(res)
		require.Equal(t, claudeconfig.Updated, a[claudeconfig.ItemPromptHook])
		require.Equal(t, claudeconfig.Updated, a[claudeconfig.ItemStopHook])
		require.Equal(t, claudeconfig.Added, a[claudeconfig.ItemStopFailureHook])
		got := read(t, claudeconfig.SettingsPath(b.home))
		golden(t, "settings-classic.installed.json", got)
		require.Equal(t, 1, strings.Count(string(got), bin+" hook working"), "the duplicate is gone")
		require.Contains(t, string(got), `"command": "say done"`)
		require.Contains(t, string(got), `"allowedTools": ["mcp__claudemesh__send_message"]`)

		_, err = claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		golden(t, "settings-classic.uninstalled.json", read(t, claudeconfig.SettingsPath(b.home)))
	})

	t.Run("AddsStopFailureToTheTwoOldHooks", func(t *testing.T) {
		t.Parallel()
		// What an install of before StopFailure left behind.
		b := setup(t, "", "settings-two-hooks.json")
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		require.True(t, res.Changed())
		require.Equal(t, []claudeconfig.Change{
			{Item: claudeconfig.ItemPromptHook, Action: claudeconfig.Unchanged, Detail: bin + " hook working"},
			{Item: claudeconfig.ItemStopHook, Action: claudeconfig.Unchanged, Detail: bin + " hook idle"},
			{Item: claudeconfig.ItemStopFailureHook, Action: claudeconfig.Added, Detail: bin + " hook idle"},
			{Item: claudeconfig.ItemPermissions, Action: claudeconfig.Unchanged},
		}, res.Files[1].Changes)
		got := read(t, claudeconfig.SettingsPath(b.home))
		golden(t, "settings-two-hooks.installed.json", got)
		// Only an insertion: no line of the original lost, bar a comma.
		removed, added := lineDiff(read(t, filepath.Join("testdata", "settings-two-hooks.json")), got)
		for _, r := range removed {
			require.Contains(t, added, r+",", "line %q of the original changed", r)
		}
		require.Contains(t, added, `    "StopFailure": [`)
		require.NotEmpty(t, res.Files[1].Backup)

		r, err := claudeconfig.Status(b.home, bin)
		require.NoError(t, err)
		require.True(t, r.HooksRegistered())
		require.Equal(t, []string{bin + " hook idle"}, r.StopFailureHook.Commands)

		// Uninstall removes all three, and only them.
		res, err = claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		require.Equal(t, claudeconfig.Change{Item: "hooks", Action: claudeconfig.Removed, Detail: "3 hooks"}, res.Files[1].Changes[0])
		got = read(t, claudeconfig.SettingsPath(b.home))
		golden(t, "settings-two-hooks.uninstalled.json", got)
		require.NotContains(t, string(got), "claudemesh")
		require.Contains(t, string(got), `"command": "say done"`)
	})

	t.Run("UpdatesEntryOfAnotherBinary", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude-old.json", "")
		res, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		require.Equal(t, claudeconfig.Updated, actions(res)[claudeconfig.ItemMCP])
		got := read(t, claudeconfig.ClaudeJSONPath(b.home))
		removed, added := lineDiff(read(t, filepath.Join("testdata", "claude-old.json")), got)
		require.Equal(t, []string{`      "command": "/opt/old/claudemesh",`}, removed)
		require.Equal(t, []string{`      "command": "` + bin + `",`}, added, "only the command changes; the env the user set stays")

		// Uninstall removes it, and only it.
		_, err = claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		golden(t, "claude-old.uninstalled.json", read(t, claudeconfig.ClaudeJSONPath(b.home)))
	})

	t.Run("Layouts", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[string]string{
			`{"a":1e3}`: `{"a":1e3,"mcpServers":{"claudemesh":{"type":"stdio","command":"` + bin + `","args":["mcp"]}}}`,
			"{\n\t\"a\": 1.50\n}\n": "{\n\t\"a\": 1.50,\n\t\"mcpServers\": {\n\t\t\"claudemesh\": {\n\t\t\t\"type\": \"stdio\",\n\t\t\t\"command\": \"" + bin +
				"\",\n\t\t\t\"args\": [\n\t\t\t\t\"mcp\"\n\t\t\t]\n\t\t}\n\t}\n}\n",
			"{\n    \"mcpServers\": {}\n}": "{\n    \"mcpServers\": {\n        \"claudemesh\": {\n            \"type\": \"stdio\",\n            \"command\": \"" + bin +
				"\",\n            \"args\": [\n                \"mcp\"\n            ]\n        }\n    }\n}",
		} {
			b := setup(t, "", "")
			require.NoError(t, os.WriteFile(claudeconfig.ClaudeJSONPath(b.home), []byte(in), 0o600))
			b.opts.NoHooks = true
			_, err := claudeconfig.Install(b.home, b.opts)
			require.NoError(t, err)
			require.Equal(t, want, string(read(t, claudeconfig.ClaudeJSONPath(b.home))))
		}
	})
}

func TestUninstall(t *testing.T) {
	t.Parallel()

	t.Run("RestoresTheOriginalBytes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude.json", "settings.json")
		_, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		res, err := claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		require.True(t, res.Changed())
		a := actions(res)
		require.Equal(t, claudeconfig.Removed, a[claudeconfig.ItemMCP])
		require.Equal(t, claudeconfig.Removed, a["hooks"])
		require.Equal(t, claudeconfig.Removed, a[claudeconfig.ItemPermissions])
		require.Equal(t, read(t, filepath.Join("testdata", "claude.json")), read(t, claudeconfig.ClaudeJSONPath(b.home)))
		require.Equal(t, read(t, filepath.Join("testdata", "settings.json")), read(t, claudeconfig.SettingsPath(b.home)))
		require.Len(t, backups(t, b.home), 4)

		// Nothing left to remove: nothing written.
		res, err = claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		require.False(t, res.Changed())
		require.Equal(t, claudeconfig.Absent, actions(res)[claudeconfig.ItemMCP])
		require.Len(t, backups(t, b.home), 4)
	})

	t.Run("RestoresCreatedFilesToEmpty", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "")
		_, err := claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		_, err = claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		require.Equal(t, "{}\n", string(read(t, claudeconfig.ClaudeJSONPath(b.home))))
		require.Equal(t, "{}\n", string(read(t, claudeconfig.SettingsPath(b.home))))
	})

	t.Run("MissingFilesStayMissing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "")
		res, err := claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		require.False(t, res.Changed())
		entries, err := os.ReadDir(b.home)
		require.NoError(t, err)
		require.Empty(t, entries)
	})

	t.Run("KeepsProjectEntries", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude.json", "")
		res, err := claudeconfig.Uninstall(b.home, b.opts)
		require.NoError(t, err)
		require.False(t, res.Changed(), "the local-scope entry of a project is the user's")
	})
}

func TestStatus(t *testing.T) {
	t.Parallel()

	t.Run("Installed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "claude.json", "settings.json")
		r, err := claudeconfig.Status(b.home, bin)
		require.NoError(t, err)
		require.False(t, r.MCP.Registered)
		require.False(t, r.HooksRegistered())
		require.Equal(t, []claudeconfig.ProjectEntry{{Dir: "/home/u/café ☕", Command: "/home/u/dev/claudemesh"}}, r.Projects)

		_, err = claudeconfig.Install(b.home, b.opts)
		require.NoError(t, err)
		r, err = claudeconfig.Status(b.home, bin)
		require.NoError(t, err)
		require.Equal(t, claudeconfig.MCPStatus{Registered: true, Command: bin, Args: []string{"mcp"}}, r.MCP)
		require.True(t, r.HooksRegistered())
		require.Equal(t, []string{bin + " hook working"}, r.PromptHook.Commands)
		require.Equal(t, []string{bin + " hook idle"}, r.StopHook.Commands)
		require.Equal(t, []string{bin + " hook idle"}, r.StopFailureHook.Commands)
		require.Equal(t, 3, r.ApprovedTools)
	})

	t.Run("TwoOldHooksAreNotEnough", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "settings-two-hooks.json")
		r, err := claudeconfig.Status(b.home, bin)
		require.NoError(t, err)
		require.True(t, r.PromptHook.Registered)
		require.True(t, r.StopHook.Registered)
		require.False(t, r.StopFailureHook.Registered)
		require.False(t, r.HooksRegistered(), "install adds all three")
	})

	t.Run("BrokenFile", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "", "settings.json")
		require.NoError(t, os.WriteFile(claudeconfig.ClaudeJSONPath(b.home), []byte("{"), 0o600))
		r, err := claudeconfig.Status(b.home, bin)
		require.ErrorContains(t, err, "not valid JSON")
		require.Error(t, r.ClaudeJSONErr)
		require.NoError(t, r.SettingsErr)
	})

	t.Run("Nothing", func(t *testing.T) {
		t.Parallel()
		r, err := claudeconfig.Status(t.TempDir(), bin)
		require.NoError(t, err)
		require.False(t, r.MCP.Registered)
		require.False(t, r.PromptHook.Registered)
	})
}

func TestHookCommand(t *testing.T) {
	t.Parallel()
	require.Equal(t, "/usr/bin/claudemesh hook idle", claudeconfig.HookCommand("/usr/bin/claudemesh", "idle"))
	require.Equal(t, `'/Users/Jo Doe/it'\''s/claudemesh' hook working`, claudeconfig.HookCommand("/Users/Jo Doe/it's/claudemesh", "working"))
}
