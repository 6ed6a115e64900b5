package quotesim

import (
	"fmt"
	"math"
	"strings"

	"fxmatch/assistant/quotes"
	"fxmatch/engine"
)

// Strategy quotes the broker's listings. It sees the venue's book and
// public trades every step and its own fills; the runner owns inventory
// and cash and passes the inventory to Quote.
type Strategy interface {
	// Knows says what information the strategy uses, for the report.
	Knows() string
	OnBook(ts int64, b bookTop)
	OnTrade(ts int64, price int64, qty float64)
	OnFill(ts int64, side int8, price int64, qty float64)
	// ResetInventory is called when measurement starts and the runner
	// flattens the inventory.
	ResetInventory()
	// Quote is the bid and ask (ticks) for tier j, holding q lots.
	Quote(tier int, q float64) (bid, ask int64)
}

// Factory makes a fresh strategy for one seed.
type Factory struct {
	Name string
	New  func(p *Params) Strategy
}

// FixedParams is the fixed-spread baseline's one parameter.
type FixedParams struct {
	Half float64 // half-spread around the mid, ticks
}

// Fixed quotes the venue's mid ± Half for every size, whatever its
// inventory (until the cap), whatever the market does.
func Fixed(fp FixedParams) Factory {
	return Factory{Name: "fixed spread", New: func(p *Params) Strategy { return &fixed{fp: fp} }}
}

type fixed struct {
	fp  FixedParams
	mid float64
}

func (f *fixed) Knows() string {
	return fmt.Sprintf("the venue's mid; one half-spread (%.1f ticks) for every size", f.fp.Half)
}
func (f *fixed) OnBook(_ int64, b bookTop)          { f.mid = float64(b.bid+b.ask) / 2 }
func (f *fixed) OnTrade(int64, int64, float64)      {}
func (f *fixed) OnFill(int64, int8, int64, float64) {}
func (f *fixed) ResetInventory()                    {}
func (f *fixed) Quote(int, float64) (int64, int64) {
	return quotes.RoundAway(f.mid-f.fp.Half, f.mid+f.fp.Half)
}

// ASParams are plain Avellaneda–Stoikov's parameters.
type ASParams struct {
	Gamma float64 // risk aversion per tick·unit, a unit being the smallest tier's size
	Tau   float64 // rolling horizon, seconds
}

// AvellanedaStoikov quotes around the mid with the 2008 formulas (see
// quotes.AvellanedaStoikov), the long-run volatility as a constant, k as
// the uninformed clients' decay, inventory counted in units of the
// smallest tier, and a rolling horizon: the paper's T − t would make the
// quotes depend on the time to an arbitrary session end (huge skews at
// the start, none at the end), which no one running a book all day does.
// It gets the recommender's rule that a quote never crosses the venue's
// book (an ask below the venue's bid gives clients a free trade): that
// rule is not in the paper, but without it the baseline is weaker, and a
// comparison should not be won on it.
func AvellanedaStoikov(ap ASParams) Factory {
	return Factory{Name: "Avellaneda–Stoikov", New: func(p *Params) Strategy {
		return &avst{ap: ap, sigma: p.UnconditionalSigma(), k: p.K, unit: p.Tiers[0].Size}
	}}
}

type avst struct {
	ap             ASParams
	sigma, k, unit float64
	mid            float64
	bid, ask       int64
}

func (a *avst) Knows() string {
	return fmt.Sprintf("the venue's mid, its inventory, the long-run volatility (%.2f ticks/√s), k; one quote for every size (γ %g, τ %gs)",
		a.sigma, a.ap.Gamma, a.ap.Tau)
}
func (a *avst) OnBook(_ int64, b bookTop) {
	a.mid, a.bid, a.ask = float64(b.bid+b.ask)/2, b.bid, b.ask
}
func (a *avst) OnTrade(int64, int64, float64)      {}
func (a *avst) OnFill(int64, int8, int64, float64) {}
func (a *avst) ResetInventory()                    {}
func (a *avst) Quote(_ int, q float64) (int64, int64) {
	off, half := quotes.AvellanedaStoikov(a.ap.Gamma, a.sigma, a.k, a.ap.Tau, q/a.unit)
	// As in quotes.Recommender: move the centre, not the spread, to keep
	// the bid below the venue's ask and the ask above its bid.
	r := a.mid + off
	r = math.Min(math.Max(r, float64(a.bid)-half+1), float64(a.ask)+half-1)
	bid, ask := quotes.RoundAway(r-half, r+half)
	return min(bid, a.ask-1), max(ask, a.bid+1)
}

// RecommenderOptions switch parts of the recommender off, to measure what
// each contributes (fxmatch sim quotes --ablate).
type RecommenderOptions struct {
	NoMicroprice bool // centre on the mid
	NoVolatility bool // use the long-run volatility, not the estimate
	NoSizeTiers  bool // quote every tier as the smallest
}

// Recommender quotes with quotes.Recommender, configured with the
// evaluation's risk aversion, the uninformed clients' k and per-tier
// intensities (what a broker would fit from its storefront history) and
// the long-run volatility as its prior.
func Recommender(o RecommenderOptions) Factory {
	name := "recommender"
	if o != (RecommenderOptions{}) {
		name = fmt.Sprintf("recommender%s", o.suffix())
	}
	return Factory{Name: name, New: func(p *Params) Strategy { return newRec(p, o) }}
}

func (o RecommenderOptions) suffix() string {
	s := ""
	for _, c := range []struct {
		off  bool
		name string
	}{{o.NoMicroprice, "microprice"}, {o.NoVolatility, "volatility"},
		{o.NoSizeTiers, "size tiers"}} {
		if c.off {
			s += " −" + c.name
		}
	}
	return s
}

// RecommenderParams are the quotes.Params the simulator gives the
// recommender.
func RecommenderParams(p *Params) quotes.Params {
	qp := quotes.DefaultParams(engine.Instrument{Tick: p.Tick, Lot: p.Lot, RefPrice: engine.Price(p.RefTicks) * p.Tick})
	qp.Gamma, qp.Xi, qp.K = p.Gamma, 0, p.K
	qp.SigmaPrior = p.UnconditionalSigma()
	qp.Tiers = qp.Tiers[:0]
	for _, t := range p.Tiers {
		qp.Tiers = append(qp.Tiers, quotes.Tier{Size: engine.Qty(t.Size) * p.Lot, A: t.Uninformed})
	}
	return qp
}

type rec struct {
	p     *Params
	o     RecommenderOptions
	r     *quotes.Recommender
	sizes []engine.Qty
	book  quotes.Book
	mid   float64
	knows string
}

const simBroker = "SIM"

func newRec(p *Params, o RecommenderOptions) *rec {
	return newRecWith(p, o, RecommenderParams(p))
}

func newRecWith(p *Params, o RecommenderOptions, qp quotes.Params) *rec {
	if o.NoMicroprice {
		qp.ImbalanceWeight, qp.ImbalanceHorizon = 0, 0
	}
	if o.NoVolatility {
		qp.SigmaPriorSecs = 1e18 // the prior outweighs any estimate
	}
	in := engine.Instrument{Symbol: p.Symbol, Base: p.Base, Term: p.Term, Tick: p.Tick, Lot: p.Lot,
		MinQty: p.Lot, MaxQty: 1 << 40, RefPrice: engine.Price(p.RefTicks) * p.Tick}
	r, err := quotes.New(quotes.Config{Instruments: []quotes.Instrument{{Instrument: in, Params: qp}}})
	if err != nil {
		panic(fmt.Sprintf("quotesim: recommender configuration: %v", err))
	}
	s := &rec{p: p, o: o, r: r}
	for _, t := range p.Tiers {
		size := engine.Qty(t.Size) * p.Lot
		if o.NoSizeTiers {
			size = engine.Qty(p.Tiers[0].Size) * p.Lot
		}
		s.sizes = append(s.sizes, size)
	}
	s.book = quotes.Book{Symbol: p.Symbol, Bids: make([]quotes.Level, 1), Asks: make([]quotes.Level, 1)}
	s.knows = "the microprice of the venue's book, volatility estimated from public trades, its inventory from its fills, " +
		"and the size tiers' client flow (k, A per tier)"
	if o != (RecommenderOptions{}) {
		s.knows = "the recommender's inputs except" + strings.ReplaceAll(o.suffix(), " −", " ")
	}
	return s
}

func (s *rec) Knows() string { return s.knows }

func (s *rec) OnBook(ts int64, b bookTop) {
	s.book.Time = ts
	s.book.Bids[0] = quotes.Level{Price: engine.Price(b.bid) * s.p.Tick, Qty: engine.Qty(b.bidQty) * s.p.Lot}
	s.book.Asks[0] = quotes.Level{Price: engine.Price(b.ask) * s.p.Tick, Qty: engine.Qty(b.askQty) * s.p.Lot}
	if err := s.r.OnBook(s.book); err != nil {
		panic(err)
	}
}

func (s *rec) OnTrade(ts int64, price int64, qty float64) {
	err := s.r.OnTrade(quotes.Trade{Symbol: s.p.Symbol, Time: ts, Price: engine.Price(price) * s.p.Tick,
		Qty: engine.Qty(qty) * s.p.Lot})
	if err != nil {
		panic(err)
	}
}

func (s *rec) OnFill(ts int64, side int8, price int64, qty float64) {
	sd := engine.Buy
	if side < 0 {
		sd = engine.Sell
	}
	err := s.r.OnFill(quotes.Fill{Broker: simBroker, Symbol: s.p.Symbol, Time: ts, Side: sd,
		Price: engine.Price(price) * s.p.Tick, Qty: engine.Qty(qty) * s.p.Lot})
	if err != nil {
		panic(err)
	}
}

func (s *rec) ResetInventory() {
	if err := s.r.SetInventory(simBroker, s.p.Symbol, 0); err != nil {
		panic(err)
	}
}

func (s *rec) Quote(tier int, q float64) (int64, int64) {
	qt, err := s.r.Prices(simBroker, s.p.Symbol, s.sizes[tier])
	if err != nil {
		panic(err)
	}
	return int64(qt.Bid / s.p.Tick), int64(qt.Ask / s.p.Tick)
}
