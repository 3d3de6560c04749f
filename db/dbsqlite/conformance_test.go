package dbsqlite_test

import (
	"testing"

	"claudemesh.dev/db/dbtest"
)

// TestConformance runs the cross-engine storage suite against SQLite, one
// database file per subtest.
func TestConformance(t *testing.T) {
	t.Parallel()

	dbtest.Exercise(t, newStore)
}
