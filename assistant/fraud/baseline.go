package fraud

import "math"

// The two baselines the evaluation sets beside the scorer. They exist to
// be beaten: each is what a venue might run without a profile of every
// account. Their memory is not bounded (they keep every account and, for
// the rules, every source an account used); they are for evaluation only.

// RulesBaseline is a set of fixed pre-trade rules of the kind exchanges
// publish: a maximum order size, a price collar around the mid, an order
// rate limit, and a flag on a device the account has not used before. Its
// score is the share of rules an order breaks (0, 0.25, … 1).
type RulesBaseline struct {
	accts map[string]*rulesAcct
}

// Limits of the fixed rules.
const (
	rulesMaxQty    = 50e6  // an order above 50 million is checked
	rulesCollar    = 0.005 // a limit more than 0.5% from the mid
	rulesRateLimit = 10    // more than 10 orders in a minute
)

type rulesAcct struct {
	sources map[string]bool
	times   [rulesRateLimit]int64
	pos     int
}

func NewRulesBaseline() *RulesBaseline { return &RulesBaseline{accts: map[string]*rulesAcct{}} }

// Score scores an order and learns from any event, like Scorer.Score; it
// returns -1 for events that are not orders.
func (b *RulesBaseline) Score(ev *Event) float64 {
	a := b.accts[ev.Account]
	if a == nil {
		a = &rulesAcct{sources: map[string]bool{}}
		b.accts[ev.Account] = a
	}
	if ev.Kind == KindLogin {
		// A login alone does not make a device known: the rule asks
		// whether the account has traded from it.
		return -1
	}
	if ev.Kind != KindOrder {
		return -1
	}
	fired := 0
	if ev.Qty > rulesMaxQty {
		fired++
	}
	if ev.Price > 0 && ev.Mid > 0 && math.Abs(ev.Price-ev.Mid) > rulesCollar*ev.Mid {
		fired++
	}
	if oldest := a.times[a.pos]; oldest != 0 && ev.TS-oldest < usPerMin {
		fired++
	}
	if len(a.sources) > 0 && ev.Source != "" && !a.sources[ev.Source] {
		fired++
	}
	a.times[a.pos] = ev.TS
	a.pos = (a.pos + 1) % rulesRateLimit
	if ev.Source != "" {
		a.sources[ev.Source] = true
	}
	return float64(fired) / 4
}

// ZScoreBaseline scores an order by how many standard deviations its log
// size lies above the account's mean log size (Welford's running mean and
// variance over the account's whole history): the classic per-account
// anomaly score, size only.
type ZScoreBaseline struct {
	accts map[string]*zAcct
}

type zAcct struct {
	n        float64
	mean, m2 float64
}

func NewZScoreBaseline() *ZScoreBaseline { return &ZScoreBaseline{accts: map[string]*zAcct{}} }

// Score is like RulesBaseline.Score; accounts with fewer than five orders
// score 0.
func (b *ZScoreBaseline) Score(ev *Event) float64 {
	if ev.Kind != KindOrder {
		return -1
	}
	a := b.accts[ev.Account]
	if a == nil {
		a = &zAcct{}
		b.accts[ev.Account] = a
	}
	x := math.Log(ev.Qty)
	z := 0.0
	if a.n >= 5 {
		sd := max(math.Sqrt(a.m2/(a.n-1)), 0.1)
		z = (x - a.mean) / sd
	}
	a.n++
	d := x - a.mean
	a.mean += d / a.n
	a.m2 += d * (x - a.mean)
	return z
}
