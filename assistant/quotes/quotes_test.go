package quotes

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"fxmatch/engine"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

// Known inputs, worked by hand.
func TestGLFT(t *testing.T) {
	// ξ = 0 (running penalty): c₁ = 1/k, c₂ = √(γσ²e/(2Fk)).
	// γ 1e-3, σ 0.5, k 0.5, F 2.05 lots/s: c₂ = √(6.795705e-4/2.05) = 0.0182071.
	c1, c2 := GLFT(1e-3, 0, 0.5, 0.5, 2.05, 10)
	near(t, "c1", c1, 2, 1e-12)
	near(t, "c2", c2, 0.0182071, 1e-7)

	// ξ = γ = 0.1, Δ 1, k 0.5, σ 1, F = AΔ = 1: x = ξΔ/k = 0.2,
	// c₁ = ln 1.2 / 0.1 = 1.8232156, power term 1.2^6 = 2.985984,
	// c₂ = √(0.1/(2·0.5) · 2.985984) = 0.5464415.
	c1, c2 = GLFT(0.1, 0.1, 1, 0.5, 1, 1)
	near(t, "c1", c1, 1.8232156, 1e-7)
	near(t, "c2", c2, 0.5464415, 1e-7)

	// The ξ → 0 limit is continuous.
	a1, a2 := GLFT(0.1, 1e-7, 1, 0.5, 1, 1)
	b1, b2 := GLFT(0.1, 0, 1, 0.5, 1, 1)
	near(t, "c1 at ξ→0", a1, b1, 1e-6)
	near(t, "c2 at ξ→0", a2, b2, 1e-6)

	// c₂ grows with σ linearly and with risk aversion as its root, and
	// falls as the flow that unwinds inventory grows.
	_, s1 := GLFT(1e-3, 0, 1, 0.5, 2, 10)
	_, s3 := GLFT(1e-3, 0, 3, 0.5, 2, 10)
	near(t, "c2(3σ)/c2(σ)", s3/s1, 3, 1e-12)
	_, f8 := GLFT(1e-3, 0, 1, 0.5, 8, 10)
	near(t, "c2(4F)/c2(F)", f8/s1, 0.5, 1e-12)
}

func TestAvellanedaStoikov(t *testing.T) {
	// γ 0.1, σ 2, k 1.5, τ 10, q 3: offset −qγσ²τ = −12, half-spread
	// γσ²τ/2 + ln(1 + γ/k)/γ = 2 + 0.6453852.
	off, half := AvellanedaStoikov(0.1, 2, 1.5, 10, 3)
	near(t, "offset", off, -12, 1e-12)
	near(t, "half", half, 2.6453852, 1e-7)
	off, _ = AvellanedaStoikov(0.1, 2, 1.5, 10, -3)
	near(t, "offset short", off, 12, 1e-12)
}

func TestMicroprice(t *testing.T) {
	// Bid 100 × 3, ask 101 × 1: I = 0.5; the weighted mid is
	// (100·1 + 101·3)/4 = 100.75.
	f, imb := Microprice(100, 3, 101, 1, 1)
	near(t, "fair", f, 100.75, 1e-12)
	near(t, "imbalance", imb, 0.5, 1e-12)
	f, _ = Microprice(100, 3, 101, 1, 0.5)
	near(t, "fair w=0.5", f, 100.625, 1e-12)
	f, _ = Microprice(100, 3, 101, 1, 0)
	near(t, "fair w=0", f, 100.5, 1e-12)
	f, imb = Microprice(100, 0, 102, 0, 1)
	near(t, "fair, empty queues", f, 101, 1e-12)
	near(t, "imbalance, empty queues", imb, 0, 0)
}

func TestRoundAway(t *testing.T) {
	for _, tc := range []struct {
		bid, ask         float64
		wantBid, wantAsk int64
	}{
		{7.3, 9.2, 7, 10},
		{7, 9, 7, 9},
		{7 - 1e-12, 9 + 1e-12, 7, 9}, // floating-point noise is not a tick
		{7.000001, 8.999999, 7, 9},
		{-2.5, -0.5, -3, 0},
		{71019.5, 71020.5, 71019, 71021},
	} {
		b, a := RoundAway(tc.bid, tc.ask)
		if b != tc.wantBid || a != tc.wantAsk {
			t.Errorf("RoundAway(%v, %v) = %d, %d, want %d, %d", tc.bid, tc.ask, b, a, tc.wantBid, tc.wantAsk)
		}
	}
}

// The bounce correction: trade prices at P ± c, with P a random walk.
// Uncorrected, the estimate would carry 2c²/Δt of bounce.
func TestVolEstimatorRemovesBounce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const sigma, c, dt = 0.5, 0.5, 2.0 // ticks/√s, half-spread ticks, seconds between trades
	v := volEstimator{halfLife: 1e9, prior: 1, priorSecs: 1e-9}
	P := 0.0
	for i := range 200_000 {
		P += sigma * math.Sqrt(dt) * rng.NormFloat64()
		side := float64(2*rng.IntN(2) - 1)
		v.add(int64(i)*int64(dt*1e9), P+side*c)
	}
	near(t, "σ", math.Sqrt(v.variance()), sigma, 0.02)
	raw := math.Sqrt(v.sumR2 / v.sumDt)
	if raw < 0.65 {
		t.Errorf("uncorrected σ %.3f: the test's bounce should inflate it to about %.2f", raw, math.Sqrt(sigma*sigma+2*c*c/dt))
	}
}

func TestVolEstimatorFollowsRegime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	v := volEstimator{halfLife: 30, prior: 0.25, priorSecs: 10}
	P, ts := 0.0, int64(0)
	feed := func(sigma float64, n int) {
		for range n {
			P += sigma * math.Sqrt(0.5) * rng.NormFloat64()
			ts += 5e8
			v.add(ts, P)
		}
	}
	feed(0.5, 2000)
	calm := math.Sqrt(v.variance())
	feed(2, 600) // five minutes at 4×
	volatile := math.Sqrt(v.variance())
	near(t, "calm σ", calm, 0.5, 0.15)
	near(t, "volatile σ", volatile, 2, 0.5)
}

func TestImbalanceLearner(t *testing.T) {
	// The mid moves, over the horizon, by 0.6 × the imbalance signal
	// plus noise: the learned weight converges to 0.6.
	rng := rand.New(rand.NewPCG(5, 6))
	l := newImbalanceLearner(0.5, 2)
	mid := 0.0
	x := 0.0
	for i := range 200_000 {
		// One sample every 0.25 s; the signal persists for the horizon.
		if i%8 == 0 {
			mid += 0.6 * x
			x = 0.5 * rng.NormFloat64()
		}
		l.add(int64(i)*25e7, mid+0.05*rng.NormFloat64(), x)
	}
	near(t, "w", l.weight(), 0.6, 0.05)
	off := newImbalanceLearner(0.3, 0)
	off.add(0, 1, 1)
	off.add(1e10, 5, 1)
	near(t, "w without learning", off.weight(), 0.3, 0)
}

// usdcny is the demo USD/CNY with default parameters, learning off so
// that fair values are exact.
func usdcny(t *testing.T) *Recommender {
	t.Helper()
	in := engine.Instrument{Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: 10_000, Lot: 100_000,
		MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 710_000_000, BandBP: 200}
	p := DefaultParams(in)
	p.ImbalanceHorizon = 0
	p.ImbalanceWeight = 1
	r, err := New(Config{Instruments: []Instrument{{Instrument: in, Params: p}}, MaxBrokers: 4})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func px(s string) engine.Price {
	p, err := engine.ParsePrice(s)
	if err != nil {
		panic(err)
	}
	return p
}

func book(r *Recommender, ts int64, bid string, bq engine.Qty, ask string, aq engine.Qty) {
	err := r.OnBook(Book{Symbol: "USD/CNY", Time: ts,
		Bids: []Level{{px(bid), bq}, {px(bid) - 10_000, 9_000_000}},
		Asks: []Level{{px(ask), aq}, {px(ask) + 10_000, 9_000_000}}})
	if err != nil {
		panic(err)
	}
}

func mustQuote(t *testing.T, r *Recommender, broker string, size engine.Qty) Quote {
	t.Helper()
	q, err := r.Recommend(broker, "USD/CNY", size)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Prices are on the tick grid and rounded away from the centre: never
// inside the model's bid and ask, never more than a tick outside.
func TestQuotesOnTickGridRoundedAway(t *testing.T) {
	r := usdcny(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 2000 {
		bid := 71_000 + rng.IntN(40)
		book(r, int64(i)*1e9, engine.FormatPrice(engine.Price(bid)*10_000, 4), engine.Qty(1+rng.IntN(50))*100_000,
			engine.FormatPrice(engine.Price(bid+1+rng.IntN(2))*10_000, 4), engine.Qty(1+rng.IntN(50))*100_000)
		if i%7 == 0 {
			side := engine.Buy
			if rng.IntN(2) == 0 {
				side = engine.Sell
			}
			r.OnFill(Fill{Broker: "B", Symbol: "USD/CNY", Time: int64(i) * 1e9, Side: side, Price: 710_000_000, Qty: 1_000_000})
		}
		size := engine.Qty(1+rng.IntN(300)) * 100_000
		q, err := r.Prices("B", "USD/CNY", size)
		if err != nil {
			t.Fatal(err)
		}
		if q.Bid%10_000 != 0 || q.Ask%10_000 != 0 || q.Bid >= q.Ask {
			t.Fatalf("quote %d/%d off the grid or crossed", q.Bid, q.Ask)
		}
		centre := q.Fair + q.Skew
		bidF, askF := float64(q.Bid)/1e8, float64(q.Ask)/1e8
		inBook := bidF < float64(r.syms["USD/CNY"].askPx)/1e8 && askF > float64(r.syms["USD/CNY"].bidPx)/1e8
		if !inBook {
			t.Fatalf("quote %v/%v crosses the venue's book", bidF, askF)
		}
		if bidF > centre-q.HalfSpread+1e-12 || askF < centre+q.HalfSpread-1e-12 {
			t.Fatalf("quote %v/%v inside the model's %v ± %v", bidF, askF, centre, q.HalfSpread)
		}
		if bidF < centre-q.HalfSpread-0.0001-1e-12 || askF > centre+q.HalfSpread+0.0001+1e-12 {
			t.Fatalf("quote %v/%v more than a tick outside %v ± %v", bidF, askF, centre, q.HalfSpread)
		}
	}
}

func TestInventorySkewsQuotes(t *testing.T) {
	r := usdcny(t)
	book(r, 0, "7.1020", 5_000_000, "7.1021", 5_000_000)
	flat := mustQuote(t, r, "B", 5_000_000)
	if flat.Skew != 0 {
		t.Fatalf("flat broker skew %v", flat.Skew)
	}
	// Default parameters: c₂ ≈ 0.028 ticks per lot, so each million long
	// lowers both quotes by about a quarter of a tick; 4m stays clear of
	// the venue's book (which would stop the skew).
	prev := flat
	for i := 1; i <= 4; i++ {
		r.OnFill(Fill{Broker: "B", Symbol: "USD/CNY", Time: int64(i), Side: engine.Buy, Price: px("7.1020"), Qty: 1_000_000})
		long := mustQuote(t, r, "B", 5_000_000)
		if long.Inventory != int64(i)*1_000_000 {
			t.Fatalf("inventory %d", long.Inventory)
		}
		if !(long.Skew < prev.Skew) || long.Bid > prev.Bid || long.Ask > prev.Ask {
			t.Fatalf("long %d: skew %v bid %d ask %d, before %v %d %d: want lower quotes",
				long.Inventory, long.Skew, long.Bid, long.Ask, prev.Skew, prev.Bid, prev.Ask)
		}
		prev = long
	}
	if prev.Bid >= flat.Bid || prev.Ask >= flat.Ask {
		t.Fatalf("4m long: %d/%d not below flat %d/%d", prev.Bid, prev.Ask, flat.Bid, flat.Ask)
	}
	// Another broker's fills do not move this one's quotes.
	if q := mustQuote(t, r, "OTHER", 5_000_000); q.Bid != flat.Bid || q.Ask != flat.Ask {
		t.Fatalf("other broker %d/%d, want %d/%d", q.Bid, q.Ask, flat.Bid, flat.Ask)
	}
	// Short: quotes rise.
	if err := r.SetInventory("B", "USD/CNY", -4_000_000); err != nil {
		t.Fatal(err)
	}
	short := mustQuote(t, r, "B", 5_000_000)
	if !(short.Skew > 0) || short.Bid <= flat.Bid || short.Ask <= flat.Ask {
		t.Fatalf("short: skew %v, %d/%d vs flat %d/%d", short.Skew, short.Bid, short.Ask, flat.Bid, flat.Ask)
	}
	// The skew is symmetric: −q·c₂.
	near(t, "skew symmetry", short.Skew, -prev.Skew, 1e-12)
	// Far long, the ask stops one tick above the venue's bid: lower, the
	// broker should sell on the venue instead.
	if err := r.SetInventory("B", "USD/CNY", 100_000_000); err != nil {
		t.Fatal(err)
	}
	if q := mustQuote(t, r, "B", 5_000_000); q.Ask != px("7.1021") {
		t.Fatalf("100m long: ask %d, want the venue's bid + 1 tick", q.Ask)
	}
}

func TestLargerSizesWider(t *testing.T) {
	r := usdcny(t)
	book(r, 0, "7.1020", 5_000_000, "7.1021", 5_000_000)
	var last Quote
	for i, size := range []engine.Qty{1_000_000, 5_000_000, 20_000_000, 100_000_000} {
		q := mustQuote(t, r, "B", size)
		if i > 0 && (q.HalfSpread <= last.HalfSpread || q.Ask-q.Bid < last.Ask-last.Bid) {
			t.Fatalf("size %d: half-spread %v (%d/%d) not wider than %v for %d", size, q.HalfSpread, q.Bid, q.Ask, last.HalfSpread, last.Size)
		}
		last = q
	}
}

func TestVolatileMarketWider(t *testing.T) {
	quote := func(sigmaTicks float64) Quote {
		r := usdcny(t)
		rng := rand.New(rand.NewPCG(9, 10))
		P := 71_020.0
		for i := range 600 {
			P += sigmaTicks * rng.NormFloat64()
			r.OnTrade(Trade{Symbol: "USD/CNY", Time: int64(i) * 1e9, Price: engine.Price(math.Round(P)) * 10_000, Qty: 1_000_000})
		}
		book(r, 600e9, "7.1020", 5_000_000, "7.1021", 5_000_000)
		return mustQuote(t, r, "B", 5_000_000)
	}
	calm, wild := quote(0.5), quote(2)
	if wild.Sigma < 2.5*calm.Sigma || wild.HalfSpread <= calm.HalfSpread {
		t.Fatalf("σ %v → %v, half-spread %v → %v: want a wider quote in the volatile market",
			calm.Sigma, wild.Sigma, calm.HalfSpread, wild.HalfSpread)
	}
}

func TestFairLeansWithQueues(t *testing.T) {
	r := usdcny(t)
	book(r, 0, "7.1020", 9_000_000, "7.1021", 1_000_000)
	up := mustQuote(t, r, "B", 1_000_000)
	near(t, "fair", up.Fair, 7.10209, 1e-9) // 7.10205 + 0.8 × 0.00005
	book(r, 1, "7.1020", 1_000_000, "7.1021", 9_000_000)
	down := mustQuote(t, r, "B", 1_000_000)
	near(t, "fair", down.Fair, 7.10201, 1e-9)
	if up.Bid < down.Bid || up.Ask < down.Ask {
		t.Fatalf("heavy bid queue %d/%d below heavy ask queue %d/%d", up.Bid, up.Ask, down.Bid, down.Ask)
	}
}

func TestRationale(t *testing.T) {
	r := usdcny(t)
	book(r, 0, "7.1020", 9_000_000, "7.1021", 1_000_000)
	r.OnFill(Fill{Broker: "B", Symbol: "USD/CNY", Side: engine.Buy, Price: px("7.1020"), Qty: 15_000_000})
	q := mustQuote(t, r, "B", 5_000_000)
	all := strings.Join(q.Rationale, "\n")
	for _, want := range []string{"microprice", "volatility", "long 15,000,000 USD", "lowered to sell", "size 5,000,000 USD", "rounded away"} {
		if !strings.Contains(all, want) {
			t.Errorf("rationale lacks %q:\n%s", want, all)
		}
	}
	if p, _ := r.Prices("B", "USD/CNY", 5_000_000); p.Rationale != nil || p.Bid != q.Bid || p.Ask != q.Ask {
		t.Errorf("Prices differs from Recommend: %+v", p)
	}
}

func TestErrors(t *testing.T) {
	r := usdcny(t)
	if _, err := r.Recommend("B", "GBP/USD", 1_000_000); !errors.Is(err, ErrUnknownSymbol) {
		t.Errorf("unknown symbol: %v", err)
	}
	if _, err := r.Recommend("B", "USD/CNY", 1_000_000); !errors.Is(err, ErrNoBook) {
		t.Errorf("no book: %v", err)
	}
	// A one-sided book does not count.
	r.OnBook(Book{Symbol: "USD/CNY", Bids: []Level{{px("7.1"), 100_000}}})
	if _, err := r.Recommend("B", "USD/CNY", 1_000_000); !errors.Is(err, ErrNoBook) {
		t.Errorf("one-sided book: %v", err)
	}
	book(r, 0, "7.1020", 1_000_000, "7.1021", 1_000_000)
	for _, size := range []engine.Qty{0, -100_000, 150_000} {
		if _, err := r.Recommend("B", "USD/CNY", size); !errors.Is(err, ErrBadSize) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	for _, b := range []string{"B1", "B2", "B3", "B4"} {
		if err := r.OnFill(Fill{Broker: b, Symbol: "USD/CNY", Side: engine.Buy, Qty: 100_000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.OnFill(Fill{Broker: "B5", Symbol: "USD/CNY", Side: engine.Buy, Qty: 100_000}); !errors.Is(err, ErrTooManyBrokers) {
		t.Errorf("fifth broker: %v", err)
	}
	if err := r.OnFill(Fill{Broker: "B1", Symbol: "USD/CNY", Side: 9, Qty: 100_000}); err == nil {
		t.Errorf("bad side accepted")
	}
	in := engine.Instrument{Symbol: "X/Y", Tick: 1, Lot: 1}
	for _, mut := range []func(*Params){
		func(p *Params) { p.Gamma = 0 },
		func(p *Params) { p.K = math.NaN() },
		func(p *Params) { p.Tiers = nil },
		func(p *Params) { p.Tiers = []Tier{{2, 1}, {1, 1}} },
		func(p *Params) { p.ImbalanceWeight = 2 },
	} {
		p := DefaultParams(in)
		mut(&p)
		if _, err := New(Config{Instruments: []Instrument{{Instrument: in, Params: p}}}); !errors.Is(err, ErrBadConfig) {
			t.Errorf("bad params accepted: %v", err)
		}
	}
}

// Prices is called several times a second per listing: no allocation.
func TestPricesDoesNotAllocate(t *testing.T) {
	r := usdcny(t)
	book(r, 0, "7.1020", 1_000_000, "7.1021", 1_000_000)
	r.OnFill(Fill{Broker: "B", Symbol: "USD/CNY", Side: engine.Buy, Qty: 100_000})
	b := Book{Symbol: "USD/CNY", Bids: []Level{{px("7.1020"), 100_000}}, Asks: []Level{{px("7.1021"), 100_000}}}
	tr := Trade{Symbol: "USD/CNY", Price: px("7.1020"), Qty: 100_000}
	allocs := testing.AllocsPerRun(1000, func() {
		b.Time += 1e8
		tr.Time = b.Time
		r.OnBook(b)
		r.OnTrade(tr)
		if _, err := r.Prices("B", "USD/CNY", 5_000_000); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per book, trade and quote", allocs)
	}
}
