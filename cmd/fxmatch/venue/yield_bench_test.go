package venue

import (
	"net"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkNetWakeWhileSnapshotting: with GOMAXPROCS 1 and a goroutine
// doing a snapshotter's kind of work (never blocking, yielding every ~20
// µs), how long a goroutine waiting for the network — a FIX session's
// reader — waits after its bytes arrive on loopback. "gosched" yields
// with runtime.Gosched only; "snapshotter" with the snapshotter's yield
// (Gosched, and a pause every snapPauseEvery: see Yielding). Metrics: the
// wait's p50, p99 and max, in µs.
//
//	go test ./cmd/fxmatch/venue -run '^$' -bench NetWakeWhileSnapshotting -benchtime 300x
func BenchmarkNetWakeWhileSnapshotting(b *testing.B) {
	for _, mode := range []string{"gosched", "snapshotter"} {
		b.Run(mode, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			w, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			r, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()

			stop := make(chan struct{})
			busyDone := make(chan struct{})
			s := &snapshotter{}
			go func() {
				defer close(busyDone)
				for {
					select {
					case <-stop:
						return
					default:
					}
					for t := time.Now(); time.Since(t) < 20*time.Microsecond; {
					}
					if mode == "gosched" {
						runtime.Gosched()
					} else {
						s.yield()
					}
				}
			}()
			got := make(chan time.Time, 1)
			go func() {
				buf := make([]byte, 1)
				for {
					if _, err := r.Read(buf); err != nil {
						return
					}
					got <- time.Now()
				}
			}()
			waits := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				// Let the reader park in the poller first.
				time.Sleep(200 * time.Microsecond)
				t0 := time.Now()
				if _, err := w.Write([]byte{1}); err != nil {
					b.Fatal(err)
				}
				waits = append(waits, (<-got).Sub(t0))
			}
			b.StopTimer()
			close(stop)
			<-busyDone
			slices.Sort(waits)
			q := func(p float64) float64 { return float64(waits[int(p*float64(len(waits)-1))]) / 1e3 }
			b.ReportMetric(q(0.5), "p50-µs")
			b.ReportMetric(q(0.99), "p99-µs")
			b.ReportMetric(q(1), "max-µs")
		})
	}
}

// TestSnapshotterYieldPauses: the snapshotter's yield sleeps (letting the
// scheduler poll the network) once snapPauseEvery of its time has passed
// since the last pause, not at every call, and counts it.
func TestSnapshotterYieldPauses(t *testing.T) {
	// Less than snapPauseEvery since the last pause, however slow the
	// machine (or the race detector) makes the Gosched in between.
	s := &snapshotter{lastPause: time.Now().Add(time.Hour)}
	s.yield()
	if n := s.stats.pauses.Load(); n != 0 {
		t.Fatalf("a yield before snapPauseEvery has passed paused (%d)", n)
	}
	s.lastPause = time.Now().Add(-snapPauseEvery)
	s.yield()
	if n := s.stats.pauses.Load(); n != 1 {
		t.Fatalf("a yield snapPauseEvery after the last pause: %d pauses, want 1", n)
	}
	// 250 pieces of ~20 µs of work, yielding after each: a pause every
	// third piece at the most (snapPauseEvery 50 µs; a pause itself can
	// last a millisecond, which only makes the next one due sooner), and
	// the clock only runs longer on a loaded machine.
	for range 250 {
		for t := time.Now(); time.Since(t) < 20*time.Microsecond; {
		}
		s.yield()
	}
	if n := s.stats.pauses.Load(); n < 40 {
		t.Errorf("250 pieces of yielding work: %d pauses, want at least 40", n)
	}
	// While the shard waits for it, or the venue stops, it never pauses.
	s.hurry.Store(true)
	before := s.stats.pauses.Load()
	s.lastPause = time.Now().Add(-time.Second)
	for range 10 {
		s.yield()
	}
	if n := s.stats.pauses.Load() - before; n != 0 {
		t.Errorf("in a hurry: %d pauses, want none", n)
	}
}
