package yield

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A goroutine blocked in a system call keeps its scheduler processor (P)
// until the runtime's sysmon takes it back, and sysmon looks only every
// 20 µs to 10 ms (it backs off while it finds nothing to take). With the
// venue on one processor (serve --procs=1) that is everything: while
// Pebble's WAL flusher, a snapshot's ingestion or the FIX session
// store's janitor waits for the disk in fsync(2) — 0.5 ms to tens of ms
// on this project's machine — no other goroutine runs, not the shard, not
// the FIX readers. A runtime trace of bench fix (1 session, 10,000
// orders/s, 30 s) showed every goroutine runnable and waiting through
// such syscalls, again and again.
//
// Blocking runs such a call with one more processor than the venue runs
// with, for the call's length: the other goroutines go on on the spare
// one while the caller waits in the kernel. Changing GOMAXPROCS stops the
// world briefly: on this machine 24 µs at the median to add one
// processor and 3.5 µs to take it back (p99 ~120 and ~90 µs; 2,000 round
// trips, 50 sleeping goroutines), against the milliseconds a blocked
// processor costs.
//
// The catch: changing GOMAXPROCS waits for a garbage collection in
// progress to finish its mark phase (runtime.stopTheWorldGC takes the
// GC's semaphore; a review measured 16-17 ms with one processor and a
// 56 MB heap). So Blocking is for goroutines nothing latency-critical
// waits for — Pebble's flushes and compactions, the snapshot table, the
// FIX store's janitor — never for a commit's or a report's own path.
//
// It is off until Boost turns it on (serve does, when it runs the venue
// on one processor); off, Blocking only calls f.

var (
	boosting atomic.Bool
	boost    struct {
		sync.Mutex
		n    int // calls under way
		base int // GOMAXPROCS before the first of them
	}
	boosts atomic.Uint64
)

// boostBase is GOMAXPROCS without Blocking's spare processor while one is
// added, 0 when none is.
var boostBase atomic.Int32

// Procs is GOMAXPROCS without Blocking's spare processor: the processors
// the venue runs with.
func Procs() int {
	if b := boostBase.Load(); b > 0 {
		return int(b)
	}
	return runtime.GOMAXPROCS(0)
}

// Boost turns Blocking's extra processor on or off.
func Boost(on bool) { boosting.Store(on) }

// Boosting says whether Boost is on.
func Boosting() bool { return boosting.Load() }

// Boosts is how many times Blocking has added a processor.
func Boosts() uint64 { return boosts.Load() }

// Blocking calls f, a call that may block in the kernel for a while
// (fsync, close or unlink of a large file), with one more scheduler
// processor than GOMAXPROCS while it runs, if Boost is on. Calls may
// overlap: the processor is added by the first and taken back by the
// last.
func Blocking(f func() error) error {
	if !boosting.Load() {
		return f()
	}
	boost.Lock()
	if boost.n == 0 {
		boost.base = runtime.GOMAXPROCS(0)
		boostBase.Store(int32(boost.base))
		runtime.GOMAXPROCS(boost.base + 1)
		boosts.Add(1)
	}
	boost.n++
	boost.Unlock()
	defer func() {
		boost.Lock()
		if boost.n--; boost.n == 0 {
			runtime.GOMAXPROCS(boost.base)
			boostBase.Store(0)
		}
		boost.Unlock()
	}()
	return f()
}
