package gateway

import (
	"errors"
	"slices"
	"sync"
	"time"

	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/engine/shard"
	"fxmatch/gateway/wire"
)

// The gateway learns everything from the venue's hub, which delivers only
// durable events: one subscription per participant (its executions: the
// order table, the waiters of its requests, its credit usage, its "exec"
// streams) and one per instrument (L2 changes and trades: the book the API
// serves, the recent-trades ring, the "book" and "trades" streams). Each
// subscription has one goroutine, so a participant's events are applied
// in the order the engine produced them.

const (
	// feedQueue is each hub subscription's queue, in events (one feed
	// per participant and per instrument; the queue holds shared batches,
	// so its own memory is small). A feed that falls this far behind is
	// cut off by the hub; the gateway
	// then resubscribes and says so in the log (its tables may have
	// missed events). The loops only update maps under a short lock, so
	// they keep up with the journal's group commits.
	feedQueue = 1 << 13
	// tradesKept is the recent public trades kept per instrument.
	tradesKept = 1000
	// settlePoll is how often a feed checks, while idle, whether the
	// venue has finished publishing a command whose outcome a request
	// waits for.
	settlePoll = 200 * time.Microsecond
)

// instState is one instrument's public state: its L2 book built from the
// durable level changes, and its recent trades.
type instState struct {
	id   engine.InstrumentID
	inst engine.Instrument
	dec  int

	mu     sync.Mutex
	seq    uint64 // the last command applied to the book
	time   int64
	bids   []engine.Level // best first
	asks   []engine.Level
	trades []wire.Trade // ring, oldest first once full
	next   int          // next slot once len == tradesKept
	ref    engine.Price // the last trade price (0: none seen)
	// pendingBook: level changes were applied and not yet streamed.
	pendingBook bool
	// via is the instrument pricing the base in USD for credit (nil if a
	// currency is USD or none is in the shard), inverse if it is USD/BASE.
	via        *instState
	viaInverse bool

	streams streamSet // "book" and "trades" subscribers
	sub     *hub.Sub
}

func (s *Server) startFeeds() error {
	s.names = wire.NamesFor(s.cfg, s.v.Instruments())
	insts := s.v.Instruments()
	s.insts = make([]*instState, len(insts))
	for i := range insts {
		st := &instState{id: engine.InstrumentID(i), inst: insts[i], dec: engine.TickDecimals(insts[i].Tick)}
		st.streams.init()
		st.load(s.v.Book(st.id))
		s.insts[i] = st
	}
	s.linkUSDLegs()
	s.parties = make([]*partyState, len(s.cfg.Participants)+1)
	for i := range s.cfg.Participants {
		ps := newPartyState(engine.PartyID(i+1), s.cfg.Participants[i].ID)
		// Recovered state: orders that were live and credit used before
		// the gateway started (after a restart), read before the venue
		// runs.
		if err := s.v.LiveOrders(ps.id, ps.addRecovered); err != nil {
			return s.errorf("%v (build the gateway before the venue runs)", err)
		}
		s.parties[i+1] = ps
	}
	if err := s.loadCredit(); err != nil {
		return err
	}
	h := s.v.Hub()
	for _, st := range s.insts {
		sub, err := h.SubscribeMarket(st.id, feedQueue)
		if err != nil {
			s.stopFeeds()
			return s.errorf("market feed %s: %v", st.inst.Symbol, err)
		}
		st.sub = sub
	}
	for _, ps := range s.parties[1:] {
		sub, err := h.SubscribeParty(ps.id, feedQueue)
		if err != nil {
			s.stopFeeds()
			return s.errorf("participant feed %s: %v", ps.name, err)
		}
		ps.sub = sub
	}
	for _, st := range s.insts {
		s.wg.Go(func() { s.instLoop(st) })
	}
	for _, ps := range s.parties[1:] {
		s.wg.Go(func() { s.partyLoop(ps) })
	}
	return nil
}

// stopFeeds ends every hub subscription; the loops then return.
func (s *Server) stopFeeds() {
	var subs []*hub.Sub
	s.feedMu.Lock()
	s.feedsStopped = true
	for _, st := range s.insts {
		if st != nil && st.sub != nil {
			subs = append(subs, st.sub)
		}
	}
	for _, ps := range s.parties {
		if ps != nil && ps.sub != nil {
			subs = append(subs, ps.sub)
		}
	}
	s.feedMu.Unlock()
	for _, sub := range subs {
		s.v.Hub().Unsubscribe(sub)
	}
}

// installFeed puts a loop's new subscription (after the hub cut the old
// one off) in *slot, unless stopFeeds has run: then it ends ns and says
// false, and the loop returns. Without it a loop resubscribing while the
// gateway stopped raced stopFeeds' read of the slot and could keep a
// subscription nobody ended.
func (s *Server) installFeed(slot **hub.Sub, ns *hub.Sub) bool {
	s.feedMu.Lock()
	if s.feedsStopped {
		s.feedMu.Unlock()
		s.v.Hub().Unsubscribe(ns)
		return false
	}
	*slot = ns
	s.feedMu.Unlock()
	return true
}

// resubscribe replaces a subscription the hub cut off for lagging.
func (s *Server) resubscribe(what string, sub func() (*hub.Sub, error)) (*hub.Sub, bool) {
	for s.ctx.Err() == nil {
		ns, err := sub()
		if err == nil {
			s.log.Error("gateway: feed fell behind and was resubscribed; events in between were missed", "feed", what)
			return ns, true
		}
		if errors.Is(err, hub.ErrClosed) {
			return nil, false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, false
}

// load sets the book from a venue snapshot: at start (before the venue
// runs, so it is the recovered, durable book) or after the feed was cut
// off (then it may be one batch ahead of durability, which the next
// events correct).
func (st *instState) load(b *shard.BookSnapshot) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.loadLocked(b)
}

func (st *instState) loadLocked(b *shard.BookSnapshot) {
	st.bids, st.asks = st.bids[:0], st.asks[:0]
	if b == nil {
		return
	}
	st.bids = append(st.bids, b.Bids...)
	st.asks = append(st.asks, b.Asks...)
	st.seq, st.time = b.Seq, b.Time
	if b.LastTrade.TradeID != 0 {
		st.ref = b.LastTrade.Price
	}
}

func (s *Server) instLoop(st *instState) {
	for {
		b, ok := <-st.sub.C
		if !ok {
			if !errors.Is(st.sub.Err(), hub.ErrLagged) || s.ctx.Err() != nil {
				st.streams.closeAll("the venue is shutting down")
				return
			}
			ns, ok := s.resubscribe(st.inst.Symbol, func() (*hub.Sub, error) { return s.v.Hub().SubscribeMarket(st.id, feedQueue) })
			if !ok {
				st.streams.closeAll("the venue is shutting down")
				return
			}
			if !s.installFeed(&st.sub, ns) {
				st.streams.closeAll("the venue is shutting down")
				return
			}
			st.load(s.v.Book(st.id))
			s.publishBook(st)
			continue
		}
		// A command's level changes come together: publish the book once
		// they have all been applied (the queue is empty or the next
		// event belongs to a later command, see applyMarket).
		for ev := range st.sub.Events(b) {
			s.applyMarket(st, ev)
			if ev.Kind == engine.EvLevel {
				st.pendingBook = true
			}
		}
		b.Release()
		if st.pendingBook && len(st.sub.C) == 0 {
			s.publishBook(st)
		}
	}
}

// applyMarket applies one public event.
func (s *Server) applyMarket(st *instState, ev *engine.Event) {
	if st.pendingBook && ev.Seq != st.seq {
		s.publishBook(st)
	}
	switch ev.Kind {
	case engine.EvLevel:
		st.mu.Lock()
		if ev.Side == engine.Buy {
			st.bids = setLevel(st.bids, ev, func(a, b engine.Price) bool { return a > b })
		} else {
			st.asks = setLevel(st.asks, ev, func(a, b engine.Price) bool { return a < b })
		}
		st.seq, st.time = ev.Seq, ev.Time
		st.mu.Unlock()
	case engine.EvTrade:
		t, _ := s.names.TradeOf(ev)
		st.mu.Lock()
		if len(st.trades) < tradesKept {
			st.trades = append(st.trades, t)
		} else {
			st.trades[st.next] = t
			st.next = (st.next + 1) % tradesKept
		}
		st.ref = ev.LastPx
		st.mu.Unlock()
		if st.streams.has(chTrades) {
			b, _ := s.names.AppendTrade(make([]byte, 0, 256), ev)
			st.streams.send(chTrades, frame("trades", b))
		}
	}
}

// setLevel applies an EvLevel to one side (best first by better).
func setLevel(side []engine.Level, ev *engine.Event, better func(a, b engine.Price) bool) []engine.Level {
	i, found := slices.BinarySearchFunc(side, ev.Price, func(l engine.Level, p engine.Price) int {
		switch {
		case l.Price == p:
			return 0
		case better(l.Price, p):
			return -1
		}
		return 1
	})
	if ev.Displayed == 0 {
		if found {
			side = slices.Delete(side, i, i+1)
		}
		return side
	}
	l := engine.Level{Price: ev.Price, Qty: ev.Displayed, Count: int(ev.Count)}
	if found {
		side[i] = l
		return side
	}
	return slices.Insert(side, i, l)
}

// publishBook streams the book to its subscribers.
func (s *Server) publishBook(st *instState) {
	st.pendingBook = false
	if !st.streams.has(chBook) {
		return
	}
	st.mu.Lock()
	b := s.names.AppendBook(make([]byte, 0, 1024), st.id, st.seq, st.time, st.bids, st.asks, streamDepth)
	st.mu.Unlock()
	st.streams.sendBook(st.id, frame("book", b))
}

// book returns the top depth levels of each side.
func (st *instState) book(depth int) (seq uint64, t int64, bids, asks []engine.Level) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.seq, st.time, slices.Clone(st.bids[:min(depth, len(st.bids))]), slices.Clone(st.asks[:min(depth, len(st.asks))])
}

// recentTrades returns up to limit trades, newest first.
func (st *instState) recentTrades(limit int) []wire.Trade {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := len(st.trades)
	out := make([]wire.Trade, 0, min(limit, n))
	for i := 0; i < n && len(out) < limit; i++ {
		// Newest is just before next once the ring is full, else last.
		j := (st.next - 1 - i + 2*n) % n
		if n < tradesKept {
			j = n - 1 - i
		}
		out = append(out, st.trades[j])
	}
	return out
}

// frame makes a stream message: the document doc (a JSON object) with a
// "channel" member in front.
func frame(channel string, doc []byte) []byte {
	out := make([]byte, 0, len(doc)+len(channel)+16)
	out = append(out, `{"channel":"`...)
	out = append(out, channel...)
	out = append(out, '"')
	if len(doc) > 2 {
		out = append(out, ',')
	}
	return append(out, doc[1:]...)
}
