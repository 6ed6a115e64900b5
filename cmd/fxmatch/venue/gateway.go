package venue

import (
	"errors"

	"fxmatch/engine"
)

// What the HTTP gateway needs of the venue beyond Submit and the hub: how
// far the hub has got (to know when every event of a command has been
// delivered), and the recovered state it cannot learn from events that
// were published before it started (live orders and credit usage after a
// restart).

// ErrRunning: a method that reads the engines directly was called after
// Run started, when only the shard goroutines may touch them.
var ErrRunning = errors.New("venue: the engines are running; this reads them only before Run")

// PublishedSeq is the last command sequence of instrument id's shard whose
// events the hub has delivered to every subscriber's queue: once a
// subscriber has read an event of command Seq and PublishedSeq is at
// least Seq, every event of that command is in its queue or already read.
func (v *Venue) PublishedSeq(id engine.InstrumentID) uint64 {
	if int(id) >= len(v.where) {
		return 0
	}
	return v.shards[v.where[id].shard].published.Load()
}

// LiveOrders calls fn for every live order of participant p as Open
// recovered it, instruments in global numbering. It must be called before
// Run (ErrRunning otherwise): the engines are the shard goroutines' once
// they run.
func (v *Venue) LiveOrders(p engine.PartyID, fn func(engine.OrderView)) error {
	if v.ran.Load() {
		return ErrRunning
	}
	for _, sr := range v.shards {
		for li := range sr.global {
			for _, side := range []engine.Side{engine.Buy, engine.Sell} {
				sr.eng.BookOrders(engine.InstrumentID(li), side, func(o engine.OrderView) bool {
					if o.Party == p {
						o.Instrument = sr.global[li]
						fn(o)
					}
					return true
				})
			}
		}
	}
	return nil
}

// Credit is the credit line between a and b as Open recovered it: the
// limit a grants b in each shard (each shard holds its share of every
// line) and the notional traded between them today over all shards, in
// USD. It must be called before Run (ErrRunning otherwise).
func (v *Venue) Credit(a, b engine.PartyID) (limits []int64, used int64, err error) {
	if v.ran.Load() {
		return nil, 0, ErrRunning
	}
	for _, sr := range v.shards {
		limits = append(limits, sr.eng.CreditLimit(a, b))
		used += sr.eng.CreditUsed(a, b)
	}
	return limits, used, nil
}

// ShardOf is the shard that runs instrument id (global numbering). Events
// not tied to an instrument (a credit change) carry the shard's first
// instrument.
func (v *Venue) ShardOf(id engine.InstrumentID) int {
	if int(id) >= len(v.where) {
		return -1
	}
	return v.where[id].shard
}
