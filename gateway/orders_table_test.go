package gateway

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"fxmatch/engine"
)

// TestPartyTableRecycles drives one participant's order table far past
// ordersKept with accepts, partial fills, replaces, cancels and fills,
// so that it forgets and reuses records many times, and checks after
// every event that the table holds exactly what a table that never
// reuses a record would: each id finds the order that last had it, with
// that order's fields and fills, and the orders it forgot are gone. A
// reused record that kept anything of its previous order (an id, a fill,
// a status) or stayed reachable from an index shows here.
func TestPartyTableRecycles(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 3))
	ps := newPartyState(1, "BANKA")
	// model: the order each id names, by the id's text, as the table
	// should show it.
	type order struct {
		oid    engine.OrderID
		ids    []string
		leaves engine.Qty
		fills  int
		live   bool
		status string
	}
	byID := map[string]*order{}
	var live []*order
	next := 0
	newID := func() engine.ID { next++; return engine.MustID(fmt.Sprintf("k%d", next)) }
	check := func(step int) {
		for id, o := range byID {
			rec := ps.byKey[id]
			if rec == nil {
				if o.live {
					t.Fatalf("seed %d step %d: live order %s forgotten", seed, step, id)
				}
				continue
			}
			if rec.oid != o.oid || rec.leaves != o.leaves || len(rec.fills) != o.fills || rec.live != o.live || rec.status != o.status {
				t.Fatalf("seed %d step %d: %s shows oid %d leaves %d fills %d live %v %s, want %+v",
					seed, step, id, rec.oid, rec.leaves, len(rec.fills), rec.live, rec.status, *o)
			}
			if ps.byOID[o.oid] != rec {
				t.Fatalf("seed %d step %d: %s by order id is another record", seed, step, id)
			}
		}
		for _, f := range ps.free {
			if ps.byOID[f.oid] == f || len(f.ids) != 0 || len(f.fills) != 0 || f.live {
				t.Fatalf("seed %d step %d: a free record is in use or not reset: %+v", seed, step, *f)
			}
		}
	}
	ev := func(kind engine.EventKind, id engine.ID, o *order) *engine.Event {
		return &engine.Event{Kind: kind, Party: 1, ClOrdID: id, OrderID: o.oid, Side: engine.Buy, OrdType: engine.Limit,
			TIF: engine.GTC, Price: 700_000_000, OrderQty: 3_000_000, LeavesQty: o.leaves, CumQty: 3_000_000 - o.leaves}
	}
	steps := 8 * ordersKept
	for step := range steps {
		switch k := r.IntN(10); {
		case k < 4 || len(live) == 0:
			id := newID()
			o := &order{oid: engine.OrderID(next), ids: []string{id.String()}, leaves: 3_000_000, live: true, status: statusNew}
			byID[id.String()] = o
			live = append(live, o)
			ps.apply(ev(engine.EvAccepted, id, o))
		default:
			i := r.IntN(len(live))
			o := live[i]
			switch {
			case k < 6: // a fill of a third: partial, then the last one
				o.leaves -= 1_000_000
				o.fills++
				e := ev(engine.EvFill, engine.MustID(o.ids[len(o.ids)-1]), o)
				e.LastQty, e.LastPx = 1_000_000, 700_000_000
				ps.apply(e)
				o.status = statusPartial
				if o.leaves == 0 {
					o.status, o.live = statusFilled, false
				}
			case k < 8: // a replace under a new id
				id := newID()
				o.ids = append(o.ids, id.String())
				byID[id.String()] = o
				ps.apply(ev(engine.EvReplaced, id, o))
			case k < 9: // cancelled by a request with its own id
				id := newID()
				o.ids = append(o.ids, id.String())
				byID[id.String()] = o
				o.status, o.live = statusCancelled, false
				ps.apply(ev(engine.EvCancelled, id, o))
			default: // cancelled by the venue (an IOC's remainder), under the order's id
				o.status, o.live = statusCancelled, false
				ps.apply(ev(engine.EvCancelled, engine.MustID(o.ids[len(o.ids)-1]), o))
			}
			if !o.live {
				live = append(live[:i], live[i+1:]...)
			}
		}
		if step%997 == 0 || step == steps-1 {
			check(step)
		}
	}
	reused := 0
	for id, o := range byID {
		if ps.byKey[id] == nil && !o.live {
			reused++
		}
	}
	if reused < ordersKept {
		t.Fatalf("seed %d: only %d orders forgotten: the test shows little", seed, reused)
	}
}

// TestPartyTableForgetsOldestFinished: past ordersKept finished orders
// the table forgets the ones that finished first, at most trimStep per
// event (the half-table pass it replaced was milliseconds on the feed's
// goroutine, and went by creation order, so an old order finishing just
// then could be forgotten by the very event that finished it, before its
// waiter read it). Random resting and IOC orders; after every event the
// order it finished is still there, and at the end the finished orders
// kept are exactly the last ordersKept to finish, with every live one.
func TestPartyTableForgetsOldestFinished(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 11))
	ps := newPartyState(1, "BANKA")
	ev := func(kind engine.EventKind, id string, oid engine.OrderID) *engine.Event {
		return &engine.Event{Kind: kind, Party: 1, ClOrdID: engine.MustID(id), OrderID: oid, Side: engine.Buy, OrdType: engine.Limit,
			TIF: engine.GTC, Price: 700_000_000, OrderQty: 1_000_000, LeavesQty: 1_000_000}
	}
	type lo struct {
		id  string
		oid engine.OrderID
	}
	var live []lo
	var finished []engine.OrderID // in finishing order
	oid := engine.OrderID(0)
	finish := func(step int, l lo) {
		before := len(ps.byOID)
		ps.apply(ev(engine.EvCancelled, l.id, l.oid))
		finished = append(finished, l.oid)
		if rec := ps.byOID[l.oid]; rec == nil || rec.live || rec.status != statusCancelled {
			t.Fatalf("seed %d step %d: order %s forgotten or wrong right after the event that finished it: %+v", seed, step, l.id, rec)
		}
		if forgot := before - len(ps.byOID); forgot > trimStep {
			t.Fatalf("seed %d step %d: one event forgot %d orders", seed, step, forgot)
		}
	}
	for step := range 4 * ordersKept {
		oid++
		l := lo{fmt.Sprintf("o%d", oid), oid}
		ps.apply(ev(engine.EvAccepted, l.id, l.oid))
		switch x := r.IntN(10); {
		case x < 3: // rests
			live = append(live, l)
		case x < 5 && len(live) > 0: // rests; an older resting order is cancelled
			live = append(live, l)
			i := r.IntN(len(live) - 1)
			old := live[i]
			live = append(live[:i], live[i+1:]...)
			finish(step, old)
		default: // IOC
			finish(step, l)
		}
	}
	if ps.dead != ordersKept {
		t.Fatalf("seed %d: %d finished orders kept, want %d", seed, ps.dead, ordersKept)
	}
	for i, o := range finished {
		_, kept := ps.byOID[o]
		if want := i >= len(finished)-ordersKept; kept != want {
			t.Fatalf("seed %d: finished order %d (the %dth of %d to finish) kept %v, want %v", seed, o, i+1, len(finished), kept, want)
		}
	}
	for _, l := range live {
		if rec := ps.byOID[l.oid]; rec == nil || !rec.live {
			t.Fatalf("seed %d: live order %s forgotten", seed, l.id)
		}
	}
	n, holes := 0, 0
	for i, rec := range ps.list {
		if rec == nil {
			holes++
			continue
		}
		n++
		if rec.pos != i {
			t.Fatalf("seed %d: record at %d says it is at %d", seed, i, rec.pos)
		}
	}
	if holes != ps.holes || n != ordersKept+len(live) {
		t.Errorf("seed %d: list has %d records and %d holes; want %d records, %d holes", seed, n, holes, ordersKept+len(live), ps.holes)
	}
}
