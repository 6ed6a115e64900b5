//go:build race

package journal

// raceEnabled: the race detector allocates on synchronisation, so the
// allocation tests of code that synchronises skip under it.
const raceEnabled = true
