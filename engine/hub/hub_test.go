package hub

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"fxmatch/engine"
)

func ev(k engine.EventKind, p engine.PartyID, inst engine.InstrumentID) engine.Event {
	return engine.Event{Kind: k, Party: p, Instrument: inst}
}

// drain takes every batch queued on s and returns the events s wants of
// them, and how many batches there were.
func drain(s *Sub) (out []engine.Event, batches int) {
	for {
		select {
		case b, ok := <-s.C:
			if !ok {
				return out, batches
			}
			batches++
			for ev := range s.Events(b) {
				out = append(out, *ev)
			}
			b.Release()
		default:
			return out, batches
		}
	}
}

func TestRouting(t *testing.T) {
	h := New(4, 2)
	a, _ := h.SubscribeParty(1, 16)
	b, _ := h.SubscribeParty(2, 16)
	c, _ := h.SubscribeParty(3, 16)
	dc, _ := h.SubscribeDropCopy([]bool{false, true, false, true}, 16)
	m0, _ := h.SubscribeMarket(0, 16)
	m1, _ := h.SubscribeMarket(1, 16)
	all, _ := h.SubscribeAll(16)
	h.Publish([]engine.Event{
		ev(engine.EvAccepted, 1, 0),
		ev(engine.EvFill, 2, 1),
		ev(engine.EvLevel, 0, 0),
		ev(engine.EvTrade, 0, 1),
		ev(engine.EvCancelled, 1, 0),
	})
	for _, tc := range []struct {
		name    string
		s       *Sub
		events  int
		batches int
	}{
		{"party 1", a, 2, 1},
		{"party 2", b, 1, 1},
		{"party 3 (nothing of its own)", c, 0, 0},
		{"drop copy of 1 and 3", dc, 2, 1},
		{"market 0 (the level change)", m0, 1, 1},
		{"market 1 (the trade)", m1, 1, 1},
		{"all", all, 5, 1},
	} {
		evs, n := drain(tc.s)
		if len(evs) != tc.events || n != tc.batches {
			t.Errorf("%s got %d events in %d batches, want %d in %d", tc.name, len(evs), n, tc.events, tc.batches)
		}
	}
}

// TestWantsMatchesRouting publishes random batches and checks that every
// subscriber reads, through Events, exactly the events the documented rules
// give it, in publish order, and is sent a batch only when it wants at
// least one of its events (no wake-up for nothing).
func TestWantsMatchesRouting(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const nparty, ninst = 5, 3
	kinds := []engine.EventKind{
		engine.EvAccepted, engine.EvRejected, engine.EvFill, engine.EvCancelled, engine.EvReplaced,
		engine.EvExpired, engine.EvCancelRejected, engine.EvMassCancelReport, engine.EvCreditSet,
		engine.EvLevel, engine.EvTrade,
	}
	// The rules, written out independently of the package's code.
	type rule struct {
		s    *Sub
		want func(*engine.Event) bool
		got  []engine.Event
		exp  []engine.Event
		nb   int // batches received
		expB int // batches it wanted something of
	}
	h := New(nparty, ninst)
	var rules []*rule
	isExec := func(k engine.EventKind) bool { return k != engine.EvLevel && k != engine.EvTrade }
	for p := engine.PartyID(1); p < nparty; p++ {
		s, err := h.SubscribeParty(p, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, &rule{s: s, want: func(e *engine.Event) bool { return e.Party == p && isExec(e.Kind) }})
	}
	covered := []bool{true, false, true, false, true, true} // longer than the parties, and covers NoParty
	dc, _ := h.SubscribeDropCopy(covered, 1<<20)
	rules = append(rules, &rule{s: dc, want: func(e *engine.Event) bool {
		return isExec(e.Kind) && int(e.Party) < len(covered) && covered[e.Party]
	}})
	for i := engine.InstrumentID(0); i < ninst; i++ {
		s, _ := h.SubscribeMarket(i, 1<<20)
		rules = append(rules, &rule{s: s, want: func(e *engine.Event) bool { return e.Instrument == i && !isExec(e.Kind) }})
	}
	all, _ := h.SubscribeAll(1 << 20)
	rules = append(rules, &rule{s: all, want: func(*engine.Event) bool { return true }})

	buf := make([]engine.Event, 0, 64)
	for n := 0; n < 2000; n++ {
		buf = buf[:rng.IntN(cap(buf))+1]
		for i := range buf {
			buf[i] = engine.Event{
				Kind:       kinds[rng.IntN(len(kinds))],
				Seq:        uint64(n),
				ExecID:     uint64(n*100 + i),
				Party:      engine.PartyID(rng.IntN(nparty + 1)), // includes NoParty and an unknown one
				Instrument: engine.InstrumentID(rng.IntN(ninst + 1)),
			}
		}
		for _, r := range rules {
			wanted := false
			for i := range buf {
				if r.want(&buf[i]) {
					r.exp = append(r.exp, buf[i])
					wanted = true
				}
			}
			if wanted {
				r.expB++
			}
		}
		h.Publish(buf)
		// The caller reuses its slice: the subscribers must not see this.
		for i := range buf {
			buf[i] = engine.Event{Kind: engine.EvAccepted, Party: 1, ExecID: 1 << 60}
		}
		if n%7 == 0 {
			for _, r := range rules {
				evs, nb := drain(r.s)
				r.got, r.nb = append(r.got, evs...), r.nb+nb
			}
		}
	}
	for _, r := range rules {
		evs, nb := drain(r.s)
		r.got, r.nb = append(r.got, evs...), r.nb+nb
		if len(r.got) != len(r.exp) {
			t.Fatalf("%+v: got %d events, want %d", r.s.kind, len(r.got), len(r.exp))
		}
		for i := range r.got {
			if r.got[i] != r.exp[i] {
				t.Fatalf("kind %d: event %d is %+v, want %+v", r.s.kind, i, r.got[i], r.exp[i])
			}
		}
		if r.nb != r.expB {
			t.Errorf("kind %d: %d batches, want %d (one per batch with a wanted event)", r.s.kind, r.nb, r.expB)
		}
		if r.s.Err() != nil {
			t.Errorf("kind %d: %v", r.s.kind, r.s.Err())
		}
	}
	if h.Lagged() != 0 {
		t.Errorf("Lagged = %d", h.Lagged())
	}
}

func TestLaggingSubscriberIsCutOffWithoutBlocking(t *testing.T) {
	h := New(2, 1)
	slow, _ := h.SubscribeParty(1, 2)
	fast, _ := h.SubscribeAll(100)
	one := []engine.Event{ev(engine.EvAccepted, 1, 0)}
	for range 10 {
		h.Publish(one) // must not block
	}
	if got, _ := drain(slow); len(got) != 2 {
		t.Errorf("slow subscriber kept %d events, want its 2 queued", len(got))
	}
	if _, ok := <-slow.C; ok {
		t.Fatal("slow subscriber's channel should be closed")
	}
	if !errors.Is(slow.Err(), ErrLagged) {
		t.Errorf("Err = %v, want ErrLagged", slow.Err())
	}
	if got, _ := drain(fast); len(got) != 10 {
		t.Errorf("fast subscriber got %d, want 10", len(got))
	}
	if h.Lagged() != 1 {
		t.Errorf("Lagged = %d", h.Lagged())
	}
}

// TestLagBoundIsInEvents: the queue's bound counts the events a subscriber
// wants, whatever the batches hold besides, and what it has read frees
// room.
func TestLagBoundIsInEvents(t *testing.T) {
	batch := func(mine, others int) []engine.Event {
		var evs []engine.Event
		for range others {
			evs = append(evs, ev(engine.EvAccepted, 2, 0), ev(engine.EvLevel, 0, 0))
		}
		for range mine {
			evs = append(evs, ev(engine.EvFill, 1, 0))
		}
		return evs
	}
	t.Run("wanted events count", func(t *testing.T) {
		h := New(3, 1)
		s, _ := h.SubscribeParty(1, 10)
		for range 3 {
			h.Publish(batch(3, 50)) // 9 of its events queued
		}
		if s.Err() != nil {
			t.Fatalf("cut off at 9 queued events of 10: %v", s.Err())
		}
		h.Publish(batch(1, 0)) // 10
		if s.Err() != nil {
			t.Fatalf("cut off at 10 queued events of 10: %v", s.Err())
		}
		h.Publish(batch(1, 0)) // 11
		if !errors.Is(s.Err(), ErrLagged) {
			t.Fatalf("Err = %v at 11 queued events of 10, want ErrLagged", s.Err())
		}
		if got, n := drain(s); len(got) != 10 || n != 4 {
			t.Errorf("kept %d events in %d batches, want 10 in 4", len(got), n)
		}
	})
	t.Run("reading frees room", func(t *testing.T) {
		h := New(3, 1)
		s, _ := h.SubscribeParty(1, 10)
		h.Publish(batch(6, 1))
		h.Publish(batch(4, 1)) // 10
		(<-s.C).Release()      // 4 left
		h.Publish(batch(6, 1)) // 10
		if s.Err() != nil {
			t.Fatalf("cut off with room: %v", s.Err())
		}
		h.Publish(batch(1, 0))
		if !errors.Is(s.Err(), ErrLagged) {
			t.Fatalf("Err = %v, want ErrLagged", s.Err())
		}
	})
	t.Run("a large batch fits an empty queue", func(t *testing.T) {
		h := New(3, 1)
		s, _ := h.SubscribeParty(1, 10)
		h.Publish(batch(25, 0))
		if s.Err() != nil {
			t.Fatalf("a subscriber with nothing queued was cut off: %v", s.Err())
		}
		h.Publish(batch(1, 0))
		if !errors.Is(s.Err(), ErrLagged) {
			t.Fatalf("Err = %v behind 25 queued events of 10, want ErrLagged", s.Err())
		}
	})
	t.Run("batches without its events do not count", func(t *testing.T) {
		h := New(3, 1)
		s, _ := h.SubscribeParty(1, 3)
		for range 100 {
			h.Publish(batch(0, 10))
		}
		h.Publish(batch(3, 0))
		if s.Err() != nil || len(s.C) != 1 {
			t.Fatalf("Err = %v, %d batches queued; want nil, 1", s.Err(), len(s.C))
		}
	})
}

func TestUnsubscribeConcurrentWithPublish(t *testing.T) {
	h := New(3, 1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		evs := []engine.Event{ev(engine.EvAccepted, 1, 0), ev(engine.EvAccepted, 2, 0), ev(engine.EvLevel, 0, 0)}
		for {
			select {
			case <-stop:
				return
			default:
				h.Publish(evs)
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		var s *Sub
		var err error
		switch i % 4 {
		case 0:
			s, err = h.SubscribeParty(1, 4)
		case 1:
			s, err = h.SubscribeDropCopy([]bool{false, false, true}, 4)
		case 2:
			s, err = h.SubscribeMarket(0, 4)
		case 3:
			s, err = h.SubscribeAll(4)
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			(<-s.C).Release() // something arrives
		}
		h.Unsubscribe(s)
		if !errors.Is(s.Err(), ErrClosed) && !errors.Is(s.Err(), ErrLagged) {
			t.Fatalf("Err = %v", s.Err())
		}
		for b := range s.C { // closed after what was queued
			b.Release()
		}
	}
	close(stop)
	wg.Wait()
	h.Close()
	if _, err := h.SubscribeAll(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after Close: %v", err)
	}
}

func TestCloseConcurrentWithPublish(t *testing.T) {
	for range 200 {
		h := New(2, 1)
		subs := make([]*Sub, 0, 4)
		for range 2 {
			s, _ := h.SubscribeParty(1, 1<<10)
			subs = append(subs, s)
			s, _ = h.SubscribeAll(1 << 10)
			subs = append(subs, s)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			evs := []engine.Event{ev(engine.EvAccepted, 1, 0), ev(engine.EvLevel, 0, 0)}
			for range 100 {
				h.Publish(evs)
			}
		}()
		h.Close()
		<-done
		for _, s := range subs {
			for b := range s.C {
				b.Release()
			}
			if !errors.Is(s.Err(), ErrClosed) && !errors.Is(s.Err(), ErrLagged) {
				t.Fatalf("Err = %v", s.Err())
			}
		}
	}
}

// TestPublishDoesNotAllocate: batches are recycled, so a steady stream of
// them allocates nothing, however many events and subscribers.
func TestPublishDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race batches are never reused (see the package doc)")
	}
	h := New(3, 1)
	s, _ := h.SubscribeParty(1, 1<<16)
	a, _ := h.SubscribeAll(1 << 16)
	dc, _ := h.SubscribeDropCopy([]bool{false, true, true}, 1<<16)
	evs := make([]engine.Event, 64)
	for i := range evs {
		evs[i] = ev(engine.EvAccepted, engine.PartyID(1+i%2), 0)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		h.Publish(evs)
		(<-s.C).Release()
		(<-a.C).Release()
		(<-dc.C).Release()
	})
	if allocs != 0 {
		t.Fatalf("Publish of 64 events to 3 subscribers allocates %.1f times", allocs)
	}
}

// TestBatchRecycling: a batch is reused only once every subscriber that
// received it has released it, and a released batch yields nothing.
func TestBatchRecycling(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race batches are never reused (see the package doc)")
	}
	h := New(3, 1)
	p1, _ := h.SubscribeParty(1, 16)
	p2, _ := h.SubscribeParty(2, 16)
	both := []engine.Event{ev(engine.EvAccepted, 1, 0), ev(engine.EvAccepted, 2, 0)}
	h.Publish(both)
	b1, b2 := <-p1.C, <-p2.C
	if b1 != b2 {
		t.Fatal("the subscribers got different batches for one Publish")
	}
	b1.Release()
	h.Publish(both)
	next := <-p1.C
	if next == b2 {
		t.Fatal("a batch was reused while a subscriber still held it")
	}
	if n := len(collect(p2, b2)); n != 1 {
		t.Fatalf("the held batch yields %d events, want 1", n)
	}
	b2.Release()
	// b2 is free now (and next, once p1 and p2 release it).
	if n := len(collect(p2, b2)); n != 0 {
		t.Fatalf("a released batch yields %d events, want none", n)
	}
	all, _ := h.SubscribeAll(16)
	h.Publish(both)
	ab := <-all.C
	if ab != b2 {
		t.Fatal("the released batch was not the one reused")
	}
	// Queued: p1 [ab], p2 [next, ab].
	ab.Release()
	next.Release()
	(<-p2.C).Release()
	(<-p1.C).Release()
	if n := len(collect(all, ab)); n != 2 {
		t.Fatalf("a batch p2 still holds yields %d events, want 2", n)
	}
	(<-p2.C).Release()
	if n := len(collect(all, ab)); n != 0 {
		t.Fatalf("a released batch yields %d events to SubscribeAll, want none", n)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second Release did not panic")
		}
	}()
	next.Release()
}

func collect(s *Sub, b *Batch) (out []engine.Event) {
	for ev := range s.Events(b) {
		out = append(out, *ev)
	}
	return out
}

// TestRecyclingUnderConcurrency: subscribers on their own goroutines read
// and release while batches are published and recycled; each must read
// exactly its events, in order. Under -race, a batch reused while someone
// still reads it is a reported race.
func TestRecyclingUnderConcurrency(t *testing.T) {
	const batches, per = 3000, 8
	h := New(3, 2)
	subs := []*Sub{}
	for _, mk := range []func() (*Sub, error){
		func() (*Sub, error) { return h.SubscribeParty(1, 1<<16) },
		func() (*Sub, error) { return h.SubscribeParty(2, 1<<16) },
		func() (*Sub, error) { return h.SubscribeMarket(1, 1<<16) },
		func() (*Sub, error) { return h.SubscribeAll(1 << 16) },
		func() (*Sub, error) { return h.SubscribeDropCopy([]bool{false, true, true}, 1<<16) },
	} {
		s, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	got := make([][]uint64, len(subs))
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() {
			for b := range s.C {
				for ev := range s.Events(b) {
					got[i] = append(got[i], ev.ExecID)
				}
				b.Release()
			}
		})
	}
	want := make([][]uint64, len(subs))
	evs := make([]engine.Event, per)
	exec := uint64(0)
	for range batches {
		for i := range evs {
			exec++
			switch exec % 3 {
			case 0:
				evs[i] = engine.Event{Kind: engine.EvFill, Party: 1, ExecID: exec}
			case 1:
				evs[i] = engine.Event{Kind: engine.EvCancelled, Party: 2, ExecID: exec}
			case 2:
				evs[i] = engine.Event{Kind: engine.EvTrade, Instrument: 1, ExecID: exec}
			}
			for j, s := range subs {
				if s.Wants(&evs[i]) {
					want[j] = append(want[j], exec)
				}
			}
		}
		h.Publish(evs)
	}
	h.Close()
	wg.Wait()
	for i := range subs {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("subscriber %d read %d events, want %d", i, len(got[i]), len(want[i]))
		}
		for j := range got[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("subscriber %d: event %d is ExecID %d, want %d", i, j, got[i][j], want[i][j])
			}
		}
	}
	if h.Lagged() != 0 {
		t.Fatalf("Lagged = %d", h.Lagged())
	}
}

// TestFreeListBudget: after a burst of large batches the free list keeps
// room for at most batchFreeEvents events, not batchFreeMax large batches.
func TestFreeListBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race batches are never reused (see the package doc)")
	}
	h := New(3, 1)
	evs := make([]engine.Event, 4000)
	for i := range evs {
		evs[i] = engine.Event{Kind: engine.EvAccepted, Party: 1}
	}
	var held []*Batch
	s, _ := h.SubscribeParty(1, 1<<20)
	for range 20 {
		h.Publish(evs)
		held = append(held, <-s.C)
	}
	for _, b := range held {
		b.Release()
	}
	h.freeMu.Lock()
	n, room := len(h.free), h.freeEvents
	h.freeMu.Unlock()
	if room > batchFreeEvents || n > batchFreeEvents/4000 {
		t.Fatalf("free list keeps %d batches with room for %d events after the burst; want room for at most %d", n, room, batchFreeEvents)
	}
	if n == 0 {
		t.Fatal("free list kept nothing: the next Publish would allocate")
	}
}

// TestTouchedRunBeforeObservers: with one Go processor (what the venue
// runs with, serve --procs=1), the subscribers a batch touches — here two
// FIX sessions' parties — run before the everything-subscribers, in the
// order of their events, once the publisher yields. It relies on the Go
// scheduler's "run next" slot (see PublishBatch); if a Go release changes
// that, this fails and the delivery order must be thought again.
func TestTouchedRunBeforeObservers(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race the scheduler randomises the run-next slot on purpose")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := New(4, 1)
	p1, _ := h.SubscribeParty(1, 16)
	p2, _ := h.SubscribeParty(2, 16)
	var observers []*Sub
	for range 3 {
		o, _ := h.SubscribeAll(16)
		observers = append(observers, o)
	}
	var (
		mu    sync.Mutex
		order []string
		ready sync.WaitGroup
		done  sync.WaitGroup
	)
	wait := func(name string, s *Sub) {
		ready.Done()
		b := <-s.C
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		b.Release()
		done.Done()
	}
	names := []string{"party 1", "party 2", "observer 0", "observer 1", "observer 2"}
	subs := append([]*Sub{p1, p2}, observers...)
	ready.Add(len(subs))
	done.Add(len(subs))
	for i, s := range subs {
		go wait(names[i], s)
	}
	ready.Wait()
	// Every subscriber's goroutine is parked on its channel once the
	// processor comes back here with nothing else runnable.
	for range 10 {
		runtime.Gosched()
	}
	h.Publish([]engine.Event{ev(engine.EvFill, 1, 0), ev(engine.EvFill, 2, 0)})
	done.Wait()
	if want := []string{"party 1", "party 2", "observer 0", "observer 1", "observer 2"}; !slices.Equal(order, want) {
		t.Errorf("ran in the order %q, want %q", order, want)
	}
}
