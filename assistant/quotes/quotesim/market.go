// Package quotesim is a market simulator for comparing quoting strategies
// for a broker's storefront listings: the quotes package's recommender, a
// fixed spread, and plain Avellaneda–Stoikov. It is what
// `fxmatch sim quotes` runs.
//
// The market, in ticks, lots and seconds (all parameters in Params):
//
//   - a true fair value P follows a random walk with a short-term drift
//     α (an Ornstein–Uhlenbeck process: momentum the market partly knows
//     about), jumps (news), and volatility regimes (calm and volatile,
//     switching as a Markov chain; the volatile regime has 3× the
//     volatility, more jumps, a wider venue spread and more trades);
//   - the venue's book shows the best bid and ask around P on the tick
//     grid, with queue sizes whose imbalance leans toward where P is inside
//     the spread and where α is taking it, plus noise — the stylised fact
//     behind the microprice (Stoikov 2018);
//   - public trades print at the bid or the ask, with the aggressor's side
//     leaning with α;
//   - clients arrive at the broker's listings in three size tiers (1m, 5m,
//     20m). Uninformed clients buy at the broker's ask a with probability
//     exp(−k·(a − P)) and sell at its bid b with exp(−k·(P − b)) — the
//     GLFT intensity model. Informed clients know the fair value H seconds
//     ahead, V = P(t+H), and take whichever side pays, with probability
//     min(1, exp(k_inf·edge)); they are a larger share of the bigger tiers,
//     and their edge grows with volatility. They are the adverse selection.
//
// Everything random is drawn once per seed, before any strategy runs:
// every strategy faces the same prices, books, trades and clients, and an
// arriving client's uniform draw u is shared, so that two strategies
// quoting the same price at the same moment get the same fill. A strategy
// sees only the book, the public trades and its own fills; the runner
// keeps its inventory and cash and applies the same inventory cap to all.
package quotesim

import (
	"math"
	"math/rand/v2"

	"fxmatch/engine"
)

// FlowTier is one size tier's clients.
type FlowTier struct {
	Size       float64 // lots
	Uninformed float64 // arrivals per second on each side at distance 0
	Informed   float64 // arrivals per second
}

// Params describe the market, the clients and the evaluation. Prices are
// in ticks, sizes in lots, times in seconds.
type Params struct {
	Symbol   string       // for the report
	Base     string       // base currency, for the report
	Term     string       // term currency: P&L is reported in it
	Tick     engine.Price // the instrument's tick
	Lot      engine.Qty   // and lot
	RefTicks int64        // the starting price in ticks (71,000 for USD/CNY at 7.1000)

	Dt      float64 // step
	Warmup  float64 // seconds before measurement starts (strategies learn; not scored)
	Session float64 // seconds measured

	SigmaCalm, SigmaVolatile       float64 // ticks per √s
	CalmToVolatile, VolatileToCalm float64 // regime switching rates per second
	JumpRateCalm, JumpRateVolatile float64 // per second
	JumpCalm, JumpVolatile         float64 // jump size standard deviation, ticks
	AlphaTau                       float64 // drift mean reversion time, seconds
	AlphaCalm                      float64 // drift standard deviation, ticks per second (×σ ratio when volatile)
	// BookLean is how far ahead the book leans: queue imbalance points at
	// P + BookLean·α, blurred by ImbalanceNoise (in units of the
	// half-spread).
	BookLean       float64
	ImbalanceNoise float64
	// WideSpreadVolatile is the probability that the venue's spread is two
	// ticks instead of one in the volatile regime.
	WideSpreadVolatile               float64
	TradeRateCalm, TradeRateVolatile float64 // public trades per second

	Tiers           []FlowTier
	K               float64 // uninformed clients' decay per tick
	InformedHorizon float64 // how far ahead informed clients see, seconds
	InformedK       float64 // informed clients' decay per tick of negative edge
	InventoryCap    float64 // lots: a quote that could take inventory past it is not shown

	// Gamma is the evaluation's risk aversion per tick·lot: the
	// risk-adjusted P&L is P&L − ½·Gamma·Σ σ²·q²·dt, the inventory
	// variance the strategy carried, priced (the running-penalty objective
	// that GLFT's ξ = 0 optimises).
	Gamma float64
}

// DefaultParams is USD/CNY: tick 0.0001, lot 100,000, around 7.1000.
// Calm volatility of 0.5 ticks/√s is about 5% a year; the volatile regime
// is 3× that and is on a fifth of the time.
func DefaultParams() Params {
	return Params{
		Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: 10_000, Lot: 100_000, RefTicks: 71_000,
		Dt: 0.1, Warmup: 1800, Session: 7200,
		SigmaCalm: 0.5, SigmaVolatile: 1.5,
		CalmToVolatile: 1.0 / 1200, VolatileToCalm: 1.0 / 300,
		JumpRateCalm: 1.0 / 900, JumpRateVolatile: 1.0 / 120,
		JumpCalm: 3, JumpVolatile: 6,
		AlphaTau: 5, AlphaCalm: 0.1,
		BookLean: 5, ImbalanceNoise: 0.3,
		WideSpreadVolatile: 0.5,
		TradeRateCalm:      0.5, TradeRateVolatile: 1.5,
		Tiers: []FlowTier{
			{Size: 10, Uninformed: 0.05, Informed: 0.004},
			{Size: 50, Uninformed: 0.015, Informed: 0.003},
			{Size: 200, Uninformed: 0.004, Informed: 0.002},
		},
		K: 0.5, InformedHorizon: 10, InformedK: 2,
		InventoryCap: 1000,
		Gamma:        1e-3,
	}
}

// TickLot is the term currency one tick on one lot is worth (10 CNY on
// USD/CNY: 0.0001 × 100,000).
func (p *Params) TickLot() float64 {
	return float64(p.Tick) / engine.PriceScale * float64(p.Lot)
}

// UnconditionalSigma is the long-run volatility (ticks per √s) of the fair
// value: the regimes' variances weighted by the time spent in each, plus
// the jumps'. It is the best constant a strategy without a volatility
// estimate can use, and the baselines get it.
func (p *Params) UnconditionalSigma() float64 {
	pv := p.CalmToVolatile / (p.CalmToVolatile + p.VolatileToCalm)
	v := (1-pv)*(p.SigmaCalm*p.SigmaCalm+p.JumpRateCalm*p.JumpCalm*p.JumpCalm) +
		pv*(p.SigmaVolatile*p.SigmaVolatile+p.JumpRateVolatile*p.JumpVolatile*p.JumpVolatile)
	return math.Sqrt(v)
}

// bookTop is the venue's best bid and ask at one step.
type bookTop struct {
	bid, ask       int64   // ticks
	bidQty, askQty float64 // lots
}

// trade is a public trade.
type trade struct {
	step  int32
	price int64 // ticks
	qty   float64
}

// arrival is a client reaching the broker's listing of one tier.
type arrival struct {
	step     int32
	tier     int8
	informed bool
	side     int8 // uninformed: +1 the client buys (at the ask), −1 sells
	u        float64
}

// market is one seed's world, drawn in full before any strategy runs.
type market struct {
	p        *Params
	steps    int       // steps simulated; arrays hold extra steps for markouts and informed clients
	warmup   int       // first measured step
	fair     []float64 // P, ticks
	varRate  []float64 // variance rate of P including jumps, ticks² per second
	volatile []bool
	book     []bookTop
	trades   []trade
	arrivals []arrival
}

// markoutSteps are the 1 s and 10 s markout horizons in steps.
func (m *market) horizonSteps(seconds float64) int { return int(math.Round(seconds / m.p.Dt)) }

func newMarket(p *Params, seed uint64) *market {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	m := &market{p: p}
	m.warmup = int(math.Round(p.Warmup / p.Dt))
	m.steps = m.warmup + int(math.Round(p.Session/p.Dt))
	extra := max(m.horizonSteps(10), m.horizonSteps(p.InformedHorizon)) + 1
	n := m.steps + extra
	m.fair = make([]float64, n)
	m.varRate = make([]float64, n)
	m.volatile = make([]bool, n)
	m.book = make([]bookTop, n)

	dt := p.Dt
	decay := math.Exp(-dt / p.AlphaTau)
	alphaShock := math.Sqrt(1 - decay*decay)
	P := float64(p.RefTicks) + rng.Float64() - 0.5
	alpha := 0.0
	vol := rng.Float64() < p.CalmToVolatile/(p.CalmToVolatile+p.VolatileToCalm)
	for i := range n {
		sigma, jumpRate, jumpSize, tradeRate := p.SigmaCalm, p.JumpRateCalm, p.JumpCalm, p.TradeRateCalm
		if vol {
			sigma, jumpRate, jumpSize, tradeRate = p.SigmaVolatile, p.JumpRateVolatile, p.JumpVolatile, p.TradeRateVolatile
		}
		alphaStd := p.AlphaCalm * sigma / p.SigmaCalm
		m.fair[i], m.volatile[i] = P, vol
		m.varRate[i] = sigma*sigma + jumpRate*jumpSize*jumpSize

		// The venue's book around P.
		var b bookTop
		wide := vol && rng.Float64() < p.WideSpreadVolatile
		if wide {
			c := int64(math.Round(P))
			b.bid, b.ask = c-1, c+1
		} else {
			b.bid = int64(math.Floor(P))
			b.ask = b.bid + 1
		}
		mid := float64(b.bid+b.ask) / 2
		halfSpread := float64(b.ask-b.bid) / 2
		lean := (P + p.BookLean*alpha - mid) / halfSpread
		imb := math.Max(-0.95, math.Min(0.95, lean+p.ImbalanceNoise*rng.NormFloat64()))
		depth := 10 + 50*rng.Float64()
		b.bidQty = math.Max(1, math.Round(depth*(1+imb)/2))
		b.askQty = math.Max(1, math.Round(depth*(1-imb)/2))
		m.book[i] = b

		if i < m.steps {
			if rng.Float64() < tradeRate*dt {
				buyProb := 0.5 + 0.35*math.Tanh(alpha/alphaStd)
				px := b.bid
				if rng.Float64() < buyProb {
					px = b.ask
				}
				m.trades = append(m.trades, trade{step: int32(i), price: px, qty: float64(1 + rng.IntN(20))})
			}
			for j, t := range p.Tiers {
				for _, side := range [2]int8{1, -1} {
					if rng.Float64() < t.Uninformed*dt {
						m.arrivals = append(m.arrivals, arrival{step: int32(i), tier: int8(j), side: side, u: rng.Float64()})
					}
				}
				if rng.Float64() < t.Informed*dt {
					m.arrivals = append(m.arrivals, arrival{step: int32(i), tier: int8(j), informed: true, u: rng.Float64()})
				}
			}
		}

		// Move to the next step.
		alpha = alpha*decay + alphaStd*alphaShock*rng.NormFloat64()
		P += alpha*dt + sigma*math.Sqrt(dt)*rng.NormFloat64()
		if rng.Float64() < jumpRate*dt {
			P += jumpSize * rng.NormFloat64()
		}
		if vol {
			vol = rng.Float64() >= p.VolatileToCalm*dt
		} else {
			vol = rng.Float64() < p.CalmToVolatile*dt
		}
	}
	return m
}
