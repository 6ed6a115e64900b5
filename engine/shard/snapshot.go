package shard

import (
	"fxmatch/engine"
)

// BookSnapshot is an immutable picture of one instrument's book, as it
// stood after the command Seq was applied. The shard builds a new one
// after every batch that changed the book (a level moved or a trade
// printed) and publishes it with an atomic pointer store, so readers (the
// HTTP API, market data, the storefront) get a consistent book without
// taking any lock the matcher would wait on. A book that a batch did not
// touch keeps its older snapshot: it is still exact, it was simply taken
// at an earlier Seq. Nothing in a snapshot is ever modified after it is
// published; readers must not modify it either.
type BookSnapshot struct {
	Instrument engine.InstrumentID
	// Seq and Time are those of the last command applied when the snapshot
	// was taken (AppliedSeq and 0 for the snapshot taken at New).
	Seq  uint64
	Time int64
	// Bids and Asks are the displayed L2, best level first (bids by
	// descending price, asks by ascending price), every level.
	Bids []engine.Level
	Asks []engine.Level
	// RefPrice is the band's reference: the last trade, or the configured
	// reference before any.
	RefPrice engine.Price
	// LastTrade is the last print this shard has seen for the instrument
	// since it started (TradeID 0: none yet).
	LastTrade Trade
}

// Trade is a public print.
type Trade struct {
	TradeID   uint64
	Seq       uint64 // the command that made it
	Time      int64
	Price     engine.Price
	Qty       engine.Qty
	Aggressor engine.Side // the side of the incoming order
}

// BestBid is the best bid level, false if there are no bids.
func (b *BookSnapshot) BestBid() (engine.Level, bool) {
	if len(b.Bids) == 0 {
		return engine.Level{}, false
	}
	return b.Bids[0], true
}

// BestAsk is the best ask level, false if there are no asks.
func (b *BookSnapshot) BestAsk() (engine.Level, bool) {
	if len(b.Asks) == 0 {
		return engine.Level{}, false
	}
	return b.Asks[0], true
}

// DepthAt is the displayed quantity at price p on side s (0 if no level),
// found by binary search.
func (b *BookSnapshot) DepthAt(s engine.Side, p engine.Price) engine.Qty {
	// Both sides are sorted best first; flipping the sign of bid prices
	// makes both ascending in "key".
	lv, sign := b.Asks, int64(1)
	if s == engine.Buy {
		lv, sign = b.Bids, -1
	}
	k := sign * int64(p)
	lo, hi := 0, len(lv)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sign*int64(lv[m].Price) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(lv) && lv[lo].Price == p {
		return lv[lo].Qty
	}
	return 0
}
