// Package hub fans the engine's events out to everyone who listens: a
// participant's FIX session and WebSocket streams (its own executions), the
// drop-copy sessions (executions of the participants they cover), market
// data (L2 changes and trades per instrument) and the NATS bridge
// (everything).
//
// Events reach the hub only after the journal has made them durable, so a
// subscriber never sees an event that a crash could take back.
//
// # Batches
//
// The venue publishes once per journal commit group, and the hub delivers
// what it is given as one Batch: the events are copied once into a batch
// that every subscriber shares, and a subscriber that wants at least one
// of them gets the batch with one channel send; a subscriber that wants
// none of them gets nothing (and is not woken). The subscriber reads the
// batch through Sub.Events, which yields exactly the events it subscribed
// to, in journal order. This replaced a channel of events per subscriber:
// an execution event reaches five or more subscribers (the FIX session,
// the gateway's participant feed, the broker store, the NATS bridge, the
// metrics), and five copies of a 320-byte event, five channel operations
// and up to five goroutine wake-ups per event were a tenth of the venue's
// CPU. Now a batch costs one copy of its events, and each subscriber one
// send.
//
// A Batch is shared, so a subscriber reads it and never writes it, and
// calls Release once it is done with it: the batch's memory is then
// reused for a later batch. Recycling is what makes the copy cheap: a
// batch allocated afresh each time cost as much as the copies it saved
// (under bench fix, a profile of the venue put a tenth of its CPU in that
// allocation: new spans, first touches of cold memory), where a recycled
// one is still in cache. The rules that keep this safe: a subscriber
// releases each batch it received once, after its last use (a second
// Release panics); nothing it keeps may point into the batch (copy an
// event to keep it); a batch never released (a consumer that stops
// reading) is only garbage, collected as usual. A released batch's events
// are overwritten with kind 0, which no subscriber wants. In a normal
// build a batch is reused at once (last in, first out), so a reader that
// released too early may read a later commit's events, and a stray second
// Release may take a reference from the batch's next holders; the tests
// therefore run under the race detector, where batches are never reused:
// there a batch released more often than it was delivered panics, and a
// reader whose batch was released under it (by its own early Release or a
// stray second one elsewhere) reads nothing and shows as a data race on
// the poison.
//
// # Bounds
//
// Publish never blocks: each subscriber has a bounded queue, and a
// subscriber whose queue is full is cut off — its channel is closed and
// Err reports ErrLagged — rather than slowing matching or the other
// subscribers. Its owner then disconnects the client (and, for a FIX
// session with cancel-on-disconnect, cancels its orders): a client that
// cannot keep up must reconnect and resynchronise, which is what FIX
// sequence numbers and snapshots are for.
//
// The bound is counted in events, not batches: capacity (the argument of
// the Subscribe methods) is how many of the events a subscriber wants may
// wait in its queue. A bound in batches would let a consumer fall behind
// by capacity whole commit groups — hundreds of times more events at high
// load than at low load — before it was cut off. Events in a batch the
// subscriber has already received do not count (as before, an event
// received was no longer queued). Two details follow from delivering whole
// batches: a batch is accepted into an empty queue whatever its size (a
// subscriber that has read everything is not behind, however large one
// commit group is), and otherwise a batch that would take the queue over
// capacity cuts the subscriber off. As every queued batch holds at least
// one wanted event, at most capacity batches are queued; the memory they
// keep alive is at most capacity commit groups, shared with every other
// subscriber that holds them.
//
// Lock order: Hub.mu is taken only to change subscriptions; Publish takes
// Hub.pubMu (which only serialises publishers: the venue has one, the
// journal's completion path), reads copy-on-write subscriber lists through
// atomic pointers, and takes each receiving Sub.mu briefly. Sub.mu is
// taken after Hub.mu or Hub.pubMu, never before.
package hub

import (
	"errors"
	"iter"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"fxmatch/engine"
	"fxmatch/internal/yield"
)

// ErrLagged is the reason a subscriber was cut off: its queue was full.
var ErrLagged = errors.New("hub: subscriber fell behind and was cut off")

// ErrClosed is the reason after Unsubscribe or Hub.Close.
var ErrClosed = errors.New("hub: subscription closed")

// Batch is what one Publish delivers: the events of one journal commit
// group, in journal order, shared by every subscriber that received it.
// Read it, never write it, and Release it when done. Events holds every
// event of the commit group, including those the subscriber did not ask
// for: read it through Sub.Events.
type Batch struct {
	Events []engine.Event

	buf  []engine.Event // Events' backing array, kept for reuse
	refs atomic.Int32   // subscribers yet to Release it (+1 while Publish delivers)
	hub  *Hub
}

// Release says the holder is done with b: it must not read b, or any event
// of it, afterwards. Each subscriber that received b releases it once.
func (b *Batch) Release() {
	switch n := b.refs.Add(-1); {
	case n > 0:
		return
	case n < 0:
		panic("hub: Batch released more often than it was delivered")
	}
	b.hub.recycle(b)
}

// Batch recycling bounds: at most batchFreeMax batches, holding room for
// at most batchFreeEvents events in all (~5 MiB of 320-byte events),
// wait for reuse, and a batch whose array holds more than batchEventsMax
// events is left to the garbage collector rather than kept for a rare
// burst. (256 batches of up to 4096 events could have kept 335 MB after
// one burst, for good.)
const (
	batchFreeMax    = 256
	batchEventsMax  = 4096
	batchFreeEvents = 16384
)

func (h *Hub) recycle(b *Batch) {
	if raceEnabled || cap(b.buf) > batchEventsMax {
		// Under the race detector a batch is never reused: see the
		// package doc.
		for i := range b.Events {
			b.Events[i].Kind = 0
		}
		return
	}
	// The poison: no subscription wants kind 0 (see the package doc).
	for i := range b.Events {
		b.Events[i].Kind = 0
	}
	b.Events = nil
	h.freeMu.Lock()
	if len(h.free) < batchFreeMax && h.freeEvents+cap(b.buf) <= batchFreeEvents {
		h.free = append(h.free, b)
		h.freeEvents += cap(b.buf)
	}
	h.freeMu.Unlock()
}

// batch returns a batch holding a copy of events: the most recently
// released one (its memory the likeliest to be in cache) or a new one.
func (h *Hub) batch(events []engine.Event) *Batch {
	var b *Batch
	h.freeMu.Lock()
	if n := len(h.free); n > 0 {
		b = h.free[n-1]
		h.free[n-1] = nil
		h.free = h.free[:n-1]
		h.freeEvents -= cap(b.buf)
	}
	h.freeMu.Unlock()
	if b == nil {
		b = &Batch{hub: h}
	}
	b.buf = append(b.buf[:0], events...)
	b.Events = b.buf[:len(events):len(events)] // full: an append cannot write into b.buf
	return b
}

// Sub is one subscription. Read batches from C until it is closed, and the
// events of each through Events; once C is closed, Err says why.
type Sub struct {
	C <-chan *Batch

	c      chan *Batch
	closed atomic.Bool
	mu     sync.Mutex // guards close of c, err, and the queue's accounting
	err    error
	// The queue's accounting (mu): sent batches in all; cum[i&mask] is how
	// many wanted events the first i batches held. The events still in
	// the channel are those of its last len(c) batches: cum[sent] -
	// cum[sent-len(c)]. The ring holds more than cap(c) entries, so both
	// are in it. Only Publish sends, under mu, so len(c) can only shrink
	// while it is read: the count is never below the truth.
	sent   uint64
	cum    []uint64
	mask   uint64
	max    int // capacity, in events
	wanted int // Publish's count for the batch in hand (Hub.pubMu)
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

// Wants reports whether ev is one of the events the subscription asked
// for. It is the rule Publish routes by (TestWantsMatchesRouting holds
// them together).
func (s *Sub) Wants(ev *engine.Event) bool {
	switch s.kind {
	case subAll:
		return ev.Kind != 0 // not a released batch's poison
	case subParty:
		return ev.Party == s.party && IsExecution(ev.Kind)
	case subDropCopy:
		return IsExecution(ev.Kind) && int(ev.Party) < len(s.covered) && s.covered[ev.Party]
	case subMarket:
		return ev.Instrument == s.inst && (ev.Kind == engine.EvLevel || ev.Kind == engine.EvTrade)
	}
	return true
}

// Events yields the events of b the subscription asked for, in journal
// order. The pointers are into the shared batch: read, never write, and
// copy what must outlive the loop if it is to be changed.
func (s *Sub) Events(b *Batch) iter.Seq[*engine.Event] {
	return func(yield func(*engine.Event) bool) {
		for i := range b.Events {
			if ev := &b.Events[i]; s.Wants(ev) && !yield(ev) {
				return
			}
		}
	}
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

// deliver queues b, of which the subscriber wants n events, without
// blocking, and says whether it did; a full queue cuts the subscriber off.
// The mutex makes the send and a concurrent Unsubscribe's close exclusive
// (a send on a closed channel would panic); it is uncontended except at
// that moment.
func (s *Sub) deliver(b *Batch, n int) bool {
	if s.closed.Load() {
		return false
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return false
	}
	queued := s.cum[s.sent&s.mask] - s.cum[(s.sent-uint64(len(s.c)))&s.mask]
	if queued == 0 || queued+uint64(n) <= uint64(s.max) {
		select {
		case s.c <- b:
			s.cum[(s.sent+1)&s.mask] = s.cum[s.sent&s.mask] + uint64(n)
			s.sent++
			s.mu.Unlock()
			return true
		default:
			// Not reached (at most max batches are queued), but a full
			// channel must never block the publisher.
		}
	}
	s.err = ErrLagged
	s.closed.Store(true)
	close(s.c)
	s.mu.Unlock()
	s.hub.lagged.Add(1)
	return false
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

	pubMu   sync.Mutex
	touched []*Sub // Publish's scratch (pubMu): the subscribers of a batch

	freeMu sync.Mutex
	free   []*Batch // released batches, for reuse (freeMu)
	// freeEvents is the room for events in free's batches (freeMu).
	freeEvents int
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
	// Every queued batch holds at least one wanted event, so capacity
	// batches is as many as the event bound lets wait.
	s.c = make(chan *Batch, capacity)
	s.C = s.c
	s.max = capacity
	ring := uint64(1) << bits.Len(uint(capacity)) // > capacity
	s.cum, s.mask = make([]uint64, ring), ring-1
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
// capacity bounds, in events, what may wait in its queue.
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

// SubscribeAll delivers every event (the NATS bridge, the metrics).
func (h *Hub) SubscribeAll(capacity int) (*Sub, error) {
	return h.subscribe(&Sub{kind: subAll}, capacity)
}

// Unsubscribe ends a subscription: it gets no more batches and C is
// closed (after the batches already queued).
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

// Publish delivers events, as one Batch, to every subscription that wants
// at least one of them. It copies events (the caller may reuse the slice
// once it returns) into a recycled batch: NewBatch and PublishBatch in
// one step.
func (h *Hub) Publish(events []engine.Event) {
	if len(events) == 0 {
		return
	}
	h.PublishBatch(h.batch(events))
}

// NewBatch copies events into a (recycled) batch for PublishBatch. Until
// it is published the caller owns it alone and may change its events in
// place (the venue translates instrument ids there, so that an applied
// batch is copied once on its way to the subscribers, not twice); once
// published, nobody may. A batch never published is garbage, as usual.
func (h *Hub) NewBatch(events []engine.Event) *Batch { return h.batch(events) }

// PublishBatch delivers b (from NewBatch) to every subscription that
// wants at least one of its events; b belongs to the hub from then on.
// Publishers are serialised, so every subscriber receives batches in the
// order they were published: the venue publishes from the journal's
// completion path, in journal order.
func (h *Hub) PublishBatch(b *Batch) {
	events := b.Events
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	// Count each subscriber's wanted events, by the same rules as Wants.
	touched := h.touched[:0]
	mark := func(s *Sub) {
		if s.wanted == 0 {
			touched = append(touched, s)
		}
		s.wanted++
	}
	drop := h.drop.Load()
	for i := range events {
		ev := &events[i]
		switch {
		case IsExecution(ev.Kind):
			if int(ev.Party) < len(h.byParty) {
				if l := h.byParty[ev.Party].Load(); l != nil {
					for _, s := range *l {
						mark(s)
					}
				}
			}
			if drop != nil {
				for _, s := range *drop {
					if int(ev.Party) < len(s.covered) && s.covered[ev.Party] {
						mark(s)
					}
				}
			}
		case ev.Kind == engine.EvLevel || ev.Kind == engine.EvTrade:
			if int(ev.Instrument) < len(h.byInst) {
				if l := h.byInst[ev.Instrument].Load(); l != nil {
					for _, s := range *l {
						mark(s)
					}
				}
			}
		}
	}
	all := h.all.Load()
	refs := len(touched) + 1 // PublishBatch holds one until it has delivered
	if all != nil {
		refs += len(*all)
	}
	b.refs.Store(int32(refs))
	// The order of the deliveries is the order the woken subscribers run
	// in when the Go scheduler has one processor (serve --procs=1): a
	// goroutine readied by this one takes the processor's "run next" slot
	// and pushes the one there before it to the tail of the run queue, so
	// the last one woken runs first and the others follow in the order
	// they were woken. The subscribers of particular events answer clients
	// (the FIX sessions' reports); the everything-subscribers (gateway
	// feeds, metrics, assistant, bus) only observe. So the first of the
	// touched is woken last, after the observers, and the other touched
	// before them: the reports go out first, in the order of touched, and
	// the observers run after. Before, the FIX session's pump ran after
	// the last observer woken. With more processors a woken goroutine may
	// run at once elsewhere, and the touched go first, as they did.
	// yield.Procs, not GOMAXPROCS: yield.Blocking's spare processor, added
	// while a background goroutine waits for the disk, does not count.
	deliverTouched := func(s *Sub) {
		n := s.wanted
		s.wanted = 0
		if !s.deliver(b, n) {
			b.Release()
		}
	}
	last := yield.Procs() == 1 && len(touched) > 0
	for i := range touched {
		if i > 0 || !last {
			deliverTouched(touched[i])
		}
	}
	if all != nil {
		for _, s := range *all {
			if !s.deliver(b, len(events)) {
				b.Release()
			}
		}
	}
	if last {
		deliverTouched(touched[0])
	}
	clear(touched)
	h.touched = touched[:0]
	b.Release()
}
