package engine

// The book of one instrument: two sides, each a slice of price levels
// sorted so that the best level is the last element. New orders arrive near
// the top of the book in FX, so inserting a level near the end of the slice
// moves little memory, and taking the best level is O(1). Levels hold a
// FIFO of orders as an intrusive doubly linked list of slot indices into the
// engine's order slab, so the book holds no pointers and the garbage
// collector never scans it.
//
// A level's sort key is the price for bids and the negated price for asks:
// on both sides "a larger key is better", so one binary search serves both.

const nilSlot int32 = -1

type level struct {
	key     int64 // price for bids, -price for asks
	price   Price
	head    int32
	tail    int32
	display Qty   // sum of the displayed quantity of its orders
	count   int32 // orders at the level
}

type bookSide struct {
	side   Side
	levels []level // worst first, best last
}

func (s *bookSide) key(p Price) int64 {
	if s.side == Buy {
		return int64(p)
	}
	return -int64(p)
}

// search returns the index of the level with price p, or where it would be
// inserted, and whether it exists.
func (s *bookSide) search(p Price) (int, bool) {
	k := s.key(p)
	lo, hi := 0, len(s.levels)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.levels[m].key < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.levels) && s.levels[lo].key == k
}

// levelAt returns the level at price p, creating it if needed.
func (s *bookSide) levelAt(p Price) *level {
	i, ok := s.search(p)
	if !ok {
		s.levels = append(s.levels, level{})
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = level{key: s.key(p), price: p, head: nilSlot, tail: nilSlot}
	}
	return &s.levels[i]
}

// remove deletes the (empty) level at index i.
func (s *bookSide) remove(i int) {
	if s.levels[i].count != 0 {
		panic("engine: removing a level that still holds orders")
	}
	copy(s.levels[i:], s.levels[i+1:])
	s.levels = s.levels[:len(s.levels)-1]
}

// crosses reports whether an incoming order with limit price lim on the
// other side may trade at price p of this side.
func (s *bookSide) crosses(lim, p Price) bool {
	if s.side == Sell { // incoming buy
		return p <= lim
	}
	return p >= lim
}

type book struct {
	id     InstrumentID
	inst   Instrument
	bids   bookSide
	asks   bookSide
	ref    Price // reference price: moves to the last trade
	spot   Date  // SPOT value date for the current trade date
	usdVia int   // -1, or index of the book whose reference price converts base to USD
	usdInv bool  // usdVia quotes USD/BASE: invert it
}

func (b *book) side(s Side) *bookSide {
	if s == Buy {
		return &b.bids
	}
	return &b.asks
}

// bandLimits returns the lowest and highest price allowed now.
func (b *book) bandLimits() (lo, hi Price) { return b.inst.Band(b.ref) }

// Band returns the lowest and highest limit prices the instrument accepts
// around the reference price ref: ±BandBP, rounded inwards to the tick.
// The edges use it to say a band reject in numbers.
func (in *Instrument) Band(ref Price) (lo, hi Price) {
	tick := in.Tick
	hi = Price(int64(ref) * (10000 + in.BandBP) / 10000)
	hi -= hi % tick
	num := int64(ref) * (10000 - in.BandBP)
	lo = Price(num / 10000)
	if num%10000 != 0 {
		lo++
	}
	if r := lo % tick; r != 0 {
		lo += tick - r
	}
	return lo, hi
}
