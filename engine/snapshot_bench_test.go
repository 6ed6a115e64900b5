package engine_test

import (
	"bytes"
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
//
// The "yielding" variant is the snapshotter's (AppendSnapshotYielding with
// a yield that only counts).
func BenchmarkAppendSnapshot(b *testing.B) {
	e := dayEngine(b, 100_000, 0)
	for _, yielding := range []bool{false, true} {
		name := "plain"
		if yielding {
			name = "yielding"
		}
		b.Run(name, func(b *testing.B) {
			yields := 0
			snap := func(buf []byte) []byte {
				if yielding {
					return e.AppendSnapshotYielding(buf, func() { yields++ })
				}
				return e.AppendSnapshot(buf)
			}
			buf := snap(nil) // as the venue does: its buffer is reused
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var r0, r1 syscall.Rusage
			b.ReportAllocs()
			b.ResetTimer()
			syscall.Getrusage(1 /* RUSAGE_THREAD */, &r0)
			for range b.N {
				buf = snap(buf[:0])
			}
			syscall.Getrusage(1, &r1)
			cpu := r1.Utime.Nano() - r0.Utime.Nano() + r1.Stime.Nano() - r0.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(len(buf)), "bytes")
			if yielding {
				b.ReportMetric(float64(yields)/float64(b.N+1), "yields/op")
			}
		})
	}
}

// dayEngine is an engine whose day so far is n orders placed and
// cancelled (2n ClOrdIDs in the index) and live more resting.
func dayEngine(tb testing.TB, n, live int) *engine.Engine {
	e, id := allocEngine(tb)
	a := newAllocRun(e)
	for i := range n {
		a.apply(limitOrder(allocA, id, clID("s", i), engine.Buy, 1_000_000, bidPx(i)))
		a.apply(engine.Command{Kind: engine.CmdCancel, Party: allocA, Instrument: id, Side: engine.Buy,
			OrigClOrdID: clID("s", i), ClOrdID: clID("sx", i)})
	}
	for i := range live {
		a.apply(limitOrder(allocA, id, clID("l", i), engine.Buy, 1_000_000, bidPx(i)))
	}
	return e
}

// TestAppendSnapshotYielding: the snapshotter's variant gives the same
// bytes as AppendSnapshot and yields throughout (every few thousand
// units of work: orders, index entries per pass), never none: a
// snapshot of a big day must not hold its processor for its whole
// length (cmd/fxmatch/venue/snapshotter.go).
func TestAppendSnapshotYielding(t *testing.T) {
	// The test engines' index table has 2^18·4/3 slots rounded up: 512Ki,
	// 128 pieces to collect from even when empty.
	for _, tc := range []struct{ n, live, minYields int }{
		{0, 0, 128},
		{100, 10, 128},
		// 45,000 ids: + up to 8 radix passes of ~11 pieces (a pass
		// whose digit all entries share is skipped), + encoding ~11
		// pieces, + 5,000 live orders ~1 piece: 219 when written.
		{20_000, 5_000, 200},
	} {
		e := dayEngine(t, tc.n, tc.live)
		yields := 0
		got := e.AppendSnapshotYielding(nil, func() { yields++ })
		if want := e.AppendSnapshot(nil); !bytes.Equal(got, want) {
			t.Fatalf("%d orders, %d live: yielding snapshot differs from AppendSnapshot (%d vs %d bytes)", tc.n, tc.live, len(got), len(want))
		}
		if yields < tc.minYields {
			t.Errorf("%d orders, %d live: %d yields, want at least %d", tc.n, tc.live, yields, tc.minYields)
		}
	}
}
