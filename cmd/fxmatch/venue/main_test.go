package venue

import (
	"os"
	"testing"
)

// TestMain lets the venues the tests open with Options.SnapshotProcess
// run this test binary as their snapshot processes.
func TestMain(m *testing.M) {
	RunSnapshotChildIfAsked()
	os.Exit(m.Run())
}
