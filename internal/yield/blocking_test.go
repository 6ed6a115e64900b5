package yield

import (
	"runtime"
	"sync"
	"testing"
)

func TestBlockingAddsAProcessorWhileItRuns(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer Boost(false)

	inside := 0
	Blocking(func() error { inside = runtime.GOMAXPROCS(0); return nil })
	if inside != 1 {
		t.Errorf("Boost off: GOMAXPROCS %d inside, want 1", inside)
	}

	Boost(true)
	before := Boosts()
	Blocking(func() error { inside = runtime.GOMAXPROCS(0); return nil })
	if inside != 2 || runtime.GOMAXPROCS(0) != 1 || Boosts() != before+1 {
		t.Errorf("Boost on: GOMAXPROCS %d inside, %d after, %d boosts; want 2, 1, 1", inside, runtime.GOMAXPROCS(0), Boosts()-before)
	}

	// Overlapping calls share the one extra processor; the last one out
	// takes it back.
	var wg sync.WaitGroup
	hold := make(chan struct{})
	in := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			Blocking(func() error { in <- runtime.GOMAXPROCS(0); <-hold; return nil })
		})
	}
	for range 8 {
		if n := <-in; n != 2 {
			t.Errorf("an overlapping call saw GOMAXPROCS %d, want 2", n)
		}
	}
	close(hold)
	wg.Wait()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d after the overlapping calls, want 1", n)
	}
}

// TestPacerPausesThroughASpareProcessor: with one processor a Pacer
// pauses, and still does while Blocking's spare processor is added (its
// thread may share the venue's one CPU); with two of the venue's own it
// does not.
func TestPacerPausesThroughASpareProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer Boost(false)
	Boost(true)
	var p Pacer
	if !p.MaybePause() {
		t.Error("one processor: no pause")
	}
	Blocking(func() error {
		if runtime.GOMAXPROCS(0) != 2 {
			t.Errorf("GOMAXPROCS %d inside Blocking, want 2", runtime.GOMAXPROCS(0))
		}
		var q Pacer
		if !q.MaybePause() {
			t.Error("one processor and Blocking's spare: no pause")
		}
		return nil
	})
	runtime.GOMAXPROCS(2)
	var r Pacer
	if r.MaybePause() {
		t.Error("two processors: paused")
	}
}
