package hub

import (
	"errors"
	"sync"
	"testing"

	"fxmatch/engine"
)

func ev(k engine.EventKind, p engine.PartyID, inst engine.InstrumentID) engine.Event {
	return engine.Event{Kind: k, Party: p, Instrument: inst}
}

func drain(s *Sub) []engine.Event {
	var out []engine.Event
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestRouting(t *testing.T) {
	h := New(4, 2)
	a, _ := h.SubscribeParty(1, 16)
	b, _ := h.SubscribeParty(2, 16)
	dc, _ := h.SubscribeDropCopy([]bool{false, true, false, true}, 16)
	m0, _ := h.SubscribeMarket(0, 16)
	all, _ := h.SubscribeAll(16)
	h.Publish([]engine.Event{
		ev(engine.EvAccepted, 1, 0),
		ev(engine.EvFill, 2, 1),
		ev(engine.EvLevel, 0, 0),
		ev(engine.EvTrade, 0, 1),
		ev(engine.EvCancelled, 3, 0),
	})
	count := func(s *Sub) int { return len(drain(s)) }
	if n := count(a); n != 1 {
		t.Errorf("party 1 got %d events, want 1", n)
	}
	if n := count(b); n != 1 {
		t.Errorf("party 2 got %d events, want 1", n)
	}
	if n := count(dc); n != 2 {
		t.Errorf("drop copy of 1 and 3 got %d events, want 2", n)
	}
	if n := count(m0); n != 1 {
		t.Errorf("market 0 got %d events, want 1 (the level change)", n)
	}
	if n := count(all); n != 5 {
		t.Errorf("all got %d events, want 5", n)
	}
}

func TestLaggingSubscriberIsCutOffWithoutBlocking(t *testing.T) {
	h := New(2, 1)
	slow, _ := h.SubscribeParty(1, 2)
	fast, _ := h.SubscribeAll(100)
	evs := make([]engine.Event, 10)
	for i := range evs {
		evs[i] = ev(engine.EvAccepted, 1, 0)
	}
	h.Publish(evs) // must not block
	if got := len(drain(slow)); got != 2 {
		t.Errorf("slow subscriber kept %d events, want its 2 queued", got)
	}
	if _, ok := <-slow.C; ok {
		t.Fatal("slow subscriber's channel should be closed")
	}
	if !errors.Is(slow.Err(), ErrLagged) {
		t.Errorf("Err = %v, want ErrLagged", slow.Err())
	}
	if got := len(drain(fast)); got != 10 {
		t.Errorf("fast subscriber got %d, want 10", got)
	}
	if h.Lagged() != 1 {
		t.Errorf("Lagged = %d", h.Lagged())
	}
}

func TestUnsubscribeConcurrentWithPublish(t *testing.T) {
	h := New(2, 1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		evs := []engine.Event{ev(engine.EvAccepted, 1, 0)}
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
		s, err := h.SubscribeParty(1, 4)
		if err != nil {
			t.Fatal(err)
		}
		h.Unsubscribe(s)
		if !errors.Is(s.Err(), ErrClosed) && !errors.Is(s.Err(), ErrLagged) {
			t.Fatalf("Err = %v", s.Err())
		}
	}
	close(stop)
	wg.Wait()
	h.Close()
	if _, err := h.SubscribeAll(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after Close: %v", err)
	}
}

func TestPublishDoesNotAllocate(t *testing.T) {
	h := New(3, 1)
	s, _ := h.SubscribeParty(1, 1<<16)
	evs := []engine.Event{ev(engine.EvAccepted, 1, 0), ev(engine.EvLevel, 0, 0)}
	allocs := testing.AllocsPerRun(1000, func() {
		h.Publish(evs)
		<-s.C
	})
	if allocs != 0 {
		t.Fatalf("Publish allocates %.1f per call", allocs)
	}
}
