package claudeconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSpans(t *testing.T) {
	t.Parallel()
	b := []byte(` {"a" : 1e3, "b\u00e9":[true, "x\"y", {}], "c":{"d":null}} `)
	root, err := parse(b)
	require.NoError(t, err)
	require.Equal(t, byte('{'), root.kind)
	got := map[string]string{}
	for _, m := range root.members {
		got[m.key] = string(b[m.val.start:m.val.end])
	}
	require.Equal(t, map[string]string{"a": "1e3", "bé": `[true, "x\"y", {}]`, "c": `{"d":null}`}, got)
	require.Len(t, root.child("bé").elems, 3)
	require.Equal(t, `"x\"y"`, string(b[root.child("bé").elems[1].start:root.child("bé").elems[1].end]))
}

func TestEditSplices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		edit           func(b []byte, root *node, l layout) *splice
	}{
		{
			name: "RemoveFirstMember", in: "{\n  \"a\": 1,\n  \"b\": 2\n}", want: "{\n  \"b\": 2\n}",
			edit: func(_ []byte, root *node, _ layout) *splice { return removeMember(root, 0) },
		},
		{
			name: "RemoveMiddleElement", in: `[1, 2, 3]`, want: `[1, 3]`,
			edit: func(_ []byte, root *node, _ layout) *splice { return removeElem(root, 1) },
		},
		{
			name: "RemoveOnlyElement", in: "[\n  1\n]", want: "[]",
			edit: func(_ []byte, root *node, _ layout) *splice { return removeElem(root, 0) },
		},
		{
			name: "AppendInline", in: "{\n  \"a\": [1, 2]\n}", want: "{\n  \"a\": [1, 2, \"x<&>\"]\n}",
			edit: func(b []byte, root *node, l layout) *splice {
				return appendElems(b, l, root.child("a"), []any{"x<&>"})
			},
		},
		{
			name: "AppendToEmptyNested", in: "{\n  \"a\": {\n    \"b\": []\n  }\n}",
			want: "{\n  \"a\": {\n    \"b\": [\n      {\n        \"k\": 1\n      }\n    ]\n  }\n}",
			edit: func(b []byte, root *node, l layout) *splice {
				return appendElems(b, l, root.child("a").child("b"), []any{map[string]int{"k": 1}})
			},
		},
		{
			name: "InsertPath", in: "{}", want: `{"a":{"b":[1]}}`,
			edit: func(b []byte, root *node, l layout) *splice {
				return insertPath(b, l, root, []string{"a", "b"}, []int{1})
			},
		},
		{
			name: "ReplaceKeepsIndent", in: "{\n  \"a\": {\n    \"b\": 1\n  }\n}", want: "{\n  \"a\": {\n    \"b\": [\n      2\n    ]\n  }\n}",
			edit: func(b []byte, root *node, l layout) *splice {
				return replaceValue(b, l, root.child("a").child("b"), []int{2})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := []byte(tc.in)
			root, err := parse(b)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(tc.edit(b, root, detectLayout(b, root)).apply(b)))
		})
	}
}

func TestReplaceFile(t *testing.T) {
	t.Parallel()

	t.Run("LosesNoConcurrentWrite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "f.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"theirs":2}`), 0o600))
		// We read {"theirs":1}; Claude Code has since written 2.
		done, err := replaceFile(path, []byte(`{"theirs":1}`), true, []byte(`{"ours":1}`), 0o600)
		require.NoError(t, err)
		require.False(t, done)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.JSONEq(t, `{"theirs":2}`, string(b))
		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		require.Len(t, entries, 1, "the temporary file is removed")
	})

	t.Run("CreatedMeanwhile", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "f.json")
		require.NoError(t, os.WriteFile(path, []byte(`{}`), 0o600))
		done, err := replaceFile(path, nil, false, []byte(`{"ours":1}`), 0o600)
		require.NoError(t, err)
		require.False(t, done)
	})
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[os.FileMode]os.FileMode{0o644: 0o600, 0o600: 0o600, 0o400: 0o400, 0o200: 0o600, 0o777: 0o600} {
		require.Equal(t, want, fileMode(in), "%o", in)
	}
}

func TestIsOurHook(t *testing.T) {
	t.Parallel()
	for cmd, want := range map[string]bool{
		"claudemesh hook idle":                 true,
		"/opt/x/claudemesh hook working":       true,
		"'/a b/claudemesh' hook working":       true,
		"/home/u/bin/cm hook idle":             true, // the binary itself, whatever its name
		"/home/u/bin/cm hookx":                 false,
		"other-tool claudemesh-hook":           false,
		"echo claudemesh hooked":               false,
		"~/.claude/guard.sh \"$CLAUDE_PROJECT": false,
	} {
		require.Equal(t, want, isOurHook(cmd, "/home/u/bin/cm"), cmd)
	}
}

// FuzzParse checks the scanner against encoding/json: every value it
// locates decodes to what encoding/json decodes there.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"\"}"}],"c":-1.5e3}`, "[\n 1 ,\t\"x\\\\\" ]", `"s"`, `null`, `{"a":{"a":1},"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := parse(b)
		if !json.Valid(b) {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, decodeNumbers(t, b), rebuild(t, b, root))
	})
}

// rebuild decodes a located value from its children's spans.
func rebuild(t *testing.T, b []byte, n *node) any {
	t.Helper()
	switch n.kind {
	case '{':
		m := map[string]any{}
		for _, mem := range n.members {
			m[mem.key] = rebuild(t, b, mem.val)
		}
		return m
	case '[':
		a := []any{}
		for _, e := range n.elems {
			a = append(a, rebuild(t, b, e))
		}
		return a
	}
	return decodeNumbers(t, b[n.start:n.end])
}

// decodeNumbers decodes b keeping numbers as text, which also takes 1e999.
func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

func TestPostWriteVerification(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	path := ClaudeJSONPath(home)
	require.NoError(t, os.WriteFile(path, []byte(`{"numStartups": 1}`), 0o600))
	j := &fileJob{
		path: path, backupDir: BackupDir(home),
		steps:   []step{installMCP("/bin/claudemesh")},
		inspect: func([]byte, *node) []Change { return nil },
		// Claude Code writes its own copy right after ours.
		afterRenameFunc: func(p string) { require.NoError(t, os.WriteFile(p, []byte(`{"numStartups": 2}`), 0o600)) },
	}
	res, err := j.run()
	require.ErrorContains(t, err, "post-write verification failed")
	require.ErrorContains(t, err, "the previous version is in "+res.Backup)
	b, err := os.ReadFile(res.Backup)
	require.NoError(t, err)
	require.JSONEq(t, `{"numStartups": 1}`, string(b))
}
