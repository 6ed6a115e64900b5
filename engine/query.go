package engine

// Read-only queries. They are for the goroutine that owns the engine (the
// shard publishes snapshots built from them for everyone else) and for
// tests.

// Level is one aggregated price level: the displayed quantity and the
// number of orders.
type Level struct {
	Price Price
	Qty   Qty
	Count int
}

// InstrumentBySymbol finds an instrument by its symbol ("USD/CNY").
func (e *Engine) InstrumentBySymbol(sym string) (InstrumentID, bool) {
	id, ok := e.symbols[sym]
	return id, ok
}

// Instruments returns the engine's instruments (do not modify).
func (e *Engine) Instruments() []Instrument { return e.cfg.Instruments }

// Participants returns the engine's participants, index 0 unused (do not
// modify).
func (e *Engine) Participants() []Participant { return e.parties }

// TradeDate is the current trading day.
func (e *Engine) TradeDate() Date { return e.tradeDate }

// SpotDate is the current SPOT value date of an instrument.
func (e *Engine) SpotDate(id InstrumentID) Date { return e.books[id].spot }

// RefPrice is the instrument's reference price (the last trade, or the
// configured reference before any trade).
func (e *Engine) RefPrice(id InstrumentID) Price { return e.books[id].ref }

// BandLimits are the lowest and highest limit prices accepted now.
func (e *Engine) BandLimits(id InstrumentID) (lo, hi Price) { return e.books[id].bandLimits() }

// Best returns the best displayed level of a side, and false if the side
// is empty.
func (e *Engine) Best(id InstrumentID, s Side) (Level, bool) {
	bs := e.books[id].side(s)
	if len(bs.levels) == 0 {
		return Level{}, false
	}
	lv := &bs.levels[len(bs.levels)-1]
	return Level{lv.price, lv.display, int(lv.count)}, true
}

// DepthAt is the displayed quantity at one price of a side.
func (e *Engine) DepthAt(id InstrumentID, s Side, p Price) Qty {
	bs := e.books[id].side(s)
	if i, ok := bs.search(p); ok {
		return bs.levels[i].display
	}
	return 0
}

// Levels appends up to n levels of a side, best first, to dst (n <= 0: all).
func (e *Engine) Levels(id InstrumentID, s Side, n int, dst []Level) []Level {
	bs := e.books[id].side(s)
	for i := len(bs.levels) - 1; i >= 0 && (n <= 0 || len(bs.levels)-1-i < n); i-- {
		lv := &bs.levels[i]
		dst = append(dst, Level{lv.price, lv.display, int(lv.count)})
	}
	return dst
}

// OrderView is a resting order as the book holds it.
type OrderView struct {
	OrderID    OrderID
	Party      PartyID
	Directed   PartyID
	Instrument InstrumentID
	Side       Side
	OrdType    OrdType
	TIF        TIF
	PostOnly   bool
	Price      Price
	OrderQty   Qty
	LeavesQty  Qty
	CumQty     Qty
	AvgPx      Price
	MinQty     Qty
	MaxFloor   Qty
	Displayed  Qty
	ExpireTime int64
	ClOrdID    ID
	Account    ID
}

func (e *Engine) view(o *order) OrderView {
	return OrderView{
		OrderID: o.id, Party: o.party, Directed: o.directed, Instrument: o.inst,
		Side: o.side, OrdType: o.ordType, TIF: o.tif, PostOnly: o.postOnly,
		Price: o.price, OrderQty: o.qty, LeavesQty: o.leaves, CumQty: o.cum,
		AvgPx: avgPx(o), MinQty: o.minQty, MaxFloor: o.maxFloor, Displayed: o.display,
		ExpireTime: o.expire, ClOrdID: o.clOrdID, Account: o.account,
	}
}

// Order returns the live order a participant's ClOrdID names.
func (e *Engine) Order(p PartyID, clOrdID ID) (OrderView, bool) {
	s, _ := e.lookup(p, &clOrdID)
	if s == nilSlot {
		return OrderView{}, false
	}
	return e.view(&e.orders[s]), true
}

// BookOrders calls fn for each resting order of a side of a book, best
// level first and in time priority within a level (L3).
func (e *Engine) BookOrders(id InstrumentID, s Side, fn func(OrderView) bool) {
	bs := e.books[id].side(s)
	for i := len(bs.levels) - 1; i >= 0; i-- {
		for r := bs.levels[i].head; r != nilSlot; r = e.orders[r].next {
			if !fn(e.view(&e.orders[r])) {
				return
			}
		}
	}
}

// LiveOrders is the number of resting orders.
func (e *Engine) LiveOrders() int { return e.live }

// Progress is a handful of the engine's counters, read in O(1). Two
// engines that applied the same commands from the same state have equal
// Progress, and engines whose matching went apart almost never do (an
// execution, trade, order or ClOrdID more or less shows): the venue
// checks its snapshotter's shadow engine against the primary with it at
// every snapshot, where comparing whole states would cost what the
// snapshot does on the goroutine that must not pay it.
type Progress struct {
	TradeDate                                Date
	NextOrder, NextPrio, NextExec, NextTrade uint64
	LiveOrders, ClOrdIDs                     int
}

// Progress returns the engine's counters (see Progress).
func (e *Engine) Progress() Progress {
	return Progress{
		TradeDate: e.tradeDate,
		NextOrder: e.nextOrder, NextPrio: e.nextPrio, NextExec: e.nextExec, NextTrade: e.nextTrade,
		LiveOrders: e.live, ClOrdIDs: e.ids.n,
	}
}
