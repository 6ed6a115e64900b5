package quotesim

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
)

// Result is one strategy's outcome on one seed, over the measured session.
type Result struct {
	PnL     float64 // term currency, inventory liquidated at the venue's touch at the end
	Penalty float64 // ½·Gamma·Σ σ²·q²·dt, term currency
	// RiskAdjusted is PnL − Penalty.
	RiskAdjusted float64
	InvStd       float64 // standard deviation of the inventory over time, base units
	InvMaxAbs    float64 // largest |inventory|, base units
	Offered      int     // clients who arrived at the listings
	Fills        int
	Volume       float64 // base units
	// Markout1 and Markout10 are the size-weighted mean of side × (venue
	// mid h seconds after the fill − fill price), in ticks: what a fill
	// was worth 1 s and 10 s later. Negative means adverse selection ate
	// more than the spread.
	Markout1, Markout10 float64
}

// run plays one strategy through one seed's market.
func run(m *market, s Strategy) Result {
	p := m.p
	var (
		res                 Result
		inv, cash           float64 // lots; tick·lots relative to RefTicks
		sumQ, sumQ2, n      float64
		mark1, mark10, mark float64
		penalty             float64
	)
	h1, h10, hInf := m.horizonSteps(1), m.horizonSteps(10), m.horizonSteps(p.InformedHorizon)
	ref := float64(p.RefTicks)
	stepNs := int64(math.Round(p.Dt * 1e9))
	ai, ti := 0, 0
	for i := 0; i < m.steps; i++ {
		ts := int64(i) * stepNs
		if i == m.warmup {
			// Measurement starts flat: the warm-up's position is closed at
			// the fair value, for free, for every strategy alike.
			inv, cash = 0, 0
			s.ResetInventory()
		}
		measured := i >= m.warmup
		s.OnBook(ts, m.book[i])
		for ti < len(m.trades) && int(m.trades[ti].step) == i {
			s.OnTrade(ts, m.trades[ti].price, m.trades[ti].qty)
			ti++
		}
		for ai < len(m.arrivals) && int(m.arrivals[ai].step) == i {
			a := m.arrivals[ai]
			ai++
			t := p.Tiers[a.tier]
			bid, ask := s.Quote(int(a.tier), inv)
			canBid := inv+t.Size <= p.InventoryCap
			canAsk := inv-t.Size >= -p.InventoryCap
			P := m.fair[i]
			var side int8 // the broker's side
			var px int64
			if a.informed {
				V := m.fair[i+hInf]
				eb, es := math.Inf(-1), math.Inf(-1)
				if canAsk {
					eb = V - float64(ask) // the client buys at the ask
				}
				if canBid {
					es = float64(bid) - V // the client sells at the bid
				}
				switch {
				case eb >= es && canAsk && a.u < math.Exp(math.Min(0, p.InformedK*eb)):
					side, px = -1, ask
				case es > eb && canBid && a.u < math.Exp(math.Min(0, p.InformedK*es)):
					side, px = 1, bid
				}
			} else if a.side > 0 {
				if canAsk && a.u < math.Exp(math.Min(0, -p.K*(float64(ask)-P))) {
					side, px = -1, ask
				}
			} else if canBid && a.u < math.Exp(math.Min(0, -p.K*(P-float64(bid)))) {
				side, px = 1, bid
			}
			if measured {
				res.Offered++
			}
			if side == 0 {
				continue
			}
			inv += float64(side) * t.Size
			cash -= float64(side) * t.Size * (float64(px) - ref)
			s.OnFill(ts, side, px, t.Size)
			if measured {
				res.Fills++
				res.Volume += t.Size
				mid := func(j int) float64 { return float64(m.book[j].bid+m.book[j].ask) / 2 }
				mark1 += float64(side) * (mid(i+h1) - float64(px)) * t.Size
				mark10 += float64(side) * (mid(i+h10) - float64(px)) * t.Size
				mark += t.Size
			}
		}
		if measured {
			sumQ += inv
			sumQ2 += inv * inv
			n++
			res.InvMaxAbs = math.Max(res.InvMaxAbs, math.Abs(inv))
			penalty += 0.5 * p.Gamma * m.varRate[i] * inv * inv * p.Dt
		}
	}
	// Close the position by crossing the venue's spread.
	last := m.book[m.steps]
	liq := last.bid
	if inv < 0 {
		liq = last.ask
	}
	cash += inv * (float64(liq) - ref)

	lot, tl := float64(p.Lot), p.TickLot()
	res.PnL = cash * tl
	res.Penalty = penalty * tl
	res.RiskAdjusted = res.PnL - res.Penalty
	mean := sumQ / n
	res.InvStd = math.Sqrt(math.Max(0, sumQ2/n-mean*mean)) * lot
	res.InvMaxAbs *= lot
	res.Volume *= lot
	if mark > 0 {
		res.Markout1, res.Markout10 = mark1/mark, mark10/mark
	}
	return res
}

// Summary is one strategy over all seeds.
type Summary struct {
	Name  string
	Knows string
	// Mean and standard deviation over seeds.
	PnLMean, PnLStd   float64
	RiskAdjMean       float64
	RiskAdjStd        float64
	Sharpe            float64 // PnLMean / PnLStd
	InvStd, InvMaxAbs float64 // means over seeds, base units
	FillRate          float64 // fills / clients arrived
	FillsPerHour      float64
	Markout1          float64 // ticks, mean over seeds
	Markout10         float64
	PerSeed           []Result
}

// Report is a comparison over seeds.
type Report struct {
	Params     Params
	Seeds      []uint64
	Strategies []Summary
}

// Run plays every strategy on every seed. Seeds run in parallel, up to
// workers at a time (at least 1); the result depends only on the
// parameters, the seeds and the strategies.
func Run(p Params, seeds []uint64, strategies []Factory, workers int) Report {
	res := make([][]Result, len(strategies))
	knows := make([]string, len(strategies))
	for i := range res {
		res[i] = make([]Result, len(seeds))
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				m := newMarket(&p, seeds[k])
				for i, f := range strategies {
					s := f.New(&p)
					if k == 0 {
						knows[i] = s.Knows()
					}
					res[i][k] = run(m, s)
				}
			}
		}()
	}
	for k := range seeds {
		next <- k
	}
	close(next)
	wg.Wait()

	rep := Report{Params: p, Seeds: seeds}
	hours := p.Session / 3600
	for i, f := range strategies {
		sm := Summary{Name: f.Name, Knows: knows[i], PerSeed: res[i]}
		var pnl, ra []float64
		offered, fills := 0, 0
		for _, r := range res[i] {
			pnl = append(pnl, r.PnL)
			ra = append(ra, r.RiskAdjusted)
			sm.InvStd += r.InvStd / float64(len(seeds))
			sm.InvMaxAbs += r.InvMaxAbs / float64(len(seeds))
			sm.Markout1 += r.Markout1 / float64(len(seeds))
			sm.Markout10 += r.Markout10 / float64(len(seeds))
			offered += r.Offered
			fills += r.Fills
		}
		sm.PnLMean, sm.PnLStd = meanStd(pnl)
		sm.RiskAdjMean, sm.RiskAdjStd = meanStd(ra)
		if sm.PnLStd > 0 {
			sm.Sharpe = sm.PnLMean / sm.PnLStd
		}
		if offered > 0 {
			sm.FillRate = float64(fills) / float64(offered)
		}
		sm.FillsPerHour = float64(fills) / float64(len(seeds)) / hours
		rep.Strategies = append(rep.Strategies, sm)
	}
	return rep
}

func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}

// Wins counts the seeds on which strategy a's risk-adjusted P&L beats b's.
func (r *Report) Wins(a, b int) int {
	w := 0
	for k := range r.Seeds {
		if r.Strategies[a].PerSeed[k].RiskAdjusted > r.Strategies[b].PerSeed[k].RiskAdjusted {
			w++
		}
	}
	return w
}

// PairedDiff is the mean over seeds of strategy a's risk-adjusted P&L
// minus b's, and its standard error. The strategies face the same market
// and clients on a seed, so the paired difference is far less noisy than
// the two means.
func (r *Report) PairedDiff(a, b int) (mean, stderr float64) {
	d := make([]float64, len(r.Seeds))
	for k := range r.Seeds {
		d[k] = r.Strategies[a].PerSeed[k].RiskAdjusted - r.Strategies[b].PerSeed[k].RiskAdjusted
	}
	mean, std := meanStd(d)
	return mean, std / math.Sqrt(float64(len(d)))
}

func signed(v float64) string {
	if v >= 0 {
		return "+" + groupF(v)
	}
	return groupF(v)
}

// Write prints the report as a table, strategies side by side.
func (r *Report) Write(w io.Writer) {
	p := &r.Params
	var tiers []string
	for _, t := range p.Tiers {
		tiers = append(tiers, groupF(t.Size*float64(p.Lot)))
	}
	fmt.Fprintf(w, "%s, %d seeds (%d to %d), %.1f h measured after a %.0f min warm-up, step %.0f ms; listings of %s %s\n",
		p.Symbol, len(r.Seeds), r.Seeds[0], r.Seeds[len(r.Seeds)-1], p.Session/3600, p.Warmup/60, p.Dt*1000,
		strings.Join(tiers, " / "), p.Base)
	fmt.Fprintf(w, "risk-adjusted P&L = P&L − ½γ·Σσ²q²dt with γ = %g per tick·lot (%g per %s): the inventory variance carried, priced\n\n",
		p.Gamma, p.Gamma/p.TickLot(), p.Term)
	const nameW = 34
	colW := 20
	for _, s := range r.Strategies {
		colW = max(colW, len([]rune(s.Name))+2)
	}
	row := func(label string, f func(s *Summary) string) {
		fmt.Fprintf(w, "%-*s", nameW, label)
		for i := range r.Strategies {
			fmt.Fprintf(w, "%*s", colW, f(&r.Strategies[i]))
		}
		fmt.Fprintln(w)
	}
	row("", func(s *Summary) string { return s.Name })
	cur := p.Term
	row("P&L mean ("+cur+")", func(s *Summary) string { return groupF(s.PnLMean) })
	row("P&L std over seeds ("+cur+")", func(s *Summary) string { return groupF(s.PnLStd) })
	row("risk-adjusted P&L mean ("+cur+")", func(s *Summary) string { return groupF(s.RiskAdjMean) })
	row("risk-adjusted P&L std ("+cur+")", func(s *Summary) string { return groupF(s.RiskAdjStd) })
	row("P&L mean / std", func(s *Summary) string { return fmt.Sprintf("%.2f", s.Sharpe) })
	row("inventory std ("+p.Base+")", func(s *Summary) string { return groupF(s.InvStd) })
	row("max |inventory| ("+p.Base+")", func(s *Summary) string { return groupF(s.InvMaxAbs) })
	row("fill rate (fills / clients)", func(s *Summary) string { return fmt.Sprintf("%.1f%%", 100*s.FillRate) })
	row("fills per hour", func(s *Summary) string { return fmt.Sprintf("%.0f", s.FillsPerHour) })
	row("markout 1 s (ticks per fill)", func(s *Summary) string { return fmt.Sprintf("%+.2f", s.Markout1) })
	row("markout 10 s (ticks per fill)", func(s *Summary) string { return fmt.Sprintf("%+.2f", s.Markout10) })
	fmt.Fprintln(w)
	for i := 1; i < len(r.Strategies); i++ {
		d, se := r.PairedDiff(0, i)
		fmt.Fprintf(w, "%s − %s: risk-adjusted %s %s a seed (standard error %s), better in %d of %d seeds\n",
			r.Strategies[0].Name, r.Strategies[i].Name, signed(d), cur, groupF(se), r.Wins(0, i), len(r.Seeds))
	}
	fmt.Fprintln(w, "\nWhat each strategy knows:")
	for _, s := range r.Strategies {
		fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Knows)
	}
}

// groupF formats a number rounded to a whole with thousands separators.
func groupF(v float64) string {
	neg := v < 0
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if neg && s != "0" {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
