package engine

import (
	"fmt"
	"math/bits"
	"slices"
)

// order is a slot of the engine's order slab. Slots are reused through a
// free list; a slot is live while the order rests in the book.
type order struct {
	id       OrderID
	party    PartyID
	directed PartyID
	inst     InstrumentID
	side     Side
	ordType  OrdType
	tif      TIF
	postOnly bool
	live     bool
	queued   bool // its GTD expiry is in the heap
	price    Price
	qty      Qty // OrderQty
	leaves   Qty
	cum      Qty
	minQty   Qty // applies until the first fill
	maxFloor Qty // 0: not an iceberg
	display  Qty // the visible part while resting
	valHi    uint64
	valLo    uint64 // cum value (sum of qty*px), 128 bits
	expire   int64
	prio     uint64 // time priority: set each time it joins the back of a level
	prev     int32
	next     int32
	clOrdID  ID
	account  ID
}

type expiry struct {
	at   int64
	oid  OrderID
	slot int32
}

type touched struct {
	side        Side
	inst        InstrumentID
	price       Price
	before      Qty
	beforeCount int32
}

// Engine is the matching state machine of one shard. It is not safe for
// concurrent use: one goroutine owns it (see package sequencer's shard).
// Apply is its only mutator.
type Engine struct {
	cfg     Config
	parties []Participant
	books   []book
	symbols map[string]InstrumentID
	cal     calendar

	orders []order
	free   []int32
	live   int

	// ids indexes the ClOrdIDs used today (idindex.go). An entry names the
	// live order in slot only if that slot is live and holds oid;
	// otherwise the ClOrdID was used today by an order that is gone (or by
	// a cancel request).
	ids idIndex
	// snapEnts is AppendSnapshot's working space for sorting ids, kept
	// between snapshots (snapshot.go); no part of the state.
	snapEnts []idEnt
	// Probe results kept between the checks and the updates of one
	// command, so each ClOrdID is looked up once.
	reqFP   uint64 // the command's ClOrdID
	reqPos  int
	origPos int // the OrigClOrdID's entry (cancel, replace)

	// Credit: limit[a*n+b] is what a grants b; used[a*n+b] == used[b*n+a] is
	// the notional traded between them today.
	nparty int
	limit  []int64
	used   []int64

	expiries []expiry // min-heap on (at, oid)

	nextOrder uint64
	nextPrio  uint64
	nextExec  uint64
	nextTrade uint64
	tradeDate Date

	// Per-command scratch, reused so Apply does not allocate.
	out []Event
	// The command's Seq and Time, copied: keeping a pointer to the
	// command would make every caller's Command escape to the heap (one
	// allocation per Apply for a Command on the caller's stack).
	curSeq  uint64
	curTime int64
	touch   []touched
	scratch []int32
	dryUsed []int64 // dry-run credit consumption per counterparty
	dryList []PartyID
	dryQ    []dryEntry

	// prioLimit hides resting orders with a later time priority from
	// judge while uncross lets a resting order act as the aggressor.
	prioLimit uint64
	// dirty marks books where resting orders may have become able to trade
	// with each other (credit raised or restored, a MinQty met).
	dirty    []bool
	anyDirty bool
	crossed  []int32
}

// New builds an engine from a validated configuration.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := len(cfg.Participants)
	e := &Engine{
		cfg:       cfg,
		parties:   cfg.Participants,
		symbols:   make(map[string]InstrumentID, len(cfg.Instruments)),
		cal:       newCalendar(cfg.Holidays),
		ids:       newIDIndex(cfg.ExpectedOrdersPerDay),
		nparty:    n,
		limit:     make([]int64, n*n),
		used:      make([]int64, n*n),
		dryUsed:   make([]int64, n),
		tradeDate: cfg.TradeDate,
		nextOrder: uint64(cfg.Shard) << 48,
		nextExec:  uint64(cfg.Shard) << 48,
		nextTrade: uint64(cfg.Shard) << 48,
		touch:     make([]touched, 0, 64),
		scratch:   make([]int32, 0, 64),
		orders:    make([]order, 0, min(cfg.MaxLiveOrders, 1<<16)),
		prioLimit: ^uint64(0),
		dirty:     make([]bool, len(cfg.Instruments)),
	}
	for i, in := range cfg.Instruments {
		e.symbols[in.Symbol] = InstrumentID(i)
		e.books = append(e.books, book{
			id: InstrumentID(i), inst: in, ref: in.RefPrice,
			bids: bookSide{side: Buy}, asks: bookSide{side: Sell},
			usdVia: -1,
		})
	}
	for i := range e.books {
		b := &e.books[i]
		if b.inst.Base == "USD" || b.inst.Term == "USD" {
			continue
		}
		if j, ok := e.symbols[b.inst.Base+"/USD"]; ok {
			b.usdVia = int(j)
		} else if j, ok := e.symbols["USD/"+b.inst.Base]; ok {
			b.usdVia, b.usdInv = int(j), true
		} else if b.inst.USDRate <= 0 {
			return nil, fmt.Errorf("engine: config: instrument %s: neither currency is USD and no %s/USD or USD/%s instrument is in the shard: set its USD rate for credit", b.inst.Symbol, b.inst.Base, b.inst.Base)
		}
	}
	for _, l := range cfg.CreditLines {
		e.limit[int(l.A)*n+int(l.B)] = l.Limit
		e.limit[int(l.B)*n+int(l.A)] = l.Limit
	}
	e.setSpotDates()
	return e, nil
}

func (e *Engine) setSpotDates() {
	for i := range e.books {
		b := &e.books[i]
		b.spot = e.cal.SpotDate(e.tradeDate, b.inst.Base, b.inst.Term)
	}
}

// Apply runs one command and appends its events to out, returning the
// extended slice. Commands must come with non-decreasing Time and
// increasing Seq; the engine trusts the sequencer for that. Apply does not
// allocate once out and the engine's internal scratch have grown to their
// working size.
func (e *Engine) Apply(cmd *Command, out []Event) []Event {
	e.out = out
	e.curSeq, e.curTime = cmd.Seq, cmd.Time
	e.touch = e.touch[:0]
	e.expireDue(cmd.Time)
	switch cmd.Kind {
	case CmdNewOrder:
		e.newOrder(cmd)
	case CmdCancel:
		e.cancel(cmd)
	case CmdReplace:
		e.replace(cmd)
	case CmdMassCancel:
		e.massCancel(cmd)
	case CmdSetCredit:
		e.setCredit(cmd)
	case CmdTick:
	case CmdRollDay:
		e.rollDay(cmd)
	default:
		panic(fmt.Sprintf("engine: command seq %d has unknown kind %d", cmd.Seq, cmd.Kind))
	}
	if e.anyDirty {
		e.uncrossDirty()
	}
	e.emitLevels()
	out, e.out = e.out, nil
	return out
}

// ---- events ----

func (e *Engine) emit(kind EventKind) *Event {
	e.out = append(e.out, Event{})
	ev := &e.out[len(e.out)-1]
	ev.Kind = kind
	ev.Seq = e.curSeq
	ev.Time = e.curTime
	e.nextExec++
	ev.ExecID = e.nextExec
	return ev
}

// emitOrder emits an event describing order o after the event.
func (e *Engine) emitOrder(kind EventKind, o *order) *Event {
	ev := e.emit(kind)
	ev.Party = o.party
	ev.Instrument = o.inst
	ev.OrderID = o.id
	ev.Side = o.side
	ev.OrdType = o.ordType
	ev.TIF = o.tif
	ev.Price = o.price
	ev.OrderQty = o.qty
	ev.LeavesQty = o.leaves
	ev.CumQty = o.cum
	ev.AvgPx = avgPx(o)
	ev.Displayed = o.display
	ev.ExpireTime = o.expire
	ev.ClOrdID = o.clOrdID
	ev.Account = o.account
	ev.TradeDate = e.tradeDate
	return ev
}

func avgPx(o *order) Price {
	if o.cum == 0 {
		return 0
	}
	q := uint64(o.cum)
	// Round half up: (val + q/2) / q, in 128 bits.
	lo, c := bits.Add64(o.valLo, q/2, 0)
	hi := o.valHi + c
	p, _ := bits.Div64(hi, lo, q)
	return Price(p)
}

func (e *Engine) reject(cmd *Command, r Reason) {
	ev := e.emit(EvRejected)
	ev.Party = cmd.Party
	ev.Instrument = cmd.Instrument
	ev.Side = cmd.Side
	ev.OrdType = cmd.OrdType
	ev.TIF = cmd.TIF
	ev.Price = cmd.Price
	ev.OrderQty = cmd.Qty
	ev.ClOrdID = cmd.ClOrdID
	ev.Account = cmd.Account
	ev.ExpireTime = cmd.ExpireTime
	ev.Reason = r
	ev.TradeDate = e.tradeDate
}

func (e *Engine) cancelReject(cmd *Command, r Reason, o *order) {
	ev := e.emit(EvCancelRejected)
	ev.Party = cmd.Party
	ev.Instrument = cmd.Instrument
	ev.Side = cmd.Side
	ev.ClOrdID = cmd.ClOrdID
	ev.OrigClOrdID = cmd.OrigClOrdID
	ev.Reason = r
	ev.RespondingTo = cmd.Kind
	ev.TradeDate = e.tradeDate
	if o == nil && r == ReasonTooLate {
		// The order exists but is no longer live: the refusal still names
		// it (FIX: OrderID is NONE only for an unknown order). Its slot is
		// gone; the ClOrdID's index entry, found by this command's lookup
		// (e.origPos), keeps the order id. An entry stands for its
		// fingerprint, so with the index's collision odds (see idIndex)
		// this may name another of the participant's orders of the day.
		ev.OrderID = e.ids.ents[e.origPos].oid
	}
	if o != nil {
		ev.OrderID = o.id
		ev.Instrument = o.inst
		ev.Side = o.side
		ev.OrdType = o.ordType
		ev.TIF = o.tif
		ev.Price = o.price
		ev.OrderQty = o.qty
		ev.LeavesQty = o.leaves
		ev.CumQty = o.cum
		ev.AvgPx = avgPx(o)
		ev.Account = o.account
	}
}

// noteLevel records a level's displayed quantity before this command first
// changes it, so emitLevels can report each touched level once.
func (e *Engine) noteLevel(inst InstrumentID, s Side, p Price, lv *level) {
	for i := range e.touch {
		t := &e.touch[i]
		if t.price == p && t.side == s && t.inst == inst {
			return
		}
	}
	e.touch = append(e.touch, touched{side: s, inst: inst, price: p, before: lv.display, beforeCount: lv.count})
}

func (e *Engine) emitLevels() {
	for _, t := range e.touch {
		bs := e.books[t.inst].side(t.side)
		var now Qty
		var count int64
		if i, ok := bs.search(t.price); ok {
			now, count = bs.levels[i].display, int64(bs.levels[i].count)
		}
		if now == t.before && count == int64(t.beforeCount) {
			continue
		}
		ev := e.emit(EvLevel)
		ev.Instrument = t.inst
		ev.Side = t.side
		ev.Price = t.price
		ev.Displayed = now
		ev.Count = count
		switch {
		case t.before == 0:
			ev.Action = LevelNew
		case now == 0:
			ev.Action = LevelDelete
		default:
			ev.Action = LevelChange
		}
	}
}

// ---- order slab and book membership ----

func (e *Engine) alloc() int32 {
	if n := len(e.free); n > 0 {
		s := e.free[n-1]
		e.free = e.free[:n-1]
		return s
	}
	e.orders = append(e.orders, order{})
	return int32(len(e.orders) - 1)
}

func (e *Engine) release(s int32) {
	e.orders[s].live = false
	e.free = append(e.free, s)
}

// link appends slot s at the tail of its price level.
func (e *Engine) link(s int32) {
	o := &e.orders[s]
	bs := e.books[o.inst].side(o.side)
	lv := bs.levelAt(o.price)
	e.noteLevel(o.inst, o.side, o.price, lv)
	e.nextPrio++
	o.prio = e.nextPrio
	o.prev, o.next = lv.tail, nilSlot
	if lv.tail != nilSlot {
		e.orders[lv.tail].next = s
	} else {
		lv.head = s
	}
	lv.tail = s
	lv.display += o.display
	lv.count++
}

// unlink removes slot s from its level, deleting the level if it empties.
func (e *Engine) unlink(s int32) {
	o := &e.orders[s]
	bs := e.books[o.inst].side(o.side)
	i, ok := bs.search(o.price)
	if !ok {
		panic(fmt.Sprintf("engine: order %d rests at price %d with no level", o.id, o.price))
	}
	lv := &bs.levels[i]
	e.noteLevel(o.inst, o.side, o.price, lv)
	if o.prev != nilSlot {
		e.orders[o.prev].next = o.next
	} else {
		lv.head = o.next
	}
	if o.next != nilSlot {
		e.orders[o.next].prev = o.prev
	} else {
		lv.tail = o.prev
	}
	lv.display -= o.display
	lv.count--
	if lv.count == 0 {
		bs.remove(i)
	}
}

// rest puts a live order into the book. Its display is set from MaxFloor.
func (e *Engine) rest(s int32) {
	o := &e.orders[s]
	o.display = o.leaves
	if o.maxFloor > 0 && o.maxFloor < o.leaves {
		o.display = o.maxFloor
	}
	o.live = true
	e.live++
	e.link(s)
	if o.tif == GTD && !o.queued {
		o.queued = true
		e.pushExpiry(expiry{at: o.expire, oid: o.id, slot: s})
	}
}

// kill takes a resting order out of the book and frees its slot. Its
// ClOrdID stays in the index as used today.
func (e *Engine) kill(s int32) {
	e.unlink(s)
	e.live--
	e.release(s)
}

// lookup finds the live order a participant's ClOrdID names, leaving the
// index position in e.origPos. known is false for a ClOrdID not used today
// (or whose fingerprint names another live order of the participant: see
// idIndex).
func (e *Engine) lookup(p PartyID, id *ID) (slot int32, known bool) {
	pos, ok := e.ids.find(fingerprint(p, id))
	e.origPos = pos
	if !ok {
		return nilSlot, false
	}
	v := &e.ids.ents[pos]
	if v.slot == nilSlot {
		return nilSlot, true
	}
	o := &e.orders[v.slot]
	if !o.live || o.id != v.oid {
		return nilSlot, true
	}
	if o.party != p || o.clOrdID != *id {
		return nilSlot, false
	}
	return v.slot, true
}

// usedToday probes for the command's ClOrdID, keeping the probe for the
// insertion that follows.
func (e *Engine) usedToday(p PartyID, id *ID) bool {
	e.reqFP = fingerprint(p, id)
	var found bool
	e.reqPos, found = e.ids.find(e.reqFP)
	return found
}

// ---- credit ----

// usdFactor is the USD value of one unit of base currency at price px, in
// Price units.
func (e *Engine) usdFactor(b *book, px Price) uint64 {
	var via Price
	if b.usdVia >= 0 {
		via = e.books[b.usdVia].ref
	}
	return USDPerBase(&b.inst, px, via, b.usdInv)
}

// USDPerBase is the USD value of one unit of in's base currency for a fill
// at px, in Price units: 1 for a USD base, px for a USD term, else the
// reference price viaRef of the shard's BASE/USD instrument (inverse
// false) or USD/BASE instrument (inverse true), else (viaRef 0) the
// configured USDRate. The engine charges credit with it; the edges use it
// to show credit usage in the same numbers.
func USDPerBase(in *Instrument, px, viaRef Price, inverse bool) uint64 {
	switch {
	case in.Base == "USD":
		return PriceScale
	case in.Term == "USD":
		return uint64(px)
	case viaRef > 0:
		r := uint64(viaRef)
		if inverse {
			return PriceScale * PriceScale / r
		}
		return r
	}
	return uint64(in.USDRate)
}

// Notional is the USD notional of q base units at usdPerBase (USDPerBase),
// rounded up to a whole USD: what a fill consumes of a credit line.
func Notional(q Qty, usdPerBase uint64) int64 { return notional(q, usdPerBase) }

// notional is the USD notional of q at px, rounded up to a whole USD.
func notional(q Qty, f uint64) int64 {
	hi, lo := bits.Mul64(uint64(q), f)
	quo, rem := bits.Div64(hi, lo, PriceScale)
	if rem != 0 {
		quo++
	}
	return int64(quo)
}

// creditRoom is the remaining credit between a and b, with extra already
// spoken for (dry runs).
func (e *Engine) creditRoom(a, b PartyID, extra int64) int64 {
	ab, ba := int(a)*e.nparty+int(b), int(b)*e.nparty+int(a)
	lim := min(e.limit[ab], e.limit[ba])
	return lim - e.used[ab] - extra
}

// creditQty is the largest lot multiple of at most want that the credit
// room allows at px.
func creditQty(room int64, want Qty, lot Qty, f uint64) Qty {
	if room <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(room), PriceScale)
	if hi >= f {
		return want // the room covers more than any quantity
	}
	q, _ := bits.Div64(hi, lo, f)
	if q >= uint64(want) {
		return want
	}
	return Qty(q) - Qty(q)%lot
}

// RemainingCredit is the credit left today between a and b, in USD.
func (e *Engine) RemainingCredit(a, b PartyID) int64 {
	if a == NoParty || b == NoParty || int(a) >= e.nparty || int(b) >= e.nparty || a == b {
		return 0
	}
	return e.creditRoom(a, b, 0)
}

// CreditLimit is the limit a grants b, in USD.
func (e *Engine) CreditLimit(a, b PartyID) int64 {
	if a == NoParty || b == NoParty || int(a) >= e.nparty || int(b) >= e.nparty {
		return 0
	}
	return e.limit[int(a)*e.nparty+int(b)]
}

// CreditUsed is the notional traded between a and b today, in USD.
func (e *Engine) CreditUsed(a, b PartyID) int64 {
	if a == NoParty || b == NoParty || int(a) >= e.nparty || int(b) >= e.nparty {
		return 0
	}
	return e.used[int(a)*e.nparty+int(b)]
}

func (e *Engine) setCredit(cmd *Command) {
	a, b := cmd.Party, cmd.Counterparty
	if a == NoParty || b == NoParty || int(a) >= e.nparty || int(b) >= e.nparty || a == b || cmd.CreditLimit < 0 {
		e.reject(cmd, ReasonUnknownParticipant)
		return
	}
	e.limit[int(a)*e.nparty+int(b)] = cmd.CreditLimit
	for i := range e.books {
		e.markDirty(i)
	}
	ev := e.emit(EvCreditSet)
	ev.Party = a
	ev.Counterparty = b
	ev.CreditLimit = cmd.CreditLimit
	ev.TradeDate = e.tradeDate
}

// ---- new orders ----

func (e *Engine) validParty(p PartyID) bool { return p != NoParty && int(p) < e.nparty }

// validate checks a new order against the instrument's and the order's
// rules, in a fixed order so the reported reason is deterministic.
func (e *Engine) validate(cmd *Command) Reason {
	if !e.validParty(cmd.Party) {
		return ReasonUnknownParticipant
	}
	if !e.parties[cmd.Party].CanTrade {
		return ReasonReadOnly
	}
	if int(cmd.Instrument) >= len(e.books) {
		return ReasonUnknownSymbol
	}
	if cmd.ClOrdID.Empty() {
		return ReasonBadClOrdID
	}
	if e.usedToday(cmd.Party, &cmd.ClOrdID) {
		return ReasonDuplicateClOrdID
	}
	if cmd.Side != Buy && cmd.Side != Sell {
		return ReasonBadSide
	}
	if cmd.OrdType != Limit && cmd.OrdType != Market {
		return ReasonBadOrdType
	}
	switch cmd.TIF {
	case Day, GTC, IOC, FOK, GTD:
	default:
		return ReasonBadTIF
	}
	b := &e.books[cmd.Instrument]
	if r := b.checkQty(cmd.Qty); r != ReasonNone {
		return r
	}
	if cmd.MinQty != 0 && (cmd.MinQty < 0 || cmd.MinQty%b.inst.Lot != 0 || cmd.MinQty > cmd.Qty) {
		return ReasonMinQtyInvalid
	}
	if cmd.MaxFloor != 0 && (cmd.MaxFloor < 0 || cmd.MaxFloor%b.inst.Lot != 0 || cmd.MaxFloor > cmd.Qty || cmd.MaxFloor < cmd.MinQty) {
		return ReasonMaxFloorInvalid
	}
	if cmd.OrdType == Market {
		if cmd.TIF != Day && cmd.TIF != IOC && cmd.TIF != FOK {
			return ReasonBadTIF
		}
		if cmd.Price != 0 {
			return ReasonMarketWithPrice
		}
		if cmd.PostOnly {
			return ReasonPostOnlyMarket
		}
	} else if r := b.checkPrice(cmd.Price); r != ReasonNone {
		return r
	}
	resting := cmd.OrdType == Limit && (cmd.TIF == Day || cmd.TIF == GTC || cmd.TIF == GTD)
	if cmd.MaxFloor != 0 && !resting {
		return ReasonIcebergNotResting
	}
	if cmd.TIF == GTD {
		if cmd.ExpireTime <= cmd.Time {
			return ReasonGTDNoExpiry
		}
	} else if cmd.ExpireTime != 0 {
		return ReasonExpiryNotGTD
	}
	if cmd.PostOnly && !resting {
		return ReasonPostOnlyMarket
	}
	if cmd.Directed != NoParty && (!e.validParty(cmd.Directed) || cmd.Directed == cmd.Party) {
		return ReasonUnknownDirected
	}
	if resting && e.live >= e.cfg.MaxLiveOrders {
		return ReasonBookFull
	}
	return ReasonNone
}

func (b *book) checkQty(q Qty) Reason {
	switch {
	case q <= 0:
		return ReasonQtyNotPositive
	case q > b.inst.MaxQty:
		return ReasonQtyAboveMax
	case q%b.inst.Lot != 0:
		return ReasonQtyNotLot
	case q < b.inst.MinQty:
		return ReasonQtyBelowMin
	}
	return ReasonNone
}

// maxPrice bounds prices so band arithmetic cannot overflow; anything above
// it is outside every band.
const maxPrice = Price(1) << 47

func (b *book) checkPrice(p Price) Reason {
	if p <= 0 {
		return ReasonPriceNotPositive
	}
	if p%b.inst.Tick != 0 {
		return ReasonPriceNotTick
	}
	lo, hi := b.bandLimits()
	if p < lo || p > hi || p > maxPrice {
		return ReasonPriceOutsideBand
	}
	return ReasonNone
}

func (e *Engine) newOrder(cmd *Command) {
	if r := e.validate(cmd); r != ReasonNone {
		e.reject(cmd, r)
		return
	}
	b := &e.books[cmd.Instrument]
	s := e.alloc()
	o := &e.orders[s]
	*o = order{
		party: cmd.Party, directed: cmd.Directed, inst: cmd.Instrument,
		side: cmd.Side, ordType: cmd.OrdType, tif: cmd.TIF, postOnly: cmd.PostOnly,
		price: cmd.Price, qty: cmd.Qty, leaves: cmd.Qty, minQty: cmd.MinQty,
		maxFloor: cmd.MaxFloor, expire: cmd.ExpireTime, prev: nilSlot, next: nilSlot,
		clOrdID: cmd.ClOrdID, account: cmd.Account,
	}
	if o.postOnly && e.executable(o, o.price, b.inst.Lot) > 0 {
		e.release(s)
		e.reject(cmd, ReasonPostOnlyWouldTake)
		return
	}
	e.nextOrder++
	o.id = OrderID(e.nextOrder)
	e.ids.put(e.reqPos, false, e.reqFP, o.id, s)
	e.emitOrder(EvAccepted, o)
	e.execute(s)
}

// limitFor is the price an order may trade up to (buy) or down to (sell):
// its limit, or the band's edge for a market order.
func (e *Engine) limitFor(o *order) Price {
	if o.ordType == Limit {
		return o.price
	}
	lo, hi := e.books[o.inst].bandLimits()
	if o.side == Buy {
		return hi
	}
	return lo
}

// execute matches the not-yet-resting order in slot s against the book
// and then rests, cancels or frees it according to its time in force.
func (e *Engine) execute(s int32) {
	o := &e.orders[s]
	lim := e.limitFor(o)
	immediate := o.tif == IOC || o.tif == FOK || o.ordType == Market
	need := Qty(0)
	if o.tif == FOK {
		need = o.leaves
	} else if o.cum == 0 && o.minQty > 0 {
		need = o.minQty
	}
	if need > 0 && e.executable(o, lim, need) < need {
		if immediate {
			r := ReasonMinQtyUnmet
			if o.tif == FOK {
				r = ReasonFOKUnfilled
			}
			e.finish(s, EvCancelled, r)
			return
		}
		e.rest(s) // rests without trading
		return
	}
	if stop := e.match(s, lim); stop != ReasonNone {
		e.finish(s, EvCancelled, stop)
		return
	}
	o = &e.orders[s]
	switch {
	case o.leaves == 0:
		e.release(s)
	case immediate:
		e.finish(s, EvCancelled, ReasonIOCRemainder)
	default:
		e.rest(s)
	}
}

// finish ends an order that is not in the book with an event.
func (e *Engine) finish(s int32, kind EventKind, r Reason) {
	o := &e.orders[s]
	o.leaves = 0
	o.display = 0
	ev := e.emitOrder(kind, o)
	ev.Reason = r
	e.release(s)
}

// verdict is what an incoming order may do with one resting order.
type verdict uint8

const (
	vSkip          verdict = iota // not eligible: passed over, keeps its place
	vFill                         // trade q
	vCancelResting                // self-match: cancel the resting order, go on
	vStopIncoming                 // self-match: cancel the incoming remainder
	vStopBoth                     // self-match: cancel both
)

// judge decides what incoming order o does with resting order r whose
// displayed quantity is disp and cum quantity cum, given want still to
// fill and extra credit already spoken for with r's owner (dry runs).
func (e *Engine) judge(o, r *order, disp, rcum, want Qty, extra int64) (verdict, Qty) {
	if r.prio > e.prioLimit {
		return vSkip, 0
	}
	if (o.directed != NoParty && o.directed != r.party) || (r.directed != NoParty && r.directed != o.party) {
		return vSkip, 0
	}
	if o.party == r.party {
		switch e.parties[o.party].SMP {
		case SMPCancelResting:
			return vCancelResting, 0
		case SMPCancelIncoming:
			return vStopIncoming, 0
		case SMPCancelBoth:
			return vStopBoth, 0
		}
		return vSkip, 0
	}
	q := min(want, disp)
	b := &e.books[r.inst]
	q = creditQty(e.creditRoom(o.party, r.party, extra), q, b.inst.Lot, e.usdFactor(b, r.price))
	if q == 0 || (rcum == 0 && r.minQty > q) {
		return vSkip, 0
	}
	return vFill, q
}

// match walks the opposite side best level first, filling the order in
// slot s until it is filled, its limit stops it, or self-match prevention
// stops it (the returned reason).
func (e *Engine) match(s int32, lim Price) Reason {
	o := &e.orders[s]
	opp := e.books[o.inst].side(o.side.Opposite())
	for li := len(opp.levels) - 1; li >= 0 && o.leaves > 0; li-- {
		if li >= len(opp.levels) {
			continue
		}
		if !opp.crosses(lim, opp.levels[li].price) {
			break
		}
		price := opp.levels[li].price
		r := opp.levels[li].head
		for r != nilSlot && o.leaves > 0 {
			ro := &e.orders[r]
			next := ro.next
			v, q := e.judge(o, ro, ro.display, ro.cum, o.leaves, 0)
			switch v {
			case vFill:
				if e.fill(s, r, q, price) && next == nilSlot {
					// An iceberg that was the tail refreshed to the tail
					// again: it is the next order to visit.
					next = r
				}
			case vCancelResting:
				e.cancelResting(r, ReasonSelfMatch)
			case vStopIncoming:
				return ReasonSelfMatch
			case vStopBoth:
				e.cancelResting(r, ReasonSelfMatch)
				return ReasonSelfMatch
			}
			r = next
		}
	}
	return ReasonNone
}

func (e *Engine) cancelResting(s int32, reason Reason) { e.remove(s, EvCancelled, reason) }

// remove takes a resting order out of the book for good and reports it
// with an event of kind (cancelled, expired) and reason; the event is
// returned for the caller to complete (valid until the next emit).
func (e *Engine) remove(s int32, kind EventKind, reason Reason) *Event {
	o := &e.orders[s]
	e.unlink(s)
	e.live--
	o.leaves, o.display = 0, 0
	ev := e.emitOrder(kind, o)
	ev.Reason = reason
	e.release(s)
	return ev
}

// trimDisplay makes a resting order show no more than it has left,
// adjusting its level.
func (e *Engine) trimDisplay(o *order) {
	nd := min(o.display, o.leaves)
	if nd == o.display {
		return
	}
	bs := e.books[o.inst].side(o.side)
	li, _ := bs.search(o.price)
	lv := &bs.levels[li]
	e.noteLevel(o.inst, o.side, o.price, lv)
	lv.display -= o.display - nd
	o.display = nd
}

// fill trades q at px between the incoming order in slot a and the resting
// order in slot r. It reports whether r was an iceberg whose visible part
// refreshed (and so moved to the back of its level).
func (e *Engine) fill(a, r int32, q Qty, px Price) bool {
	ao, ro := &e.orders[a], &e.orders[r]
	b := &e.books[ro.inst]
	amt := notional(q, e.usdFactor(b, px))
	n := e.nparty
	e.used[int(ao.party)*n+int(ro.party)] += amt
	e.used[int(ro.party)*n+int(ao.party)] += amt

	bs := b.side(ro.side)
	li, _ := bs.search(ro.price)
	lv := &bs.levels[li]
	e.noteLevel(ro.inst, ro.side, ro.price, lv)
	if ro.cum == 0 && ro.minQty > 0 {
		// Its MinQty is met now: it may trade with orders it skipped.
		e.markDirty(int(ro.inst))
	}
	for _, o := range [2]*order{ao, ro} {
		o.leaves -= q
		o.cum += q
		hi, lo := bits.Mul64(uint64(q), uint64(px))
		var c uint64
		o.valLo, c = bits.Add64(o.valLo, lo, 0)
		o.valHi += hi + c
	}
	ro.display -= q
	lv.display -= q
	if ao.live {
		// Uncrossing: the aggressor rests and keeps its place, but it can
		// never show more than it has left — in its level and in the fill
		// event below.
		e.trimDisplay(ao)
	}
	b.ref = px
	e.nextTrade++
	tid := e.nextTrade
	// Each event is complete before the next emit: emit may move e.out.
	ev := e.emitOrder(EvFill, ao)
	ev.LastQty, ev.LastPx, ev.TradeID, ev.SettlDate = q, px, tid, b.spot
	ev.Counterparty, ev.Aggressor = ro.party, true
	ev = e.emitOrder(EvFill, ro)
	ev.LastQty, ev.LastPx, ev.TradeID, ev.SettlDate = q, px, tid, b.spot
	ev.Counterparty = ao.party
	tr := e.emit(EvTrade)
	tr.Instrument, tr.Side, tr.LastQty, tr.LastPx, tr.TradeID = ro.inst, ao.side, q, px, tid
	tr.Aggressor, tr.TradeDate, tr.SettlDate = true, e.tradeDate, b.spot

	switch {
	case ro.leaves == 0:
		e.kill(r)
	case ro.display == 0:
		// Iceberg refresh: a new visible part at the back of the level.
		e.unlink(r)
		ro.display = min(ro.maxFloor, ro.leaves)
		e.link(r)
		return true
	}
	return false
}

// dryEntry is an order in the dry run's simulated queue of one level.
type dryEntry struct {
	slot   int32
	leaves Qty
	disp   Qty
	cum    Qty
}

// executable reports how much the order o could fill at once at limit lim,
// stopping at need, without changing anything. It follows the same visits
// as match, including icebergs that refresh to the back of their level, so
// FOK, MinQty and post-only decide on exactly what match would do.
func (e *Engine) executable(o *order, lim Price, need Qty) Qty {
	total := Qty(0)
	for _, p := range e.dryList {
		e.dryUsed[p] = 0
	}
	e.dryList = e.dryList[:0]
	opp := e.books[o.inst].side(o.side.Opposite())
	for li := len(opp.levels) - 1; li >= 0 && total < need; li-- {
		lv := &opp.levels[li]
		if !opp.crosses(lim, lv.price) {
			break
		}
		e.dryQ = e.dryQ[:0]
		for r := lv.head; r != nilSlot; r = e.orders[r].next {
			ro := &e.orders[r]
			e.dryQ = append(e.dryQ, dryEntry{slot: r, leaves: ro.leaves, disp: ro.display, cum: ro.cum})
		}
		for i := 0; i < len(e.dryQ) && total < need; i++ {
			d := e.dryQ[i]
			ro := &e.orders[d.slot]
			// Judge each fill at the size match would make it (what o
			// still has to fill, not what is still needed): a resting
			// order's MinQty and the credit a fill uses depend on it.
			v, q := e.judge(o, ro, d.disp, d.cum, o.leaves-total, e.dryUsed[ro.party])
			switch v {
			case vStopIncoming, vStopBoth:
				return total
			case vFill:
				total += q
				if e.dryUsed[ro.party] == 0 {
					e.dryList = append(e.dryList, ro.party)
				}
				b := &e.books[ro.inst]
				e.dryUsed[ro.party] += notional(q, e.usdFactor(b, lv.price))
				d.leaves -= q
				d.disp -= q
				d.cum += q
				if d.leaves > 0 && d.disp == 0 {
					d.disp = min(ro.maxFloor, d.leaves)
					// The refreshed part joins the back of the level with a
					// new time priority. While uncrossing, that is after the
					// aggressor's own, so match will not meet it again:
					// neither may the dry run.
					if e.prioLimit == ^uint64(0) {
						e.dryQ = append(e.dryQ, d)
					}
				}
			}
		}
	}
	return min(total, need)
}

// ---- cancel, replace, mass cancel ----

func (e *Engine) findForRequest(cmd *Command) (int32, Reason) {
	if !e.validParty(cmd.Party) {
		return nilSlot, ReasonUnknownParticipant
	}
	s, known := e.lookup(cmd.Party, &cmd.OrigClOrdID)
	if !known {
		return nilSlot, ReasonUnknownOrder
	}
	if s == nilSlot {
		return nilSlot, ReasonTooLate
	}
	o := &e.orders[s]
	if o.inst != cmd.Instrument || o.side != cmd.Side {
		return s, ReasonReplaceMismatch
	}
	if cmd.ClOrdID.Empty() {
		return s, ReasonBadClOrdID
	}
	if e.usedToday(cmd.Party, &cmd.ClOrdID) {
		return s, ReasonDuplicateClOrdID
	}
	return s, ReasonNone
}

func (e *Engine) cancel(cmd *Command) {
	s, r := e.findForRequest(cmd)
	if r != ReasonNone {
		var o *order
		if s != nilSlot {
			o = &e.orders[s]
		}
		e.cancelReject(cmd, r, o)
		return
	}
	o := &e.orders[s]
	e.ids.put(e.reqPos, false, e.reqFP, o.id, nilSlot)
	orig := o.clOrdID
	o.clOrdID = cmd.ClOrdID
	ev := e.remove(s, EvCancelled, ReasonRequested)
	ev.OrigClOrdID = orig
}

func (e *Engine) replace(cmd *Command) {
	s, r := e.findForRequest(cmd)
	var o *order
	if s != nilSlot {
		o = &e.orders[s]
	}
	if r == ReasonNone {
		b := &e.books[o.inst]
		switch {
		case cmd.OrdType != o.ordType:
			r = ReasonBadOrdType
		default:
			r = b.checkQty(cmd.Qty)
		}
		if r == ReasonNone && cmd.Qty <= o.cum {
			r = ReasonReplaceBelowCum
		}
		if r == ReasonNone && cmd.Qty < o.minQty && o.cum == 0 {
			r = ReasonMinQtyInvalid
		}
		if r == ReasonNone {
			r = b.checkPrice(cmd.Price)
		}
		// A post-only order goes back through matching whenever the replace
		// loses time priority — a raised quantity at the same price too,
		// which trades if the book is crossed there (no credit before, a
		// MinQty unmet): it must not take liquidity then either.
		if r == ReasonNone && o.postOnly && (cmd.Price != o.price || cmd.Qty > o.qty) {
			probe := *o
			probe.price = cmd.Price
			probe.leaves = cmd.Qty - o.cum
			if e.executable(&probe, probe.price, b.inst.Lot) > 0 {
				r = ReasonPostOnlyWouldTake
			}
		}
	}
	if r != ReasonNone {
		e.cancelReject(cmd, r, o)
		return
	}
	orig := o.clOrdID
	// The old ClOrdID's entry first: inserting the new one may grow the
	// table and move every entry.
	e.ids.ents[e.origPos].slot = nilSlot
	e.ids.put(e.reqPos, false, e.reqFP, o.id, s)
	o.clOrdID = cmd.ClOrdID
	if !cmd.Account.Empty() {
		o.account = cmd.Account
	}
	keep := cmd.Price == o.price && cmd.Qty <= o.qty
	if keep {
		o.qty = cmd.Qty
		o.leaves = cmd.Qty - o.cum
		e.trimDisplay(o)
		ev := e.emitOrder(EvReplaced, o)
		ev.OrigClOrdID = orig
		return
	}
	e.unlink(s)
	e.live--
	o.live = false
	o.price = cmd.Price
	o.qty = cmd.Qty
	o.leaves = cmd.Qty - o.cum
	o.display = 0
	ev := e.emitOrder(EvReplaced, o)
	ev.OrigClOrdID = orig
	e.execute(s)
}

func (e *Engine) massCancel(cmd *Command) {
	if !e.validParty(cmd.Party) || (cmd.Scope != MassAll && cmd.Scope != MassBySymbol) ||
		(cmd.Scope == MassBySymbol && int(cmd.Instrument) >= len(e.books)) {
		ev := e.emit(EvMassCancelReport)
		ev.Party, ev.ClOrdID, ev.Instrument = cmd.Party, cmd.ClOrdID, cmd.Instrument
		ev.Reason = ReasonUnknownSymbol
		if !e.validParty(cmd.Party) {
			ev.Reason = ReasonUnknownParticipant
		}
		return
	}
	reason := ReasonMassCancel
	if cmd.Reason == ReasonDisconnect {
		reason = ReasonDisconnect
	}
	e.collect(func(o *order) bool {
		return o.party == cmd.Party && (cmd.Scope == MassAll || o.inst == cmd.Instrument)
	})
	for _, s := range e.scratch {
		e.cancelResting(s, reason)
	}
	ev := e.emit(EvMassCancelReport)
	ev.Party, ev.ClOrdID, ev.Instrument = cmd.Party, cmd.ClOrdID, cmd.Instrument
	ev.Count = int64(len(e.scratch))
	ev.TradeDate = e.tradeDate
}

// collect gathers the slots of live orders that keep accepts, in OrderID
// order, into e.scratch.
func (e *Engine) collect(keep func(*order) bool) {
	e.scratch = e.scratch[:0]
	for i := range e.orders {
		if o := &e.orders[i]; o.live && keep(o) {
			e.scratch = append(e.scratch, int32(i))
		}
	}
	slices.SortFunc(e.scratch, func(a, b int32) int {
		x, y := e.orders[a].id, e.orders[b].id
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
		return 0
	})
}

// ---- time ----

func (e *Engine) pushExpiry(x expiry) {
	h := append(e.expiries, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !expLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	e.expiries = h
}

func expLess(a, b expiry) bool { return a.at < b.at || (a.at == b.at && a.oid < b.oid) }

func (e *Engine) popExpiry() {
	h := e.expiries
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, m := 2*i+1, i
		if l < n && expLess(h[l], h[m]) {
			m = l
		}
		if l+1 < n && expLess(h[l+1], h[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	e.expiries = h
}

// expireDue expires GTD orders whose ExpireTime is at or before now, in
// (ExpireTime, OrderID) order.
func (e *Engine) expireDue(now int64) {
	for len(e.expiries) > 0 && e.expiries[0].at <= now {
		x := e.expiries[0]
		e.popExpiry()
		if o := &e.orders[x.slot]; o.live && o.id == x.oid {
			e.remove(x.slot, EvExpired, ReasonGTDExpired)
		}
	}
}

// NextExpiry is the earliest GTD expiry still pending (Unix ns), or 0: the
// shell sends a CmdTick then so GTD orders expire on time when idle.
func (e *Engine) NextExpiry() int64 {
	for len(e.expiries) > 0 {
		x := e.expiries[0]
		if o := &e.orders[x.slot]; o.live && o.id == x.oid {
			return x.at
		}
		e.popExpiry()
	}
	return 0
}

func (e *Engine) rollDay(cmd *Command) {
	if !cmd.TradeDate.Valid() || cmd.TradeDate <= e.tradeDate {
		panic(fmt.Sprintf("engine: command seq %d rolls to trade date %d, not after %d", cmd.Seq, cmd.TradeDate, e.tradeDate))
	}
	e.collect(func(o *order) bool { return o.tif == Day })
	for _, s := range e.scratch {
		e.remove(s, EvExpired, ReasonDayEnd)
	}
	clear(e.used)
	for i := range e.books {
		e.markDirty(i)
	}
	e.ids.reset()
	for i := range e.orders {
		if o := &e.orders[i]; o.live {
			fp := fingerprint(o.party, &o.clOrdID)
			pos, found := e.ids.find(fp)
			e.ids.put(pos, found, fp, o.id, int32(i))
		}
	}
	e.tradeDate = cmd.TradeDate
	e.setSpotDates()
	ev := e.emit(EvDayRolled)
	ev.TradeDate = e.tradeDate
}

// ---- uncrossing ----
//
// Resting orders can be crossed without trading: credit was missing, a
// MinQty could not be met, or (SMP off) they belong to one participant.
// When credit is raised or restored, or a resting order's MinQty is met by
// a fill, such a pair may become able to trade. Left alone, the book would
// then hold two crossed orders that are allowed to trade with each other,
// waiting for an unrelated incoming order. Instead, after such a command,
// uncross lets each crossed resting order act as the aggressor against the
// orders that were resting before it (earlier time priority), in time
// priority order, at the earlier order's price — as if it had arrived just
// now, but keeping its place. It repeats until a pass changes nothing, as
// a fill can lift another MinQty. This is rare work: only books marked
// dirty are scanned, never on the ordinary order path.

func (e *Engine) markDirty(i int) {
	e.dirty[i] = true
	e.anyDirty = true
}

func (e *Engine) uncrossDirty() {
	for i := range e.dirty {
		if e.dirty[i] {
			e.uncross(i)
			// Cleared after, not before: a fill while uncrossing book i
			// that meets a MinQty marks it again, and uncross's own passes
			// have settled that already. A mark left behind would make a
			// later command uncross this book although nothing affected it
			// (and an engine restored from a snapshot, which keeps no
			// marks, would then behave differently).
			e.dirty[i] = false
		}
	}
	e.anyDirty = false
}

func (e *Engine) uncross(bi int) {
	b := &e.books[bi]
	for {
		before := e.nextExec
		e.collectCrossed(b)
		for _, s := range e.crossed {
			if o := &e.orders[s]; o.live && o.leaves > 0 {
				e.uncrossOrder(s)
			}
		}
		if e.nextExec == before {
			return
		}
	}
}

// collectCrossed gathers into e.crossed the resting orders of b priced
// through the best opposite price, in time priority order.
func (e *Engine) collectCrossed(b *book) {
	e.crossed = e.crossed[:0]
	if len(b.bids.levels) == 0 || len(b.asks.levels) == 0 {
		return
	}
	bestBid := b.bids.levels[len(b.bids.levels)-1].price
	bestAsk := b.asks.levels[len(b.asks.levels)-1].price
	for _, bs := range [2]*bookSide{&b.bids, &b.asks} {
		for i := len(bs.levels) - 1; i >= 0; i-- {
			lv := &bs.levels[i]
			if (bs.side == Buy && lv.price < bestAsk) || (bs.side == Sell && lv.price > bestBid) {
				break
			}
			for r := lv.head; r != nilSlot; r = e.orders[r].next {
				e.crossed = append(e.crossed, r)
			}
		}
	}
	slices.SortFunc(e.crossed, func(x, y int32) int {
		a, b := e.orders[x].prio, e.orders[y].prio
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
}

// uncrossOrder lets the resting order in slot s trade as the aggressor
// against earlier resting orders, keeping its own place in the book.
func (e *Engine) uncrossOrder(s int32) {
	o := &e.orders[s]
	e.prioLimit = o.prio
	defer func() { e.prioLimit = ^uint64(0) }()
	if o.cum == 0 && o.minQty > 0 && e.executable(o, o.price, o.minQty) < o.minQty {
		return
	}
	if stop := e.match(s, o.price); stop != ReasonNone {
		e.cancelResting(s, stop)
		return
	}
	if o.leaves == 0 {
		e.kill(s)
	}
	// Its display already follows its leaves: fill trims a resting
	// aggressor's display at each fill.
}
