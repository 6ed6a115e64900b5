package bus

import (
	"slices"

	"fxmatch/engine"
	"fxmatch/engine/shard"
)

// l2 is the bus's copy of one instrument's displayed book, kept from the
// durable EvLevel events (not from the shard's snapshots, which may run
// one batch ahead of durability), so what the bus publishes is never
// something a crash could take back. Only the publisher goroutine uses
// it.
type l2 struct {
	bids, asks []engine.Level // best first
	// seeded is the Seq of the snapshot the book started from: level
	// events not after it are already in it.
	seeded uint64
	seq    uint64
	time   int64
	dirty  bool
}

// seed starts the book from a snapshot (nil: empty).
func (l *l2) seed(s *shard.BookSnapshot) {
	l.bids, l.asks = l.bids[:0], l.asks[:0]
	l.seeded, l.seq, l.time = 0, 0, 0
	if s == nil {
		return
	}
	l.bids = append(l.bids, s.Bids...)
	l.asks = append(l.asks, s.Asks...)
	l.seeded, l.seq, l.time = s.Seq, s.Seq, s.Time
}

// apply sets the level of an EvLevel event: its displayed quantity and
// order count, removing the level at quantity 0.
func (l *l2) apply(ev *engine.Event) {
	if ev.Seq <= l.seeded {
		return
	}
	side := &l.bids
	// pos is the first level not better than the price.
	pos := func(lv []engine.Level) int {
		i, _ := slices.BinarySearchFunc(lv, ev.Price, func(x engine.Level, p engine.Price) int {
			switch {
			case x.Price == p:
				return 0
			case (x.Price > p) == (ev.Side == engine.Buy):
				return -1 // x is better: before p
			}
			return 1
		})
		return i
	}
	if ev.Side == engine.Sell {
		side = &l.asks
	}
	lv := *side
	i := pos(lv)
	found := i < len(lv) && lv[i].Price == ev.Price
	switch {
	case ev.Displayed == 0:
		if found {
			lv = slices.Delete(lv, i, i+1)
		}
	case found:
		lv[i].Qty, lv[i].Count = ev.Displayed, int(ev.Count)
	default:
		lv = slices.Insert(lv, i, engine.Level{Price: ev.Price, Qty: ev.Displayed, Count: int(ev.Count)})
	}
	*side = lv
	l.seq, l.time, l.dirty = ev.Seq, ev.Time, true
}
