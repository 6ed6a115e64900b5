package gateway

import (
	"strconv"
	"sync"
	"sync/atomic"

	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/gateway/wire"
)

// The order table: per participant, its orders of the day as the durable
// events left them — the orders it sent over HTTP or FIX, live ones and
// finished ones — so that GET /orders answers from memory. It is fed only
// by the participant's own hub feed, so nobody's table can hold another
// participant's order. After a restart the live orders come from the
// venue's recovered engines (Venue.LiveOrders, read before the venue
// runs); finished orders of the day before the restart are not listed.

const (
	// ordersKept bounds the finished orders kept per participant; the
	// oldest finished ones are forgotten first. Live orders are always
	// kept (the engine bounds them: venue.live_orders_max).
	ordersKept = 10_000
	// fillsKept bounds the fills listed per order (the order's cum_qty and
	// avg_px always cover all of them).
	fillsKept = 100
	// reservedPrefix starts the ClOrdIDs the gateway makes for its own
	// cancel requests; clients may not use it.
	reservedPrefix = "~"
)

// Order statuses.
const (
	statusNew       = "new"
	statusPartial   = "partially_filled"
	statusFilled    = "filled"
	statusCancelled = "cancelled"
	statusExpired   = "expired"
	statusRejected  = "rejected"
)

// orderRec is one order's state.
type orderRec struct {
	clientID string // the id its owner uses now (the last replace's)
	cur      engine.ID
	ids      []string  // every id it has had (keys of byKey)
	idsBuf   [2]string // ids' first array: an order and its cancel's id
	oid      engine.OrderID
	inst     engine.InstrumentID
	// pos is the record's index in its party's list; gen counts its
	// reuses (recycle) and returns to life, so that a doneRef to an
	// earlier use is seen stale; inDone: counted in dead, in done.
	pos      int
	gen      uint32
	inDone   bool
	side     engine.Side
	ordType  engine.OrdType
	tif      engine.TIF
	price    engine.Price
	qty      engine.Qty
	leaves   engine.Qty
	cum      engine.Qty
	avgPx    engine.Price
	minQty   engine.Qty
	maxFloor engine.Qty
	postOnly bool
	expire   int64
	directed engine.PartyID
	status   string
	reason   engine.Reason
	created  int64
	updated  int64
	fills    []fillRec
	live     bool
}

type fillRec struct {
	seq          uint64
	tradeID      uint64
	px           engine.Price
	qty          engine.Qty
	counterparty engine.PartyID
	aggressor    bool
	time         int64
	settl        engine.Date
}

// creditLine is one counterparty line of a participant.
type creditLine struct {
	limit, used int64
}

// partyState is what the gateway keeps per participant.
type partyState struct {
	id   engine.PartyID
	name string

	mu    sync.Mutex
	byKey map[string]*orderRec
	byOID map[engine.OrderID]*orderRec
	// list holds the records in creation order (for listing), with
	// holes (nil) where trim forgot one, until compact closes them.
	list  []*orderRec
	holes int
	// done holds the finished records in the order they finished, from
	// doneHead on: trim forgets from its oldest end. dead counts them.
	done     []doneRef
	doneHead int
	dead     int
	waiters  map[string]*waiter
	// settling are waiters whose outcome has arrived, waiting for the
	// rest of their command's events.
	settling []*waiter
	credit   map[engine.PartyID]*creditLine
	// free holds records finish forgot, for reuse (at most ordersKept/2):
	// a record per order was most of the feed's allocation, and under
	// bench fix the feed applies every order of the session. Safe because
	// a record is read only under mu, where it is reachable from list,
	// byKey or byOID; once forgotten it is reachable from none (lookup
	// reads the record under the lock it found it under).
	free []*orderRec

	streams streamSet // "exec" subscribers
	conns   atomic.Int32
	sub     *hub.Sub
}

func newPartyState(id engine.PartyID, name string) *partyState {
	ps := &partyState{
		id: id, name: name,
		byKey: map[string]*orderRec{}, byOID: map[engine.OrderID]*orderRec{},
		waiters: map[string]*waiter{}, credit: map[engine.PartyID]*creditLine{},
	}
	ps.streams.init()
	return ps
}

// addRecovered adds a live order the venue recovered.
func (ps *partyState) addRecovered(o engine.OrderView) {
	r := &orderRec{
		clientID: o.ClOrdID.String(), cur: o.ClOrdID, oid: o.OrderID, inst: o.Instrument, side: o.Side,
		ordType: o.OrdType, tif: o.TIF, price: o.Price, qty: o.OrderQty, leaves: o.LeavesQty, cum: o.CumQty,
		avgPx: o.AvgPx, minQty: o.MinQty, maxFloor: o.MaxFloor, postOnly: o.PostOnly, expire: o.ExpireTime,
		directed: o.Directed, live: true,
	}
	r.status = statusNew
	if r.cum > 0 {
		r.status = statusPartial
	}
	ps.insert(r)
}

func (ps *partyState) insert(r *orderRec) {
	r.pos = len(ps.list)
	ps.list = append(ps.list, r)
	ps.alias(r, r.clientID)
	if r.oid != 0 {
		ps.byOID[r.oid] = r
	}
}

func (ps *partyState) alias(r *orderRec, id string) {
	if id == "" {
		return
	}
	ps.byKey[id] = r
	if r.ids == nil {
		r.ids = r.idsBuf[:0]
	}
	r.ids = append(r.ids, id)
}

// names reports whether id already finds r. Only alias makes an id find
// a record, and it lists the id in the record's ids, so an id r does not
// list is not looked up (a cancel's new id, the common case).
func (ps *partyState) names(r *orderRec, id []byte) bool {
	for _, x := range r.ids {
		if x == string(id) {
			return ps.byKey[x] == r
		}
	}
	return false
}

// doneRef is a finished record as it was when it finished.
type doneRef struct {
	r   *orderRec
	gen uint32
}

// finish marks r finished and forgets the oldest finished orders beyond
// ordersKept.
func (ps *partyState) finish(r *orderRec) {
	if !r.live {
		return
	}
	r.live = false
	ps.addDone(r)
}

// addDone counts r, just finished (or inserted finished: a reject), and
// forgets the oldest finished orders beyond ordersKept: a few per call,
// oldest by the time they finished. It used to forget the oldest half in
// one pass every ordersKept/2 orders: 5,000 records out of three maps,
// 2-4 ms on the participant feed's goroutine, which with serve --procs 1
// the whole venue waited behind (runtime trace of bench fix, 1 session,
// 10k/s). That pass went by creation order, so an old order finishing
// just then could be forgotten in the same call, before its waiter read
// it; in finishing order, r is the newest and is never the one forgotten
// (dead > ordersKept >= 2 leaves older ones to forget first).
func (ps *partyState) addDone(r *orderRec) {
	ps.done = append(ps.done, doneRef{r, r.gen})
	ps.dead++
	r.inDone = true
	for n := 0; ps.dead > ordersKept && n < trimStep && ps.doneHead < len(ps.done); {
		d := ps.done[ps.doneHead]
		if d.r == r {
			break // never reached while older finished orders remain; never forget r
		}
		ps.done[ps.doneHead] = doneRef{}
		ps.doneHead++
		o := d.r
		if o.gen != d.gen {
			continue // reused since, or live again: no longer counted
		}
		n++
		ps.dead--
		o.inDone = false
		ps.list[o.pos] = nil
		ps.holes++
		for _, id := range o.ids {
			if ps.byKey[id] == o {
				delete(ps.byKey, id)
			}
		}
		if ps.byOID[o.oid] == o {
			delete(ps.byOID, o.oid)
		}
		ps.recycle(o)
	}
	if ps.doneHead > 64 && ps.doneHead > len(ps.done)/2 {
		k := copy(ps.done, ps.done[ps.doneHead:])
		clear(ps.done[k:])
		ps.done, ps.doneHead = ps.done[:k], 0
	}
	if ps.holes > 64 && ps.holes > len(ps.list)/2 {
		kept := ps.list[:0]
		for _, o := range ps.list {
			if o != nil {
				o.pos = len(kept)
				kept = append(kept, o)
			}
		}
		clear(ps.list[len(kept):])
		ps.list, ps.holes = kept, 0
	}
}

// trimStep is how many finished orders addDone forgets at most per call:
// more than one, so that a table over ordersKept comes back down.
const trimStep = 2

// recycle keeps a record finish forgot for newRec.
func (ps *partyState) recycle(o *orderRec) {
	if len(ps.free) >= ordersKept/2 {
		return
	}
	fills := o.fills[:0] // fillRec holds no pointers: the array may be reused
	if cap(fills) > fillsKept {
		fills = nil
	}
	*o = orderRec{fills: fills, gen: o.gen + 1}
	ps.free = append(ps.free, o)
}

// newRec is a zero record (but for the capacity of fills), recycled if
// one is free.
func (ps *partyState) newRec() *orderRec {
	if n := len(ps.free); n > 0 {
		r := ps.free[n-1]
		ps.free[n-1] = nil
		ps.free = ps.free[:n-1]
		return r
	}
	return &orderRec{}
}

// apply updates the table with one of the participant's events. It
// returns the record the event concerns (nil if none).
func (ps *partyState) apply(ev *engine.Event) *orderRec {
	switch ev.Kind {
	// Lookups by string(ev.ClOrdID.Bytes()) do not allocate; a string is
	// made only to be kept.
	case engine.EvRejected:
		if _, dup := ps.byKey[string(ev.ClOrdID.Bytes())]; dup || ev.ClOrdID.Empty() {
			// A duplicate ClOrdID's reject must not replace the order
			// that holds the id.
			return nil
		}
		r := ps.recFromEvent(ev)
		r.status, r.reason, r.live = statusRejected, ev.Reason, false
		ps.insert(r)
		ps.addDone(r)
		return r
	case engine.EvAccepted:
		// The record to reuse is one its id finds with no order id that
		// is not a reject's: one made by an event of the order before it
		// had an order id. The engine gives every order an id (they count
		// from 1) and every event of an accepted order carries it, so only
		// an acceptance without one could find such a record; any other
		// skips the lookup, a miss in a large, churning index that was
		// the table's costliest step under bench fix.
		var r *orderRec
		if ev.OrderID == 0 {
			r = ps.byKey[string(ev.ClOrdID.Bytes())]
		}
		if r == nil || r.oid != 0 || r.status == statusRejected {
			// A new order (a rejected one may have had the same id).
			r = ps.recFromEvent(ev)
			ps.insert(r) // which indexes it by ev.OrderID, if any
		}
		if r.oid != ev.OrderID || ev.OrderID == 0 {
			r.oid = ev.OrderID
			ps.byOID[r.oid] = r
		}
		r.update(ev)
		if r.inDone {
			// Counted finished (a record its id found): alive again, its
			// place in done goes stale.
			r.inDone = false
			r.gen++
			ps.dead--
		}
		r.live = true
		r.status = statusNew
		return r
	case engine.EvFill, engine.EvCancelled, engine.EvReplaced, engine.EvExpired:
		r := ps.byOID[ev.OrderID]
		if r == nil {
			// An order this table never saw accepted (it was forgotten, or
			// the feed was cut off): start from this event.
			r = ps.recFromEvent(ev)
			r.live = true
			ps.insert(r)
		}
		r.update(ev)
		switch ev.Kind {
		case engine.EvFill:
			if len(r.fills) < fillsKept {
				r.fills = append(r.fills, fillRec{seq: ev.Seq, tradeID: ev.TradeID, px: ev.LastPx, qty: ev.LastQty,
					counterparty: ev.Counterparty, aggressor: ev.Aggressor, time: ev.Time, settl: ev.SettlDate})
			}
			if r.leaves == 0 {
				r.status = statusFilled
				ps.finish(r)
			} else {
				r.status = statusPartial
			}
		case engine.EvReplaced:
			id := ev.ClOrdID.String()
			r.clientID = id
			ps.alias(r, id)
		case engine.EvCancelled:
			if id := ev.ClOrdID.Bytes(); len(id) > 0 && string(id[:1]) != reservedPrefix && !ps.names(r, id) {
				// A cancel sent over FIX names the order by its own new
				// id. (An IOC's remainder, cancelled by the venue, carries
				// the order's id, which already names it: no string is
				// made for it.)
				ps.alias(r, string(id))
			}
			r.status, r.reason = statusCancelled, ev.Reason
			ps.finish(r)
		case engine.EvExpired:
			r.status, r.reason = statusExpired, ev.Reason
			ps.finish(r)
		}
		return r
	}
	return nil
}

func (ps *partyState) recFromEvent(ev *engine.Event) *orderRec {
	r := ps.newRec()
	r.clientID, r.created = ev.ClOrdID.String(), ev.Time
	r.update(ev)
	return r
}

// update copies the order's fields after ev.
func (r *orderRec) update(ev *engine.Event) {
	r.cur = ev.ClOrdID
	if ev.OrderID != 0 {
		r.oid = ev.OrderID
	}
	r.inst, r.side, r.ordType, r.tif = ev.Instrument, ev.Side, ev.OrdType, ev.TIF
	r.price, r.qty, r.leaves, r.cum, r.avgPx = ev.Price, ev.OrderQty, ev.LeavesQty, ev.CumQty, ev.AvgPx
	if ev.ExpireTime != 0 {
		r.expire = ev.ExpireTime
	}
	r.updated = ev.Time
	if r.created == 0 {
		r.created = ev.Time
	}
}

// orderJSON is an order as the API shows it.
type orderJSON struct {
	ClientOrderID string `json:"client_order_id"`
	OrderID       string `json:"order_id,omitempty"`
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`
	Type          string `json:"type"`
	TIF           string `json:"tif"`
	Price         string `json:"price,omitempty"`
	Qty           string `json:"qty"`
	LeavesQty     string `json:"leaves_qty"`
	CumQty        string `json:"cum_qty"`
	AvgPx         string `json:"avg_px"`
	MinQty        string `json:"min_qty,omitempty"`
	MaxFloor      string `json:"max_floor,omitempty"`
	PostOnly      bool   `json:"post_only,omitempty"`
	ExpireTime    string `json:"expire_time,omitempty"`
	DirectedTo    string `json:"directed_to,omitempty"`
	Status        string `json:"status"`
	Live          bool   `json:"live"`
	Reason        string `json:"reason,omitempty"`
	Text          string `json:"text,omitempty"`
	Created       string `json:"created,omitempty"`
	Updated       string `json:"updated,omitempty"`
	// Fills: the request's own fills (POST, PATCH) or all the order's
	// (GET one, up to fillsKept); absent when none, and in lists.
	Fills []fillJSON `json:"fills,omitempty"`
}

type fillJSON struct {
	TradeID      string `json:"trade_id"`
	Px           string `json:"px"`
	Qty          string `json:"qty"`
	Counterparty string `json:"counterparty"`
	Aggressor    bool   `json:"aggressor"`
	Time         string `json:"time"`
	SettlDate    string `json:"settl_date"`
}

// view renders r; with sinceSeq > 0 only the fills of commands from that
// sequence on are listed (the fills a request caused).
func (s *Server) view(r *orderRec, sinceSeq uint64) orderJSON {
	dec := s.names.TickDecimals(r.inst)
	o := orderJSON{
		ClientOrderID: r.clientID, Symbol: s.names.Symbol(r.inst), Side: r.side.String(),
		Type: r.ordType.String(), TIF: r.tif.String(), Qty: wire.FormatQty(r.qty),
		LeavesQty: wire.FormatQty(r.leaves), CumQty: wire.FormatQty(r.cum), AvgPx: wire.FormatPrice(r.avgPx, dec),
		PostOnly: r.postOnly, Status: r.status, Live: r.live, Fills: []fillJSON{},
	}
	if r.oid != 0 {
		o.OrderID = strconv.FormatUint(uint64(r.oid), 10)
	}
	if r.ordType != engine.Market && r.price != 0 {
		o.Price = wire.FormatPrice(r.price, dec)
	}
	if r.minQty > 0 {
		o.MinQty = wire.FormatQty(r.minQty)
	}
	if r.maxFloor > 0 {
		o.MaxFloor = wire.FormatQty(r.maxFloor)
	}
	if r.expire != 0 {
		o.ExpireTime = wire.FormatTime(r.expire)
	}
	if r.directed != engine.NoParty {
		o.DirectedTo = s.names.Party(r.directed)
	}
	if r.reason != engine.ReasonNone {
		o.Reason, o.Text = r.reason.String(), wire.ReasonText(r.reason)
	}
	if r.created != 0 {
		o.Created = wire.FormatTime(r.created)
	}
	if r.updated != 0 {
		o.Updated = wire.FormatTime(r.updated)
	}
	for _, f := range r.fills {
		if f.seq < sinceSeq {
			continue
		}
		o.Fills = append(o.Fills, fillJSON{
			TradeID: strconv.FormatUint(f.tradeID, 10), Px: wire.FormatPrice(f.px, dec), Qty: wire.FormatQty(f.qty),
			Counterparty: s.names.Party(f.counterparty), Aggressor: f.aggressor, Time: wire.FormatTime(f.time),
			SettlDate: wire.FormatDate(f.settl),
		})
	}
	return o
}
