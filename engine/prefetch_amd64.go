package engine

// prefetch asks the CPU to start loading the cache line at addr. It reads
// nothing the program sees and cannot fault.
//
//go:noescape
func prefetch(addr uintptr)
