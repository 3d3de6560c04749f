// Package dbtest is the storage conformance suite: the one arbiter of how a
// db.Store behaves. Every engine's tests call Exercise with a factory for a
// fresh, migrated store, so both engines are held to the same contract. A
// change to the contract (db/queries.go, db/db.go, db/types.go) extends this
// suite rather than an engine-specific test.
//
// The suite never reads the wall clock: every time it writes or compares is
// derived from a fixed base time with microsecond precision, and every "now"
// is passed to the store explicitly.
package dbtest

import (
	"testing"

	"claudemesh.dev/db"
)

// NewStoreFunc returns a fresh, already migrated store that is closed and
// dropped when t ends.
type NewStoreFunc func(t *testing.T) db.Store

// Exercise runs the whole storage contract against stores made by newStore.
// Every subtest is parallel and gets a store of its own, so newStore must
// give out isolated stores (a database per call, or a database file per
// call) and register its own cleanup.
func Exercise(t *testing.T, newStore func(t *testing.T) db.Store) {
	t.Helper()

	groups := []struct {
		name string
		run  func(t *testing.T, newStore NewStoreFunc)
	}{
		{"APIKeys", exerciseAPIKeys},
		{"Files", exerciseFiles},
		{"Invites", exerciseInvites},
		{"Members", exerciseMembers},
		{"Meshes", exerciseMeshes},
		{"Messages", exerciseMessages},
		{"PendingStatuses", exercisePendingStatuses},
		{"Presences", exercisePresences},
		{"Schedules", exerciseSchedules},
		{"Services", exerciseServices},
		{"Skills", exerciseSkills},
		{"State", exerciseState},
		{"Store", exerciseStore},
		{"Vault", exerciseVault},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, newStore)
		})
	}
}
