package audit

import (
	"fmt"
	"time"

	"fxmatch/engine"
	"fxmatch/journal"
)

// Trade is one match with both counterparties.
type Trade struct {
	Shard uint16
	Seq   uint64 // the command that made it
	Time  int64  // Unix nanoseconds
	// TradeID is unique across the venue (the top 16 bits are the shard).
	TradeID  uint64
	Symbol   string
	Decimals int
	Price    engine.Price
	Qty      engine.Qty
	// AggressorSide is the side of the incoming order (for an uncrossing
	// trade: of the resting order that acted as the aggressor).
	AggressorSide engine.Side
	Buyer, Seller TradeSide
	TradeDate     engine.Date
	ValueDate     engine.Date // the settlement (SPOT value) date
}

// TradeSide is one counterparty of a trade.
type TradeSide struct {
	Participant string
	OrderID     engine.OrderID
	ClOrdID     string // the order's ClOrdID when it traded
	Account     string
	Aggressor   bool
}

// TradeFilter selects trades. Zero fields select everything.
type TradeFilter struct {
	Symbol string
	// From (inclusive) and To (exclusive) bound the trades' times; the
	// zero time leaves that end open.
	From, To time.Time
}

// Trades calls fn for every trade the filter selects, in time order
// across shards (by time, then shard, then sequence). An error from fn
// stops it and is returned.
func (j *Journal) Trades(f TradeFilter, fn func(*Trade) error) error {
	var shards []uint16
	var inst engine.InstrumentID
	bySymbol := f.Symbol != ""
	if bySymbol {
		loc, err := j.lookupSymbol(f.Symbol)
		if err != nil {
			return err
		}
		shards, inst = []uint16{loc.shard}, loc.local
	} else {
		shards, _, _ = j.allShards()
	}
	from := make([]uint64, len(shards))
	var total uint64
	for i, s := range shards {
		from[i] = 1
		if !f.From.IsZero() {
			// The first command at or after From follows the last before it.
			last, err := j.r.SeqAtTime(s, f.From.UnixNano()-1)
			if err != nil {
				return err
			}
			from[i] = last + 1
		}
		total += j.shards[s].head.Seq + 1 - min(from[i], j.shards[s].head.Seq+1)
	}
	var until int64
	if !f.To.IsZero() {
		until = f.To.UnixNano()
	}
	var fills [2]*engine.Event // the aggressor's and the resting order's fill
	return j.walk(shards, from, until, j.progress(total), func(rec *journal.Record) error {
		evs := rec.Events
		for i := range evs {
			ev := &evs[i]
			switch ev.Kind {
			case engine.EvFill:
				if ev.Aggressor {
					fills[0] = ev
				} else {
					fills[1] = ev
				}
			case engine.EvTrade:
				if bySymbol && ev.Instrument != inst {
					continue
				}
				a, r := fills[0], fills[1]
				if a == nil || r == nil || a.TradeID != ev.TradeID || r.TradeID != ev.TradeID {
					return &journal.SeqError{Shard: rec.Shard, Seq: rec.Command.Seq, Err: journal.ErrCorrupt,
						Detail: fmt.Sprintf("trade %d is not preceded by its two fills", ev.TradeID)}
				}
				t := j.trade(rec.Shard, ev, a, r)
				if err := fn(&t); err != nil {
					return err
				}
				fills = [2]*engine.Event{}
			}
		}
		return nil
	})
}

func (j *Journal) trade(shard uint16, tr, agg, rest *engine.Event) Trade {
	sym, dec := j.symbol(shard, tr.Instrument)
	t := Trade{
		Shard: shard, Seq: tr.Seq, Time: tr.Time, TradeID: tr.TradeID, Symbol: sym, Decimals: dec,
		Price: tr.LastPx, Qty: tr.LastQty, AggressorSide: agg.Side,
		TradeDate: tr.TradeDate, ValueDate: tr.SettlDate,
	}
	side := func(ev *engine.Event) TradeSide {
		return TradeSide{Participant: j.partyName(ev.Party), OrderID: ev.OrderID, ClOrdID: ev.ClOrdID.String(),
			Account: ev.Account.String(), Aggressor: ev.Aggressor}
	}
	if agg.Side == engine.Buy {
		t.Buyer, t.Seller = side(agg), side(rest)
	} else {
		t.Buyer, t.Seller = side(rest), side(agg)
	}
	return t
}
