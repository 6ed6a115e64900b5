package engine_test

// invChecker checks, after every command of a randomized or fuzzed run,
// what must hold whatever the commands were. It looks at the engine only
// through its public queries and the events of each command, and keeps a
// little history of its own (which command last ran an order through
// matching, which fills each order and each pair of parties had), so it
// is independent of both engine.go and the reference matcher.
//
// Checked after each command:
//   - the event stream: ExecIDs one apart, the command's Seq and Time on
//     every event, fills in (aggressor, resting, trade) triples at the
//     resting order's price and within the aggressor's limit, L2 events
//     last and at most one per level;
//   - quantity: OrderQty = LeavesQty + CumQty on every order event and
//     every resting order, CumQty = the sum of the order's fills, an order
//     leaves the book exactly when an event says LeavesQty=0;
//   - credit: the usage of each pair equals the USD notional of its fills
//     today, is symmetric, and is within the limit after any fill;
//   - the book: levels strictly sorted, each level's quantity and count
//     the sum of its orders' displayed quantities, FIFO within a level (a
//     priority counter, taken from the events, increases), LiveOrders and
//     Order(party, ClOrdID) agree with the book, the L2 image built from
//     EvLevel events equals the book, no GTD order outlives its expiry;
//   - no two resting orders that may trade with each other are crossed.

import (
	"fmt"
	"slices"

	"fxmatch/engine"
)

type invChecker struct {
	cfg     engine.Config
	via     []int // per instrument: index of the BASE/USD or USD/BASE book, or -1
	viaInv  []bool
	limit   map[[2]engine.PartyID]int64
	used    map[refPair]int64
	cum     map[engine.OrderID]engine.Qty
	entry   map[engine.OrderID]uint64 // time priority seen from outside
	entries uint64
	prev    map[engine.OrderID]engine.OrderView
	l2      map[refLevelKey]engine.Qty
	exec    uint64
	refs    []engine.Price // reference prices before the current command
}

func newInvChecker(cfg engine.Config) *invChecker {
	k := &invChecker{
		cfg:   cfg,
		limit: map[[2]engine.PartyID]int64{},
		used:  map[refPair]int64{},
		cum:   map[engine.OrderID]engine.Qty{},
		entry: map[engine.OrderID]uint64{},
		prev:  map[engine.OrderID]engine.OrderView{},
		l2:    map[refLevelKey]engine.Qty{},
		exec:  uint64(cfg.Shard) << 48,
	}
	for _, l := range cfg.CreditLines {
		k.limit[[2]engine.PartyID{l.A, l.B}] = l.Limit
		k.limit[[2]engine.PartyID{l.B, l.A}] = l.Limit
	}
	for _, in := range cfg.Instruments {
		v, inv := -1, false
		if in.Base != "USD" && in.Term != "USD" {
			for j, x := range cfg.Instruments {
				if x.Symbol == in.Base+"/USD" {
					v = j
				}
			}
			if v < 0 {
				for j, x := range cfg.Instruments {
					if x.Symbol == "USD/"+in.Base {
						v, inv = j, true
					}
				}
			}
		}
		k.via = append(k.via, v)
		k.viaInv = append(k.viaInv, inv)
	}
	return k
}

// factor is USD per unit of base at px given the reference prices refs.
func (k *invChecker) factor(refs []engine.Price, id engine.InstrumentID, px engine.Price) uint64 {
	in := k.cfg.Instruments[id]
	switch {
	case in.Base == "USD":
		return engine.PriceScale
	case in.Term == "USD":
		return uint64(px)
	case k.via[id] >= 0 && k.viaInv[id]:
		return engine.PriceScale * engine.PriceScale / uint64(refs[k.via[id]])
	case k.via[id] >= 0:
		return uint64(refs[k.via[id]])
	}
	return uint64(in.USDRate)
}

func (k *invChecker) minLimit(a, b engine.PartyID) int64 {
	return min(k.limit[[2]engine.PartyID{a, b}], k.limit[[2]engine.PartyID{b, a}])
}

// before is called before each command.
func (k *invChecker) before(e *engine.Engine) {
	k.refs = k.refs[:0]
	for i := range k.cfg.Instruments {
		k.refs = append(k.refs, e.RefPrice(engine.InstrumentID(i)))
	}
}

// check runs after command number idx.
func (k *invChecker) check(e *engine.Engine, idx int, c *engine.Command, evs []engine.Event) error {
	nparty := len(k.cfg.Participants)
	ended := map[engine.OrderID]bool{}    // an event said LeavesQty=0
	accepted := map[engine.OrderID]bool{} // accepted this command
	ran := map[engine.OrderID]bool{}      // went through matching this command
	traded := map[refPair]bool{}
	uncrossAll := false                         // SetCredit or RollDay: every book uncrosses
	uncrossed := map[engine.InstrumentID]bool{} // a resting order's MinQty was met
	levelSeen := map[refLevelKey]bool{}
	inLevels := false
	for i := 0; i < len(evs); i++ {
		ev := &evs[i]
		k.exec++
		if ev.ExecID != k.exec || ev.Seq != c.Seq || ev.Time != c.Time {
			return fmt.Errorf("event %d: ExecID %d (want %d), Seq %d, Time %d (command %d, %d)", i, ev.ExecID, k.exec, ev.Seq, ev.Time, c.Seq, c.Time)
		}
		if ev.Kind == engine.EvLevel {
			inLevels = true
			key := refLevelKey{ev.Instrument, ev.Side, ev.Price}
			if levelSeen[key] {
				return fmt.Errorf("event %d: second level event for %v", i, key)
			}
			levelSeen[key] = true
			if ev.Displayed == 0 {
				delete(k.l2, key)
			} else {
				k.l2[key] = ev.Displayed
			}
			continue
		}
		if inLevels {
			return fmt.Errorf("event %d: %v after level events", i, ev.Kind)
		}
		switch ev.Kind {
		case engine.EvAccepted, engine.EvFill, engine.EvCancelled, engine.EvReplaced, engine.EvExpired:
			done := ev.Kind == engine.EvCancelled || ev.Kind == engine.EvExpired
			if done && (ev.LeavesQty != 0 || ev.CumQty >= ev.OrderQty) ||
				!done && ev.OrderQty != ev.LeavesQty+ev.CumQty || ev.LeavesQty < 0 {
				return fmt.Errorf("event %d: %v order %d: qty %d != leaves %d + cum %d", i, ev.Kind, ev.OrderID, ev.OrderQty, ev.LeavesQty, ev.CumQty)
			}
			if ev.Kind != engine.EvFill && ev.CumQty != k.cum[ev.OrderID] {
				return fmt.Errorf("event %d: %v order %d: cum %d, fills add up to %d", i, ev.Kind, ev.OrderID, ev.CumQty, k.cum[ev.OrderID])
			}
			if ev.LeavesQty == 0 {
				ended[ev.OrderID] = true
			}
		}
		switch ev.Kind {
		case engine.EvAccepted:
			if _, dup := k.prev[ev.OrderID]; dup || accepted[ev.OrderID] || ev.CumQty != 0 {
				return fmt.Errorf("event %d: order %d accepted twice", i, ev.OrderID)
			}
			accepted[ev.OrderID], ran[ev.OrderID] = true, true
		case engine.EvReplaced:
			p, ok := k.prev[ev.OrderID]
			if !ok {
				return fmt.Errorf("event %d: replaced order %d was not resting", i, ev.OrderID)
			}
			if ev.Price != p.Price || ev.OrderQty > p.OrderQty {
				ran[ev.OrderID] = true
			}
		case engine.EvFill:
			if i+2 >= len(evs) || evs[i+1].Kind != engine.EvFill || evs[i+2].Kind != engine.EvTrade {
				return fmt.Errorf("event %d: a fill not followed by the other side's fill and a trade", i)
			}
			a, r, tr := ev, &evs[i+1], &evs[i+2]
			i += 2
			k.exec += 2
			lot := k.cfg.Instruments[a.Instrument].Lot
			switch {
			case !a.Aggressor || r.Aggressor:
				return fmt.Errorf("event %d: aggressor flags %v %v", i, a.Aggressor, r.Aggressor)
			case a.TradeID != r.TradeID || a.TradeID != tr.TradeID,
				a.LastQty != r.LastQty || a.LastQty != tr.LastQty,
				a.LastPx != r.LastPx || a.LastPx != tr.LastPx,
				a.Instrument != r.Instrument || a.Instrument != tr.Instrument:
				return fmt.Errorf("event %d: the two fills and the trade disagree", i)
			case a.Side == r.Side || tr.Side != a.Side:
				return fmt.Errorf("event %d: sides %v %v trade %v", i, a.Side, r.Side, tr.Side)
			case a.Counterparty != r.Party || r.Counterparty != a.Party || a.Party == r.Party:
				return fmt.Errorf("event %d: counterparties %d/%d vs parties %d/%d", i, a.Counterparty, r.Counterparty, a.Party, r.Party)
			case a.LastQty <= 0 || a.LastQty%lot != 0:
				return fmt.Errorf("event %d: fill of %d is not whole lots", i, a.LastQty)
			case r.LastPx != r.Price:
				return fmt.Errorf("event %d: fill at %d, not the resting order's price %d", i, r.LastPx, r.Price)
			case a.OrdType == engine.Limit && a.Side == engine.Buy && a.LastPx > a.Price,
				a.OrdType == engine.Limit && a.Side == engine.Sell && a.LastPx < a.Price:
				return fmt.Errorf("event %d: fill at %d beyond the aggressor's limit %d", i, a.LastPx, a.Price)
			case ev.ExecID+1 != r.ExecID || r.ExecID+1 != tr.ExecID:
				return fmt.Errorf("event %d: ExecIDs of a fill triple not consecutive", i)
			}
			for _, f := range []*engine.Event{a, r} {
				k.cum[f.OrderID] += f.LastQty
				if f.CumQty != k.cum[f.OrderID] || f.OrderQty != f.LeavesQty+f.CumQty {
					return fmt.Errorf("event %d: order %d cum %d, fills add up to %d", i, f.OrderID, f.CumQty, k.cum[f.OrderID])
				}
				if f.LeavesQty == 0 {
					ended[f.OrderID] = true
				}
			}
			if r.Displayed == 0 && r.LeavesQty > 0 {
				// Iceberg refresh: to the back of the level.
				k.entries++
				k.entry[r.OrderID] = k.entries
			}
			minQty := k.prev[r.OrderID].MinQty
			if _, ok := k.prev[r.OrderID]; !ok && accepted[r.OrderID] {
				minQty = c.MinQty
			}
			if minQty > 0 && r.CumQty == r.LastQty {
				uncrossed[r.Instrument] = true
			}
			pr := mkPair(a.Party, r.Party)
			k.used[pr] += usdNotional(a.LastQty, k.factor(k.refs, a.Instrument, a.LastPx))
			k.refs[a.Instrument] = a.LastPx // the reference price moves to the trade
			traded[pr] = true
		case engine.EvCreditSet:
			k.limit[[2]engine.PartyID{ev.Party, ev.Counterparty}] = ev.CreditLimit
			uncrossAll = true
		case engine.EvDayRolled:
			clear(k.used)
			uncrossAll = true
		}
	}

	// An order that went through matching and is not done rests now, at
	// the back of its level (there is at most one such order a command).
	var ranIDs []engine.OrderID
	for id := range ran {
		if !ended[id] {
			ranIDs = append(ranIDs, id)
		}
	}
	slices.Sort(ranIDs)
	for _, id := range ranIDs {
		k.entries++
		k.entry[id] = k.entries
	}

	// The book.
	now := map[engine.OrderID]engine.OrderView{}
	var levels []engine.Level
	for id := range k.cfg.Instruments {
		inst := engine.InstrumentID(id)
		in := k.cfg.Instruments[id]
		for _, s := range []engine.Side{engine.Buy, engine.Sell} {
			levels = e.Levels(inst, s, 0, levels[:0])
			var orders []engine.OrderView
			e.BookOrders(inst, s, func(o engine.OrderView) bool {
				orders = append(orders, o)
				return true
			})
			if best, ok := e.Best(inst, s); ok != (len(levels) > 0) || (ok && best != levels[0]) {
				return fmt.Errorf("%s %v: Best %v %v, levels %v", in.Symbol, s, best, ok, levels)
			}
			j := 0
			for li, lv := range levels {
				if li > 0 && (s == engine.Buy && lv.Price >= levels[li-1].Price || s == engine.Sell && lv.Price <= levels[li-1].Price) {
					return fmt.Errorf("%s %v: levels out of order: %v", in.Symbol, s, levels)
				}
				if k.l2[refLevelKey{inst, s, lv.Price}] != lv.Qty {
					return fmt.Errorf("%s %v %d: L2 events say %d, the book %d", in.Symbol, s, lv.Price, k.l2[refLevelKey{inst, s, lv.Price}], lv.Qty)
				}
				if levelSeen[refLevelKey{inst, s, lv.Price}] {
					for _, ev := range evs {
						if ev.Kind == engine.EvLevel && ev.Instrument == inst && ev.Side == s && ev.Price == lv.Price && ev.Count != int64(lv.Count) {
							return fmt.Errorf("%s %v %d: level event count %d, book %d", in.Symbol, s, lv.Price, ev.Count, lv.Count)
						}
					}
				}
				var sum engine.Qty
				n := 0
				var lastEntry uint64
				for ; j < len(orders) && orders[j].Price == lv.Price; j++ {
					o := orders[j]
					sum += o.Displayed
					n++
					if en := k.entry[o.OrderID]; en <= lastEntry {
						return fmt.Errorf("%s %v %d: order %d out of time priority", in.Symbol, s, lv.Price, o.OrderID)
					} else {
						lastEntry = en
					}
				}
				if sum != lv.Qty || n != lv.Count {
					return fmt.Errorf("%s %v %d: level says %d/%d, orders add up to %d/%d", in.Symbol, s, lv.Price, lv.Qty, lv.Count, sum, n)
				}
			}
			if j != len(orders) {
				return fmt.Errorf("%s %v: %d orders outside the levels", in.Symbol, s, len(orders)-j)
			}
			for _, o := range orders {
				switch {
				case o.Instrument != inst || o.Side != s:
					return fmt.Errorf("order %d in the wrong book", o.OrderID)
				case o.OrderQty != o.LeavesQty+o.CumQty || o.LeavesQty <= 0:
					return fmt.Errorf("order %d: qty %d leaves %d cum %d", o.OrderID, o.OrderQty, o.LeavesQty, o.CumQty)
				case o.CumQty != k.cum[o.OrderID]:
					return fmt.Errorf("order %d: cum %d, fills add up to %d", o.OrderID, o.CumQty, k.cum[o.OrderID])
				case o.Displayed <= 0 || o.Displayed > o.LeavesQty,
					o.MaxFloor == 0 && o.Displayed != o.LeavesQty,
					o.MaxFloor > 0 && o.Displayed > o.MaxFloor:
					return fmt.Errorf("order %d: displays %d of %d (floor %d)", o.OrderID, o.Displayed, o.LeavesQty, o.MaxFloor)
				case o.OrdType != engine.Limit || (o.TIF != engine.Day && o.TIF != engine.GTC && o.TIF != engine.GTD):
					return fmt.Errorf("order %d: a %v %v order rests", o.OrderID, o.OrdType, o.TIF)
				case o.TIF == engine.GTD && o.ExpireTime <= c.Time:
					return fmt.Errorf("order %d: GTD order rests past its expiry", o.OrderID)
				case o.Price%in.Tick != 0 || o.Price <= 0:
					return fmt.Errorf("order %d: price %d", o.OrderID, o.Price)
				case ended[o.OrderID]:
					return fmt.Errorf("order %d: rests after an event said it was done", o.OrderID)
				}
				if v, ok := e.Order(o.Party, o.ClOrdID); !ok || v != o {
					return fmt.Errorf("order %d: Order(%d, %s) = %+v, %v", o.OrderID, o.Party, o.ClOrdID.String(), v, ok)
				}
				if _, was := k.prev[o.OrderID]; !was && !accepted[o.OrderID] {
					return fmt.Errorf("order %d appeared without being accepted", o.OrderID)
				}
				now[o.OrderID] = o
			}
		}
	}
	for key, q := range k.l2 {
		if e.DepthAt(key.inst, key.side, key.price) != q {
			return fmt.Errorf("L2 events show %d at %v, the book %d", q, key, e.DepthAt(key.inst, key.side, key.price))
		}
	}
	var next int64
	for _, o := range now {
		if o.TIF == engine.GTD && (next == 0 || o.ExpireTime < next) {
			next = o.ExpireTime
		}
	}
	if e.NextExpiry() != next {
		return fmt.Errorf("NextExpiry %d, the earliest resting GTD order expires at %d", e.NextExpiry(), next)
	}
	if e.LiveOrders() != len(now) {
		return fmt.Errorf("LiveOrders %d, the books hold %d", e.LiveOrders(), len(now))
	}
	for id := range k.prev {
		if _, ok := now[id]; !ok && !ended[id] {
			return fmt.Errorf("order %d left the book without an event", id)
		}
	}
	for id := range k.prev {
		if _, ok := now[id]; !ok {
			delete(k.entry, id)
			delete(k.cum, id)
		}
	}
	for id := range accepted {
		if _, ok := now[id]; !ok {
			delete(k.entry, id)
			delete(k.cum, id)
		}
	}
	k.prev = now

	// Credit.
	for a := 1; a < nparty; a++ {
		for b := a + 1; b < nparty; b++ {
			pa, pb := engine.PartyID(a), engine.PartyID(b)
			u := k.used[mkPair(pa, pb)]
			if e.CreditUsed(pa, pb) != u || e.CreditUsed(pb, pa) != u {
				return fmt.Errorf("credit %d-%d: used %d/%d, fills add up to %d", a, b, e.CreditUsed(pa, pb), e.CreditUsed(pb, pa), u)
			}
			if e.RemainingCredit(pa, pb) != k.minLimit(pa, pb)-u {
				return fmt.Errorf("credit %d-%d: room %d, want %d", a, b, e.RemainingCredit(pa, pb), k.minLimit(pa, pb)-u)
			}
			if traded[mkPair(pa, pb)] && u > k.minLimit(pa, pb) {
				return fmt.Errorf("credit %d-%d: used %d above the limit %d", a, b, u, k.minLimit(pa, pb))
			}
		}
	}
	// Uncrossing: no crossed pair that may trade is left in the books that
	// uncrossed, nor with the order that went through matching.
	for id := range k.cfg.Instruments {
		inst := engine.InstrumentID(id)
		if err := k.checkCrossed(e, inst, uncrossAll || uncrossed[inst], ranIDs); err != nil {
			return err
		}
	}
	return nil
}

// checkCrossed: no two resting orders that may trade with each other are
// crossed in a book that uncrossed (all pairs) or with an order that went
// through matching in this command (its pairs). doc.go, "Uncrossing".
//
// Of a crossed pair, y is the aggressor — the order that just went through
// matching, else the one with the later time priority — and x the other:
// they may trade if they belong to different parties, neither is directed
// elsewhere, y does not meet an order of its own party first and stop
// there (self-match prevention), the credit room pays for a lot at x's
// price, and the fill min(y's leaves, x's shown part), cut to the room,
// meets x's MinQty and, if y's MinQty still applies, y's too.
//
// Pairs outside those are not checked: the rules do not re-match resting
// orders when, say, an own order that stopped y goes away, or the
// reference price a cross pair's credit is converted with moves.
func (k *invChecker) checkCrossed(e *engine.Engine, inst engine.InstrumentID, all bool, ran []engine.OrderID) error {
	if !all && len(ran) == 0 {
		return nil
	}
	in := k.cfg.Instruments[inst]
	var bids, asks []engine.OrderView
	e.BookOrders(inst, engine.Buy, func(o engine.OrderView) bool { bids = append(bids, o); return true })
	e.BookOrders(inst, engine.Sell, func(o engine.OrderView) bool { asks = append(asks, o); return true })
	refs := k.refs2(e)
	for _, b := range bids {
		for _, a := range asks {
			if a.Price > b.Price {
				break
			}
			x, y := a, b
			switch {
			case slices.Contains(ran, a.OrderID):
				x, y = b, a
			case slices.Contains(ran, b.OrderID):
			case !all:
				continue
			case k.entry[a.OrderID] > k.entry[b.OrderID]:
				x, y = b, a
			}
			if x.Party == y.Party ||
				(y.Directed != engine.NoParty && y.Directed != x.Party) ||
				(x.Directed != engine.NoParty && x.Directed != y.Party) ||
				k.smpBlocked(y, x, bids, asks) {
				continue
			}
			f := k.factor(refs, inst, x.Price)
			room := k.minLimit(x.Party, y.Party) - k.used[mkPair(x.Party, y.Party)]
			leaves := y.LeavesQty
			if y.CumQty == 0 && y.MinQty > 0 {
				// y's MinQty is judged on all it could fill on its way: the
				// orders ahead of x may take some of y and of the credit
				// room first. Assume the most they can take.
				opp := asks
				if x.Side == engine.Buy {
					opp = bids
				}
				for _, z := range opp {
					if z.OrderID == x.OrderID {
						break
					}
					leaves -= z.LeavesQty
					if z.Party == x.Party {
						room -= usdNotional(z.LeavesQty, k.factor(refs, inst, z.Price))
					}
				}
			}
			if usdNotional(in.Lot, f) > room {
				continue
			}
			q := min(leaves, x.Displayed)
			for q > 0 && usdNotional(q, f) > room {
				q -= in.Lot
			}
			if x.CumQty == 0 && x.MinQty > q || y.CumQty == 0 && y.MinQty > q {
				continue
			}
			return fmt.Errorf("%s: bid %d @%d (party %d) and ask %d @%d (party %d) are crossed and may trade %d", in.Symbol, b.OrderID, b.Price, b.Party, a.OrderID, a.Price, a.Party, q)
		}
	}
	return nil
}

// refs2 is the reference prices now.
func (k *invChecker) refs2(e *engine.Engine) []engine.Price {
	var refs []engine.Price
	for i := range k.cfg.Instruments {
		refs = append(refs, e.RefPrice(engine.InstrumentID(i)))
	}
	return refs
}

// smpBlocked: y, as the aggressor, would meet an order of its own party
// before x, and its self-match mode stops it there (cancel-incoming or
// cancel-both). A MinQty order then cannot count on x and rests crossed.
func (k *invChecker) smpBlocked(y, x engine.OrderView, bids, asks []engine.OrderView) bool {
	mode := k.cfg.Participants[y.Party].SMP
	if y.Directed != engine.NoParty || (mode != engine.SMPCancelIncoming && mode != engine.SMPCancelBoth) {
		return false
	}
	opp := asks
	if x.Side == engine.Buy {
		opp = bids
	}
	for _, z := range opp { // in visiting order: x's side, best first
		if z.OrderID == x.OrderID {
			return false
		}
		if z.Party == y.Party && z.Directed == engine.NoParty {
			return true
		}
	}
	return false
}
