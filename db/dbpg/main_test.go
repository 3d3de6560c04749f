package dbpg_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind, such as a
// pool that was never closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
