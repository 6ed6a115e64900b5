package service

import (
	"errors"
	"fmt"
	"time"

	"fxmatch/assistant/fraud"
	"fxmatch/assistant/quotes"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/journal"
)

// RebuildOptions bounds the replay of Rebuild.
type RebuildOptions struct {
	// Since is the oldest record replayed (zero: 30 days before Now). The
	// profiles' longest memory is the size histogram's 30-day half-life.
	Since time.Time
	// Now is the assistant's present (zero: the wall clock).
	Now time.Time
	// MaxRecords bounds the records replayed per shard, the most recent
	// kept (zero: 5,000,000, about 5 s of replay).
	MaxRecords uint64
}

// RebuildStats says what Rebuild replayed.
type RebuildStats struct {
	Records  uint64 // journal records read, all shards
	Orders   uint64 // orders and replaces folded into the profiles
	Fills    uint64
	Cancels  uint64
	Accounts int // profiles held afterwards
	From     time.Time
	Took     time.Duration
}

// Rebuild folds the recent past of the journal into the fraud profiles
// and the brokers' inventories, so that a restarted assistant scores an
// order as the one before the restart would have: the venue's orders,
// replaces, fills and cancels since opts.Since, shards merged in time
// order. Call it before Start, and before the venue takes orders.
//
// The journal does not record where an order came from, so replayed
// orders carry no source; the scorer adopts the first source each account
// is seen with afterwards (see fraud's blind history). Orders refused by
// pre-trade scoring before the restart never reached the journal and are
// not replayed.
func (s *Service) Rebuild(cfg *config.Config, r *journal.Reader, opts RebuildOptions) (RebuildStats, error) {
	t0 := time.Now()
	if opts.Now.IsZero() {
		opts.Now = s.opts.Clock()
	}
	if opts.Since.IsZero() {
		opts.Since = opts.Now.Add(-30 * 24 * time.Hour)
	}
	if opts.MaxRecords == 0 {
		opts.MaxRecords = 5_000_000
	}
	st := RebuildStats{From: opts.Since}
	rp := replayer{s: s, cfg: cfg, mid: map[string]float64{}}
	var its []*shardIter
	defer func() {
		for _, it := range its {
			it.it.Close()
		}
	}()
	for si := range cfg.Shards {
		shard := uint16(si)
		head, err := r.Head(shard)
		if err != nil {
			return st, err
		}
		if head.Seq == 0 {
			continue
		}
		from, err := seqAtTime(r, shard, head.Seq, opts.Since.UnixNano())
		if err != nil {
			return st, err
		}
		if head.Seq >= opts.MaxRecords && from < head.Seq-opts.MaxRecords+1 {
			from = head.Seq - opts.MaxRecords + 1
		}
		it := &shardIter{si: si, it: r.Records(shard, from)}
		its = append(its, it)
		if err := it.advance(); err != nil {
			return st, err
		}
	}
	// Merge the shards by command time: one profile may trade pairs of
	// several shards, and the scorer wants its events in time order.
	for {
		var next *shardIter
		for _, it := range its {
			if it.ok && (next == nil || it.rec.Command.Time < next.rec.Command.Time) {
				next = it
			}
		}
		if next == nil {
			break
		}
		st.Records++
		rp.record(next.si, next.rec, &st)
		if err := next.advance(); err != nil {
			return st, err
		}
	}
	st.Accounts = s.Accounts()
	st.Took = time.Since(t0)
	return st, nil
}

type shardIter struct {
	si  int
	it  *journal.Iter
	rec *journal.Record
	ok  bool
}

func (x *shardIter) advance() error {
	x.ok = x.it.Next()
	if x.ok {
		x.rec = x.it.Record()
		return nil
	}
	return x.it.Err()
}

// seqAtTime is the first sequence of the shard at or after t (Unix
// nanoseconds), by binary search over the records' times (which the
// sequencer makes non-decreasing): head+1 if all are older.
func seqAtTime(r *journal.Reader, shard uint16, head uint64, t int64) (uint64, error) {
	lo, hi := uint64(1), head+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		it := r.Records(shard, mid)
		ok := it.Next()
		var ts int64
		if ok {
			ts = it.Record().Command.Time
		}
		err := it.Err()
		it.Close()
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("assistant: journal shard %d has no record %d below its head %d", shard, mid, head)
		}
		if ts < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// replayer turns journal records into the scorer's and the recommender's
// events.
type replayer struct {
	s   *Service
	cfg *config.Config
	mid map[string]float64 // last trade per symbol: the replay's mid
}

func (rp *replayer) party(p engine.PartyID) string {
	if p == engine.NoParty || int(p) > len(rp.cfg.Participants) {
		return ""
	}
	return rp.cfg.Participants[p-1].ID
}

func (rp *replayer) symbol(si int, id engine.InstrumentID) string {
	ins := rp.cfg.Shards[si].Instruments
	if int(id) >= len(ins) {
		return ""
	}
	return ins[id]
}

var errSkip = errors.New("skip")

func (rp *replayer) record(si int, rec *journal.Record, st *RebuildStats) {
	c := &rec.Command
	ts := c.Time / 1000
	switch c.Kind {
	case engine.CmdNewOrder:
		if ev, err := rp.order(si, c.Party, c.Account, c.ClOrdID, c.Instrument, c.Side, c.OrdType, c.TIF, c.Qty, c.Price, ts); err == nil {
			rp.s.feed(&ev)
			st.Orders++
		}
	case engine.CmdReplace:
		for i := range rec.Events {
			e := &rec.Events[i]
			if e.Kind != engine.EvReplaced {
				continue
			}
			ev, err := rp.order(si, e.Party, e.Account, e.ClOrdID, e.Instrument, e.Side, e.OrdType, e.TIF, e.OrderQty, e.Price, ts)
			if err != nil {
				continue
			}
			party := rp.party(e.Party)
			rp.s.feed(&fraud.Event{TS: ts, Kind: fraud.KindCancel, Participant: party, Account: ev.Account, OrderID: e.OrigClOrdID.String()})
			rp.s.feed(&ev)
			st.Orders++
		}
	}
	for i := range rec.Events {
		e := &rec.Events[i]
		switch e.Kind {
		case engine.EvTrade:
			if sym := rp.symbol(si, e.Instrument); sym != "" {
				rp.mid[sym] = float64(e.LastPx) / engine.PriceScale
			}
		case engine.EvFill:
			party := rp.party(e.Party)
			if party == "" {
				continue
			}
			ev := fraud.Event{TS: ts, Kind: fraud.KindFill, Participant: party, Account: accountKey(party, e.Account.String()),
				OrderID: e.ClOrdID.String(), Qty: float64(e.LastQty), Price: float64(e.LastPx) / engine.PriceScale}
			if cp := rp.party(e.Counterparty); cp != "" {
				ev.Counterparty = accountKey(cp, "")
			}
			rp.s.feed(&ev)
			st.Fills++
			if rp.s.isBroker(party) {
				rp.s.quoteMu.Lock()
				rp.s.rec.OnFill(quotes.Fill{Broker: party, Symbol: rp.symbol(si, e.Instrument), Time: c.Time,
					Side: e.Side, Price: e.LastPx, Qty: e.LastQty})
				rp.s.quoteMu.Unlock()
			}
		case engine.EvCancelled, engine.EvExpired:
			party := rp.party(e.Party)
			if party == "" {
				continue
			}
			rp.s.feed(&fraud.Event{TS: ts, Kind: fraud.KindCancel, Participant: party,
				Account: accountKey(party, e.Account.String()), OrderID: e.ClOrdID.String()})
			st.Cancels++
		}
	}
}

func (rp *replayer) order(si int, p engine.PartyID, acct engine.ID, id engine.ID, inst engine.InstrumentID,
	side engine.Side, ot engine.OrdType, tif engine.TIF, qty engine.Qty, px engine.Price, ts int64) (fraud.Event, error) {
	party, sym := rp.party(p), rp.symbol(si, inst)
	if party == "" || sym == "" || qty <= 0 || (side != engine.Buy && side != engine.Sell) {
		return fraud.Event{}, errSkip
	}
	ev := fraud.Event{
		TS: ts, Kind: fraud.KindOrder, Participant: party, Account: accountKey(party, acct.String()),
		OrderID: id.String(), Symbol: sym, Side: fraud.SideBuy, Qty: float64(qty),
		Price: float64(px) / engine.PriceScale, OrdType: fraud.OrdLimit, Mid: rp.mid[sym],
	}
	if side == engine.Sell {
		ev.Side = fraud.SideSell
	}
	if ot == engine.Market {
		ev.OrdType = fraud.OrdMarket
	}
	switch tif {
	case engine.Day:
		ev.TIF = fraud.TIFDay
	case engine.GTC:
		ev.TIF = fraud.TIFGTC
	case engine.IOC:
		ev.TIF = fraud.TIFIOC
	case engine.FOK:
		ev.TIF = fraud.TIFFOK
	case engine.GTD:
		ev.TIF = fraud.TIFGTD
	}
	return ev, nil
}
