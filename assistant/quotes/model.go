package quotes

import "math"

// The formulas, as pure functions of numbers in the model's units: prices
// in ticks, quantities in lots, time in seconds. Working in ticks and lots
// lets one set of parameters mean the same thing on every pair (a tick is
// 0.0001 CNY on USD/CNY and 0.001 JPY on USD/JPY; a lot is 100,000 of the
// base currency); P&L in "tick·lots" converts to the term currency by
// multiplying by tick × lot (10 CNY on USD/CNY, 1 USD on EUR/USD).
//
// Symbols, with units:
//
//	S      fair value (ticks): the price the market is centred on
//	q      the broker's inventory (lots), long positive
//	Δ      the size quoted (lots)
//	σ      volatility of S (ticks per √second)
//	γ      risk aversion (per tick·lot): what a unit of P&L variance costs
//	ξ      the risk aversion inside the exponential utility: γ for the
//	       CARA objective E[−exp(−γ·wealth)], 0 for the running-penalty
//	       objective E[wealth − ½γσ²∫q²dt] (Guéant 2017, models A and B)
//	A      intensity: client orders of size Δ per second that would trade
//	       at a quote at distance 0 from S
//	F      client flow, Σ A·Δ over the sizes quoted (lots per second)
//	k      decay of that intensity with distance (per tick): an order
//	       arrives at a quote δ ticks from S at rate A·exp(−k·δ)
//	τ      horizon (seconds), Avellaneda–Stoikov only

// GLFT is the closed-form approximation of Guéant, Lehalle and
// Fernandez-Tapia (2013) to the optimal quotes of a market maker facing
// the intensity A·exp(−k·δ), in Guéant's (2017) form with an order size
// Δ. The bid and ask distances from S are
//
//	δᵇ(q) = c₁ + (Δ/2 + q)·c₂      δᵃ(q) = c₁ + (Δ/2 − q)·c₂
//	c₁ = 1/(ξΔ) · ln(1 + ξΔ/k)                                   (ticks)
//	c₂ = √( γσ²/(2·F·k) · (1 + ξΔ/k)^(1 + k/(ξΔ)) )              (ticks per lot)
//
// so the half-spread is c₁ + Δ·c₂/2 and both quotes move by −q·c₂: a long
// broker lowers its bid (buys less) and its ask (sells more). As ξ → 0,
// c₁ → 1/k and the power term → e.
//
// F is the client flow that can unwind the inventory, in lots per
// second: A·Δ for one quote. A broker quoting several sizes at once
// (tiers j, each with its own A_j) unwinds through all of them, and the
// same quadratic approximation of the value function (θ(q) ≈ −½c₂q²,
// expanding the Hamiltonian H_j(p) = A_j/(ke)·e^(−kp) to second order)
// gives one common c₂ with F = Σ A_j·Δ_j; each tier keeps its own Δ/2
// term. (For ξ > 0 the power term is taken at the quoted Δ, which is exact
// for one tier and an approximation for several.) So a larger tier is
// quoted wider by Δ·c₂/2, and every tier widens with σ: inventory taken
// in size is slow to unwind and riskier when the market moves.
func GLFT(gamma, xi, sigma, k, flow, delta float64) (c1, c2 float64) {
	x := xi * delta / k
	var pw float64
	if x < 1e-9 {
		c1 = 1 / k
		pw = math.E
	} else {
		c1 = math.Log1p(x) / (xi * delta)
		pw = math.Exp((1 + 1/x) * math.Log1p(x))
	}
	c2 = math.Sqrt(gamma * sigma * sigma / (2 * flow * k) * pw)
	return c1, c2
}

// AvellanedaStoikov is the quote of Avellaneda and Stoikov (2008) around
// the mid s, in the same units with q counted in units of the quoted size
// (the paper's "shares"):
//
//	reservation price   r = s − q·γσ²τ
//	total spread        δᵃ + δᵇ = γσ²τ + (2/γ)·ln(1 + γ/k)
//
// It returns the offset r − s and the half-spread. τ is T − t in the
// paper; used with a rolling horizon it is a constant.
func AvellanedaStoikov(gamma, sigma, k, tau, q float64) (offset, half float64) {
	offset = -q * gamma * sigma * sigma * tau
	half = gamma*sigma*sigma*tau/2 + math.Log1p(gamma/k)/gamma
	return offset, half
}

// Microprice is the queue-imbalance fair value between the best bid and
// the best ask (prices in any unit, quantities in any unit):
//
//	I = (Qᵇ − Qᵃ)/(Qᵇ + Qᵃ)           imbalance, −1 … 1
//	fair = mid + w · I · spread/2
//
// With w = 1 this is the size-weighted mid (Pᵇ·Qᵃ + Pᵃ·Qᵇ)/(Qᵇ + Qᵃ): a
// long bid queue and a short ask queue mean the next move is more likely
// up, so the fair value sits nearer the ask. Stoikov (2018) shows the
// weighted mid over-reacts on average; w < 1 shrinks it toward the mid.
func Microprice(bidPx, bidQty, askPx, askQty, w float64) (fair, imbalance float64) {
	mid := (bidPx + askPx) / 2
	if bidQty+askQty <= 0 {
		return mid, 0
	}
	imbalance = (bidQty - askQty) / (bidQty + askQty)
	return mid + w*imbalance*(askPx-bidPx)/2, imbalance
}

// RoundAway puts a bid and an ask (in ticks, as real numbers) on the tick
// grid away from the centre: the bid down, the ask up. Rounding never
// narrows the spread the model asked for, so it never gives away more
// than the model would. A value within 1e-9 of a tick is that tick, so
// that floating-point noise does not cost a whole tick.
func RoundAway(bid, ask float64) (int64, int64) {
	const eps = 1e-9
	return int64(math.Floor(bid + eps)), int64(math.Ceil(ask - eps))
}

// volEstimator is an exponentially weighted estimate of the variance rate
// of a price from its trades, in ticks² per second, with a correction for
// bid-ask bounce and a prior.
//
// Trade prices bounce between the bid and the ask, which adds a
// negatively autocorrelated noise to trade-to-trade returns r: Roll (1984)
// shows Var(r) = σ²Δt + 2c² and Cov(rₜ, rₜ₋₁) = −c² for a half-spread c,
// so σ²Δt = E[r²] + 2·E[rₜrₜ₋₁]. The estimator keeps exponentially
// decayed sums (weight e^(−age/T), T = half-life/ln 2) of r², rₜrₜ₋₁ and
// Δt, and returns
//
//	σ² = (P·σ₀² + Σr² + 2·Σrₜrₜ₋₁) / (P + ΣΔt)
//
// where σ₀ is the prior and P the prior's weight in seconds, floored at a
// tenth of the uncorrected estimate (the correction is noisy on few
// trades). Returns are measured in ticks, so this is the volatility of the
// price, not of its logarithm (the two differ by the price level, which
// moves little over a half-life).
type volEstimator struct {
	halfLife  float64 // seconds
	prior     float64 // σ₀², ticks²/s
	priorSecs float64 // P
	lastPrice float64
	lastRet   float64
	lastTime  int64 // ns
	n         int
	sumR2     float64
	sumCross  float64
	sumDt     float64
}

func (v *volEstimator) add(t int64, price float64) {
	if v.n == 0 {
		v.lastPrice, v.lastTime, v.n = price, t, 1
		return
	}
	dt := float64(t-v.lastTime) / 1e9
	if dt < 0 {
		return // out of order: ignore rather than corrupt the sums
	}
	r := price - v.lastPrice
	decay := math.Exp(-dt * math.Ln2 / v.halfLife)
	v.sumR2 = v.sumR2*decay + r*r
	v.sumDt = v.sumDt*decay + dt
	if v.n >= 2 {
		v.sumCross = v.sumCross*decay + r*v.lastRet
	} else {
		v.sumCross *= decay
	}
	v.lastPrice, v.lastRet, v.lastTime = price, r, t
	v.n++
}

// variance is the current estimate in ticks² per second.
func (v *volEstimator) variance() float64 {
	raw := v.sumR2 + 2*v.sumCross
	raw = math.Max(raw, 0.1*v.sumR2)
	return (v.priorSecs*v.prior + raw) / (v.priorSecs + v.sumDt)
}

// trades is how many trades the estimate has seen.
func (v *volEstimator) trades() int { return max(v.n-1, 0) }

// imbalanceLearner learns how far the fair value should lean on the
// queue imbalance: the least-squares slope w of the mid's move over the
// next horizon on x = imbalance × half-spread (ticks), through the origin,
// exponentially weighted, starting from a prior. Stoikov's (2018)
// microprice is this conditional expectation estimated from data; the
// learner keeps its first-order term, which is what Microprice's w is.
//
// The book is sampled every horizon/8 (at most 9 samples held): each
// sample waits for its horizon, then adds x·Δmid and x² to the sums. The
// prior counts as imbalancePriorSamples samples of a typical x² = 0.1
// tick²; the weights halve every imbalanceHalfLife samples. w is kept in
// [0, 1]: outside it the estimate says more about noise than about the
// book. With a zero horizon the weight stays the prior.
type imbalanceLearner struct {
	prior, horizon float64
	buf            [imbalanceSlots]imbSample
	head, size     int
	lastT          int64
	sxy, sxx       float64
	n              int
}

type imbSample struct {
	t      int64
	mid, x float64
}

const (
	imbalanceSlots        = 9
	imbalancePriorSamples = 200
	imbalanceHalfLife     = 3600
)

// imbalanceDecay is 2^(−1/imbalanceHalfLife).
var imbalanceDecay = math.Exp2(-1.0 / imbalanceHalfLife)

func newImbalanceLearner(prior, horizon float64) imbalanceLearner {
	l := imbalanceLearner{prior: prior, horizon: horizon}
	l.sxx = imbalancePriorSamples * 0.1
	l.sxy = prior * l.sxx
	return l
}

func (l *imbalanceLearner) add(t int64, mid, x float64) {
	if l.horizon <= 0 {
		return
	}
	hz := int64(l.horizon * 1e9)
	for l.size > 0 && t-l.buf[l.head].t >= hz {
		s := l.buf[l.head]
		l.head = (l.head + 1) % imbalanceSlots
		l.size--
		l.sxy = l.sxy*imbalanceDecay + s.x*(mid-s.mid)
		l.sxx = l.sxx*imbalanceDecay + s.x*s.x
		l.n++
	}
	if l.size > 0 && t-l.lastT < hz/(imbalanceSlots-1) || l.size == imbalanceSlots {
		return
	}
	l.buf[(l.head+l.size)%imbalanceSlots] = imbSample{t: t, mid: mid, x: x}
	l.size++
	l.lastT = t
}

// weight is the current w.
func (l *imbalanceLearner) weight() float64 {
	if l.horizon <= 0 {
		return l.prior
	}
	return math.Min(1, math.Max(0, l.sxy/l.sxx))
}
