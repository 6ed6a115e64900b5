package audit

import (
	"cmp"
	"fmt"
	"slices"

	"fxmatch/engine"
)

// Event is one journaled order event with its numbers resolved to names.
type Event struct {
	Shard        uint16
	Symbol       string // "" for a reject of a pair the shard does not have
	Decimals     int
	Participant  string
	Counterparty string // EvFill: the other side
	engine.Event
}

// IsOrderEvent reports whether events of kind k describe one
// participant's order or request — what an order record keeps. Trades
// (anonymous prints, whose sides are fills), L2 levels, credit changes,
// day rolls and mass-cancel summaries are not (the orders a mass cancel
// cancels each have their own event).
func IsOrderEvent(k engine.EventKind) bool {
	switch k {
	case engine.EvAccepted, engine.EvRejected, engine.EvFill, engine.EvCancelled,
		engine.EvReplaced, engine.EvExpired, engine.EvCancelRejected:
		return true
	}
	return false
}

// ends reports whether ev ends its order's life.
func ends(ev *engine.Event) bool {
	switch ev.Kind {
	case engine.EvCancelled, engine.EvExpired, engine.EvRejected:
		return true
	case engine.EvFill:
		return ev.LeavesQty == 0
	}
	return false
}

func (j *Journal) event(shard uint16, ev *engine.Event) Event {
	sym, dec := j.symbol(shard, ev.Instrument)
	e := Event{Shard: shard, Symbol: sym, Decimals: dec, Participant: j.partyName(ev.Party), Event: *ev}
	if ev.Kind == engine.EvFill {
		e.Counterparty = j.partyName(ev.Counterparty)
	}
	return e
}

// OrderLife is everything that happened to one order, in sequence order.
type OrderLife struct {
	// OrderID is 0 for a refused request that names no order: a rejected
	// new order, a cancel or replace of an unknown ClOrdID (one refused as
	// too late joins the life of the order that carried the ClOrdID).
	OrderID     engine.OrderID
	Shard       uint16
	Symbol      string
	Participant string
	Side        engine.Side
	OrdType     engine.OrdType
	TIF         engine.TIF
	Events      []Event
}

func (l *OrderLife) add(ev Event) {
	if len(l.Events) == 0 {
		l.OrderID, l.Shard, l.Symbol, l.Participant = ev.OrderID, ev.Shard, ev.Symbol, ev.Participant
		l.Side, l.OrdType, l.TIF = ev.Side, ev.OrdType, ev.TIF
	}
	l.Events = append(l.Events, ev)
}

// OrderByID is the whole life of order id. The order id names its shard
// (its top 16 bits), so one shard is read, from its start to the day
// roll after the order's end (after which nothing can refer to it).
func (j *Journal) OrderByID(id engine.OrderID) (*OrderLife, error) {
	shard := uint16(uint64(id) >> 48)
	if id == 0 || int(shard) >= len(j.shards) {
		return nil, fmt.Errorf("%w: order id %d (no shard %d)", ErrNotFound, id, shard)
	}
	lives, err := j.lives(shard, 1, []engine.OrderID{id})
	if err != nil {
		return nil, err
	}
	if len(lives) == 0 {
		return nil, fmt.Errorf("%w: order id %d is not in shard %d's journal", ErrNotFound, id, shard)
	}
	return lives[0], nil
}

// OrdersByClOrdID is the life of every order the participant ever named
// clOrdID, in time order: ClOrdIDs are unique within a trading day only,
// so one may name an order on each of several days, and a replace or
// cancel gives an order a new ClOrdID, so an order is found by any
// ClOrdID it carried (and its life then covers all of them). Requests
// with that ClOrdID that never named an order (a rejected new order, a
// cancel of an unknown ClOrdID) come as lives with OrderID 0.
func (j *Journal) OrdersByClOrdID(participant, clOrdID string) ([]*OrderLife, error) {
	p, ok := j.Party(participant)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownParticipant, participant)
	}
	want, err := engine.MakeID(clOrdID)
	if err != nil || want.Empty() {
		return nil, fmt.Errorf("%w: ClOrdID %q must have 1 to %d bytes", ErrNotFound, clOrdID, engine.MaxIDLen)
	}
	var all []*OrderLife
	for si := range j.shards {
		shard := uint16(si)
		// Pass 1: which of p's orders carried the ClOrdID, and the
		// earliest acceptance among them. Only orders a request could
		// still name are remembered — live ones, and those that ended
		// today (the day roll makes the engine forget them) — so memory
		// follows p's open orders, not the journal's length.
		var ids []engine.OrderID
		var lone []*OrderLife
		nameable := map[engine.OrderID]uint64{} // order → the seq that accepted it
		var endedToday []engine.OrderID
		from := uint64(0)
		p1 := j.progress(j.shards[si].head.Seq)
		it := j.r.Records(shard, 1)
		for it.Next() {
			rec := it.Record()
			for i := range rec.Events {
				ev := &rec.Events[i]
				if ev.Party != p || !IsOrderEvent(ev.Kind) {
					continue
				}
				if ev.Kind == engine.EvAccepted {
					nameable[ev.OrderID] = ev.Seq
				}
				if ends(ev) && ev.OrderID != 0 {
					endedToday = append(endedToday, ev.OrderID)
				}
				if ev.ClOrdID != want && ev.OrigClOrdID != want {
					continue
				}
				if ev.OrderID == 0 {
					l := &OrderLife{}
					l.add(j.event(shard, ev))
					lone = append(lone, l)
					continue
				}
				if !slices.Contains(ids, ev.OrderID) {
					ids = append(ids, ev.OrderID)
					acc, ok := nameable[ev.OrderID]
					if !ok {
						acc = 1 // not seen accepted (cannot happen in a verified journal): from the start
					}
					if from == 0 || acc < from {
						from = acc
					}
				}
			}
			if rec.Command.Kind == engine.CmdRollDay {
				for _, id := range endedToday {
					delete(nameable, id)
				}
				endedToday = endedToday[:0]
			}
			if err := p1.step(); err != nil {
				it.Close()
				return nil, err
			}
		}
		err := it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
		p1.end()
		if len(ids) == 0 {
			all = append(all, lone...)
			continue
		}
		// Pass 2: the matched orders' lives, from the first one's start.
		slices.Sort(ids)
		lives, err := j.lives(shard, from, ids)
		if err != nil {
			return nil, err
		}
		all = append(all, lives...)
		// A refusal that joined an order's life is not also shown alone.
		joined := map[uint64]bool{}
		for _, l := range lives {
			for k := range l.Events {
				joined[l.Events[k].ExecID] = true
			}
		}
		for _, l := range lone {
			if !joined[l.Events[0].ExecID] {
				all = append(all, l)
			}
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: %s never used ClOrdID %q", ErrNotFound, participant, clOrdID)
	}
	slices.SortStableFunc(all, func(a, b *OrderLife) int {
		x, y := &a.Events[0], &b.Events[0]
		return cmp.Or(cmp.Compare(x.Time, y.Time), cmp.Compare(x.Shard, y.Shard), cmp.Compare(x.Seq, y.Seq), cmp.Compare(x.ExecID, y.ExecID))
	})
	return all, nil
}

// lives collects the order events of ids (sorted) in shard from sequence
// from on. A cancel or replace refused as too late names the order by its
// id; in journals written before the engine did so it names none, and such
// a refusal joins the life of the order that carried its OrigClOrdID
// today. A refusal's own ClOrdID never becomes the order's. It stops at the first day
// roll after every one of them has ended: the roll makes the engine
// forget dead orders' ClOrdIDs, so no later request can name them.
func (j *Journal) lives(shard uint16, from uint64, ids []engine.OrderID) ([]*OrderLife, error) {
	lives := make([]*OrderLife, len(ids))
	for i := range lives {
		lives[i] = &OrderLife{}
	}
	type name struct {
		party engine.PartyID
		id    engine.ID
	}
	names := map[name]int{} // the ClOrdIDs the orders carried today
	current := make([]engine.ID, len(ids))
	ended := make([]bool, len(ids))
	open := len(ids)
	p := j.progress(j.shards[shard].head.Seq + 1 - min(from, j.shards[shard].head.Seq+1))
	it := j.r.Records(shard, from)
	defer it.Close()
	for it.Next() {
		rec := it.Record()
		for i := range rec.Events {
			ev := &rec.Events[i]
			if !IsOrderEvent(ev.Kind) {
				continue
			}
			if ev.OrderID == 0 {
				if ev.Kind == engine.EvCancelRejected && ev.Reason == engine.ReasonTooLate {
					if k, ok := names[name{ev.Party, ev.OrigClOrdID}]; ok {
						lives[k].add(j.event(shard, ev))
					}
				}
				continue
			}
			k, found := slices.BinarySearch(ids, ev.OrderID)
			if !found {
				continue
			}
			lives[k].add(j.event(shard, ev))
			if ev.Kind == engine.EvCancelRejected {
				continue // a refused request renames nothing
			}
			current[k] = ev.ClOrdID
			names[name{ev.Party, ev.ClOrdID}] = k
			if !ev.OrigClOrdID.Empty() {
				names[name{ev.Party, ev.OrigClOrdID}] = k
			}
			if ends(ev) {
				ended[k] = true
				open--
			}
		}
		if err := p.step(); err != nil {
			return nil, err
		}
		if rec.Command.Kind == engine.CmdRollDay {
			if open <= 0 {
				break
			}
			// The engine now knows only the live orders' current ClOrdIDs.
			clear(names)
			for k, l := range lives {
				if len(l.Events) > 0 && !ended[k] {
					names[name{l.Events[0].Party, current[k]}] = k
				}
			}
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	p.end()
	out := lives[:0]
	for _, l := range lives {
		if len(l.Events) > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}
