// Package quotes recommends two-way prices for brokers' storefront
// listings: for a broker, a pair and a size, a bid and an ask on the tick
// grid, with the reasons in words.
//
// The recommendation is the Guéant–Lehalle–Fernandez-Tapia closed form
// (see GLFT) fed with what the venue knows and a plain market maker does
// not:
//
//   - fair value: the queue-imbalance microprice of the venue's book
//     (Microprice), not the mid: a long bid queue and a short ask queue
//     say the next move is up. How far to lean is learned from the book
//     itself (imbalanceLearner): the regression slope of the mid's move
//     over the next ImbalanceHorizon on imbalance × half-spread;
//   - volatility: an exponentially weighted estimate from recent trades
//     with a bid-ask bounce correction (volEstimator), so quotes widen
//     when the market turns volatile and narrow again when it calms;
//   - inventory: the broker's position from its own fills, which skews
//     both quotes to unwind it (−q·c₂);
//   - size: the larger the size, the more inventory one fill brings, so
//     larger tiers are quoted wider (the Δ·c₂/2 term).
//
// Then the bid and ask are rounded away from the fair value onto the tick
// grid (RoundAway) and kept from crossing the venue's book: a broker whose
// bid is above the venue's best offer should buy on the venue instead.
//
// Like the engine, a Recommender is a deterministic state machine: book
// snapshots, trades and fills come in with their timestamps, there is no
// clock, no goroutine and no I/O, and its memory is bounded by the number
// of instruments and brokers (Config.MaxBrokers). It is not safe for
// concurrent use: the NATS service owns one on one goroutine.
package quotes

import (
	"errors"
	"fmt"
	"math"

	"fxmatch/engine"
)

// Package errors, matched with errors.Is.
var (
	ErrUnknownSymbol  = errors.New("quotes: unknown symbol")
	ErrNoBook         = errors.New("quotes: no two-sided book for the symbol yet")
	ErrBadSize        = errors.New("quotes: size must be a positive whole number of lots")
	ErrTooManyBrokers = errors.New("quotes: too many brokers")
	ErrBadConfig      = errors.New("quotes: bad configuration")
)

// Level is one price level of a book side.
type Level struct {
	Price engine.Price
	Qty   engine.Qty
}

// Book is a snapshot of an instrument's book, best levels first. Only the
// best level of each side is used (the microprice); deeper levels are
// accepted so that callers can pass the venue's snapshot as it is.
type Book struct {
	Symbol string
	Time   int64 // Unix nanoseconds
	Bids   []Level
	Asks   []Level
}

// Trade is a public trade on the venue.
type Trade struct {
	Symbol string
	Time   int64 // Unix nanoseconds
	Price  engine.Price
	Qty    engine.Qty
}

// Fill is one of a broker's own fills, from its execution reports.
type Fill struct {
	Broker string
	Symbol string
	Time   int64       // Unix nanoseconds
	Side   engine.Side // the broker's side: Buy adds to its inventory
	Price  engine.Price
	Qty    engine.Qty
}

// Tier is one of the sizes a broker lists and its client flow: orders of
// Size arrive at a quote at distance δ from the fair value at A·exp(−k·δ)
// per second. The tiers together are the flow F that unwinds inventory
// (see GLFT).
type Tier struct {
	Size engine.Qty
	A    float64 // per second
}

// Params are the model's parameters for one instrument, in ticks, lots and
// seconds (see model.go for the formulas).
type Params struct {
	Gamma float64 // γ, risk aversion per tick·lot of P&L
	Xi    float64 // ξ, 0 for the running-penalty objective, Gamma for CARA
	K     float64 // k, intensity decay per tick
	// Tiers, by increasing size. A recommendation for any size uses the
	// flow of all tiers for the skew and the nearest tier's markouts.
	Tiers []Tier
	// SigmaPrior is the volatility assumed before trades say otherwise
	// (ticks per √s), and SigmaPriorSecs how many seconds of trading that
	// assumption is worth against the estimate.
	SigmaPrior     float64
	SigmaPriorSecs float64
	VolHalfLife    float64 // seconds, the estimator's half-life
	// ImbalanceWeight is w in Microprice (1: the size-weighted mid, 0:
	// the plain mid). With ImbalanceHorizon > 0 it is only the prior, and
	// w is learned from the book: the slope of the mid's move over the
	// next ImbalanceHorizon seconds on imbalance × half-spread, kept in
	// [0, 1] (see imbalanceLearner).
	ImbalanceWeight  float64
	ImbalanceHorizon float64
	// MaxHalfSpread caps the half-spread (ticks).
	MaxHalfSpread float64
}

// DefaultParams are starting values for an instrument, to be replaced by
// ones fitted to the broker's storefront history: 1m, 5m and 20m tiers
// with 0.05, 0.015 and 0.004 orders a second at the fair value, half of
// them gone 1.4 ticks away (k = 0.5), a prior of 5% annual volatility at
// the reference price, a microprice weight learned over 2 s from a prior
// of 0.5, and the risk aversion the simulator's evaluation uses (see
// quotesim).
func DefaultParams(in engine.Instrument) Params {
	lot := float64(in.Lot)
	if lot <= 0 {
		lot = 100_000
	}
	tier := func(m float64) engine.Qty {
		q := engine.Qty(math.Max(1, math.Round(m*1e6/lot))) * in.Lot
		return max(q, in.Lot)
	}
	sigma := 1.0
	if in.RefPrice > 0 && in.Tick > 0 {
		const secondsPerYear = 252 * 86400
		sigma = float64(in.RefPrice) * 0.05 / math.Sqrt(secondsPerYear) / float64(in.Tick)
	}
	return Params{
		Gamma: 1e-3, Xi: 0, K: 0.5,
		Tiers:            []Tier{{tier(1), 0.05}, {tier(5), 0.015}, {tier(20), 0.004}},
		SigmaPrior:       sigma,
		SigmaPriorSecs:   10,
		VolHalfLife:      30,
		ImbalanceWeight:  0.5,
		ImbalanceHorizon: 2,
		MaxHalfSpread:    50,
	}
}

func (p *Params) check() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(f, a...))
	}
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return bad("%s %v: want a positive number", name, v)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"Gamma", p.Gamma}, {"K", p.K}, {"SigmaPrior", p.SigmaPrior}, {"SigmaPriorSecs", p.SigmaPriorSecs},
		{"VolHalfLife", p.VolHalfLife}, {"MaxHalfSpread", p.MaxHalfSpread}} {
		if err := pos(c.name, c.v); err != nil {
			return err
		}
	}
	if !(p.Xi >= 0) || !(p.ImbalanceWeight >= 0 && p.ImbalanceWeight <= 1) ||
		!(p.ImbalanceHorizon >= 0 && p.ImbalanceHorizon <= 3600) {
		return bad("Xi %v, ImbalanceWeight %v, ImbalanceHorizon %v out of range",
			p.Xi, p.ImbalanceWeight, p.ImbalanceHorizon)
	}
	if len(p.Tiers) == 0 || len(p.Tiers) > MaxTiers {
		return bad("%d tiers: want 1 to %d", len(p.Tiers), MaxTiers)
	}
	for i, t := range p.Tiers {
		if t.Size <= 0 || !(t.A > 0) || math.IsInf(t.A, 0) || i > 0 && t.Size <= p.Tiers[i-1].Size {
			return bad("tier %d (size %d, A %v): want increasing sizes and positive intensities", i, t.Size, t.A)
		}
	}
	return nil
}

// MaxTiers bounds Params.Tiers.
const MaxTiers = 8

// Instrument is an instrument and its model parameters.
type Instrument struct {
	engine.Instrument
	Params Params
}

// Config builds a Recommender.
type Config struct {
	Instruments []Instrument
	// MaxBrokers bounds the brokers tracked (inventory and markouts per
	// instrument); fills of more brokers are refused with
	// ErrTooManyBrokers. Zero means 256.
	MaxBrokers int
}

// Quote is a recommendation. Prices are in price units (term currency per
// unit of base currency); Bid and Ask are exact and on the tick grid.
type Quote struct {
	Broker string
	Symbol string
	Size   engine.Qty
	Bid    engine.Price
	Ask    engine.Price
	// Fair is the microprice the quote is centred on; HalfSpread the
	// model's half-spread before rounding; Skew the inventory shift added
	// to both sides (negative when the broker is long); Sigma the
	// volatility used, per √second.
	Fair       float64
	HalfSpread float64
	Skew       float64
	Sigma      float64
	// Inventory is the broker's position in the base currency, from its
	// fills (long positive).
	Inventory int64
	// Rationale says why, one short sentence a line; nil from Prices.
	Rationale []string
}

// symState is what the Recommender knows about one instrument.
type symState struct {
	in      Instrument
	tick    float64 // engine.Price units per tick
	tickPx  float64 // price units (term currency) per tick
	lot     float64
	hasBook bool
	bookT   int64
	bidPx   engine.Price
	askPx   engine.Price
	bidQty  engine.Qty
	askQty  engine.Qty
	fair    float64 // ticks
	imb     float64
	vol     volEstimator
	lean    imbalanceLearner
	brokers []brokerState // by broker index
}

// brokerState is one broker's position in one instrument.
type brokerState struct {
	inventory int64 // base units
	fills     int
}

// Recommender turns market data and a broker's fills into quotes.
type Recommender struct {
	syms       map[string]*symState
	brokers    map[string]int32
	maxBrokers int
}

// New checks the configuration and returns a Recommender.
func New(cfg Config) (*Recommender, error) {
	r := &Recommender{syms: map[string]*symState{}, brokers: map[string]int32{}, maxBrokers: cfg.MaxBrokers}
	if r.maxBrokers == 0 {
		r.maxBrokers = 256
	}
	for _, in := range cfg.Instruments {
		if in.Tick <= 0 || in.Lot <= 0 {
			return nil, fmt.Errorf("%w: %s: tick and lot must be positive", ErrBadConfig, in.Symbol)
		}
		if err := in.Params.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", in.Symbol, err)
		}
		if _, dup := r.syms[in.Symbol]; dup {
			return nil, fmt.Errorf("%w: %s twice", ErrBadConfig, in.Symbol)
		}
		in.Params.Tiers = append([]Tier(nil), in.Params.Tiers...)
		s := &symState{in: in, tick: float64(in.Tick), tickPx: float64(in.Tick) / engine.PriceScale, lot: float64(in.Lot)}
		s.vol = volEstimator{halfLife: in.Params.VolHalfLife, prior: in.Params.SigmaPrior * in.Params.SigmaPrior,
			priorSecs: in.Params.SigmaPriorSecs}
		s.lean = newImbalanceLearner(in.Params.ImbalanceWeight, in.Params.ImbalanceHorizon)
		r.syms[in.Symbol] = s
	}
	return r, nil
}

// OnBook takes a book snapshot. A snapshot without both sides leaves the
// last two-sided one in place (a quote needs a fair value).
func (r *Recommender) OnBook(b Book) error {
	s, ok := r.syms[b.Symbol]
	if !ok {
		return ErrUnknownSymbol
	}
	if len(b.Bids) == 0 || len(b.Asks) == 0 || b.Bids[0].Price <= 0 || b.Asks[0].Price <= b.Bids[0].Price {
		return nil
	}
	s.hasBook, s.bookT = true, b.Time
	s.bidPx, s.askPx = b.Bids[0].Price, b.Asks[0].Price
	s.bidQty, s.askQty = max(b.Bids[0].Qty, 0), max(b.Asks[0].Qty, 0)
	bid, ask := float64(s.bidPx)/s.tick, float64(s.askPx)/s.tick
	_, s.imb = Microprice(bid, float64(s.bidQty), ask, float64(s.askQty), 0)
	s.lean.add(b.Time, (bid+ask)/2, s.imb*(ask-bid)/2)
	s.fair, _ = Microprice(bid, float64(s.bidQty), ask, float64(s.askQty), s.lean.weight())
	return nil
}

// OnTrade takes a public trade (for the volatility estimate).
func (r *Recommender) OnTrade(t Trade) error {
	s, ok := r.syms[t.Symbol]
	if !ok {
		return ErrUnknownSymbol
	}
	s.vol.add(t.Time, float64(t.Price)/s.tick)
	return nil
}

// OnFill takes one of a broker's fills: its inventory moves.
func (r *Recommender) OnFill(f Fill) error {
	s, ok := r.syms[f.Symbol]
	if !ok {
		return ErrUnknownSymbol
	}
	if f.Qty <= 0 || f.Side != engine.Buy && f.Side != engine.Sell {
		return fmt.Errorf("quotes: fill with qty %d side %d", f.Qty, f.Side)
	}
	bi, err := r.broker(f.Broker)
	if err != nil {
		return err
	}
	bs := s.broker(bi)
	if f.Side == engine.Buy {
		bs.inventory += int64(f.Qty)
	} else {
		bs.inventory -= int64(f.Qty)
	}
	bs.fills++
	return nil
}

// SetInventory sets a broker's position (base units, long positive), for
// a start of day or a restart that rebuilt positions from the journal.
func (r *Recommender) SetInventory(broker, symbol string, qty int64) error {
	s, ok := r.syms[symbol]
	if !ok {
		return ErrUnknownSymbol
	}
	bi, err := r.broker(broker)
	if err != nil {
		return err
	}
	s.broker(bi).inventory = qty
	return nil
}

func (r *Recommender) broker(name string) (int32, error) {
	if i, ok := r.brokers[name]; ok {
		return i, nil
	}
	if len(r.brokers) >= r.maxBrokers {
		return 0, ErrTooManyBrokers
	}
	i := int32(len(r.brokers))
	r.brokers[name] = i
	return i, nil
}

func (s *symState) broker(i int32) *brokerState {
	for int(i) >= len(s.brokers) {
		s.brokers = append(s.brokers, brokerState{})
	}
	return &s.brokers[i]
}

// flow is F = Σ A_j·Δ_j over the tiers, in lots per second.
func (s *symState) flow() float64 {
	f := 0.0
	for _, t := range s.in.Params.Tiers {
		f += t.A * float64(t.Size) / s.lot
	}
	return f
}

// Prices is Recommend without the rationale, for callers that refresh
// quotes many times a second (it does not allocate).
func (r *Recommender) Prices(broker, symbol string, size engine.Qty) (Quote, error) {
	return r.recommend(broker, symbol, size, false)
}

// Recommend returns a bid and an ask for broker's listing of size on
// symbol, with the rationale.
func (r *Recommender) Recommend(broker, symbol string, size engine.Qty) (Quote, error) {
	return r.recommend(broker, symbol, size, true)
}

func (r *Recommender) recommend(broker, symbol string, size engine.Qty, why bool) (Quote, error) {
	s, ok := r.syms[symbol]
	if !ok {
		return Quote{}, ErrUnknownSymbol
	}
	if size <= 0 || size%s.in.Lot != 0 {
		return Quote{}, ErrBadSize
	}
	if !s.hasBook {
		return Quote{}, ErrNoBook
	}
	p := &s.in.Params
	var bs brokerState
	if bi, ok := r.brokers[broker]; ok && int(bi) < len(s.brokers) {
		bs = s.brokers[bi]
	}
	delta := float64(size) / s.lot
	q := float64(bs.inventory) / s.lot
	variance := s.vol.variance()
	sigma := math.Sqrt(variance)
	flow := s.flow()
	c1, c2 := GLFT(p.Gamma, p.Xi, sigma, p.K, flow, delta)
	half := math.Min(c1+delta*c2/2, p.MaxHalfSpread)
	skew := -q * c2
	// The skew may move a quote through the fair value (a long broker
	// asking below it) but not through the venue's book: past it the
	// broker should trade on the venue instead.
	bidPx, askPx := float64(s.bidPx)/s.tick, float64(s.askPx)/s.tick
	center := s.fair + skew
	center = math.Min(math.Max(center, bidPx-half+1), askPx+half-1)
	bid, ask := RoundAway(center-half, center+half)
	bid = max(min(bid, int64(s.askPx/s.in.Tick)-1), 1) // and a price is positive
	ask = max(ask, int64(s.bidPx/s.in.Tick)+1, bid+1)
	qt := Quote{
		Broker: broker, Symbol: symbol, Size: size,
		Bid: engine.Price(bid) * s.in.Tick, Ask: engine.Price(ask) * s.in.Tick,
		Fair: s.fair * s.tickPx, HalfSpread: half * s.tickPx, Skew: (center - s.fair) * s.tickPx,
		Sigma: sigma * s.tickPx, Inventory: bs.inventory,
	}
	if why {
		qt.Rationale = s.rationale(&qt, rationaleInputs{
			delta: delta, sigma: sigma, flow: flow, c1: c1, c2: c2, half: half, skew: center - s.fair,
		})
	}
	return qt, nil
}

type rationaleInputs struct {
	delta, q, sigma, flow, c1, c2 float64
	tier                          int
	tox, adverse, half, skew      float64
	markouts                      int
}

func (s *symState) rationale(qt *Quote, in rationaleInputs) []string {
	d := engine.TickDecimals(s.in.Tick)
	px := func(p engine.Price) string { return engine.FormatPrice(p, d) }
	fx := func(v float64) string { return fmt.Sprintf("%.*f", d+1, v) }
	base := s.in.Base
	out := make([]string, 0, 6)
	mid := (float64(s.bidPx) + float64(s.askPx)) / 2 / s.tick
	lean := "no lean"
	if s.fair-mid > 0.005 {
		lean = fmt.Sprintf("%.2f ticks above the mid", s.fair-mid)
	} else if mid-s.fair > 0.005 {
		lean = fmt.Sprintf("%.2f ticks below the mid", mid-s.fair)
	}
	learned := "fixed"
	if s.lean.horizon > 0 {
		learned = fmt.Sprintf("learned from %d moves", s.lean.n)
	}
	out = append(out, fmt.Sprintf("fair %s: microprice of bid %s × %s and offer %s × %s (queue imbalance %+.2f × weight %.2f, %s: %s)",
		fx(qt.Fair), px(s.bidPx), groupQty(int64(s.bidQty)), px(s.askPx), groupQty(int64(s.askQty)), s.imb, s.lean.weight(), learned, lean))
	ratio := in.sigma / s.in.Params.SigmaPrior
	regime := "normal"
	switch {
	case ratio > 1.5:
		regime = "volatile"
	case ratio < 0.67:
		regime = "quiet"
	}
	out = append(out, fmt.Sprintf("volatility %.2f ticks/√s from %d trades (half-life %.0fs), %.1f× the prior: %s market",
		in.sigma, s.vol.trades(), s.in.Params.VolHalfLife, ratio, regime))
	switch {
	case qt.Inventory == 0:
		out = append(out, fmt.Sprintf("flat in %s: no skew", s.in.Symbol))
	default:
		dir, act := "long", "lowered to sell"
		if qt.Inventory < 0 {
			dir, act = "short", "raised to buy"
		}
		out = append(out, fmt.Sprintf("%s %s %s from fills: quotes %s, skew %+.2f ticks (%.3f ticks per lot)",
			dir, groupQty(abs64(qt.Inventory)), base, act, in.skew, in.c2))
	}
	out = append(out, fmt.Sprintf("size %s %s: half-spread %.2f ticks = %.2f base (GLFT c₁) + %.2f for size and volatility (Δ·c₂/2, client flow %.2f lots/s)",
		groupQty(int64(qt.Size)), base, in.half, in.c1, in.delta*in.c2/2, in.flow))
	out = append(out, fmt.Sprintf("bid %s / ask %s: rounded away from fair onto the %s grid", px(qt.Bid), px(qt.Ask), px(s.in.Tick)))
	return out
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func groupQty(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
