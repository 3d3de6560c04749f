package mcpserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTranscriptScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "-home-u-proj", "sess-1.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	tr := &transcript{sessionID: "sess-1", dirs: []string{dir}}
	require.Nil(t, tr.scan([]string{"abc"}), "no transcript yet")

	appendTo := func(s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		require.NoError(t, err)
		_, err = f.WriteString(s)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	appendTo(`{"old":"id-old"}` + "\n")
	require.Equal(t, map[string]bool{"id-old": true}, tr.scan([]string{"id-old", "id-new"}), "found by discovery")
	require.Empty(t, tr.scan([]string{"id-new"}), "nothing new")

	// A needle split between two appends is still found.
	appendTo(`{"msg":"message_id=id-n`)
	require.Empty(t, tr.scan([]string{"id-new"}))
	appendTo(`ew"}` + "\n")
	require.True(t, tr.scan([]string{"id-new"})["id-new"])

	// A rewritten (shorter) transcript is read again.
	require.NoError(t, os.WriteFile(path, []byte(`{"compact":"id-3"}`+"\n"), 0o600))
	require.True(t, tr.scan([]string{"id-3"})["id-3"])

	// A hook's path wins over discovery.
	other := filepath.Join(dir, "elsewhere.jsonl")
	require.NoError(t, os.WriteFile(other, []byte(strings.Repeat("x", 10)+"id-4"), 0o600))
	tr.setPath(other)
	require.True(t, tr.scan([]string{"id-4"})["id-4"])
}

func TestTextNeedle(t *testing.T) {
	t.Parallel()
	require.Empty(t, textNeedle("short"))
	require.Equal(t, `say \"hi\" to the team\nnow`, textNeedle("say \"hi\" to the team\nnow"))
}
