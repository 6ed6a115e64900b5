package audit

import (
	"fmt"
	"time"

	"fxmatch/engine"
)

// Book is one pair's book at a moment: after command Seq of its shard.
type Book struct {
	Symbol string
	Shard  uint16
	// Seq is the last command applied (0: before the shard's first), and
	// Time its time (Unix nanoseconds; 0 when Seq is 0).
	Seq  uint64
	Time int64
	// At is the moment asked for by BookAtTime (Unix nanoseconds), 0 for
	// BookAtSeq.
	At int64
	// TradeDate is the engine's trading day after Seq.
	TradeDate engine.Date
	// Decimals is the pair's tick decimals, for formatting prices.
	Decimals int
	// FromSnapshot is the sequence of the snapshot the replay started
	// from, 0 when it started at genesis.
	FromSnapshot uint64
	// L2: aggregated displayed quantity per price, best first.
	Bids, Asks []engine.Level
	// L3: every resting order, best price first and in time priority
	// within a price.
	BidOrders, AskOrders []BookOrder
}

// BookOrder is one resting order of an L3 book.
type BookOrder struct {
	// Rank is the order's place on its side (1 = first to trade).
	Rank        int
	Participant string
	engine.OrderView
}

// BookAtSeq is the book of symbol after command seq of the pair's shard
// (0: the empty book the shard started with).
func (j *Journal) BookAtSeq(symbol string, seq uint64) (*Book, error) {
	loc, err := j.lookupSymbol(symbol)
	if err != nil {
		return nil, err
	}
	return j.book(loc, seq, true)
}

// BookAtTime is the book of symbol at moment t: after the last command
// of the pair's shard whose time is at or before t.
func (j *Journal) BookAtTime(symbol string, t time.Time) (*Book, error) {
	loc, err := j.lookupSymbol(symbol)
	if err != nil {
		return nil, err
	}
	seq, err := j.r.SeqAtTime(loc.shard, t.UnixNano())
	if err != nil {
		return nil, err
	}
	b, err := j.book(loc, seq, true)
	if err != nil {
		return nil, err
	}
	b.At = t.UnixNano()
	return b, nil
}

func (j *Journal) book(loc instLoc, seq uint64, snapshots bool) (*Book, error) {
	rp, from, err := j.engineAt(loc.shard, seq, snapshots)
	if err != nil {
		return nil, err
	}
	eng := rp.eng
	sym, dec := j.symbol(loc.shard, loc.local)
	b := &Book{
		Symbol: sym, Shard: loc.shard, Seq: seq, Time: rp.lastTime, TradeDate: eng.TradeDate(),
		Decimals: dec, FromSnapshot: from,
		Bids: eng.Levels(loc.local, engine.Buy, 0, nil),
		Asks: eng.Levels(loc.local, engine.Sell, 0, nil),
	}
	for _, side := range [2]engine.Side{engine.Buy, engine.Sell} {
		var list []BookOrder
		eng.BookOrders(loc.local, side, func(o engine.OrderView) bool {
			list = append(list, BookOrder{Rank: len(list) + 1, Participant: j.partyName(o.Party), OrderView: o})
			return true
		})
		if side == engine.Buy {
			b.BidOrders = list
		} else {
			b.AskOrders = list
		}
	}
	return b, nil
}

// engineAt rebuilds shard's engine as it was after command seq: from the
// newest snapshot before seq (its bytes checked against its state hash),
// or from genesis when there is none or snapshots is false, replaying the
// records up to seq and comparing each with the journaled events. The
// snapshot is taken strictly before seq so that at least command seq is
// replayed and its time known. It returns the snapshot sequence it
// started from (0: genesis).
func (j *Journal) engineAt(shard uint16, seq uint64, snapshots bool) (*replayer, uint64, error) {
	sh := &j.shards[shard]
	if seq > sh.head.Seq {
		return nil, 0, fmt.Errorf("%w: shard %d has records up to seq %d, not %d", ErrBeyondHead, shard, sh.head.Seq, seq)
	}
	if seq == 0 {
		eng, err := engine.New(sh.cfg)
		if err != nil {
			return nil, 0, fmt.Errorf("audit: shard %d: %w", shard, err)
		}
		return &replayer{shard: shard, eng: eng}, 0, nil
	}
	return rebuild(j.r, shard, sh.cfg, seq, snapshots, j.progress(seq))
}
