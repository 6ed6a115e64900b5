package journal

import (
	"strconv"

	"fxmatch/engine"
)

// synth makes realistic records for benchmarks and tests without running
// the engine: the shapes the engine produces (an accepted resting order
// with its level update; an aggressive order with two fills, the print and
// two level updates; a cancel with its level update), with the field
// values a live venue has (USD/CNY-like prices, million-unit quantities,
// 20-byte ClOrdIDs). The mix averages three events per command.
type synth struct {
	seq    uint64
	time   int64
	execID uint64
	oid    uint64
	trade  uint64
	n      int
	ids    [4]engine.ID
	acct   [4]engine.ID
}

func newSynth(shard uint16, firstSeq uint64) *synth {
	s := &synth{seq: firstSeq, time: 1_767_225_600_000_000_000, oid: uint64(shard) << 48, execID: 1, trade: 1}
	for i := range s.acct {
		s.acct[i] = engine.MustID("BANK" + strconv.Itoa(i+1) + "-SPOT-DESK")
	}
	return s
}

func (s *synth) clOrdID() engine.ID {
	// 20 bytes, distinct per order, built without allocating.
	var b [20]byte
	copy(b[:], "FXM-20260101-")
	v := s.seq
	for k := 19; k >= 13; k-- {
		b[k] = byte('0' + v%10)
		v /= 10
	}
	id, _ := engine.MakeID(string(b[:]))
	return id
}

// batch fills cmds/events/ends with n commands continuing the sequence.
func (s *synth) batch(n int, cmds []engine.Command, events []engine.Event, ends []int) ([]engine.Command, []engine.Event, []int) {
	cmds, events, ends = cmds[:0], events[:0], ends[:0]
	for range n {
		var c engine.Command
		events, c = s.record(events)
		cmds = append(cmds, c)
		ends = append(ends, len(events))
	}
	return cmds, events, ends
}

func (s *synth) record(events []engine.Event) ([]engine.Event, engine.Command) {
	s.time += 1500 // ~650k commands a second of sequencer time
	party := engine.PartyID(1 + s.n%7)
	c := engine.Command{
		Seq: s.seq, Time: s.time, Kind: engine.CmdNewOrder, Party: party, Instrument: engine.InstrumentID(s.n % 5),
		Side: engine.Side(1 + s.n%2), OrdType: engine.Limit, TIF: engine.GTC,
		Price: engine.Price(710_200_000 + int64(s.n%40)*10_000), Qty: engine.Qty(1_000_000 * (1 + s.n%5)),
		ClOrdID: s.clOrdID(), Account: s.acct[s.n%4],
	}
	ev := engine.Event{
		Seq: c.Seq, Time: c.Time, Party: c.Party, Instrument: c.Instrument, Side: c.Side,
		OrdType: c.OrdType, TIF: c.TIF, Price: c.Price, OrderQty: c.Qty, LeavesQty: c.Qty,
		ClOrdID: c.ClOrdID, Account: c.Account, TradeDate: 20260101, SettlDate: 20260105,
	}
	next := func(k engine.EventKind) *engine.Event {
		e := ev
		e.Kind, e.ExecID = k, s.execID
		s.execID++
		events = append(events, e)
		return &events[len(events)-1]
	}
	level := func(qty engine.Qty) {
		e := next(engine.EvLevel)
		e.Party, e.OrderID, e.ClOrdID, e.Account, e.TIF, e.OrdType = 0, 0, engine.ID{}, engine.ID{}, 0, 0
		e.OrderQty, e.LeavesQty, e.Count, e.Action = qty, 0, 3, engine.LevelChange
	}
	switch s.n % 4 {
	case 0, 1: // rests: accepted, level
		s.oid++
		e := next(engine.EvAccepted)
		e.OrderID = engine.OrderID(s.oid)
		level(c.Qty * 3)
	case 2: // trades: accepted, fill, fill, trade, level, level
		s.oid++
		e := next(engine.EvAccepted)
		e.OrderID = engine.OrderID(s.oid)
		for k := range 2 {
			f := next(engine.EvFill)
			f.OrderID = engine.OrderID(s.oid - uint64(k)*17)
			f.LastQty, f.LastPx, f.CumQty, f.LeavesQty, f.AvgPx = c.Qty, c.Price, c.Qty, 0, c.Price
			f.Counterparty, f.TradeID, f.Aggressor = party%7+1, s.trade, k == 0
		}
		t := next(engine.EvTrade)
		t.Party, t.ClOrdID, t.Account = 0, engine.ID{}, engine.ID{}
		t.LastQty, t.LastPx, t.TradeID = c.Qty, c.Price, s.trade
		s.trade++
		level(0)
		level(c.Qty * 2)
	case 3: // cancel: cancelled, level
		c.Kind, c.OrigClOrdID = engine.CmdCancel, c.ClOrdID
		e := next(engine.EvCancelled)
		e.OrderID, e.LeavesQty, e.OrigClOrdID = engine.OrderID(s.oid-5), 0, c.ClOrdID
		level(c.Qty)
	}
	s.n++
	s.seq++
	return events, c
}
