// Package enginebench is the matching engine's benchmark: a seeded,
// realistic interbank FX workload, and the measurements `fxmatch bench
// engine` prints (the matching core alone, then the same workload through
// a shard fed by the lock-free ring and by the channel baseline).
//
// The workload is what an interbank ECN sees, in shape if not in volume:
// a dozen banks with bilateral credit lines (a few pairs with none, a few
// with small lines that run out) quote four currency pairs around a mid
// price that moves as Brownian motion (seeded, with a weak pull back to
// the reference so long runs stay inside the price band). Resting limit
// orders sit at a power-law distance from the mid: most within a few
// ticks, a heavy tail further out. Most of them are cancelled or replaced
// before they trade; about 15% of new orders are immediate-or-cancel
// (some market, some FOK) and take liquidity; about 20% of messages are
// replaces and about 30% cancels.
// The generator keeps the orders it believes are live so its cancels and
// replaces name real orders, but it learns of fills only by watching the
// mid, so some requests arrive too late, as they do in a real market.
package enginebench

import (
	"math"
	"math/rand/v2"
	"strconv"

	"fxmatch/engine"
)

// Params describe a workload. The zero value of a field means its
// default (see DefaultParams).
type Params struct {
	// Orders is the number of messages (commands) to generate.
	Orders int
	// Seed makes the workload reproducible: the same seed gives the same
	// commands.
	Seed uint64
	// Participants is the number of banks (default 12).
	Participants int
	// LiveTarget is the number of resting orders (in all books) the
	// generator steers towards by cancelling more when above it (default
	// 4000).
	LiveTarget int
	// ReplaceFrac and CancelFrac are the target shares of the messages
	// (defaults 0.20 and 0.30; the cancel share rises to half as much
	// again while the live orders exceed LiveTarget, and falls below it
	// while they are fewer). New orders make up the rest, and IOCFrac of
	// them (default 0.15) take liquidity at once (IOC, FOK, market); the
	// others rest.
	IOCFrac, ReplaceFrac, CancelFrac float64
	// Sigma is the standard deviation of the mid's Brownian step, in
	// ticks per message on the instrument (default 0.02: the mid moves a
	// tick in a few thousand messages).
	Sigma float64
	// NoLineFrac is the share of pairs of banks with no credit line
	// (default 0.1), SmallLine the limit in USD of another tenth of the
	// pairs, meant to run out during the run (default 2 billion); the
	// other lines never bind.
	NoLineFrac float64
	SmallLine  int64
	// TailAlpha is the exponent of the power law of a resting order's
	// distance from the mid in ticks: P(distance >= d) = (d+1)^-alpha
	// (default 1.3).
	TailAlpha float64
}

// DefaultParams are the parameters `fxmatch bench engine` uses.
func DefaultParams() Params {
	return Params{
		Orders: 1_000_000, Seed: 1, Participants: 12, LiveTarget: 4000,
		IOCFrac: 0.15, ReplaceFrac: 0.20, CancelFrac: 0.30, Sigma: 0.02, TailAlpha: 1.3,
		NoLineFrac: 0.1, SmallLine: 2_000_000_000,
	}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.Orders <= 0 {
		p.Orders = d.Orders
	}
	if p.Participants <= 1 {
		p.Participants = d.Participants
	}
	if p.LiveTarget <= 0 {
		p.LiveTarget = d.LiveTarget
	}
	if p.IOCFrac <= 0 {
		p.IOCFrac = d.IOCFrac
	}
	if p.ReplaceFrac <= 0 {
		p.ReplaceFrac = d.ReplaceFrac
	}
	if p.CancelFrac <= 0 {
		p.CancelFrac = d.CancelFrac
	}
	if p.Sigma <= 0 {
		p.Sigma = d.Sigma
	}
	if p.NoLineFrac <= 0 {
		p.NoLineFrac = d.NoLineFrac
	}
	if p.SmallLine <= 0 {
		p.SmallLine = d.SmallLine
	}
	if p.TailAlpha <= 0 {
		p.TailAlpha = d.TailAlpha
	}
	return p
}

// TradeDate is the workload's trading day (a Monday).
const TradeDate engine.Date = 20260105

// StartTime is the Time of the first command of a generated workload
// (08:00 UTC on TradeDate); commands follow at MessageSpacing.
var StartTime = TradeDate.Time().UnixNano() + 8*3600*1e9

// MessageSpacing is the Time step between generated commands (2 million
// messages a second of simulated market time).
const MessageSpacing = 500

// pair is one instrument of the workload.
type pair struct {
	symbol, base, term string
	tick, ref          float64
	weight             float64 // share of the messages
	// maxTicks caps the power-law tail (0.5% of the price), well inside
	// the 2% band.
	maxTicks int64
}

var pairs = []pair{
	{symbol: "USD/CNY", base: "USD", term: "CNY", tick: 0.0001, ref: 7.1, weight: 0.40},
	{symbol: "EUR/USD", base: "EUR", term: "USD", tick: 0.00001, ref: 1.0850, weight: 0.30},
	{symbol: "USD/JPY", base: "USD", term: "JPY", tick: 0.001, ref: 151.20, weight: 0.20},
	{symbol: "GBP/USD", base: "GBP", term: "USD", tick: 0.00001, ref: 1.2700, weight: 0.10},
}

func init() {
	for i := range pairs {
		pairs[i].maxTicks = int64(pairs[i].ref * 0.005 / pairs[i].tick)
	}
}

func toPrice(f float64) engine.Price { return engine.Price(math.Round(f * engine.PriceScale)) }

// Config is the engine configuration of the workload: the four pairs
// (USD/CNY tick 0.0001 lot 100,000 reference 7.1 band 200bp, and EUR/USD,
// USD/JPY, GBP/USD alike), the banks, and their credit lines. The lines
// are drawn from the seed: most pairs of banks have a line far larger than
// the run trades, one in ten (NoLineFrac) has none (their orders never
// meet), and one in ten has a small line (SmallLine) that runs out during
// the run. The ClOrdID index
// is sized for the whole run so the matching path never grows it.
func Config(p Params) engine.Config {
	p = p.withDefaults()
	cfg := engine.Config{
		Participants:         make([]engine.Participant, p.Participants+1),
		TradeDate:            TradeDate,
		MaxLiveOrders:        1 << 20,
		ExpectedOrdersPerDay: p.Orders + 1024,
	}
	for i := 1; i <= p.Participants; i++ {
		cfg.Participants[i] = engine.Participant{Name: "BANK" + strconv.Itoa(i), CanTrade: true}
	}
	for _, pr := range pairs {
		cfg.Instruments = append(cfg.Instruments, engine.Instrument{
			Symbol: pr.symbol, Base: pr.base, Term: pr.term,
			Tick: toPrice(pr.tick), Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000,
			RefPrice: toPrice(pr.ref), BandBP: 200,
		})
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0xc4ed17))
	for a := 1; a <= p.Participants; a++ {
		for b := a + 1; b <= p.Participants; b++ {
			var limit int64
			switch r := rng.Float64(); {
			case r < p.NoLineFrac:
				continue // no line
			case r < p.NoLineFrac+0.1:
				limit = p.SmallLine // runs out
			default:
				limit = 1_000_000_000_000_000 // never binds
			}
			cfg.CreditLines = append(cfg.CreditLines, engine.CreditLine{A: engine.PartyID(a), B: engine.PartyID(b), Limit: limit})
		}
	}
	return cfg
}

// liveOrder is what the generator believes about one of its resting orders.
type liveOrder struct {
	party engine.PartyID
	inst  engine.InstrumentID
	side  engine.Side
	price int64 // ticks
	qty   engine.Qty
	id    engine.ID
}

// Mix counts the messages a generator produced, by kind.
type Mix struct {
	NewResting, IOC, Replace, Cancel int
	// Pulls are the cancels (counted in Cancel) of quotes the touch moved
	// onto.
	Pulls int
}

// Generator produces a workload's commands. It is deterministic for a
// seed; Next may be called repeatedly to generate the workload in chunks.
type Generator struct {
	p    Params
	rng  *rand.Rand
	mids []float64 // per instrument, in ticks
	refs []float64 // per instrument, in ticks
	cum  []float64 // cumulative instrument weights
	live []liveOrder
	// pulls are orders the touch has moved onto: their owners cancel them
	// (market makers pull quotes the market has moved through) ahead of
	// anything else they send.
	pulls  []liveOrder
	nextID []uint64 // per participant
	n      int      // commands generated
	idBuf  []byte
	Mix    Mix
}

// NewGenerator starts a workload.
func NewGenerator(p Params) *Generator {
	p = p.withDefaults()
	g := &Generator{
		p:      p,
		rng:    rand.New(rand.NewPCG(p.Seed, 0x5eed)),
		nextID: make([]uint64, p.Participants+1),
		live:   make([]liveOrder, 0, 2*p.LiveTarget),
	}
	w := 0.0
	for _, pr := range pairs {
		ref := math.Round(pr.ref / pr.tick)
		g.mids = append(g.mids, ref)
		g.refs = append(g.refs, ref)
		w += pr.weight
		g.cum = append(g.cum, w)
	}
	return g
}

// Generate returns the whole workload at once.
func Generate(p Params) ([]engine.Command, Mix) {
	p = p.withDefaults()
	g := NewGenerator(p)
	cmds := make([]engine.Command, p.Orders)
	g.Next(cmds)
	return cmds, g.Mix
}

// Next fills dst with the next commands of the workload, each with the
// Seq and Time a sequencer would give it (Seq from 1, Time from StartTime
// at MessageSpacing), and returns dst.
func (g *Generator) Next(dst []engine.Command) []engine.Command {
	for i := range dst {
		g.next(&dst[i])
		g.n++
		dst[i].Seq = uint64(g.n)
		dst[i].Time = StartTime + int64(g.n-1)*MessageSpacing
	}
	return dst
}

func (g *Generator) next(c *engine.Command) {
	*c = engine.Command{}
	if len(g.pulls) > 0 {
		o := g.pulls[0]
		g.pulls = g.pulls[1:]
		g.cancelOrder(c, o)
		g.Mix.Cancel++
		g.Mix.Pulls++
		return
	}
	inst := g.pickInstrument()
	g.moveMid(inst)

	pCancel := g.p.CancelFrac * min(1.5, float64(len(g.live))/float64(g.p.LiveTarget))
	r := g.rng.Float64()
	switch {
	case r < g.p.ReplaceFrac && len(g.live) > 0:
		g.replace(c)
		g.Mix.Replace++
	case r < g.p.ReplaceFrac+pCancel && len(g.live) > 0:
		g.cancel(c)
		g.Mix.Cancel++
	case g.rng.Float64() < g.p.IOCFrac:
		g.ioc(c, inst)
		g.Mix.IOC++
	default:
		g.resting(c, inst)
		g.Mix.NewResting++
	}
}

func (g *Generator) pickInstrument() engine.InstrumentID {
	r := g.rng.Float64() * g.cum[len(g.cum)-1]
	for i, c := range g.cum {
		if r < c {
			return engine.InstrumentID(i)
		}
	}
	return engine.InstrumentID(len(g.cum) - 1)
}

// moveMid takes one Brownian step of the instrument's mid: sigma ticks of
// standard deviation per message on it, and a pull back to the reference
// of 1/20000 of the distance. When the touch moves, the orders it has
// moved onto are pulled: nine in ten of their owners notice in time and
// cancel (queued in pulls), the others stay and are left to trade (or to
// be cancelled too late).
func (g *Generator) moveMid(inst engine.InstrumentID) {
	bid0, _ := g.touch(inst)
	m := g.mids[inst]
	m += g.p.Sigma*g.rng.NormFloat64() - (m-g.refs[inst])/20000
	g.mids[inst] = m
	bid, ask := g.touch(inst)
	if bid == bid0 {
		return
	}
	for i := 0; i < len(g.live); {
		o := g.live[i]
		if o.inst == inst && ((o.side == engine.Buy && o.price >= ask) || (o.side == engine.Sell && o.price <= bid)) && g.rng.IntN(10) != 0 {
			g.pulls = append(g.pulls, o)
			g.live[i] = g.live[len(g.live)-1]
			g.live = g.live[:len(g.live)-1]
			continue
		}
		i++
	}
}

// touch returns the best bid and ask the generator expects around the mid:
// a one-tick spread.
func (g *Generator) touch(inst engine.InstrumentID) (bid, ask int64) {
	bid = int64(math.Floor(g.mids[inst]))
	return bid, bid + 1
}

func (g *Generator) party() engine.PartyID {
	return engine.PartyID(1 + g.rng.IntN(g.p.Participants))
}

func (g *Generator) side() engine.Side {
	if g.rng.IntN(2) == 0 {
		return engine.Buy
	}
	return engine.Sell
}

// qty draws an order size: mostly 1 to 5 million, sometimes 10 or 20.
func (g *Generator) qty() engine.Qty {
	lots := [...]engine.Qty{10, 10, 10, 10, 20, 20, 20, 30, 50, 50, 100, 200}
	return lots[g.rng.IntN(len(lots))] * 100_000
}

// iocQty draws the size of an order that takes liquidity: mostly 1 or 2
// million, smaller than the quotes it hits.
func (g *Generator) iocQty() engine.Qty {
	lots := [...]engine.Qty{10, 10, 10, 10, 10, 20, 20, 30, 50}
	return lots[g.rng.IntN(len(lots))] * 100_000
}

// clOrdID returns the party's next ClOrdID ("B3-42"): unique per party for
// the day, as FIX requires.
func (g *Generator) clOrdID(p engine.PartyID) engine.ID {
	g.nextID[p]++
	b := append(g.idBuf[:0], 'B')
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, g.nextID[p], 10)
	g.idBuf = b
	return engine.MustID(string(b))
}

// distance draws a resting order's distance from the touch in ticks from
// the power law P(d >= k) = (k+1)^-alpha, capped at the pair's tail.
func (g *Generator) distance(inst engine.InstrumentID) int64 {
	u := 1 - g.rng.Float64() // (0, 1]
	d := int64(math.Pow(u, -1/g.p.TailAlpha)) - 1
	return min(d, pairs[inst].maxTicks)
}

func (g *Generator) price(inst engine.InstrumentID, ticks int64) engine.Price {
	return engine.Price(ticks) * toPrice(pairs[inst].tick)
}

// resting makes a new Day or GTC limit order at a power-law distance from
// the touch on its own side; one in twenty is priced through the touch
// (it trades, then rests), one in twenty is an iceberg, one in twenty
// post-only.
func (g *Generator) resting(c *engine.Command, inst engine.InstrumentID) {
	p, s := g.party(), g.side()
	bid, ask := g.touch(inst)
	var ticks int64
	switch aggressive := g.rng.IntN(20) == 0; {
	case s == engine.Buy && aggressive:
		ticks = ask + int64(g.rng.IntN(2))
	case s == engine.Buy:
		ticks = bid - g.distance(inst)
	case aggressive:
		ticks = bid - int64(g.rng.IntN(2))
	default:
		ticks = ask + g.distance(inst)
	}
	tif := engine.Day
	if g.rng.IntN(4) == 0 {
		tif = engine.GTC
	}
	*c = engine.Command{
		Kind: engine.CmdNewOrder, Party: p, Instrument: inst, Side: s,
		OrdType: engine.Limit, TIF: tif, Price: g.price(inst, ticks), Qty: g.qty(),
		ClOrdID: g.clOrdID(p),
	}
	switch g.rng.IntN(20) {
	case 0:
		c.MaxFloor = max(c.Qty/5/100_000*100_000, 100_000)
	case 1:
		c.PostOnly = true
	}
	g.live = append(g.live, liveOrder{party: p, inst: inst, side: s, price: ticks, qty: c.Qty, id: c.ClOrdID})
}

// ioc makes an order that takes liquidity at once: an IOC limit order at
// the touch or one tick through it, one in ten a market order and one in
// ten a FOK.
func (g *Generator) ioc(c *engine.Command, inst engine.InstrumentID) {
	p, s := g.party(), g.side()
	bid, ask := g.touch(inst)
	ticks := ask + int64(g.rng.IntN(2))
	if s == engine.Sell {
		ticks = bid - int64(g.rng.IntN(2))
	}
	*c = engine.Command{
		Kind: engine.CmdNewOrder, Party: p, Instrument: inst, Side: s,
		OrdType: engine.Limit, TIF: engine.IOC, Price: g.price(inst, ticks), Qty: g.iocQty(),
		ClOrdID: g.clOrdID(p),
	}
	switch g.rng.IntN(10) {
	case 0:
		c.OrdType, c.Price = engine.Market, 0
	case 1:
		c.TIF = engine.FOK
	}
}

// pickLive chooses one of the orders the generator believes live, and
// takes it out of the set. An order the mid has moved through has probably
// traded: the generator usually notices (it watches market data) and
// picks another, but not always, so some requests come too late.
func (g *Generator) pickLive() liveOrder {
	for try := 0; ; try++ {
		i := g.rng.IntN(len(g.live))
		o := g.live[i]
		g.live[i] = g.live[len(g.live)-1]
		g.live = g.live[:len(g.live)-1]
		bid, ask := g.touch(o.inst)
		traded := (o.side == engine.Buy && o.price >= ask) || (o.side == engine.Sell && o.price <= bid)
		if !traded || try == 3 || len(g.live) == 0 || g.rng.IntN(4) == 0 {
			return o
		}
	}
}

func (g *Generator) cancel(c *engine.Command) { g.cancelOrder(c, g.pickLive()) }

func (g *Generator) cancelOrder(c *engine.Command, o liveOrder) {
	*c = engine.Command{
		Kind: engine.CmdCancel, Party: o.party, Instrument: o.inst, Side: o.side,
		ClOrdID: g.clOrdID(o.party), OrigClOrdID: o.id,
	}
}

// replace moves an order: half the time one or two ticks towards or away
// from the touch (losing priority), never through its own side's touch,
// otherwise a new quantity (a smaller one keeps priority).
func (g *Generator) replace(c *engine.Command) {
	o := g.pickLive()
	if g.rng.IntN(2) == 0 {
		step := int64(1 + g.rng.IntN(2))
		if g.rng.IntN(2) == 0 {
			step = -step
		}
		bid, ask := g.touch(o.inst)
		if o.side == engine.Buy {
			o.price = min(o.price+step, bid)
		} else {
			o.price = max(o.price+step, ask)
		}
	} else {
		o.qty = g.qty()
	}
	id := g.clOrdID(o.party)
	*c = engine.Command{
		Kind: engine.CmdReplace, Party: o.party, Instrument: o.inst, Side: o.side,
		OrdType: engine.Limit, Price: g.price(o.inst, o.price), Qty: o.qty,
		ClOrdID: id, OrigClOrdID: o.id,
	}
	o.id = id
	g.live = append(g.live, o)
}
