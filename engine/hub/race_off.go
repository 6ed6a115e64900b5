//go:build !race

package hub

// raceEnabled: built without -race; released batches are reused.
const raceEnabled = false
