package engine_test

// TestRandomAgainstReference drives the engine and the reference matcher
// (refmatch_test.go) with the same seeded random commands and demands
// identical events after every command, identical books (L3), reference
// prices and credit usage, and the invariants of invariants_test.go. Every
// 97th command the engine is replaced by one restored from its snapshot.
// At the end the commands are replayed into a fresh engine, which must
// produce identical events (determinism, and recovery equivalence).
//
//	go test ./engine -run RandomAgainstReference             # default
//	go test ./engine -run RandomAgainstReference -long       # 10M commands
//	go test ./engine -run RandomAgainstReference -seed 42 -cmds 5000
//
// A failure prints the seed, the command's index, the command and a diff
// of the events; -seed/-cmds reproduce it.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"fxmatch/engine"
)

var (
	long     = flag.Bool("long", os.Getenv("FXMATCH_LONG") != "", "run the randomized tests much longer (also FXMATCH_LONG=1)")
	seedFlag = flag.Uint64("seed", 0, "run TestRandomAgainstReference for this one seed")
	cmdsFlag = flag.Int("cmds", 0, "commands per seed for TestRandomAgainstReference")
)

// ---- random source ----

// source is where the generator's choices come from: a seeded PRNG for the
// randomized test, the fuzzer's bytes for FuzzCommands.
type source interface {
	intn(n int) int // in [0, n)
	done() bool     // no more input (bytes exhausted)
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }
func (s randSource) done() bool     { return false }

// byteSource reads choices from bytes; once they run out every choice is 0.
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	var v int
	if n <= 256 {
		if s.i < len(s.b) {
			v = int(s.b[s.i])
		}
		s.i++
	} else {
		for j := 0; j < 2; j++ {
			v <<= 8
			if s.i < len(s.b) {
				v |= int(s.b[s.i])
			}
			s.i++
		}
	}
	return v % n
}

func (s *byteSource) done() bool { return s.i >= len(s.b) }

// ---- configuration ----

var randParties = []string{"", "P1", "P2", "P3", "P4", "P5", "RO"}

// randomConfig is a small venue where things collide: five trading
// participants (every self-match mode), one read-only, small credit lines
// so screening bites, six instruments (USD-based, USD-termed, crosses
// through a BASE/USD book, through a USD/BASE book and through a fixed
// rate), bands a few dozen ticks wide and a small MaxLiveOrders.
func randomConfig(src source) engine.Config {
	ps := []engine.Participant{{}}
	modes := []engine.SMPMode{engine.SMPCancelResting, engine.SMPCancelIncoming, engine.SMPCancelBoth, engine.SMPOff, engine.SMPMode(src.intn(4))}
	for i, j := range []int{src.intn(5), src.intn(5)} { // shuffle a little
		modes[i], modes[j] = modes[j], modes[i]
	}
	for i, n := range randParties[1:] {
		p := engine.Participant{Name: n, CanTrade: n != "RO"}
		if i < len(modes) {
			p.SMP = modes[i]
		}
		ps = append(ps, p)
	}
	minQ := engine.Qty(100_000 * (1 + src.intn(2)))
	ins := []engine.Instrument{
		{Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: 10_000, Lot: 100_000, MinQty: minQ, MaxQty: 3_000_000, RefPrice: 710_000_000, BandBP: 5 + int64(src.intn(20))},
		{Symbol: "EUR/USD", Base: "EUR", Term: "USD", Tick: 1_000, Lot: 100_000, MinQty: 100_000, MaxQty: 3_000_000, RefPrice: 108_000_000, BandBP: 5},
		{Symbol: "EUR/CNY", Base: "EUR", Term: "CNY", Tick: 10_000, Lot: 100_000, MinQty: 100_000, MaxQty: 3_000_000, RefPrice: 767_000_000, BandBP: 5},
		{Symbol: "USD/JPY", Base: "USD", Term: "JPY", Tick: 1_000_000, Lot: 100_000, MinQty: 100_000, MaxQty: 3_000_000, RefPrice: 15_000_000_000, BandBP: 5},
		{Symbol: "JPY/CNY", Base: "JPY", Term: "CNY", Tick: 1_000, Lot: 10_000_000, MinQty: 10_000_000, MaxQty: 500_000_000, RefPrice: 4_733_000, BandBP: 20},
		{Symbol: "GBP/CNY", Base: "GBP", Term: "CNY", Tick: 10_000, Lot: 100_000, MinQty: 100_000, MaxQty: 3_000_000, RefPrice: 900_000_000, BandBP: 5, USDRate: 127_000_000},
	}
	var lines []engine.CreditLine
	for a := 1; a < len(ps); a++ {
		for b := a + 1; b < len(ps); b++ {
			var l int64
			switch src.intn(10) {
			case 0:
				l = 0
			case 1, 2, 3:
				l = 1_000_000_000_000
			default:
				l = int64(200_000 * (1 + src.intn(15)))
			}
			lines = append(lines, engine.CreditLine{A: engine.PartyID(a), B: engine.PartyID(b), Limit: l})
		}
	}
	return engine.Config{
		Shard:        uint16(src.intn(4)),
		Participants: ps, Instruments: ins, CreditLines: lines,
		Holidays: map[string][]engine.Date{
			"USD": {20261126, 20261225, 20270101},
			"CNY": {20261201, 20261202, 20270101},
			"JPY": {20261203, 20261230, 20261231},
		},
		TradeDate:            20261125,
		MaxLiveOrders:        20 + src.intn(120),
		ExpectedOrdersPerDay: 1024,
	}
}

// ---- command generator ----

type gen struct {
	src   source
	cfg   engine.Config
	ref   *refMatcher // consulted for live orders and reference prices
	now   int64
	seq   uint64
	date  engine.Date
	clN   int
	clOld [][]engine.ID // per party: ClOrdIDs handed out (recent ones)
}

func newGen(src source, cfg engine.Config, ref *refMatcher) *gen {
	return &gen{
		src: src, cfg: cfg, ref: ref, date: cfg.TradeDate,
		now:   time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixNano(),
		clOld: make([][]engine.ID, len(cfg.Participants)),
	}
}

func (g *gen) pct(p int) bool { return g.src.intn(100) < p }

func (g *gen) tradingParty() engine.PartyID {
	switch g.src.intn(100) {
	case 0:
		return engine.PartyID(g.src.intn(2) * 99) // NoParty or unknown
	case 1, 2:
		return engine.PartyID(len(g.cfg.Participants) - 1) // read-only
	}
	return engine.PartyID(1 + g.src.intn(len(g.cfg.Participants)-2))
}

func (g *gen) instrument() engine.InstrumentID {
	switch x := g.src.intn(100); {
	case x < 1:
		return engine.InstrumentID(len(g.cfg.Instruments) + g.src.intn(3))
	case x < 50:
		return 0
	case x < 62:
		return 1
	case x < 74:
		return 2
	case x < 82:
		return 3
	case x < 91:
		return 4
	default:
		return 5
	}
}

// freshID hands out a new ClOrdID, sometimes an old one (duplicate) or
// an empty one.
func (g *gen) clOrdID(p engine.PartyID) engine.ID {
	switch x := g.src.intn(100); {
	case x < 2:
		return engine.ID{}
	case x < 6 && int(p) < len(g.clOld) && len(g.clOld[p]) > 0:
		old := g.clOld[p]
		return old[g.src.intn(len(old))]
	}
	g.clN++
	id := engine.MustID(fmt.Sprintf("c%d", g.clN))
	if int(p) < len(g.clOld) {
		if len(g.clOld[p]) >= 64 {
			copy(g.clOld[p], g.clOld[p][1:])
			g.clOld[p] = g.clOld[p][:63]
		}
		g.clOld[p] = append(g.clOld[p], id)
	}
	return id
}

func (g *gen) price(inst engine.InstrumentID, side engine.Side) engine.Price {
	if int(inst) >= len(g.cfg.Instruments) {
		return 123
	}
	in := g.cfg.Instruments[inst]
	ref := g.ref.refPx[inst]
	switch x := g.src.intn(100); {
	case x == 0:
		return 0
	case x == 1:
		return -in.Tick
	case x == 2:
		return ref + in.Tick/2 + 1 // off the tick
	case x == 3:
		return ref + in.Tick*engine.Price(200+g.src.intn(100)) // outside the band
	case x == 4:
		return ref - in.Tick*engine.Price(200+g.src.intn(100))
	case x < 8:
		lo, hi := g.ref.bandOf(inst)
		if g.pct(50) {
			return lo
		}
		return hi
	}
	// A few ticks around the reference price, leaning to cross.
	k := engine.Price(g.src.intn(7) - 3)
	if side == engine.Buy {
		k = -k + engine.Price(g.src.intn(2))
	}
	return ref + k*in.Tick
}

func (g *gen) qty(inst engine.InstrumentID) engine.Qty {
	lot := engine.Qty(100_000)
	if int(inst) < len(g.cfg.Instruments) {
		lot = g.cfg.Instruments[inst].Lot
	}
	switch x := g.src.intn(100); {
	case x == 0:
		return 0
	case x == 1:
		return -lot
	case x == 2:
		return lot + lot/2 // not a lot multiple
	case x == 3:
		return lot * engine.Qty(40+g.src.intn(10)) // likely above max
	case x < 10:
		return lot * engine.Qty(10+g.src.intn(21))
	}
	return lot * engine.Qty(1+g.src.intn(8))
}

func (g *gen) next() engine.Command {
	g.seq++
	g.now += int64(g.src.intn(3)) * int64(time.Millisecond)
	c := engine.Command{Seq: g.seq}
	switch x := g.src.intn(1000); {
	case x < 560:
		g.newOrder(&c)
	case x < 690:
		g.cancelOrReplace(&c, engine.CmdCancel)
	case x < 860:
		g.cancelOrReplace(&c, engine.CmdReplace)
	case x < 885:
		c.Kind = engine.CmdMassCancel
		c.Party = g.tradingParty()
		c.Scope = engine.MassAll
		switch g.src.intn(10) {
		case 0:
			c.Scope = engine.MassScope(g.src.intn(3))
		case 1, 2, 3, 4, 5:
			c.Scope = engine.MassBySymbol
			c.Instrument = g.instrument()
		}
		if g.pct(30) {
			c.Reason = engine.ReasonDisconnect
		}
		c.ClOrdID = g.clOrdID(c.Party)
	case x < 925:
		c.Kind = engine.CmdSetCredit
		n := len(g.cfg.Participants)
		c.Party = engine.PartyID(g.src.intn(n + 1))
		c.Counterparty = engine.PartyID(g.src.intn(n + 1))
		switch y := g.src.intn(20); {
		case y == 0:
			c.CreditLimit = -1
		case y == 1:
			c.CreditLimit = 1 << 62 // more room than any quantity needs
		case y < 5:
			c.CreditLimit = 1_000_000_000_000
		default:
			c.CreditLimit = int64(100_000 * g.src.intn(40))
		}
	case x < 995:
		c.Kind = engine.CmdTick
		g.now += int64(g.src.intn(40)) * int64(time.Millisecond)
	default:
		c.Kind = engine.CmdRollDay
		g.date = g.date.AddDays(1 + g.src.intn(3))
		c.TradeDate = g.date
		g.now += int64(time.Hour)
	}
	c.Time = g.now
	return c
}

func (g *gen) newOrder(c *engine.Command) {
	c.Kind = engine.CmdNewOrder
	c.Party = g.tradingParty()
	c.Instrument = g.instrument()
	c.Side = engine.Buy
	if g.pct(50) {
		c.Side = engine.Sell
	}
	if g.pct(1) {
		c.Side = engine.Side(g.src.intn(4) * 3)
	}
	c.OrdType = engine.Limit
	switch x := g.src.intn(100); {
	case x < 2:
		c.OrdType = engine.OrdType(g.src.intn(2) * 3)
	case x < 14:
		c.OrdType = engine.Market
	}
	switch x := g.src.intn(100); {
	case x < 2:
		c.TIF = engine.TIF([]int{2, 5, 7}[g.src.intn(3)])
	case x < 34:
		c.TIF = engine.Day
	case x < 52:
		c.TIF = engine.GTC
	case x < 66:
		c.TIF = engine.IOC
	case x < 78:
		c.TIF = engine.FOK
	default:
		c.TIF = engine.GTD
	}
	if c.OrdType == engine.Limit {
		c.Price = g.price(c.Instrument, c.Side)
	} else if g.pct(2) {
		c.Price = g.price(c.Instrument, c.Side)
	}
	c.Qty = g.qty(c.Instrument)
	lot := engine.Qty(100_000)
	if int(c.Instrument) < len(g.cfg.Instruments) {
		lot = g.cfg.Instruments[c.Instrument].Lot
	}
	lots := int(max(c.Qty/lot, 1))
	if g.pct(18) {
		c.MinQty = lot * engine.Qty(1+g.src.intn(lots))
		if g.pct(3) {
			c.MinQty += lot / 2
		}
	}
	if g.pct(14) {
		c.MaxFloor = lot * engine.Qty(1+g.src.intn(lots))
		if g.pct(3) {
			c.MaxFloor = -lot
		}
	}
	c.PostOnly = g.pct(8)
	switch {
	case c.TIF == engine.GTD:
		c.ExpireTime = g.now + int64(1+g.src.intn(60))*int64(time.Millisecond)
		if g.pct(3) {
			c.ExpireTime = g.now - int64(g.src.intn(2))
		}
	case g.pct(1):
		c.ExpireTime = g.now + int64(time.Second)
	}
	if g.pct(7) {
		c.Directed = engine.PartyID(g.src.intn(len(g.cfg.Participants) + 1))
	}
	if g.pct(30) {
		c.Account = engine.MustID([]string{"A1", "A2", "ACC-9"}[g.src.intn(3)])
	}
	c.ClOrdID = g.clOrdID(c.Party)
}

// cancelOrReplace usually names a live order of the party, sometimes a
// dead or replaced-away ClOrdID, an unknown one, or the wrong side/symbol.
func (g *gen) cancelOrReplace(c *engine.Command, kind engine.CommandKind) {
	c.Kind = kind
	c.Party = g.tradingParty()
	var target *refOrder
	var mine []*refOrder
	for _, o := range g.ref.book {
		if o.party == c.Party {
			mine = append(mine, o)
		}
	}
	switch x := g.src.intn(100); {
	case x < 80 && len(mine) > 0:
		target = mine[g.src.intn(len(mine))]
		c.OrigClOrdID = target.clOrdID
		c.Instrument, c.Side = target.inst, target.side
		if g.pct(3) {
			c.Side = c.Side.Opposite()
		}
		if g.pct(2) {
			c.Instrument = (c.Instrument + 1) % engine.InstrumentID(len(g.cfg.Instruments))
		}
	case x < 92 && int(c.Party) < len(g.clOld) && len(g.clOld[c.Party]) > 0:
		old := g.clOld[c.Party]
		c.OrigClOrdID = old[g.src.intn(len(old))]
		c.Instrument = g.instrument()
		c.Side = engine.Side(1 + g.src.intn(2))
	default:
		c.OrigClOrdID = engine.MustID(fmt.Sprintf("nope%d", g.src.intn(5)))
		c.Instrument = g.instrument()
		c.Side = engine.Side(1 + g.src.intn(2))
	}
	c.ClOrdID = g.clOrdID(c.Party)
	if kind == engine.CmdCancel {
		return
	}
	c.OrdType = engine.Limit
	if g.pct(3) {
		c.OrdType = engine.Market
	}
	if g.pct(20) {
		c.Account = engine.MustID([]string{"A1", "A2", "B7"}[g.src.intn(3)])
	}
	if target == nil {
		c.Price = g.price(c.Instrument, c.Side)
		c.Qty = g.qty(c.Instrument)
		return
	}
	lot := g.cfg.Instruments[target.inst].Lot
	tick := g.cfg.Instruments[target.inst].Tick
	c.Price = target.price
	switch x := g.src.intn(100); {
	case x < 5:
		c.Price = g.price(target.inst, target.side)
	case x < 45:
		c.Price += tick * engine.Price(g.src.intn(5)-2)
	}
	c.Qty = target.qty
	switch x := g.src.intn(100); {
	case x < 5:
		c.Qty = g.qty(target.inst)
	case x < 10:
		c.Qty = target.cum
	case x < 40:
		c.Qty -= lot * engine.Qty(1+g.src.intn(3))
	case x < 70:
		c.Qty += lot * engine.Qty(1+g.src.intn(3))
	}
}

// ---- the harness ----

// pairRun applies each command to the engine and the reference and
// compares everything.
type pairRun struct {
	tb   testing.TB
	name string // how to reproduce, for failure messages
	cfg  engine.Config
	eng  *engine.Engine
	ref  *refMatcher
	inv  *invChecker
	buf  []engine.Event
	cmds []engine.Command
	// all events, for the determinism replay
	evs    []engine.Event
	counts []int
	keep   bool
}

func newPairRun(tb testing.TB, name string, cfg engine.Config, keep bool) *pairRun {
	e, err := engine.New(cfg)
	if err != nil {
		tb.Fatalf("%s: engine.New: %v", name, err)
	}
	return &pairRun{tb: tb, name: name, cfg: cfg, eng: e, ref: newRefMatcher(cfg), inv: newInvChecker(cfg), keep: keep}
}

func (p *pairRun) step(c engine.Command) {
	idx := len(p.cmds)
	p.cmds = append(p.cmds, c)
	p.inv.before(p.eng)
	var got []engine.Event
	func() {
		defer func() {
			if x := recover(); x != nil {
				p.tb.Fatalf("%s: command %d %s: engine panicked: %v", p.name, idx, fmtCmd(&c), x)
			}
		}()
		p.buf = p.eng.Apply(&c, p.buf[:0])
		got = p.buf
	}()
	want := p.ref.apply(&c)
	if !eventsEqual(got, want) {
		p.tb.Fatalf("%s: command %d: %s\nevents differ (-reference +engine):\n%s%s", p.name, idx, fmtCmd(&c), diffEvents(want, got), p.before(idx))
	}
	if err := p.compareState(); err != nil {
		p.tb.Fatalf("%s: command %d: %s\n%v%s", p.name, idx, fmtCmd(&c), err, p.before(idx))
	}
	if err := p.inv.check(p.eng, idx, &c, got); err != nil {
		p.tb.Fatalf("%s: command %d: %s\ninvariant: %v\nevents:\n%s%s", p.name, idx, fmtCmd(&c), err, diffEvents(got, got), p.before(idx))
	}
	if idx%97 == 96 {
		// Recovery is snapshot + replay: carry on with an engine restored
		// from a snapshot, which must be in the same state.
		snap := p.eng.AppendSnapshot(nil)
		e, err := engine.Restore(p.cfg, snap)
		if err != nil {
			p.tb.Fatalf("%s: command %d: restore: %v", p.name, idx, err)
		}
		if e.StateHash() != p.eng.StateHash() {
			p.tb.Fatalf("%s: command %d: the restored engine's state hash differs", p.name, idx)
		}
		p.eng = e
	}
	if p.keep {
		p.evs = append(p.evs, got...)
		p.counts = append(p.counts, len(got))
	}
}

// before describes the books and credit before command idx, rebuilt by
// running the commands before it through a fresh reference matcher.
func (p *pairRun) before(idx int) string {
	r := newRefMatcher(p.cfg)
	for i := 0; i < idx; i++ {
		r.apply(&p.cmds[i])
	}
	var b strings.Builder
	b.WriteString("before the command:\n")
	for id, in := range p.cfg.Instruments {
		for _, s := range []engine.Side{engine.Sell, engine.Buy} {
			vs := r.views(engine.InstrumentID(id), s)
			if len(vs) == 0 {
				continue
			}
			fmt.Fprintf(&b, "  %s %v (best first), ref %d:\n", in.Symbol, s, r.refPx[id])
			for _, o := range vs {
				var prio uint64
				if x := r.find(o.OrderID); x != nil {
					prio = x.prio
				}
				fmt.Fprintf(&b, "    prio=%d %s\n", prio, fmtFields(o))
			}
		}
	}
	n := len(p.cfg.Participants)
	for a := 1; a < n; a++ {
		for c := a + 1; c < n; c++ {
			pa, pc := engine.PartyID(a), engine.PartyID(c)
			fmt.Fprintf(&b, "  credit %d-%d: limits %d/%d used %d\n", a, c, r.limit[[2]engine.PartyID{pa, pc}], r.limit[[2]engine.PartyID{pc, pa}], r.used[mkPair(pa, pc)])
		}
	}
	for i, pt := range p.cfg.Participants[1:] {
		fmt.Fprintf(&b, "  party %d %s smp=%v\n", i+1, pt.Name, pt.SMP)
	}
	return b.String()
}

func (p *pairRun) compareState() error {
	e, r := p.eng, p.ref
	for id := range p.cfg.Instruments {
		inst := engine.InstrumentID(id)
		for _, s := range []engine.Side{engine.Buy, engine.Sell} {
			var got []engine.OrderView
			e.BookOrders(inst, s, func(o engine.OrderView) bool { got = append(got, o); return true })
			want := r.views(inst, s)
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				var b strings.Builder
				fmt.Fprintf(&b, "book %s %v differs:\nreference:\n", p.cfg.Instruments[id].Symbol, s)
				for _, o := range want {
					fmt.Fprintf(&b, "  %+v\n", o)
				}
				b.WriteString("engine:\n")
				for _, o := range got {
					fmt.Fprintf(&b, "  %+v\n", o)
				}
				return fmt.Errorf("%s", b.String())
			}
		}
		if e.RefPrice(inst) != r.refPx[id] {
			return fmt.Errorf("ref price of %d: engine %d, reference %d", id, e.RefPrice(inst), r.refPx[id])
		}
		if e.SpotDate(inst) != r.spot[id] {
			return fmt.Errorf("spot date of %d: engine %d, reference %d", id, e.SpotDate(inst), r.spot[id])
		}
		lo, hi := e.BandLimits(inst)
		rlo, rhi := r.bandOf(inst)
		if lo != rlo || hi != rhi {
			return fmt.Errorf("band of %d: engine %d..%d, reference %d..%d", id, lo, hi, rlo, rhi)
		}
	}
	if e.LiveOrders() != r.live() || e.TradeDate() != r.date {
		return fmt.Errorf("live %d/%d trade date %d/%d", e.LiveOrders(), r.live(), e.TradeDate(), r.date)
	}
	n := len(p.cfg.Participants)
	for a := 1; a < n; a++ {
		for b := a + 1; b < n; b++ {
			pa, pb := engine.PartyID(a), engine.PartyID(b)
			if e.CreditUsed(pa, pb) != r.used[mkPair(pa, pb)] || e.RemainingCredit(pa, pb) != r.room(pa, pb) {
				return fmt.Errorf("credit %d-%d: engine used %d room %d, reference used %d room %d", a, b, e.CreditUsed(pa, pb), e.RemainingCredit(pa, pb), r.used[mkPair(pa, pb)], r.room(pa, pb))
			}
		}
	}
	return nil
}

// replay runs the recorded commands into a fresh engine and demands the
// same events.
func (p *pairRun) replay() {
	e, err := engine.New(p.cfg)
	if err != nil {
		p.tb.Fatal(err)
	}
	var buf []engine.Event
	off := 0
	for i := range p.cmds {
		buf = e.Apply(&p.cmds[i], buf[:0])
		want := p.evs[off : off+p.counts[i]]
		off += p.counts[i]
		if !eventsEqual(buf, want) {
			p.tb.Fatalf("%s: replay: command %d %s: events differ (-first run +replay):\n%s", p.name, i, fmtCmd(&p.cmds[i]), diffEvents(want, buf))
		}
	}
}

func eventsEqual(a, b []engine.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fmtFields prints the non-zero fields of a struct.
func fmtFields(v any) string {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	var b strings.Builder
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		if f.IsZero() {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(rt.Field(i).Name + "=")
		switch x := f.Interface().(type) {
		case engine.ID:
			b.WriteString(fmt.Sprintf("%q", x.String()))
		case fmt.Stringer:
			b.WriteString(x.String())
		default:
			fmt.Fprint(&b, x)
		}
	}
	return b.String()
}

func fmtCmd(c *engine.Command) string { return "{" + fmtFields(*c) + "}" }

func diffEvents(want, got []engine.Event) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i < len(want) && i < len(got) && want[i] == got[i]:
			fmt.Fprintf(&b, "  %s\n", fmtFields(want[i]))
		default:
			if i < len(want) {
				fmt.Fprintf(&b, "- %s\n", fmtFields(want[i]))
			}
			if i < len(got) {
				fmt.Fprintf(&b, "+ %s\n", fmtFields(got[i]))
			}
		}
	}
	return b.String()
}

// runSeed runs n random commands from one seed and replays them.
func runSeed(tb testing.TB, seed uint64, n int) {
	src := randSource{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	cfg := randomConfig(src)
	name := fmt.Sprintf("seed %d (go test ./engine -run RandomAgainstReference -seed %d -cmds %d)", seed, seed, n)
	p := newPairRun(tb, name, cfg, true)
	g := newGen(src, cfg, p.ref)
	for i := 0; i < n; i++ {
		p.step(g.next())
	}
	p.replay()
}

func TestRandomAgainstReference(t *testing.T) {
	seeds, n := 48, 16_000 // ~770k commands, ~40 s on two cores
	if *long {
		seeds, n = 400, 25_000 // 10M commands
	}
	if testing.Short() {
		seeds, n = 8, 5_000
	}
	if *cmdsFlag > 0 {
		n = *cmdsFlag
	}
	if *seedFlag != 0 {
		runSeed(t, *seedFlag, n)
		return
	}
	for s := 1; s <= seeds; s++ {
		seed := uint64(s)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			runSeed(t, seed, n)
		})
	}
}
