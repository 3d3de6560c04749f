package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/peterldowns/pgtestdb"
	"github.com/stretchr/testify/require"
)

func TestConfigFromURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		url     string
		want    pgtestdb.Config
		wantErr string
	}{
		{
			name: "Full",
			url:  "postgres://admin:secret@db.example:6543/main?sslmode=disable",
			want: pgtestdb.Config{
				DriverName: "pgx", Host: "db.example", Port: "6543", User: "admin",
				Password: "secret", Database: "main", Options: "sslmode=disable",
			},
		},
		{
			name: "Defaults",
			url:  "postgresql://",
			want: pgtestdb.Config{
				DriverName: "pgx", Host: "localhost", Port: "5432", User: "postgres", Database: "postgres",
			},
		},
		{
			name:    "NotAURL",
			url:     "host=localhost user=postgres",
			wantErr: "want a postgres:// url",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := configFromURL(tt.url)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMigratorHash(t *testing.T) {
	t.Parallel()

	a, err := migrator{}.Hash()
	require.NoError(t, err)
	b, err := migrator{}.Hash()
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Len(t, a, 64)
}

func TestNewURL(t *testing.T) {
	t.Parallel()

	first, second := NewURL(t), NewURL(t)
	require.NotEqual(t, first, second, "every call gets its own database")

	for _, url := range []string{first, second} {
		conn, err := pgx.Connect(t.Context(), url)
		require.NoError(t, err)

		var version int64
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT max(version_id) FROM goose_db_version").Scan(&version))
		require.Positive(t, version, "the database comes migrated")

		var meshes int
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM meshes").Scan(&meshes))
		require.Zero(t, meshes, "the database comes empty")

		require.NoError(t, conn.Close(t.Context()))
	}
}
