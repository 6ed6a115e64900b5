package engine_test

// refMatcher is a deliberately simple second implementation of the matching
// rules in doc.go, used only by tests (random_test.go, fuzz_test.go). It is
// written from the rules, not from engine.go: the book is one unsorted
// slice of resting orders, every question ("what is the best order to
// visit next?", "how much is shown at this price?") is a linear scan, and
// "could this order fill N at once?" (FOK, MinQty, post-only) is answered
// by running the real matching loop on a deep copy of the whole matcher
// and throwing the copy away. Simplicity over speed: where the engine is
// clever, the reference is obvious, so that agreement between the two
// means something.
//
// Where doc.go does not say (the precedence of validation reasons, which
// fields each event carries, …) the reference follows engine.go; those
// places are marked "engine:" below.

import (
	"maps"
	"math/big"
	"math/bits"
	"slices"
	"sort"
	"time"

	"fxmatch/engine"
)

type refOrder struct {
	id       engine.OrderID
	party    engine.PartyID
	directed engine.PartyID
	inst     engine.InstrumentID
	side     engine.Side
	ordType  engine.OrdType
	tif      engine.TIF
	postOnly bool
	price    engine.Price
	qty      engine.Qty
	leaves   engine.Qty
	cum      engine.Qty
	minQty   engine.Qty
	maxFloor engine.Qty
	display  engine.Qty
	valHi    uint64 // sum of LastQty*LastPx over the order's fills, 128 bits
	valLo    uint64
	expire   int64
	// prio is the order's time priority: a counter taken each time the
	// order joins the back of a price level. Smaller is earlier.
	prio    uint64
	clOrdID engine.ID
	account engine.ID
}

type refClKey struct {
	party engine.PartyID
	id    engine.ID
}

// refPair is an unordered pair of parties (a < b).
type refPair struct{ a, b engine.PartyID }

func mkPair(a, b engine.PartyID) refPair {
	if a > b {
		a, b = b, a
	}
	return refPair{a, b}
}

type refLevelKey struct {
	inst  engine.InstrumentID
	side  engine.Side
	price engine.Price
}

type refTouch struct {
	key     refLevelKey
	before  engine.Qty
	beforeN int
}

type refMatcher struct {
	cfg    engine.Config
	book   []*refOrder                 // every resting order, in no particular order
	limit  map[[2]engine.PartyID]int64 // [a,b]: what a grants b
	used   map[refPair]int64           // notional traded today between a pair
	clUsed map[refClKey]engine.OrderID // ClOrdIDs used today, each with the order it named
	refPx  []engine.Price              // reference price per instrument
	spot   []engine.Date               // SPOT date per instrument for date
	date   engine.Date                 // trade date
	hol    map[string]map[engine.Date]bool

	nextOrder, nextExec, nextTrade, nextPrio uint64

	// dirty: books where resting orders may have become able to trade
	// with each other during this command (uncrossing).
	dirty map[engine.InstrumentID]bool

	// per command
	cmd   *engine.Command
	out   []engine.Event
	touch []refTouch
}

func newRefMatcher(cfg engine.Config) *refMatcher {
	r := &refMatcher{
		cfg:    cfg,
		limit:  map[[2]engine.PartyID]int64{},
		used:   map[refPair]int64{},
		clUsed: map[refClKey]engine.OrderID{},
		date:   cfg.TradeDate,
		hol:    map[string]map[engine.Date]bool{},
		dirty:  map[engine.InstrumentID]bool{},
	}
	base := uint64(cfg.Shard) << 48
	r.nextOrder, r.nextExec, r.nextTrade = base, base, base
	for _, in := range cfg.Instruments {
		r.refPx = append(r.refPx, in.RefPrice)
	}
	for _, l := range cfg.CreditLines {
		r.limit[[2]engine.PartyID{l.A, l.B}] = l.Limit
		r.limit[[2]engine.PartyID{l.B, l.A}] = l.Limit
	}
	for ccy, days := range cfg.Holidays {
		r.hol[ccy] = map[engine.Date]bool{}
		for _, d := range days {
			r.hol[ccy][d] = true
		}
	}
	r.setSpot()
	return r
}

// clone is a deep copy for "what if" runs.
func (r *refMatcher) clone() *refMatcher {
	c := *r
	c.book = make([]*refOrder, len(r.book))
	for i, o := range r.book {
		cp := *o
		c.book[i] = &cp
	}
	c.dirty = maps.Clone(r.dirty)
	c.limit = maps.Clone(r.limit)
	c.used = maps.Clone(r.used)
	c.clUsed = maps.Clone(r.clUsed)
	c.refPx = slices.Clone(r.refPx)
	c.spot = slices.Clone(r.spot)
	c.out = nil
	c.touch = nil
	return &c
}

// ---- calendar ----

func (r *refMatcher) goodDay(t time.Time, ccys ...string) bool {
	if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		return false
	}
	d := engine.DateOf(t)
	for _, c := range ccys {
		if r.hol[c][d] {
			return false
		}
	}
	return true
}

// spotOf: two business days of both currencies after the trade date, then
// on to a day that is also a USD business day.
func (r *refMatcher) spotOf(in engine.Instrument) engine.Date {
	t := r.date.Time()
	for n := 0; n < 2; {
		t = t.AddDate(0, 0, 1)
		if r.goodDay(t, in.Base, in.Term) {
			n++
		}
	}
	for !r.goodDay(t, in.Base, in.Term, "USD") {
		t = t.AddDate(0, 0, 1)
	}
	return engine.DateOf(t)
}

func (r *refMatcher) setSpot() {
	r.spot = r.spot[:0]
	for _, in := range r.cfg.Instruments {
		r.spot = append(r.spot, r.spotOf(in))
	}
}

// ---- small helpers ----

func (r *refMatcher) validParty(p engine.PartyID) bool {
	return p != engine.NoParty && int(p) < len(r.cfg.Participants)
}

func (r *refMatcher) validInst(i engine.InstrumentID) bool { return int(i) < len(r.cfg.Instruments) }

func (r *refMatcher) inst(i engine.InstrumentID) engine.Instrument { return r.cfg.Instruments[i] }

func (r *refMatcher) live() int { return len(r.book) }

func (r *refMatcher) find(id engine.OrderID) *refOrder {
	for _, o := range r.book {
		if o.id == id {
			return o
		}
	}
	return nil
}

// byClOrdID finds the live order a participant's current ClOrdID names.
func (r *refMatcher) byClOrdID(p engine.PartyID, id engine.ID) *refOrder {
	for _, o := range r.book {
		if o.party == p && o.clOrdID == id {
			return o
		}
	}
	return nil
}

func (r *refMatcher) resting(o *refOrder) bool { return slices.Contains(r.book, o) }

func (r *refMatcher) levelOf(k refLevelKey) (engine.Qty, int) {
	var q engine.Qty
	n := 0
	for _, o := range r.book {
		if o.inst == k.inst && o.side == k.side && o.price == k.price {
			q += o.display
			n++
		}
	}
	return q, n
}

// noteLevel remembers a level's displayed quantity before the command
// first changes it.
func (r *refMatcher) noteLevel(o *refOrder) {
	k := refLevelKey{o.inst, o.side, o.price}
	for _, t := range r.touch {
		if t.key == k {
			return
		}
	}
	q, n := r.levelOf(k)
	r.touch = append(r.touch, refTouch{k, q, n})
}

func (r *refMatcher) remove(o *refOrder) {
	r.noteLevel(o)
	i := slices.Index(r.book, o)
	r.book = slices.Delete(r.book, i, i+1)
}

// bandOf: the reference price ± BandBP, the high edge rounded down to a
// tick, the low edge rounded up to a tick.
func (r *refMatcher) bandOf(id engine.InstrumentID) (lo, hi engine.Price) {
	in := r.inst(id)
	ref := big.NewInt(int64(r.refPx[id]))
	tick := big.NewInt(int64(in.Tick))
	h := new(big.Int).Mul(ref, big.NewInt(10000+in.BandBP))
	h.Div(h, big.NewInt(10000)) // floor (positive)
	h.Sub(h, new(big.Int).Mod(h, tick))
	l := new(big.Int).Mul(ref, big.NewInt(10000-in.BandBP))
	l.Add(l, big.NewInt(9999))
	l.Div(l, big.NewInt(10000)) // ceil
	if m := new(big.Int).Mod(l, tick); m.Sign() != 0 {
		l.Add(l, new(big.Int).Sub(tick, m))
	}
	return engine.Price(l.Int64()), engine.Price(h.Int64())
}

// refMaxPrice: prices above 2^47 are outside every band (engine: keeps the
// band arithmetic in int64).
const refMaxPrice = engine.Price(1) << 47

func (r *refMatcher) checkPrice(id engine.InstrumentID, p engine.Price) engine.Reason {
	in := r.inst(id)
	if p <= 0 {
		return engine.ReasonPriceNotPositive
	}
	if p%in.Tick != 0 {
		return engine.ReasonPriceNotTick
	}
	lo, hi := r.bandOf(id)
	if p < lo || p > hi || p > refMaxPrice {
		return engine.ReasonPriceOutsideBand
	}
	return engine.ReasonNone
}

// engine: the order of the quantity checks.
func (r *refMatcher) checkQty(id engine.InstrumentID, q engine.Qty) engine.Reason {
	in := r.inst(id)
	switch {
	case q <= 0:
		return engine.ReasonQtyNotPositive
	case q > in.MaxQty:
		return engine.ReasonQtyAboveMax
	case q%in.Lot != 0:
		return engine.ReasonQtyNotLot
	case q < in.MinQty:
		return engine.ReasonQtyBelowMin
	}
	return engine.ReasonNone
}

// ---- credit ----

// usdPerBase is the USD value of one unit of base currency when trading
// at px, in Price units (10^-8 USD).
func (r *refMatcher) usdPerBase(id engine.InstrumentID, px engine.Price) uint64 {
	in := r.inst(id)
	if in.Base == "USD" {
		return engine.PriceScale
	}
	if in.Term == "USD" {
		return uint64(px)
	}
	for j, x := range r.cfg.Instruments {
		if x.Symbol == in.Base+"/USD" {
			return uint64(r.refPx[j])
		}
	}
	for j, x := range r.cfg.Instruments {
		if x.Symbol == "USD/"+in.Base {
			// engine: the inverted rate is rounded down.
			return engine.PriceScale * engine.PriceScale / uint64(r.refPx[j])
		}
	}
	return uint64(in.USDRate)
}

// usdNotional is q base units at f USD per unit, rounded up to a whole USD.
func usdNotional(q engine.Qty, f uint64) int64 {
	n := new(big.Int).Mul(big.NewInt(int64(q)), new(big.Int).SetUint64(f))
	d, m := new(big.Int).DivMod(n, big.NewInt(engine.PriceScale), new(big.Int))
	if m.Sign() != 0 {
		d.Add(d, big.NewInt(1))
	}
	return d.Int64()
}

func (r *refMatcher) room(a, b engine.PartyID) int64 {
	lim := min(r.limit[[2]engine.PartyID{a, b}], r.limit[[2]engine.PartyID{b, a}])
	return lim - r.used[mkPair(a, b)]
}

// creditCut is the largest whole-lot quantity, at most q, whose notional
// fits in the room between a and b (found by bisection on the lot count).
func (r *refMatcher) creditCut(a, b engine.PartyID, id engine.InstrumentID, px engine.Price, q engine.Qty) engine.Qty {
	room := r.room(a, b)
	lot := r.inst(id).Lot
	f := r.usdPerBase(id, px)
	if room <= 0 {
		return 0
	}
	if usdNotional(q, f) <= room {
		return q
	}
	lo, hi := int64(0), int64(q/lot) // notional(lo*lot) fits, hi*lot does not
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if usdNotional(engine.Qty(m)*lot, f) <= room {
			lo = m
		} else {
			hi = m
		}
	}
	return engine.Qty(lo) * lot
}

// ---- events ----

func (r *refMatcher) emit(k engine.EventKind) *engine.Event {
	r.nextExec++
	r.out = append(r.out, engine.Event{Kind: k, Seq: r.cmd.Seq, Time: r.cmd.Time, ExecID: r.nextExec})
	return &r.out[len(r.out)-1]
}

func refAvgPx(o *refOrder) engine.Price {
	if o.cum == 0 {
		return 0
	}
	v := new(big.Int).Lsh(new(big.Int).SetUint64(o.valHi), 64)
	v.Or(v, new(big.Int).SetUint64(o.valLo))
	q := big.NewInt(int64(o.cum))
	a, rem := new(big.Int).DivMod(v, q, new(big.Int))
	// Half up: a remainder of at least half the divisor rounds up.
	if rem.Lsh(rem, 1).Cmp(q) >= 0 {
		a.Add(a, big.NewInt(1))
	}
	return engine.Price(a.Int64())
}

func (r *refMatcher) emitOrder(k engine.EventKind, o *refOrder) *engine.Event {
	ev := r.emit(k)
	ev.Party, ev.Instrument, ev.OrderID = o.party, o.inst, o.id
	ev.Side, ev.OrdType, ev.TIF = o.side, o.ordType, o.tif
	ev.Price, ev.OrderQty, ev.LeavesQty, ev.CumQty = o.price, o.qty, o.leaves, o.cum
	ev.AvgPx = refAvgPx(o)
	ev.Displayed, ev.ExpireTime = o.display, o.expire
	ev.ClOrdID, ev.Account = o.clOrdID, o.account
	ev.TradeDate = r.date
	return ev
}

// engine: which fields a reject carries.
func (r *refMatcher) reject(c *engine.Command, why engine.Reason) {
	ev := r.emit(engine.EvRejected)
	ev.Party, ev.Instrument, ev.Side, ev.OrdType, ev.TIF = c.Party, c.Instrument, c.Side, c.OrdType, c.TIF
	ev.Price, ev.OrderQty, ev.ClOrdID, ev.Account, ev.ExpireTime = c.Price, c.Qty, c.ClOrdID, c.Account, c.ExpireTime
	ev.Reason, ev.TradeDate = why, r.date
}

// engine: which fields a cancel reject carries.
func (r *refMatcher) cancelReject(c *engine.Command, why engine.Reason, o *refOrder) {
	ev := r.emit(engine.EvCancelRejected)
	ev.Party, ev.Instrument, ev.Side = c.Party, c.Instrument, c.Side
	ev.ClOrdID, ev.OrigClOrdID = c.ClOrdID, c.OrigClOrdID
	ev.Reason, ev.RespondingTo, ev.TradeDate = why, c.Kind, r.date
	if o == nil && why == engine.ReasonTooLate {
		ev.OrderID = r.clUsed[refClKey{c.Party, c.OrigClOrdID}] // the order, no longer live
	}
	if o != nil {
		ev.OrderID, ev.Instrument, ev.Side, ev.OrdType, ev.TIF = o.id, o.inst, o.side, o.ordType, o.tif
		ev.Price, ev.OrderQty, ev.LeavesQty, ev.CumQty = o.price, o.qty, o.leaves, o.cum
		ev.AvgPx, ev.Account = refAvgPx(o), o.account
	}
}

// ---- apply ----

func (r *refMatcher) apply(c *engine.Command) []engine.Event {
	r.cmd, r.out, r.touch = c, nil, nil
	r.expireGTD(c.Time)
	switch c.Kind {
	case engine.CmdNewOrder:
		r.newOrder(c)
	case engine.CmdCancel:
		r.cancel(c)
	case engine.CmdReplace:
		r.replace(c)
	case engine.CmdMassCancel:
		r.massCancel(c)
	case engine.CmdSetCredit:
		r.setCredit(c)
	case engine.CmdTick:
	case engine.CmdRollDay:
		r.rollDay(c)
	}
	// Uncrossing, book by book (engine: in instrument order).
	for id := range r.cfg.Instruments {
		if r.dirty[engine.InstrumentID(id)] {
			r.uncross(engine.InstrumentID(id))
		}
	}
	clear(r.dirty)
	// L2: each level whose displayed quantity or order count changed, in
	// first-touch order.
	for _, t := range r.touch {
		now, n := r.levelOf(t.key)
		if now == t.before && n == t.beforeN {
			continue
		}
		ev := r.emit(engine.EvLevel)
		ev.Instrument, ev.Side, ev.Price = t.key.inst, t.key.side, t.key.price
		ev.Displayed, ev.Count = now, int64(n)
		switch {
		case t.before == 0:
			ev.Action = engine.LevelNew
		case now == 0:
			ev.Action = engine.LevelDelete
		default:
			ev.Action = engine.LevelChange
		}
	}
	out := r.out
	r.out, r.cmd = nil, nil
	return out
}

// ordersOf returns the resting orders keep accepts, in OrderID order.
func (r *refMatcher) ordersOf(keep func(*refOrder) bool) []*refOrder {
	var os []*refOrder
	for _, o := range r.book {
		if keep(o) {
			os = append(os, o)
		}
	}
	slices.SortFunc(os, func(a, b *refOrder) int { return cmpU64(uint64(a.id), uint64(b.id)) })
	return os
}

// end takes a resting order out of the book with an event.
func (r *refMatcher) end(o *refOrder, k engine.EventKind, why engine.Reason) {
	r.remove(o)
	o.leaves, o.display = 0, 0
	r.emitOrder(k, o).Reason = why
}

// expireGTD: every GTD order whose ExpireTime has come. engine: in
// (ExpireTime, OrderID) order — doc.go says "OrderID order" for orders
// expired by one command, but testdata/time.txt pins expiry order.
func (r *refMatcher) expireGTD(now int64) {
	due := r.ordersOf(func(o *refOrder) bool { return o.tif == engine.GTD && o.expire <= now })
	slices.SortStableFunc(due, func(a, b *refOrder) int {
		switch {
		case a.expire < b.expire:
			return -1
		case a.expire > b.expire:
			return 1
		}
		return 0
	})
	for _, o := range due {
		r.end(o, engine.EvExpired, engine.ReasonGTDExpired)
	}
}

// engine: the precedence of the checks.
func (r *refMatcher) validate(c *engine.Command) engine.Reason {
	switch {
	case !r.validParty(c.Party):
		return engine.ReasonUnknownParticipant
	case !r.cfg.Participants[c.Party].CanTrade:
		return engine.ReasonReadOnly
	case !r.validInst(c.Instrument):
		return engine.ReasonUnknownSymbol
	case c.ClOrdID.Empty():
		return engine.ReasonBadClOrdID
	case r.clUsed[refClKey{c.Party, c.ClOrdID}] != 0:
		return engine.ReasonDuplicateClOrdID
	case c.Side != engine.Buy && c.Side != engine.Sell:
		return engine.ReasonBadSide
	case c.OrdType != engine.Limit && c.OrdType != engine.Market:
		return engine.ReasonBadOrdType
	case !slices.Contains([]engine.TIF{engine.Day, engine.GTC, engine.IOC, engine.FOK, engine.GTD}, c.TIF):
		return engine.ReasonBadTIF
	}
	in := r.inst(c.Instrument)
	if why := r.checkQty(c.Instrument, c.Qty); why != engine.ReasonNone {
		return why
	}
	if c.MinQty != 0 && (c.MinQty < 0 || c.MinQty%in.Lot != 0 || c.MinQty > c.Qty) {
		return engine.ReasonMinQtyInvalid
	}
	if c.MaxFloor != 0 && (c.MaxFloor < 0 || c.MaxFloor%in.Lot != 0 || c.MaxFloor > c.Qty || c.MaxFloor < c.MinQty) {
		return engine.ReasonMaxFloorInvalid
	}
	if c.OrdType == engine.Market {
		switch {
		case c.TIF != engine.Day && c.TIF != engine.IOC && c.TIF != engine.FOK:
			return engine.ReasonBadTIF
		case c.Price != 0:
			return engine.ReasonMarketWithPrice
		case c.PostOnly:
			return engine.ReasonPostOnlyMarket
		}
	} else if why := r.checkPrice(c.Instrument, c.Price); why != engine.ReasonNone {
		return why
	}
	resting := c.OrdType == engine.Limit && (c.TIF == engine.Day || c.TIF == engine.GTC || c.TIF == engine.GTD)
	switch {
	case c.MaxFloor != 0 && !resting:
		return engine.ReasonIcebergNotResting
	case c.TIF == engine.GTD && c.ExpireTime <= c.Time:
		return engine.ReasonGTDNoExpiry
	case c.TIF != engine.GTD && c.ExpireTime != 0:
		return engine.ReasonExpiryNotGTD
	case c.PostOnly && !resting:
		return engine.ReasonPostOnlyMarket
	case c.Directed != engine.NoParty && (!r.validParty(c.Directed) || c.Directed == c.Party):
		return engine.ReasonUnknownDirected
	case resting && r.live() >= r.cfg.MaxLiveOrders:
		return engine.ReasonBookFull
	}
	return engine.ReasonNone
}

func (r *refMatcher) newOrder(c *engine.Command) {
	if why := r.validate(c); why != engine.ReasonNone {
		r.reject(c, why)
		return
	}
	o := &refOrder{
		party: c.Party, directed: c.Directed, inst: c.Instrument, side: c.Side,
		ordType: c.OrdType, tif: c.TIF, postOnly: c.PostOnly, price: c.Price,
		qty: c.Qty, leaves: c.Qty, minQty: c.MinQty, maxFloor: c.MaxFloor,
		expire: c.ExpireTime, clOrdID: c.ClOrdID, account: c.Account,
	}
	// Post-only: would it trade with anything? Run its matching loop on a
	// copy and look. engine: its own MinQty is not considered (a post-only
	// order that could trade, but not its MinQty, is rejected too).
	if o.postOnly && r.couldFill(o, o.price, anyPrio) > 0 {
		r.reject(c, engine.ReasonPostOnlyWouldTake)
		return
	}
	r.nextOrder++
	o.id = engine.OrderID(r.nextOrder)
	r.clUsed[refClKey{o.party, o.clOrdID}] = o.id
	r.emitOrder(engine.EvAccepted, o)
	r.execute(o)
}

// couldFill is how much o would fill at once: its matching loop run on a
// copy of everything. For a resting order (uncrossing) the copy of o in
// the copied book is the one that trades.
func (r *refMatcher) couldFill(o *refOrder, lim engine.Price, prioMax uint64) engine.Qty {
	sim := r.clone()
	sim.cmd = r.cmd
	var so *refOrder
	if r.resting(o) {
		so = sim.book[slices.Index(r.book, o)]
	} else {
		cp := *o
		so = &cp
	}
	sim.match(so, lim, prioMax)
	return so.cum - o.cum
}

func isImmediate(o *refOrder) bool {
	return o.ordType == engine.Market || o.tif == engine.IOC || o.tif == engine.FOK
}

const anyPrio = ^uint64(0)

// execute matches an order that is not in the book, then rests it or ends
// it by its time in force.
func (r *refMatcher) execute(o *refOrder) {
	lim := o.price
	if o.ordType == engine.Market {
		// engine: the band as it is when the order starts matching.
		lo, hi := r.bandOf(o.inst)
		lim = lo
		if o.side == engine.Buy {
			lim = hi
		}
	}
	imm := isImmediate(o)
	need := engine.Qty(0)
	switch {
	case o.tif == engine.FOK:
		need = o.leaves
	case o.cum == 0 && o.minQty > 0:
		need = o.minQty
	}
	if need > 0 && r.couldFill(o, lim, anyPrio) < need {
		switch {
		case o.tif == engine.FOK:
			r.finish(o, engine.ReasonFOKUnfilled)
		case imm:
			r.finish(o, engine.ReasonMinQtyUnmet)
		default:
			r.rest(o) // rests without trading
		}
		return
	}
	if r.match(o, lim, anyPrio) {
		r.finish(o, engine.ReasonSelfMatch)
		return
	}
	switch {
	case o.leaves == 0:
	case imm:
		r.finish(o, engine.ReasonIOCRemainder)
	default:
		r.rest(o)
	}
}

func (r *refMatcher) finish(o *refOrder, why engine.Reason) {
	o.leaves, o.display = 0, 0
	r.emitOrder(engine.EvCancelled, o).Reason = why
}

func (r *refMatcher) rest(o *refOrder) {
	o.display = o.leaves
	if o.maxFloor > 0 && o.maxFloor < o.leaves {
		o.display = o.maxFloor
	}
	r.nextPrio++
	o.prio = r.nextPrio
	r.noteLevel(o)
	r.book = append(r.book, o)
}

// visitsBefore reports whether resting order a is met before b by an
// incoming order: better price first, then earlier priority.
func visitsBefore(a, b *refOrder) bool {
	if a.price != b.price {
		if a.side == engine.Sell {
			return a.price < b.price
		}
		return a.price > b.price
	}
	return a.prio < b.prio
}

func crosses(side engine.Side, lim, p engine.Price) bool {
	if side == engine.Buy {
		return p <= lim
	}
	return p >= lim
}

// match walks the resting orders o may meet, in visiting order, and trades
// with those it may. Orders it passes over keep their place; an iceberg
// that refreshes gets a later priority and so is met again further on.
// Only resting orders with priority up to prioMax take part (uncrossing:
// those that rested before o). It returns true if self-match prevention
// stopped o.
func (r *refMatcher) match(o *refOrder, lim engine.Price, prioMax uint64) bool {
	var last refOrder // the last resting order visited, as it was
	started := false
	for o.leaves > 0 {
		var ro *refOrder
		for _, x := range r.book {
			if x.inst != o.inst || x.side == o.side || !crosses(o.side, lim, x.price) || x.prio > prioMax {
				continue
			}
			if started && !visitsBefore(&last, x) {
				continue
			}
			if ro == nil || visitsBefore(x, ro) {
				ro = x
			}
		}
		if ro == nil {
			return false
		}
		last, started = *ro, true
		// Directed orders trade only with the party they name. engine: this
		// comes before self-match prevention, so a directed order passes
		// over its own orders without cancelling anything.
		if (o.directed != engine.NoParty && o.directed != ro.party) || (ro.directed != engine.NoParty && ro.directed != o.party) {
			continue
		}
		if o.party == ro.party {
			switch r.cfg.Participants[o.party].SMP {
			case engine.SMPCancelResting:
				r.end(ro, engine.EvCancelled, engine.ReasonSelfMatch)
			case engine.SMPCancelIncoming:
				return true
			case engine.SMPCancelBoth:
				r.end(ro, engine.EvCancelled, engine.ReasonSelfMatch)
				return true
			}
			continue // off: passed over
		}
		q := min(o.leaves, ro.display)
		q = r.creditCut(o.party, ro.party, o.inst, ro.price, q)
		if q == 0 || (ro.cum == 0 && ro.minQty > q) {
			continue
		}
		r.fill(o, ro, q)
	}
	return false
}

func addVal(o *refOrder, q engine.Qty, px engine.Price) {
	hi, lo := bits.Mul64(uint64(q), uint64(px))
	var c uint64
	o.valLo, c = bits.Add64(o.valLo, lo, 0)
	o.valHi += hi + c
}

// fill trades q between o (incoming, or resting when uncrossing) and the
// resting order ro, at ro's price.
func (r *refMatcher) fill(o, ro *refOrder, q engine.Qty) {
	px := ro.price
	r.used[mkPair(o.party, ro.party)] += usdNotional(q, r.usdPerBase(ro.inst, px))
	r.noteLevel(ro)
	if ro.cum == 0 && ro.minQty > 0 {
		// Its MinQty is met: it may now trade with orders it was crossed with.
		r.dirty[ro.inst] = true
	}
	o.leaves -= q
	o.cum += q
	addVal(o, q, px)
	ro.leaves -= q
	ro.cum += q
	addVal(ro, q, px)
	ro.display -= q
	if r.resting(o) && o.display > o.leaves {
		// A resting aggressor (uncrossing) never shows more than it has.
		// engine: otherwise it keeps its shown part and its place — an
		// iceberg's fills come out of its hidden part first.
		r.noteLevel(o)
		o.display = o.leaves
	}
	r.refPx[ro.inst] = px
	r.nextTrade++
	tid := r.nextTrade
	spot := r.spot[ro.inst]
	ev := r.emitOrder(engine.EvFill, o)
	ev.LastQty, ev.LastPx, ev.TradeID, ev.SettlDate = q, px, tid, spot
	ev.Counterparty, ev.Aggressor = ro.party, true
	ev = r.emitOrder(engine.EvFill, ro)
	ev.LastQty, ev.LastPx, ev.TradeID, ev.SettlDate = q, px, tid, spot
	ev.Counterparty = o.party
	ev = r.emit(engine.EvTrade)
	ev.Instrument, ev.Side, ev.LastQty, ev.LastPx, ev.TradeID = ro.inst, o.side, q, px, tid
	ev.Aggressor, ev.TradeDate, ev.SettlDate = true, r.date, spot
	switch {
	case ro.leaves == 0:
		r.remove(ro)
	case ro.display == 0:
		// Iceberg: a new visible part, at the back of the level.
		ro.display = min(ro.maxFloor, ro.leaves)
		r.nextPrio++
		ro.prio = r.nextPrio
	}
}

// ---- uncrossing ----

// uncross: each resting order priced through the best opposite price (at
// the start of a pass), in time priority order, trades as the aggressor
// against the orders that rested before it, keeping its place; passes
// repeat until one changes nothing.
func (r *refMatcher) uncross(id engine.InstrumentID) {
	for {
		before := r.nextExec
		var bestBid, bestAsk *refOrder
		for _, o := range r.book {
			if o.inst != id {
				continue
			}
			if o.side == engine.Buy && (bestBid == nil || o.price > bestBid.price) {
				bestBid = o
			}
			if o.side == engine.Sell && (bestAsk == nil || o.price < bestAsk.price) {
				bestAsk = o
			}
		}
		if bestBid == nil || bestAsk == nil {
			return
		}
		var crossed []*refOrder
		for _, o := range r.book {
			if o.inst == id && (o.side == engine.Buy && o.price >= bestAsk.price || o.side == engine.Sell && o.price <= bestBid.price) {
				crossed = append(crossed, o)
			}
		}
		slices.SortFunc(crossed, func(a, b *refOrder) int { return cmpU64(a.prio, b.prio) })
		for _, y := range crossed {
			if !r.resting(y) {
				continue
			}
			if y.cum == 0 && y.minQty > 0 && r.couldFill(y, y.price, y.prio) < y.minQty {
				continue
			}
			if r.match(y, y.price, y.prio) {
				r.end(y, engine.EvCancelled, engine.ReasonSelfMatch)
				continue
			}
			if y.leaves == 0 {
				r.remove(y)
			}
		}
		if r.nextExec == before {
			return
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- cancel, replace, mass cancel ----

func (r *refMatcher) findForRequest(c *engine.Command) (*refOrder, engine.Reason) {
	if !r.validParty(c.Party) {
		return nil, engine.ReasonUnknownParticipant
	}
	o := r.byClOrdID(c.Party, c.OrigClOrdID)
	if o == nil {
		if r.clUsed[refClKey{c.Party, c.OrigClOrdID}] != 0 {
			return nil, engine.ReasonTooLate
		}
		return nil, engine.ReasonUnknownOrder
	}
	switch {
	case o.inst != c.Instrument || o.side != c.Side:
		return o, engine.ReasonReplaceMismatch
	case c.ClOrdID.Empty():
		return o, engine.ReasonBadClOrdID
	case r.clUsed[refClKey{c.Party, c.ClOrdID}] != 0:
		return o, engine.ReasonDuplicateClOrdID
	}
	return o, engine.ReasonNone
}

func (r *refMatcher) cancel(c *engine.Command) {
	o, why := r.findForRequest(c)
	if why != engine.ReasonNone {
		r.cancelReject(c, why, o)
		return
	}
	r.clUsed[refClKey{c.Party, c.ClOrdID}] = o.id
	r.remove(o)
	orig := o.clOrdID
	o.clOrdID = c.ClOrdID
	o.leaves, o.display = 0, 0
	ev := r.emitOrder(engine.EvCancelled, o)
	ev.Reason, ev.OrigClOrdID = engine.ReasonRequested, orig
}

func (r *refMatcher) replace(c *engine.Command) {
	o, why := r.findForRequest(c)
	keep := false
	if why == engine.ReasonNone {
		keep = c.Price == o.price && c.Qty <= o.qty
		switch {
		case c.OrdType != o.ordType:
			why = engine.ReasonBadOrdType
		case r.checkQty(o.inst, c.Qty) != engine.ReasonNone:
			why = r.checkQty(o.inst, c.Qty)
		case c.Qty <= o.cum:
			why = engine.ReasonReplaceBelowCum
		case o.cum == 0 && c.Qty < o.minQty:
			why = engine.ReasonMinQtyInvalid
		case r.checkPrice(o.inst, c.Price) != engine.ReasonNone:
			why = r.checkPrice(o.inst, c.Price)
		case o.postOnly && !keep:
			// A post-only order that goes back through matching must
			// not take liquidity: try it on a copy.
			p := *o
			p.price, p.qty, p.leaves, p.display = c.Price, c.Qty, c.Qty-o.cum, 0
			if r.couldFill(&p, p.price, anyPrio) > 0 {
				why = engine.ReasonPostOnlyWouldTake
			}
		}
	}
	if why != engine.ReasonNone {
		r.cancelReject(c, why, o)
		return
	}
	r.clUsed[refClKey{c.Party, c.ClOrdID}] = o.id
	orig := o.clOrdID
	o.clOrdID = c.ClOrdID
	if !c.Account.Empty() {
		o.account = c.Account
	}
	if keep {
		// Lowering the quantity (or changing nothing) keeps the place.
		r.noteLevel(o)
		o.qty = c.Qty
		o.leaves = c.Qty - o.cum
		o.display = min(o.display, o.leaves)
		r.emitOrder(engine.EvReplaced, o).OrigClOrdID = orig
		return
	}
	r.remove(o)
	o.price, o.qty, o.leaves, o.display, o.prio = c.Price, c.Qty, c.Qty-o.cum, 0, 0
	r.emitOrder(engine.EvReplaced, o).OrigClOrdID = orig
	r.execute(o)
}

func (r *refMatcher) massCancel(c *engine.Command) {
	bad := engine.ReasonNone
	switch {
	case !r.validParty(c.Party):
		bad = engine.ReasonUnknownParticipant
	case c.Scope != engine.MassAll && c.Scope != engine.MassBySymbol,
		c.Scope == engine.MassBySymbol && !r.validInst(c.Instrument):
		bad = engine.ReasonUnknownSymbol
	}
	if bad != engine.ReasonNone {
		ev := r.emit(engine.EvMassCancelReport)
		ev.Party, ev.ClOrdID, ev.Instrument, ev.Reason = c.Party, c.ClOrdID, c.Instrument, bad
		return // engine: no TradeDate on a refused mass cancel
	}
	why := engine.ReasonMassCancel
	if c.Reason == engine.ReasonDisconnect {
		why = engine.ReasonDisconnect
	}
	os := r.ordersOf(func(o *refOrder) bool {
		return o.party == c.Party && (c.Scope == engine.MassAll || o.inst == c.Instrument)
	})
	for _, o := range os {
		r.end(o, engine.EvCancelled, why)
	}
	ev := r.emit(engine.EvMassCancelReport)
	ev.Party, ev.ClOrdID, ev.Instrument = c.Party, c.ClOrdID, c.Instrument
	ev.Count, ev.TradeDate = int64(len(os)), r.date
}

func (r *refMatcher) setCredit(c *engine.Command) {
	a, b := c.Party, c.Counterparty
	if !r.validParty(a) || !r.validParty(b) || a == b || c.CreditLimit < 0 {
		r.reject(c, engine.ReasonUnknownParticipant)
		return
	}
	r.limit[[2]engine.PartyID{a, b}] = c.CreditLimit
	for id := range r.cfg.Instruments {
		r.dirty[engine.InstrumentID(id)] = true
	}
	ev := r.emit(engine.EvCreditSet)
	ev.Party, ev.Counterparty, ev.CreditLimit, ev.TradeDate = a, b, c.CreditLimit, r.date
}

func (r *refMatcher) rollDay(c *engine.Command) {
	for _, o := range r.ordersOf(func(o *refOrder) bool { return o.tif == engine.Day }) {
		r.end(o, engine.EvExpired, engine.ReasonDayEnd)
	}
	clear(r.used)
	clear(r.clUsed)
	for _, o := range r.book {
		r.clUsed[refClKey{o.party, o.clOrdID}] = o.id
	}
	for id := range r.cfg.Instruments {
		r.dirty[engine.InstrumentID(id)] = true
	}
	r.date = c.TradeDate
	r.setSpot()
	r.emit(engine.EvDayRolled).TradeDate = r.date
}

// ---- views for comparison with the engine ----

// views returns the resting orders of a side as the engine's BookOrders
// would list them: best price first, then time priority.
func (r *refMatcher) views(id engine.InstrumentID, s engine.Side) []engine.OrderView {
	var os []*refOrder
	for _, o := range r.book {
		if o.inst == id && o.side == s {
			os = append(os, o)
		}
	}
	sort.Slice(os, func(i, j int) bool { return visitsBefore(os[i], os[j]) })
	var vs []engine.OrderView
	for _, o := range os {
		vs = append(vs, engine.OrderView{
			OrderID: o.id, Party: o.party, Directed: o.directed, Instrument: o.inst,
			Side: o.side, OrdType: o.ordType, TIF: o.tif, PostOnly: o.postOnly,
			Price: o.price, OrderQty: o.qty, LeavesQty: o.leaves, CumQty: o.cum,
			AvgPx: refAvgPx(o), MinQty: o.minQty, MaxFloor: o.maxFloor, Displayed: o.display,
			ExpireTime: o.expire, ClOrdID: o.clOrdID, Account: o.account,
		})
	}
	return vs
}
