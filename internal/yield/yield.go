// Package yield lets a long-running background goroutine (an engine
// snapshot's encoding, Pebble's flushes and compactions) leave room for
// the venue's latency-critical goroutines when the Go scheduler has one
// processor (serve --procs=1, what the FIX benchmark runs).
//
// With GOMAXPROCS 1 a goroutine that computes without blocking keeps the
// only P until the scheduler preempts it, up to 10 ms later; a FIX order
// arriving meanwhile waits that long. runtime.Gosched alone is not
// enough: it puts the goroutine on the global run queue, which the
// scheduler serves before it polls the network (runtime.findRunnable, Go
// 1.26), so a goroutine waiting for a socket — a FIX session's reader —
// is found only by sysmon's poll, up to 10 ms later. A short sleep is:
// parked on a timer, the goroutine leaves the run queues empty, and the
// scheduler polls the network before it comes back to it.
//
// BenchmarkNetWakeWhileSnapshotting (cmd/fxmatch/venue: a goroutine
// working like this beside a reader of a loopback socket, GOMAXPROCS 1):
// the reader's wait after its byte arrived, Gosched alone p50 9.95 ms;
// pausing 10 µs every 50 µs, p50 73-84 µs (every 200 µs: p50 243 µs).
//
// A pause costs about a millisecond of wall time when nothing else is
// runnable (the poller's shortest wait), which only stretches the
// background work while the venue is idle.
package yield

import (
	"time"
)

// The pacing every Pacer uses: a pause of Pause once Every has passed
// since the last one.
const (
	Every = 50 * time.Microsecond
	Pause = 10 * time.Microsecond
)

// Pacer paces one goroutine's work (it is not safe for concurrent use).
type Pacer struct {
	last time.Time
}

// MaybePause pauses (sleeps Pause) if Every has passed since the last
// pause, and reports whether it did. With more than one processor it
// never pauses: the others run on another one, and a pause would only
// slow the work down (to about 5% of its speed while the venue is idle).
// Blocking's spare processor does not count: it is there for a goroutine
// waiting in the kernel, and its thread may share the one CPU the venue
// is pinned to, where under a real-time policy (serve --realtime) the
// kernel does not take the CPU from a computing thread to give it to
// another of the same priority.
func (p *Pacer) MaybePause() bool {
	if Procs() > 1 {
		return false
	}
	now := time.Now()
	if now.Sub(p.last) < Every {
		return false
	}
	time.Sleep(Pause)
	p.last = time.Now()
	return true
}
