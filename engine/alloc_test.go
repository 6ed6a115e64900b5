package engine_test

// Zero allocations on the matching path (STYLE.md habit 4): once the
// engine's buffers have grown to their working size, Apply allocates
// nothing for the common commands. Each case warms an engine up with the
// same kind of work, then measures with testing.AllocsPerRun; every
// measured run is one Apply of a fresh, valid command (prepared before
// the measurement, since building a ClOrdID is not the engine's cost).

import (
	"fmt"
	"testing"

	"fxmatch/engine"
)

const allocRuns = 2000

// allocEngine is an engine sized like production: the ClOrdID index and
// the order slab are large enough for the test's day.
func allocEngine(tb testing.TB) (*engine.Engine, engine.InstrumentID) {
	cfg := scriptConfig()
	cfg.MaxLiveOrders = 1 << 20
	cfg.ExpectedOrdersPerDay = 1 << 18
	e, err := engine.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	id, _ := e.InstrumentBySymbol("USD/CNY")
	return e, id
}

// allocRun feeds prepared commands to an engine, one per call.
type allocRun struct {
	e    *engine.Engine
	out  []engine.Event
	seq  uint64
	now  int64
	cmds []engine.Command
	i    int
}

func newAllocRun(e *engine.Engine) *allocRun {
	return &allocRun{e: e, out: make([]engine.Event, 0, 1024), now: 1_795_600_800_000_000_000}
}

func (a *allocRun) apply(c engine.Command) []engine.Event {
	a.seq++
	a.now += 1000
	c.Seq, c.Time = a.seq, a.now
	a.out = a.e.Apply(&c, a.out[:0])
	return a.out
}

// next applies the next prepared command.
func (a *allocRun) next() {
	a.apply(a.cmds[a.i])
	a.i++
}

func clID(prefix string, i int) engine.ID { return engine.MustID(fmt.Sprintf("%s%d", prefix, i)) }

func limitOrder(p engine.PartyID, id engine.InstrumentID, cl engine.ID, side engine.Side, qty engine.Qty, px engine.Price) engine.Command {
	return engine.Command{Kind: engine.CmdNewOrder, Party: p, Instrument: id, Side: side,
		OrdType: engine.Limit, TIF: engine.GTC, Price: px, Qty: qty, ClOrdID: cl}
}

const (
	allocA = engine.PartyID(1) // BANKA
	allocB = engine.PartyID(2) // BANKB
)

// bidPx spreads resting bids over 16 levels below 7.1000.
func bidPx(i int) engine.Price { return engine.Price(710_000_000 - 10_000*(i%16)) }

func checkAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(allocRuns, f); n != 0 {
		t.Errorf("%s: %v allocations per Apply, want 0", what, n)
	}
}

// warm grows the slab, the free list, the levels and the event buffer:
// n resting bids, then all cancelled.
func warm(a *allocRun, id engine.InstrumentID, n int) {
	for i := 0; i < n; i++ {
		a.apply(limitOrder(allocA, id, clID("w", i), engine.Buy, 1_000_000, bidPx(i)))
	}
	for i := 0; i < n; i++ {
		a.apply(engine.Command{Kind: engine.CmdCancel, Party: allocA, Instrument: id, Side: engine.Buy,
			OrigClOrdID: clID("w", i), ClOrdID: clID("wx", i)})
	}
}

func TestAllocsAddRestingLimit(t *testing.T) {
	e, id := allocEngine(t)
	a := newAllocRun(e)
	warm(a, id, 2*allocRuns)
	for i := 0; i <= allocRuns; i++ {
		a.cmds = append(a.cmds, limitOrder(allocA, id, clID("n", i), engine.Buy, 1_000_000, bidPx(i)))
	}
	checkAllocs(t, "add a resting limit order", a.next)
	if e.LiveOrders() != allocRuns+1 {
		t.Fatalf("%d live orders, want %d", e.LiveOrders(), allocRuns+1)
	}
}

// restN rests n bids of BANKA (ClOrdIDs r0…) after warming up.
func restN(t *testing.T, n int) (*allocRun, engine.InstrumentID) {
	e, id := allocEngine(t)
	a := newAllocRun(e)
	warm(a, id, 2*n)
	for i := 0; i < n; i++ {
		a.apply(limitOrder(allocA, id, clID("r", i), engine.Buy, 5_000_000, bidPx(i)))
	}
	return a, id
}

func TestAllocsCancel(t *testing.T) {
	a, id := restN(t, allocRuns+1)
	for i := 0; i <= allocRuns; i++ {
		a.cmds = append(a.cmds, engine.Command{Kind: engine.CmdCancel, Party: allocA, Instrument: id,
			Side: engine.Buy, OrigClOrdID: clID("r", i), ClOrdID: clID("c", i)})
	}
	checkAllocs(t, "cancel", a.next)
	if a.e.LiveOrders() != 0 {
		t.Fatalf("%d live orders left", a.e.LiveOrders())
	}
}

func replaceCmd(id engine.InstrumentID, orig, cl engine.ID, qty engine.Qty, px engine.Price) engine.Command {
	return engine.Command{Kind: engine.CmdReplace, Party: allocA, Instrument: id, Side: engine.Buy,
		OrdType: engine.Limit, OrigClOrdID: orig, ClOrdID: cl, Qty: qty, Price: px}
}

func TestAllocsReplaceKeepsPriority(t *testing.T) {
	a, id := restN(t, allocRuns+1)
	for i := 0; i <= allocRuns; i++ {
		a.cmds = append(a.cmds, replaceCmd(id, clID("r", i), clID("k", i), 3_000_000, bidPx(i)))
	}
	checkAllocs(t, "replace lowering the quantity", a.next)
}

func TestAllocsReplaceLosesPriority(t *testing.T) {
	a, id := restN(t, allocRuns+1)
	for i := 0; i <= allocRuns; i++ {
		if i%2 == 0 {
			a.cmds = append(a.cmds, replaceCmd(id, clID("r", i), clID("p", i), 5_000_000, bidPx(i+1))) // new price
		} else {
			a.cmds = append(a.cmds, replaceCmd(id, clID("r", i), clID("p", i), 7_000_000, bidPx(i))) // more quantity
		}
	}
	checkAllocs(t, "replace changing the price or raising the quantity", a.next)
}

func TestAllocsMatch(t *testing.T) {
	e, id := allocEngine(t)
	a := newAllocRun(e)
	warm(a, id, 4*allocRuns)
	// Resting sells of BANKB at 7.1000 and 7.1001, every third an iceberg.
	n := 3 * (allocRuns + 1)
	for i := 0; i < n; i++ {
		c := limitOrder(allocB, id, clID("s", i), engine.Sell, 1_000_000, engine.Price(710_000_000+10_000*(i%2)))
		if i%3 == 0 {
			c.MaxFloor = 400_000
		}
		a.apply(c)
	}
	// Each aggressor buys 1.5m: it meets two or three resting orders,
	// fills one completely and refreshes icebergs on the way.
	for i := 0; i <= allocRuns; i++ {
		c := limitOrder(allocA, id, clID("b", i), engine.Buy, 1_500_000, 710_010_000)
		c.TIF = engine.IOC
		a.cmds = append(a.cmds, c)
	}
	checkAllocs(t, "an aggressor filling against resting orders", func() {
		a.next()
		if len(a.out) < 5 {
			t.Fatalf("no match: %d events", len(a.out))
		}
	})
}

// The rarer paths: GTD expiry, mass cancel and uncrossing after a credit
// change. They run on the same thread as matching, so they should not
// allocate either.
func TestAllocsOtherPaths(t *testing.T) {
	t.Run("gtd-expiry", func(t *testing.T) {
		a, id := restN(t, 0)
		warm(a, id, 2*allocRuns)
		for i := 0; i <= 2*allocRuns; i++ {
			c := limitOrder(allocA, id, clID("g", i), engine.Buy, 1_000_000, bidPx(i))
			c.TIF, c.ExpireTime = engine.GTD, a.now+int64(2000*(i+1))
			a.apply(c)
		}
		for i := 0; i <= allocRuns; i++ {
			a.cmds = append(a.cmds, engine.Command{Kind: engine.CmdTick})
		}
		checkAllocs(t, "tick expiring GTD orders", a.next)
	})
	t.Run("mass-cancel", func(t *testing.T) {
		a, id := restN(t, 0)
		k := 0
		var ids []engine.ID
		for i := 0; i <= allocRuns; i++ {
			ids = append(ids, clID("m", i))
		}
		checkAllocs(t, "add one order, then mass cancel", func() {
			a.apply(limitOrder(allocA, id, ids[k], engine.Buy, 1_000_000, bidPx(k)))
			a.apply(engine.Command{Kind: engine.CmdMassCancel, Party: allocA, Scope: engine.MassAll})
			k++
		})
	})
	t.Run("uncross-after-credit", func(t *testing.T) {
		e, id := allocEngine(t)
		a := newAllocRun(e)
		warm(a, id, 4*allocRuns)
		// BANKA and BANKC have no credit: their orders rest crossed. Each
		// run raises the line by one lot's worth, and one pair trades.
		c3 := engine.PartyID(3)
		for i := 0; i <= 120; i++ {
			a.apply(limitOrder(c3, id, clID("cs", i), engine.Sell, 100_000, 710_000_000))
			a.apply(limitOrder(allocA, id, clID("ab", i), engine.Buy, 100_000, 710_000_000))
		}
		a.apply(engine.Command{Kind: engine.CmdSetCredit, Party: allocA, Counterparty: c3, CreditLimit: 1 << 40})
		k := int64(0)
		if n := testing.AllocsPerRun(100, func() {
			k++
			a.apply(engine.Command{Kind: engine.CmdSetCredit, Party: c3, Counterparty: allocA, CreditLimit: 100_000 * k})
			if len(a.out) != 6 {
				t.Fatalf("uncross: %d events, want creditset, 2 fills, trade and 2 levels", len(a.out))
			}
		}); n != 0 {
			t.Errorf("uncrossing after a credit raise: %v allocations per Apply, want 0", n)
		}
	})
}
