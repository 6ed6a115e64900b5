// Package hub fans the engine's events out to everyone who listens: a
// participant's FIX session and WebSocket streams (its own executions), the
// drop-copy sessions (executions of the participants they cover), market
// data (L2 changes and trades per instrument) and the NATS bridge
// (everything).
//
// Events reach the hub only after the journal has made them durable, so a
// subscriber never sees an event that a crash could take back.
//
// Publish never blocks and never allocates: each subscriber has a bounded
// queue, and a subscriber whose queue is full is cut off — its queue is
// closed and Lagged reports why — rather than slowing matching or the other
// subscribers. Its owner then disconnects the client (and, for a FIX
// session with cancel-on-disconnect, cancels its orders): a client that
// cannot keep up must reconnect and resynchronise, which is what FIX
// sequence numbers and snapshots are for.
//
// Lock order: Hub.mu is taken only to change subscriptions; Publish reads
// copy-on-write subscriber lists through atomic pointers and takes no lock.
package hub

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"fxmatch/engine"
)

// ErrLagged is the reason a subscriber was cut off: its queue was full.
var ErrLagged = errors.New("hub: subscriber fell behind and was cut off")

// ErrClosed is the reason after Unsubscribe or Hub.Close.
var ErrClosed = errors.New("hub: subscription closed")

// Sub is one subscription. Read events from C until it is closed; then Err
// says why.
type Sub struct {
	C <-chan engine.Event

	c      chan engine.Event
	closed atomic.Bool
	mu     sync.Mutex // guards close of c and err
	err    error
	// What it wants.
	kind    subKind
	party   engine.PartyID
	inst    engine.InstrumentID
	covered []bool // drop copy: covered[p]
	hub     *Hub
}

type subKind uint8

const (
	subParty subKind = iota
	subDropCopy
	subMarket
	subAll
)

// Err is why C was closed (nil while it is open).
func (s *Sub) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// cut closes the subscription's channel once, recording why.
func (s *Sub) cut(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return
	}
	s.err = err
	s.closed.Store(true)
	close(s.c)
}

// send delivers ev without blocking; a full queue cuts the subscriber off.
// The mutex makes the send and a concurrent Unsubscribe's close exclusive
// (a send on a closed channel would panic); it is uncontended except at
// that moment.
func (s *Sub) send(ev *engine.Event) {
	if s.closed.Load() {
		return
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return
	}
	select {
	case s.c <- *ev:
		s.mu.Unlock()
	default:
		s.err = ErrLagged
		s.closed.Store(true)
		close(s.c)
		s.mu.Unlock()
		s.hub.lagged.Add(1)
	}
}

type subList = []*Sub

// Hub routes events to subscriptions. The zero value is not usable: use New.
type Hub struct {
	mu       sync.Mutex
	byParty  []atomic.Pointer[subList] // executions of one participant
	byInst   []atomic.Pointer[subList] // market data of one instrument
	drop     atomic.Pointer[subList]
	all      atomic.Pointer[subList]
	lagged   atomic.Int64
	isClosed bool
}

// New makes a hub for parties 1..nparty-1 and instruments 0..ninst-1.
func New(nparty, ninst int) *Hub {
	return &Hub{
		byParty: make([]atomic.Pointer[subList], nparty),
		byInst:  make([]atomic.Pointer[subList], ninst),
	}
}

// Lagged counts the subscribers cut off for falling behind (a metric).
func (h *Hub) Lagged() int64 { return h.lagged.Load() }

func (h *Hub) add(list *atomic.Pointer[subList], s *Sub) {
	var next subList
	if cur := list.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, s)
	list.Store(&next)
}

func (h *Hub) remove(list *atomic.Pointer[subList], s *Sub) {
	cur := list.Load()
	if cur == nil {
		return
	}
	next := slices.DeleteFunc(slices.Clone(*cur), func(x *Sub) bool { return x == s })
	list.Store(&next)
}

func (h *Hub) subscribe(s *Sub, capacity int) (*Sub, error) {
	if capacity <= 0 {
		capacity = 1024
	}
	s.c = make(chan engine.Event, capacity)
	s.C = s.c
	s.hub = h
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return nil, ErrClosed
	}
	switch s.kind {
	case subParty:
		if int(s.party) >= len(h.byParty) || s.party == engine.NoParty {
			return nil, errors.New("hub: unknown participant")
		}
		h.add(&h.byParty[s.party], s)
	case subMarket:
		if int(s.inst) >= len(h.byInst) {
			return nil, errors.New("hub: unknown instrument")
		}
		h.add(&h.byInst[s.inst], s)
	case subDropCopy:
		h.add(&h.drop, s)
	case subAll:
		h.add(&h.all, s)
	}
	return s, nil
}

// SubscribeParty delivers the execution events of participant p: its
// orders' accepted, rejected, fill, cancelled, replaced and expired events,
// its cancel rejects and mass-cancel reports, and credit changes it made.
func (h *Hub) SubscribeParty(p engine.PartyID, capacity int) (*Sub, error) {
	return h.subscribe(&Sub{kind: subParty, party: p}, capacity)
}

// SubscribeDropCopy delivers the execution events of every participant p
// with covered[p] true (a regulator's drop copy).
func (h *Hub) SubscribeDropCopy(covered []bool, capacity int) (*Sub, error) {
	return h.subscribe(&Sub{kind: subDropCopy, covered: slices.Clone(covered)}, capacity)
}

// SubscribeMarket delivers an instrument's public events: L2 level changes
// and trades.
func (h *Hub) SubscribeMarket(id engine.InstrumentID, capacity int) (*Sub, error) {
	return h.subscribe(&Sub{kind: subMarket, inst: id}, capacity)
}

// SubscribeAll delivers every event (the NATS bridge, the assistant).
func (h *Hub) SubscribeAll(capacity int) (*Sub, error) {
	return h.subscribe(&Sub{kind: subAll}, capacity)
}

// Unsubscribe ends a subscription: it gets no more events and C is closed.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	switch s.kind {
	case subParty:
		h.remove(&h.byParty[s.party], s)
	case subMarket:
		h.remove(&h.byInst[s.inst], s)
	case subDropCopy:
		h.remove(&h.drop, s)
	case subAll:
		h.remove(&h.all, s)
	}
	h.mu.Unlock()
	s.cut(ErrClosed)
}

// Close ends every subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	h.isClosed = true
	var subs []*Sub
	collect := func(l *atomic.Pointer[subList]) {
		if cur := l.Swap(nil); cur != nil {
			subs = append(subs, *cur...)
		}
	}
	for i := range h.byParty {
		collect(&h.byParty[i])
	}
	for i := range h.byInst {
		collect(&h.byInst[i])
	}
	collect(&h.drop)
	collect(&h.all)
	h.mu.Unlock()
	for _, s := range subs {
		s.cut(ErrClosed)
	}
}

// IsExecution reports whether an event is about one participant's order or
// request (and so goes to that participant and its drop copies).
func IsExecution(k engine.EventKind) bool {
	switch k {
	case engine.EvAccepted, engine.EvRejected, engine.EvFill, engine.EvCancelled,
		engine.EvReplaced, engine.EvExpired, engine.EvCancelRejected,
		engine.EvMassCancelReport, engine.EvCreditSet:
		return true
	}
	return false
}

// Publish delivers events, in order, to every subscription that wants them.
// Only one goroutine may publish (the journal's completion path), so every
// subscriber sees events in journal order.
func (h *Hub) Publish(events []engine.Event) {
	all := h.all.Load()
	drop := h.drop.Load()
	for i := range events {
		ev := &events[i]
		if all != nil {
			for _, s := range *all {
				s.send(ev)
			}
		}
		switch {
		case IsExecution(ev.Kind):
			if int(ev.Party) < len(h.byParty) {
				if l := h.byParty[ev.Party].Load(); l != nil {
					for _, s := range *l {
						s.send(ev)
					}
				}
			}
			if drop != nil {
				for _, s := range *drop {
					if int(ev.Party) < len(s.covered) && s.covered[ev.Party] {
						s.send(ev)
					}
				}
			}
		case ev.Kind == engine.EvLevel || ev.Kind == engine.EvTrade:
			if int(ev.Instrument) < len(h.byInst) {
				if l := h.byInst[ev.Instrument].Load(); l != nil {
					for _, s := range *l {
						s.send(ev)
					}
				}
			}
		}
	}
}
