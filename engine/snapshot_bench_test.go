package engine_test

import (
	"runtime"
	"syscall"
	"testing"

	"fxmatch/engine"
)

// BenchmarkAppendSnapshot: the snapshot the venue takes every
// SnapshotEvery commands (on its snapshotter's goroutine, of a shadow
// engine: cmd/fxmatch/venue/snapshotter.go), of an engine whose day so far is 100,000 orders placed and
// cancelled: 200,000 ClOrdIDs in the index, no live orders. cpu-ms/op
// is the benchmark thread's CPU time (getrusage RUSAGE_THREAD), steadier
// than the wall clock on a shared machine.
//
//	go test ./engine -run '^$' -bench AppendSnapshot -benchtime 20x
func BenchmarkAppendSnapshot(b *testing.B) {
	e, id := allocEngine(b)
	a := newAllocRun(e)
	for i := range 100_000 {
		a.apply(limitOrder(allocA, id, clID("s", i), engine.Buy, 1_000_000, bidPx(i)))
		a.apply(engine.Command{Kind: engine.CmdCancel, Party: allocA, Instrument: id, Side: engine.Buy,
			OrigClOrdID: clID("s", i), ClOrdID: clID("sx", i)})
	}
	buf := e.AppendSnapshot(nil) // as the venue does: its buffer is reused
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var r0, r1 syscall.Rusage
	b.ReportAllocs()
	b.ResetTimer()
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &r0)
	for range b.N {
		buf = e.AppendSnapshot(buf[:0])
	}
	syscall.Getrusage(1, &r1)
	cpu := r1.Utime.Nano() - r0.Utime.Nano() + r1.Stime.Nano() - r0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(len(buf)), "bytes")
}
