package quotesim

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"fxmatch/assistant/quotes"
)

func seedRange(from uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = from + uint64(i)
	}
	return s
}

func three() []Factory {
	return []Factory{Recommender(RecommenderOptions{}), Fixed(DefaultFixed), AvellanedaStoikov(DefaultAS)}
}

// The same seed gives the same report, however many workers run it.
func TestDeterministic(t *testing.T) {
	p := DefaultParams()
	p.Session = 900
	a := Run(p, seedRange(7, 4), three(), 1)
	b := Run(p, seedRange(7, 4), three(), 2)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same seeds differ")
	}
	var wa, wb bytes.Buffer
	a.Write(&wa)
	b.Write(&wb)
	if wa.String() != wb.String() {
		t.Fatal("two reports of the same seeds differ")
	}
	c := Run(p, seedRange(8, 4), three(), 2)
	if reflect.DeepEqual(a.Strategies[0].PerSeed, c.Strategies[0].PerSeed) {
		t.Fatal("different seeds, same results")
	}
}

// The comparison fxmatch sim quotes prints by default: seeds 1 to 20, none
// of them used to tune anything. The recommender must have the higher mean
// risk-adjusted P&L than both baselines, by more than twice the paired
// standard error, and win on most seeds; and its P&L per unit of P&L
// spread must be higher too.
func TestRecommenderBeatsBaselines(t *testing.T) {
	rep := Run(DefaultParams(), seedRange(1, 20), three(), 2)
	var out bytes.Buffer
	rep.Write(&out)
	t.Logf("\n%s", out.String())
	rec := rep.Strategies[0]
	for i := 1; i < len(rep.Strategies); i++ {
		s := rep.Strategies[i]
		d, se := rep.PairedDiff(0, i)
		if !(rec.RiskAdjMean > s.RiskAdjMean) || d < 2*se {
			t.Errorf("risk-adjusted P&L: recommender %.0f vs %s %.0f (difference %.0f ± %.0f)", rec.RiskAdjMean, s.Name, s.RiskAdjMean, d, se)
		}
		if w := rep.Wins(0, i); w < 15 {
			t.Errorf("recommender beats %s on only %d of 20 seeds", s.Name, w)
		}
		if rec.Sharpe <= s.Sharpe {
			t.Errorf("P&L mean/std: recommender %.2f vs %s %.2f", rec.Sharpe, s.Name, s.Sharpe)
		}
	}
}

// The baselines' defaults are what Tune finds on the training seeds.
func TestBaselinesAreTuned(t *testing.T) {
	if testing.Short() {
		t.Skip("a grid of 45 strategies on 20 seeds")
	}
	tr := Tune(DefaultParams(), TrainingSeeds(), 2)
	if tr.Fixed != DefaultFixed || tr.AS != DefaultAS {
		var out bytes.Buffer
		p := DefaultParams()
		tr.Write(&out, &p)
		t.Fatalf("tuning finds fixed %+v, AS %+v; defaults are %+v, %+v\n%s", tr.Fixed, tr.AS, DefaultFixed, DefaultAS, out.String())
	}
	for _, s := range TrainingSeeds() {
		if s <= 1000 {
			t.Fatalf("training seed %d overlaps the comparison's default seeds", s)
		}
	}
}

// The simulated market has the properties the recommender is meant to
// use, no more: the regimes spend the time the parameters say, the
// imbalance says something (but not much) about the fair value, and
// informed clients' fills lose money for the broker while uninformed ones
// earn the spread.
func TestMarketStylizedFacts(t *testing.T) {
	p := DefaultParams()
	var volatile, steps float64
	var seMid, seMicro float64
	for seed := uint64(1); seed <= 5; seed++ {
		m := newMarket(&p, 100+seed)
		for i := 0; i < m.steps; i++ {
			steps++
			if m.volatile[i] {
				volatile++
			}
			b := m.book[i]
			if b.bid >= b.ask || float64(b.bid) > m.fair[i]+1 || float64(b.ask) < m.fair[i]-1 {
				t.Fatalf("book %d/%d around fair %.2f", b.bid, b.ask, m.fair[i])
			}
			mid := float64(b.bid+b.ask) / 2
			micro, _ := quotes.Microprice(float64(b.bid), b.bidQty, float64(b.ask), b.askQty, 0.5)
			seMid += (mid - m.fair[i]) * (mid - m.fair[i])
			seMicro += (micro - m.fair[i]) * (micro - m.fair[i])
		}
	}
	share := volatile / steps
	want := p.CalmToVolatile / (p.CalmToVolatile + p.VolatileToCalm)
	if math.Abs(share-want) > 0.1 {
		t.Errorf("volatile %.2f of the time, want about %.2f", share, want)
	}
	if !(seMicro < seMid) || seMicro < 0.5*seMid {
		t.Errorf("microprice error %.4f vs mid %.4f: want better, but not a crystal ball", seMicro/steps, seMid/steps)
	}
}

func TestReportSaysWhatEachKnows(t *testing.T) {
	p := DefaultParams()
	p.Session = 600
	rep := Run(p, seedRange(1, 2), three(), 1)
	var out bytes.Buffer
	rep.Write(&out)
	for _, want := range []string{"What each strategy knows", "microprice", "one half-spread (4.0 ticks) for every size",
		"long-run volatility", "markout 1 s", "markout 10 s", "fill rate", "inventory std", "risk-adjusted P&L mean"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
