package meshsession_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/meshsession"
)

func TestLoadKey(t *testing.T) {
	t.Parallel()

	t.Run("SameSessionSameKey", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		k1, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		k2, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		require.Equal(t, k1.PublicHex(), k2.PublicHex())
		require.Equal(t, k1.SecretHex(), k2.SecretHex())

		other, err := meshsession.LoadKey(dir, "mesh1", "session-b")
		require.NoError(t, err)
		require.NotEqual(t, k1.PublicHex(), other.PublicHex())
		otherMesh, err := meshsession.LoadKey(dir, "mesh2", "session-a")
		require.NoError(t, err)
		require.NotEqual(t, k1.PublicHex(), otherMesh.PublicHex())
	})

	t.Run("FileAndDirectoryModes", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		for _, d := range []string{filepath.Join(dir, "sessions"), filepath.Join(dir, "sessions", "mesh1")} {
			info, err := os.Stat(d)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), d)
		}
		files, err := os.ReadDir(filepath.Join(dir, "sessions", "mesh1"))
		require.NoError(t, err)
		require.Len(t, files, 1)
		require.Regexp(t, `^[0-9a-f]{32}\.json$`, files[0].Name())
		info, err := files[0].Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	})

	t.Run("EmptySessionIDNotStored", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		k1, err := meshsession.LoadKey(dir, "mesh1", "")
		require.NoError(t, err)
		k2, err := meshsession.LoadKey(dir, "mesh1", "")
		require.NoError(t, err)
		require.NotEqual(t, k1.PublicHex(), k2.PublicHex())
		_, err = os.Stat(filepath.Join(dir, "sessions"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("CorruptFileReplaced", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		k1, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		path := onlyFile(t, filepath.Join(dir, "sessions", "mesh1"))
		require.NoError(t, os.WriteFile(path, []byte(`{"pubkey":"zz"`), 0o600))
		k2, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		require.NotEqual(t, k1.PublicHex(), k2.PublicHex())
		k3, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		require.Equal(t, k2.PublicHex(), k3.PublicHex(), "the fresh key is stored")
	})

	t.Run("StaleKeysRemoved", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := meshsession.LoadKey(dir, "mesh1", "old session")
		require.NoError(t, err)
		meshDir := filepath.Join(dir, "sessions", "mesh1")
		old := onlyFile(t, meshDir)
		month := time.Now().Add(-31 * 24 * time.Hour)
		require.NoError(t, os.Chtimes(old, month, month))
		unrelated := filepath.Join(meshDir, "notes.txt")
		require.NoError(t, os.WriteFile(unrelated, nil, 0o600))
		require.NoError(t, os.Chtimes(unrelated, month, month))

		_, err = meshsession.LoadKey(dir, "mesh1", "new session")
		require.NoError(t, err)
		_, err = os.Stat(old)
		require.ErrorIs(t, err, os.ErrNotExist, "a key unused for 30 days is removed")
		_, err = os.Stat(unrelated)
		require.NoError(t, err, "only key files are removed")
	})

	t.Run("UseKeepsKeyFresh", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		k1, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		path := onlyFile(t, filepath.Join(dir, "sessions", "mesh1"))
		almost := time.Now().Add(-29 * 24 * time.Hour)
		require.NoError(t, os.Chtimes(path, almost, almost))
		k2, err := meshsession.LoadKey(dir, "mesh1", "session-a")
		require.NoError(t, err)
		require.Equal(t, k1.PublicHex(), k2.PublicHex())
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), info.ModTime(), time.Hour, "loading the key marks it used")
	})

	t.Run("BadMeshID", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"", ".", "..", "a/b", `a\b`} {
			_, err := meshsession.LoadKey(t.TempDir(), id, "session-a")
			require.Error(t, err, "mesh id %q", id)
		}
	})

	t.Run("IOFailure", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "not-a-dir")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		_, err := meshsession.LoadKey(file, "mesh1", "session-a")
		require.Error(t, err)
	})
}

// onlyFile returns the path of the one file in dir.
func onlyFile(t *testing.T, dir string) string {
	t.Helper()
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, files, 1)
	return filepath.Join(dir, files[0].Name())
}
