//go:build race

package hub

// raceEnabled: built with -race; batches are not reused (see the package
// doc), so that misuse of Release is caught.
const raceEnabled = true
