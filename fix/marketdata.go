package fix

import (
	"errors"
	"strconv"
	"sync"

	"github.com/quickfixgo/quickfix"

	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/engine/shard"
)

// Market data. A MarketDataRequest is answered from the shard's published
// book snapshots (venue.Book) and, for subscriptions, from the hub's
// market events of the instrument, one goroutine per subscribed symbol.
//
// Consistency: the subscription is made first and the snapshot read
// second; hub events already contained in the snapshot (Seq at or below
// the snapshot's) are skipped, so the updates continue the snapshot
// exactly. Each subscription keeps the whole aggregated book locally and
// the view last sent (the top MarketDepth levels); after each run of
// events it sends the difference — an X with MDUpdateAction new, change
// or delete per level whose shown quantity changed, entered or left the
// top N (265=1) — or, for 265=0, a new full W.

// level is one aggregated price level.
type level struct {
	px    engine.Price
	qty   engine.Qty
	count int
}

type trade struct {
	px  engine.Price
	qty engine.Qty
}

// mdSub is one subscribed symbol of one MarketDataRequest.
type mdSub struct {
	p     *party
	req   *mdRequest
	in    *instrument
	sub   *hub.Sub
	stopC chan struct{}
	once  sync.Once
	o     *out

	after        uint64 // hub events up to this Seq are in the snapshot
	bids, asks   []level
	shownB       []level
	shownA       []level
	trades       []trade // since the last message
	last         trade
	haveLast     bool
	bookChanged  bool
	entriesLimit int
}

func (s *mdSub) cancel() { s.once.Do(func() { close(s.stopC) }) }

// maxMDEntries bounds the entries of one X; larger changes go in several.
const maxMDEntries = 256

func (p *party) onMarketData(m *quickfix.Message) {
	o := p.inOut
	req, rej := decodeMarketData(m.Bytes())
	if rej != nil {
		mdReject(o, req.reqID, rej.code, rej.text)
		p.send(o.m)
		return
	}
	if req.subType == "2" {
		p.mu.Lock()
		subs, ok := p.md[req.reqID]
		delete(p.md, req.reqID)
		p.mu.Unlock()
		if !ok {
			mdReject(o, req.reqID, 4, "unsubscribe: no subscription with MDReqID "+strconv.Quote(req.reqID))
			p.send(o.m)
			return
		}
		for _, s := range subs {
			s.cancel()
		}
		return
	}
	insts := make([]*instrument, 0, len(req.symbols))
	for _, sym := range req.symbols {
		in := p.a.lookup(sym)
		if in == nil {
			mdReject(o, req.reqID, 0, reasonText(engine.ReasonUnknownSymbol, &textCtx{symbol: sym}))
			p.send(o.m)
			return
		}
		insts = append(insts, in)
	}
	if req.subType == "0" {
		for _, in := range insts {
			s := &mdSub{p: p, req: &req, in: in, o: o}
			s.load(p.a.v.Book(in.id))
			s.sendFull()
		}
		return
	}
	p.mu.Lock()
	n := 0
	for _, subs := range p.md {
		n += len(subs)
	}
	_, dup := p.md[req.reqID]
	switch {
	case dup:
		p.mu.Unlock()
		mdReject(o, req.reqID, 1, "MDReqID "+strconv.Quote(req.reqID)+" is already subscribed on this session")
		p.send(o.m)
		return
	case n+len(insts) > p.a.opts.MDSubscriptionsMax:
		p.mu.Unlock()
		mdReject(o, req.reqID, 2, "at most "+strconv.Itoa(p.a.opts.MDSubscriptionsMax)+" subscribed symbols per session")
		p.send(o.m)
		return
	}
	subs := make([]*mdSub, 0, len(insts))
	for _, in := range insts {
		hs, err := p.a.v.Hub().SubscribeMarket(in.id, p.a.opts.MarketQueue)
		if err != nil {
			break // the hub is closed: the venue is stopping
		}
		subs = append(subs, &mdSub{p: p, req: &req, in: in, sub: hs, stopC: make(chan struct{}), o: newOut()})
	}
	p.md[req.reqID] = subs
	p.mu.Unlock()
	for _, s := range subs {
		p.wg.Go(s.run)
	}
}

// load initialises the local book from a snapshot.
func (s *mdSub) load(b *shard.BookSnapshot) {
	if b == nil {
		return
	}
	s.after = b.Seq
	s.bids = s.bids[:0]
	for _, l := range b.Bids {
		s.bids = append(s.bids, level{l.Price, l.Qty, l.Count})
	}
	s.asks = s.asks[:0]
	for _, l := range b.Asks {
		s.asks = append(s.asks, level{l.Price, l.Qty, l.Count})
	}
	if b.LastTrade.TradeID != 0 {
		s.last, s.haveLast = trade{b.LastTrade.Price, b.LastTrade.Qty}, true
	}
}

func (s *mdSub) run() {
	h := s.p.a.v.Hub()
	defer h.Unsubscribe(s.sub)
	s.load(s.p.a.v.Book(s.in.id))
	s.shownB, s.shownA = s.view(s.bids, s.req.bids, s.shownB[:0]), s.view(s.asks, s.req.offers, s.shownA[:0])
	s.sendFull()
	for {
		select {
		case <-s.stopC:
			return
		case b, ok := <-s.sub.C:
			if !ok {
				if errors.Is(s.sub.Err(), hub.ErrLagged) && !s.p.a.closing.Load() {
					s.p.a.log.Error("fix: slow consumer: market data fell behind and was cut off; disconnecting",
						"comp_id", s.p.name, "md_req_id", s.req.reqID, "symbol", s.in.Symbol, "queue", s.p.a.opts.MarketQueue)
					s.p.disconnect("market data fell behind the hub")
				}
				return
			}
			// This batch and those already waiting make one message,
			// up to about maxMDEntries events.
			n := s.applyBatch(b)
			for n < maxMDEntries && len(s.sub.C) > 0 {
				if b, ok = <-s.sub.C; !ok {
					break // the next receive reports why
				}
				n += s.applyBatch(b)
			}
			s.flush()
		}
	}
}

// applyBatch applies the instrument's events of a hub batch, releases it,
// and says how many there were.
func (s *mdSub) applyBatch(b *hub.Batch) (n int) {
	for ev := range s.sub.Events(b) {
		s.apply(ev)
		n++
	}
	b.Release()
	return n
}

// apply updates the local book with one market event.
func (s *mdSub) apply(ev *engine.Event) {
	if ev.Seq <= s.after {
		return
	}
	switch ev.Kind {
	case engine.EvTrade:
		t := trade{ev.LastPx, ev.LastQty}
		s.last, s.haveLast = t, true
		if s.req.trades && len(s.trades) < maxMDEntries {
			s.trades = append(s.trades, t)
		}
	case engine.EvLevel:
		side, better := &s.asks, pxLess
		if ev.Side == engine.Buy {
			side, better = &s.bids, pxGreater
		}
		*side = setLevel(*side, better, level{ev.Price, ev.Displayed, int(ev.Count)})
		s.bookChanged = true
	}
}

func pxLess(a, b engine.Price) bool    { return a < b }
func pxGreater(a, b engine.Price) bool { return a > b }

// setLevel sets (or, with qty 0, removes) a level of a best-first side.
func setLevel(side []level, better func(engine.Price, engine.Price) bool, l level) []level {
	lo, hi := 0, len(side)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if better(side[m].px, l.px) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	found := lo < len(side) && side[lo].px == l.px
	switch {
	case l.qty <= 0 && found:
		return append(side[:lo], side[lo+1:]...)
	case l.qty <= 0:
		return side
	case found:
		side[lo] = l
		return side
	}
	side = append(side, level{})
	copy(side[lo+1:], side[lo:])
	side[lo] = l
	return side
}

// view is the top MarketDepth levels of a side (none if not asked for).
func (s *mdSub) view(side []level, want bool, dst []level) []level {
	if !want {
		return dst
	}
	n := len(side)
	if s.req.depth > 0 && s.req.depth < n {
		n = s.req.depth
	}
	return append(dst, side[:n]...)
}

func levelsEqual(a, b []level) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// flush sends what changed since the last message.
func (s *mdSub) flush() {
	if !s.bookChanged && len(s.trades) == 0 {
		return
	}
	s.bookChanged = false
	vb := s.view(s.bids, s.req.bids, nil)
	va := s.view(s.asks, s.req.offers, nil)
	if s.req.updateType != 1 {
		if levelsEqual(vb, s.shownB) && levelsEqual(va, s.shownA) && len(s.trades) == 0 {
			return
		}
		s.shownB, s.shownA = vb, va
		s.trades = s.trades[:0]
		s.sendFull()
		return
	}
	var rg *quickfix.RepeatingGroup
	entries := 0
	sendX := func() {
		if entries == 0 {
			return
		}
		s.o.reset("X")
		s.o.str(tagMDReqID, s.req.reqID)
		s.o.m.Body.SetGroup(rg)
		s.p.send(s.o.m)
		rg, entries = nil, 0
	}
	add := func(action byte, typ byte, px engine.Price, qty engine.Qty, count int) {
		if rg == nil {
			rg = quickfix.NewRepeatingGroup(tagNoMDEntries, mdIncTmpl)
		}
		g := rg.Add()
		g.SetString(tagMDUpdateAction, string(action))
		g.SetString(tagMDEntryType, string(typ))
		g.SetString(tagSymbol, s.in.Symbol)
		g.SetString(tagMDEntryPx, s.in.px(px))
		if action != '2' {
			g.SetInt(tagMDEntrySize, int(qty))
			if count > 0 {
				g.SetInt(tagNumberOfOrders, count)
			}
		}
		entries++
		if entries >= maxMDEntries {
			sendX()
		}
	}
	diff(s.shownB, vb, pxGreater, func(action byte, l level) { add(action, '0', l.px, l.qty, l.count) })
	diff(s.shownA, va, pxLess, func(action byte, l level) { add(action, '1', l.px, l.qty, l.count) })
	for _, t := range s.trades {
		add('0', '2', t.px, t.qty, 0)
	}
	sendX()
	s.shownB, s.shownA = vb, va
	s.trades = s.trades[:0]
}

// diff calls emit with '0' (new), '1' (change) or '2' (delete) for each
// level that differs between two best-first views.
func diff(old, cur []level, better func(engine.Price, engine.Price) bool, emit func(action byte, l level)) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(old) && better(old[i].px, cur[j].px)):
			emit('2', old[i])
			i++
		case i >= len(old) || better(cur[j].px, old[i].px):
			emit('0', cur[j])
			j++
		default:
			if old[i] != cur[j] {
				emit('1', cur[j])
			}
			i++
			j++
		}
	}
}

// sendFull sends a MarketDataSnapshotFullRefresh of the current view.
func (s *mdSub) sendFull() {
	o := s.o
	o.reset("W")
	o.str(tagMDReqID, s.req.reqID)
	o.str(tagSymbol, s.in.Symbol)
	rg := quickfix.NewRepeatingGroup(tagNoMDEntries, mdFullTmpl)
	add := func(typ string, l level) {
		g := rg.Add()
		g.SetString(tagMDEntryType, typ)
		g.SetString(tagMDEntryPx, s.in.px(l.px))
		g.SetInt(tagMDEntrySize, int(l.qty))
		if l.count > 0 {
			g.SetInt(tagNumberOfOrders, l.count)
		}
	}
	for _, l := range s.view(s.bids, s.req.bids, nil) {
		add("0", l)
	}
	for _, l := range s.view(s.asks, s.req.offers, nil) {
		add("1", l)
	}
	if s.req.trades && s.haveLast {
		add("2", level{px: s.last.px, qty: s.last.qty})
	}
	if rg.Len() == 0 {
		o.int(tagNoMDEntries, 0)
	} else {
		o.m.Body.SetGroup(rg)
	}
	s.p.send(o.m)
}
