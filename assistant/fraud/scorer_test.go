package fraud

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// scenario drives a scorer through a constructed history: a population of
// honest accounts trading for some weeks, into which a test then puts the
// episode it checks. Time only moves forward.
type scenario struct {
	t   *testing.T
	s   *Scorer
	r   *rand.Rand
	ts  int64
	ids int
	mid map[string]float64
}

func newScenario(t *testing.T, cfg Config) *scenario {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &scenario{t: t, s: s, r: rand.New(rand.NewPCG(1, 2)), mid: map[string]float64{"EUR/USD": 1.08, "USD/JPY": 150, "USD/CNY": 7.1, "USD/TRY": 32.2, "GBP/USD": 1.27}}
}

func (c *scenario) at(t time.Time) {
	if us := t.UnixMicro(); us > c.ts {
		c.ts = us
	}
}

func (c *scenario) after(d time.Duration) { c.ts += d.Microseconds() }

func (c *scenario) login(acct, part, src string) {
	c.s.Score(&Event{TS: c.ts, Kind: KindLogin, Participant: part, Account: acct, Source: src})
}

// order sends an order and returns its id and result. A zero price makes
// a passive limit one pip behind the mid; aggr makes it an IOC through the
// mid.
func (c *scenario) order(acct, part, src, sym string, side Side, qty float64, aggr bool) (string, Result) {
	c.ids++
	id := fmt.Sprintf("t%d", c.ids)
	mid := c.mid[sym]
	ev := Event{TS: c.ts, Kind: KindOrder, Participant: part, Account: acct, Source: src, OrderID: id,
		Symbol: sym, Side: side, Qty: qty, OrdType: OrdLimit, TIF: TIFDay, Mid: mid}
	off := 0.0001 * mid
	if side == SideBuy {
		ev.Price = mid - off
	} else {
		ev.Price = mid + off
	}
	if aggr {
		ev.TIF = TIFIOC
		ev.Price = 2*mid - ev.Price
	}
	return id, c.s.Score(&ev)
}

func (c *scenario) fill(acct, id string, qty float64, cp string) {
	c.s.Score(&Event{TS: c.ts, Kind: KindFill, Account: acct, OrderID: id, Qty: qty, Counterparty: cp})
}

func (c *scenario) cancel(acct, id string) {
	c.s.Score(&Event{TS: c.ts, Kind: KindCancel, Account: acct, OrderID: id})
}

// history plays weeks of honest trading: accounts ACC0..n-1 in
// participants BANK0..n/2-1, each trading EUR/USD and USD/JPY around 5M
// (log-normal, spread 0.3) from its own device, 6 orders a day between
// 08:00 and 16:00 UTC on weekdays, a third of them filled. The days run
// from start for the given number of calendar days.
func (c *scenario) history(n int, start time.Time, days int) {
	for d := 0; d < days; d++ {
		day := start.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		c.at(day.Add(7*time.Hour + 50*time.Minute))
		for a := 0; a < n; a++ {
			c.login(acctName(a), partName(a), devName(a))
		}
		c.at(day.Add(8 * time.Hour))
		for k := 0; k < 6*n; k++ {
			c.after(time.Duration(8*3600/(6*n)) * time.Second)
			a := c.r.IntN(n)
			sym := "EUR/USD"
			if c.r.IntN(3) == 0 {
				sym = "USD/JPY"
			}
			c.drift()
			side := SideBuy
			if c.r.IntN(2) == 0 {
				side = SideSell
			}
			q := niceSize(5e6 * math.Exp(0.3*c.r.NormFloat64()))
			id, _ := c.order(acctName(a), partName(a), devName(a), sym, side, q, c.r.IntN(5) == 0)
			if c.r.IntN(3) == 0 {
				c.fill(acctName(a), id, q, acctName((a+1)%n))
			} else if c.r.IntN(2) == 0 {
				c.cancel(acctName(a), id)
			}
		}
	}
}

// drift moves the mids a little, as a quiet market does.
func (c *scenario) drift() {
	for k, m := range c.mid {
		c.mid[k] = m * math.Exp(0.00005*c.r.NormFloat64())
	}
}

func acctName(a int) string { return fmt.Sprintf("ACC%d", a) }
func partName(a int) string { return fmt.Sprintf("BANK%d", a/2) }
func devName(a int) string  { return fmt.Sprintf("dev-%d", a) }

var histStart = time.Date(2025, 2, 17, 0, 0, 0, 0, time.UTC) // a Monday

// warmScenario is a scenario with four weeks of history for 20 accounts,
// its clock at 09:00 on Monday 17 March 2025.
func warmScenario(t *testing.T) *scenario {
	c := newScenario(t, Config{})
	c.history(20, histStart, 28)
	c.at(time.Date(2025, 3, 17, 9, 0, 0, 0, time.UTC))
	return c
}

func reasons(r Result) string {
	var b []string
	for i := 0; i < r.NReasons; i++ {
		b = append(b, r.Reasons[i].String())
	}
	return strings.Join(b, "; ")
}

func hasReason(r Result, feat int) bool {
	for i := 0; i < r.NReasons; i++ {
		if r.Reasons[i].Feature == feat {
			return true
		}
	}
	return false
}

func wantFlagged(t *testing.T, what string, r Result, feats ...int) {
	t.Helper()
	if r.Action == Allow {
		t.Errorf("%s: allowed with score %.4f (%s), want review or block", what, r.Score, reasons(r))
		return
	}
	for _, f := range feats {
		if !hasReason(r, f) {
			t.Errorf("%s: score %.4f, reasons %q lack %s", what, r.Score, reasons(r), FeatureNames[f])
		}
	}
}

func wantAllowed(t *testing.T, what string, r Result) {
	t.Helper()
	if r.Action != Allow {
		t.Errorf("%s: %s with score %.4f (%s), want allow", what, r.Action, r.Score, reasons(r))
	}
}

func TestHonestHistoryIsAllowed(t *testing.T) {
	c := warmScenario(t)
	flagged := 0
	for k := 0; k < 200; k++ {
		c.after(time.Minute)
		a := c.r.IntN(20)
		q := niceSize(5e6 * math.Exp(0.3*c.r.NormFloat64()))
		if _, r := c.order(acctName(a), partName(a), devName(a), "EUR/USD", SideBuy, q, false); r.Action != Allow {
			flagged++
			t.Logf("flagged: %.4f %s", r.Score, reasons(r))
		}
	}
	if flagged > 2 {
		t.Errorf("%d of 200 honest orders flagged", flagged)
	}
}

func TestTakeoverStealthyFromNewDevice(t *testing.T) {
	c := warmScenario(t)
	// The owner is at work on the usual device; an attacker logs in from
	// another and sends an order 2.5× the usual size, aggressive.
	c.order("ACC3", "BANK1", "dev-3", "EUR/USD", SideBuy, 5e6, false)
	c.after(10 * time.Minute)
	c.login("ACC3", "BANK1", "dev-evil")
	c.after(4 * time.Minute)
	_, r := c.order("ACC3", "BANK1", "dev-evil", "EUR/USD", SideSell, 12.5e6, true)
	wantFlagged(t, "stealthy takeover, first order", r, FeatNewSource, FeatOtherSession)
}

func TestTakeoverLargeNewPairOffHours(t *testing.T) {
	c := warmScenario(t)
	// The usual device (a hijacked session), at 03:00, in a pair the
	// account never traded, ten times its usual size.
	c.at(time.Date(2025, 3, 18, 3, 0, 0, 0, time.UTC))
	_, r := c.order("ACC5", "BANK2", "dev-5", "USD/TRY", SideBuy, 50e6, true)
	wantFlagged(t, "takeover, first order", r, FeatSize, FeatNewPair, FeatHour)
	if r.Action != Block {
		t.Errorf("score %.4f: want block for 10× size, new pair, 03:00 (%s)", r.Score, reasons(r))
	}
	if !strings.Contains(reasons(r), "the account's 30-day p95") || !strings.Contains(reasons(r), "USD/TRY") {
		t.Errorf("reasons %q: want the size against the p95 and the pair named", reasons(r))
	}
}

func TestSpoofingLayersAfterOwnBait(t *testing.T) {
	c := warmScenario(t)
	acct, part, src := "ACC7", "BANK3", "dev-7"
	var layerResults []Result
	for cycle := 0; cycle < 2; cycle++ {
		bait, _ := c.order(acct, part, src, "EUR/USD", SideBuy, 4e6, false)
		var layers []string
		for i := 0; i < 4; i++ {
			c.after(time.Second)
			id, r := c.order(acct, part, src, "EUR/USD", SideSell, 30e6, false)
			layers = append(layers, id)
			layerResults = append(layerResults, r)
		}
		c.after(3 * time.Second)
		c.fill(acct, bait, 4e6, "ACC8")
		c.after(300 * time.Millisecond)
		for _, id := range layers {
			c.cancel(acct, id)
		}
		c.after(2 * time.Minute)
	}
	wantFlagged(t, "first layer opposite own bait", layerResults[0], FeatOppLarge)
	wantFlagged(t, "third layer", layerResults[2], FeatLayers)
	wantFlagged(t, "second cycle's first layer", layerResults[4], FeatSpoofHist)
	// And the account's next order, even a small one, carries the history.
	_, r := c.order(acct, part, src, "EUR/USD", SideBuy, 4e6, false)
	if !hasReason(r, FeatSpoofHist) {
		t.Errorf("order after two pulled cycles: reasons %q lack the pulled orders", reasons(r))
	}
}

func TestWashTradeBetweenAccountsSharingADevice(t *testing.T) {
	c := warmScenario(t)
	// ACC9 (BANK4) logs in from ACC2's device (BANK1), and the two trade
	// with each other at one price.
	c.login("ACC9", "BANK4", "dev-2")
	c.after(2 * time.Minute)
	id1, r1 := c.order("ACC2", "BANK1", "dev-2", "EUR/USD", SideBuy, 5e6, false)
	c.after(5 * time.Second)
	id2, r2 := c.order("ACC9", "BANK4", "dev-2", "EUR/USD", SideSell, 5e6, false)
	wantFlagged(t, "first side, source shared", r1, FeatSrcShared)
	wantFlagged(t, "second side, crossing", r2, FeatSrcShared, FeatWashCross)
	if r2.Action != Block {
		t.Errorf("crossing order of a source-sharing account: %s %.4f, want block", r2.Action, r2.Score)
	}
	c.fill("ACC2", id1, 5e6, "ACC9")
	c.fill("ACC9", id2, 5e6, "ACC2")
	c.after(3 * time.Minute)
	_, r3 := c.order("ACC9", "BANK4", "dev-9", "EUR/USD", SideBuy, 5e6, false)
	if r3.Features[FeatWashHist] == 0 {
		t.Errorf("after a fill against a source-sharing account: no wash history (%s)", reasons(r3))
	}
}

func TestMomentumIgnitionBurst(t *testing.T) {
	c := warmScenario(t)
	acct, part, src := "ACC11", "BANK5", "dev-11"
	var last Result
	caught := -1
	for i := 0; i < 20; i++ {
		c.after(3 * time.Second)
		aggr := i%2 == 0
		id, r := c.order(acct, part, src, "USD/JPY", SideBuy, 3e6, aggr)
		if aggr {
			c.fill(acct, id, 3e6, "ACC12")
		} else {
			c.after(time.Second)
			c.cancel(acct, id)
		}
		if r.Action != Allow && caught < 0 {
			caught = i
		}
		last = r
	}
	if caught < 0 || caught > 6 {
		t.Errorf("burst first flagged at order %d, want within the first 7", caught)
	}
	wantFlagged(t, "20th order of the burst", last, FeatBurst)
}

func TestHardNegativeNewPair(t *testing.T) {
	c := warmScenario(t)
	_, r := c.order("ACC4", "BANK2", "dev-4", "GBP/USD", SideBuy, 5e6, false)
	if r.Features[FeatNewPair] != 1 {
		t.Fatalf("new pair not noticed: %v", r.Features)
	}
	wantAllowed(t, "honest first trade in a new pair", r)
}

func TestHardNegativeQuarterEnd(t *testing.T) {
	// The same 4× order on an ordinary Monday and on the quarter's last
	// day (Monday 31 March 2025): reviewed on the first, allowed on the
	// second.
	score := func(day time.Time) Result {
		c := newScenario(t, Config{})
		c.history(20, histStart, 28)
		c.history(20, histStart.AddDate(0, 0, 28), int(day.Sub(histStart.AddDate(0, 0, 28)).Hours()/24))
		c.at(day.Add(10 * time.Hour))
		_, r := c.order("ACC6", "BANK3", "dev-6", "EUR/USD", SideBuy, 20e6, false)
		return r
	}
	ordinary := score(time.Date(2025, 3, 24, 0, 0, 0, 0, time.UTC))
	qe := score(time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC))
	wantFlagged(t, "4× size on an ordinary day", ordinary, FeatSize)
	wantAllowed(t, "4× size on quarter end", qe)
}

func TestHardNegativeVolatileDay(t *testing.T) {
	c := warmScenario(t)
	// An hour when every account trades four times as often, 1.5× its
	// size, in a market moving ten times as fast.
	flagged, n := 0, 0
	for k := 0; k < 20*24; k++ {
		c.after(7 * time.Second)
		for sym, m := range c.mid {
			c.mid[sym] = m * math.Exp(0.0008*c.r.NormFloat64())
		}
		a := c.r.IntN(20)
		q := niceSize(7.5e6 * math.Exp(0.3*c.r.NormFloat64()))
		_, r := c.order(acctName(a), partName(a), devName(a), "EUR/USD", SideSell, q, c.r.IntN(3) == 0)
		if k >= 120 { // after the first quarter of an hour
			n++
			if r.Action != Allow {
				flagged++
				t.Logf("flagged %.4f %s", r.Score, reasons(r))
			}
		}
	}
	if share := float64(flagged) / float64(n); share > 0.02 {
		t.Errorf("volatile hour: %d of %d orders flagged (%.1f%%), want at most 2%%", flagged, n, 100*share)
	}
}

func TestHardNegativeNewDevice(t *testing.T) {
	c := warmScenario(t)
	// A new laptop on a new day, nothing else unusual.
	c.at(time.Date(2025, 3, 18, 8, 0, 0, 0, time.UTC))
	c.login("ACC13", "BANK6", "dev-new-laptop")
	c.after(40 * time.Minute)
	_, r := c.order("ACC13", "BANK6", "dev-new-laptop", "EUR/USD", SideBuy, 5e6, false)
	if r.Features[FeatNewSource] != 1 {
		t.Fatalf("new source not noticed: %v", r.Features)
	}
	wantAllowed(t, "honest new device", r)
}

func TestMarketMakerRequotesAreNotSpoofing(t *testing.T) {
	c := warmScenario(t)
	acct, part, src := "ACC15", "BANK7", "dev-15"
	for i := 0; i < 30; i++ {
		c.after(20 * time.Second)
		bid, _ := c.order(acct, part, src, "EUR/USD", SideBuy, 5e6, false)
		ask, _ := c.order(acct, part, src, "EUR/USD", SideSell, 5e6, false)
		c.after(2 * time.Second)
		c.fill(acct, bid, 5e6, "ACC16")
		c.after(200 * time.Millisecond)
		c.cancel(acct, ask)
	}
	p := c.s.lookup(acct)
	if v := p.spoof.at(c.ts, spoofHalf); v != 0 {
		t.Errorf("two-sided quotes of one size, the other side pulled after a fill: spoof count %.2f, want 0", v)
	}
}

func TestEvictionBoundsAccounts(t *testing.T) {
	s, err := New(Config{MaxAccounts: 3, MaxSources: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		s.Score(&Event{TS: int64(i + 1), Kind: KindOrder, Account: acctName(i), Participant: "P", Source: devName(i),
			OrderID: "o", Symbol: "EUR/USD", Side: SideBuy, Qty: 1e6, Price: 1.08, Mid: 1.08})
	}
	if n := s.Accounts(); n != 3 {
		t.Fatalf("%d accounts held, want 3", n)
	}
	if len(s.srcs.idx) != 2 {
		t.Fatalf("%d sources held, want 2", len(s.srcs.idx))
	}
	for i := 7; i < 10; i++ {
		if s.lookup(acctName(i)) == nil {
			t.Errorf("recent account %s evicted", acctName(i))
		}
	}
	// Touching an old account makes it recent: the next eviction takes
	// another.
	s.Score(&Event{TS: 20, Kind: KindLogin, Account: acctName(7), Source: "x"})
	s.Score(&Event{TS: 21, Kind: KindLogin, Account: "new", Source: "y"})
	if s.lookup(acctName(7)) == nil || s.lookup(acctName(8)) != nil {
		t.Errorf("LRU order wrong: ACC7 held %v, ACC8 held %v", s.lookup(acctName(7)) != nil, s.lookup(acctName(8)) != nil)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, cfg := range []Config{
		{Review: 0.6, Block: 0.5},
		{Block: 1.5},
		{MaxAccounts: 1},
		{MaxSymbols: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestScoreDoesNotAllocate(t *testing.T) {
	c := warmScenario(t)
	ev := Event{TS: c.ts, Kind: KindOrder, Participant: "BANK1", Account: "ACC3", Source: "dev-3", OrderID: "x",
		Symbol: "EUR/USD", Side: SideBuy, Qty: 5e6, Price: 1.08, Mid: 1.08}
	fill := Event{Kind: KindFill, Account: "ACC3", OrderID: "x", Qty: 1e6, Counterparty: "ACC4"}
	cancel := Event{Kind: KindCancel, Account: "ACC3", OrderID: "x"}
	allocs := testing.AllocsPerRun(1000, func() {
		ev.TS += 1000
		c.s.Score(&ev)
		fill.TS = ev.TS
		c.s.Score(&fill)
		cancel.TS = ev.TS
		c.s.Score(&cancel)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per order, fill and cancel of a known account, want 0", allocs)
	}
}

// TestCausality checks that an order's score depends only on the lines
// before it: scoring a prefix of a stream gives the same results as
// scoring the whole.
func TestCausality(t *testing.T) {
	evs := simEvents(t, SimParams{Seed: 5, Accounts: 60, Days: 4})
	full := scoreAll(t, evs)
	cut := len(evs) * 2 / 3
	prefix := scoreAll(t, evs[:cut])
	for id, r := range prefix {
		if full[id] != r {
			t.Fatalf("order %s: %v on the prefix, %v on the whole stream", id, r, full[id])
		}
	}
}

func scoreAll(t *testing.T, evs []Event) map[string]float64 {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for i := range evs {
		if r := s.Score(&evs[i]); r.Scored {
			out[evs[i].OrderID] = r.Score
		}
	}
	return out
}

func TestReasonsJSON(t *testing.T) {
	r := Result{Scored: true, Score: 0.98765, Action: Block, NReasons: 2}
	r.Reasons[0] = Reason{Feature: FeatSize, A: 4.2, B: 9}
	r.Reasons[1] = Reason{Feature: FeatSrcShared, S: `dev-"x"`, S2: "ACC9"}
	got := string(r.AppendJSON(nil, "o1"))
	want := `{"order_id":"o1","score":0.9877,"action":"block","reasons":["size 4.2× the account's 30-day p95","source dev-\"x\" also used by account ACC9 of another participant"]}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestEveryReasonReads(t *testing.T) {
	for f := 0; f < NumFeatures; f++ {
		r := Reason{Feature: f, A: 3, B: 2, S: "EUR/USD", S2: "sell"}
		if s := r.String(); s == "" || strings.Contains(s, "unknown") {
			t.Errorf("feature %s: reason %q", FeatureNames[f], s)
		}
	}
}

// TestPreviewDoesNotLearn: a preview scores like Score but leaves the
// scorer as it was, so the order sent after it is scored exactly as if
// there had been no preview (and a preview of an unknown account creates
// no profile).
func TestPreviewDoesNotLearn(t *testing.T) {
	a, b := warmScenario(t), warmScenario(t)
	ev := Event{TS: a.ts, Kind: KindOrder, Participant: "BANK1", Account: "ACC3", Source: "dev-evil", OrderID: "p1",
		Symbol: "EUR/USD", Side: SideSell, Qty: 40e6, OrdType: OrdMarket, TIF: TIFIOC, Mid: 1.08}
	n := a.s.Accounts()
	for k := 0; k < 5; k++ {
		p := a.s.Preview(&ev)
		if !p.Scored || p.Action == Allow {
			t.Fatalf("preview %d: %+v, want a scored, flagged result", k, p)
		}
	}
	stranger := ev
	stranger.Account, stranger.Participant = "NOBODY", "NOBANK"
	a.s.Preview(&stranger)
	if a.s.Accounts() != n {
		t.Fatalf("previews changed the profiles held: %d, then %d", n, a.s.Accounts())
	}
	ra, rb := a.s.Score(&ev), b.s.Score(&ev)
	if ra.Score != rb.Score || ra.Features != rb.Features {
		t.Fatalf("after previews: score %v features %v; without: %v %v", ra.Score, ra.Features, rb.Score, rb.Features)
	}
}

// TestSourceBlindHistoryAdoptsItsFirstSource: a history without sources
// (replayed from the journal) does not make the account's usual device
// look new after a restart, while a second, different device still does.
func TestSourceBlindHistoryAdoptsItsFirstSource(t *testing.T) {
	c := newScenario(t, Config{})
	c.at(time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC))
	for k := 0; k < 60; k++ {
		c.after(20 * time.Minute)
		c.order("ACC1", "BANK1", "", "EUR/USD", SideBuy, 5e6, false)
	}
	c.after(time.Hour)
	_, r := c.order("ACC1", "BANK1", "dev-1", "EUR/USD", SideBuy, 5e6, false)
	if r.Features[FeatNewSource] != 0 || r.Action != Allow {
		t.Fatalf("first order from a source after a blind history: %s %.4f (%s)", r.Action, r.Score, reasons(r))
	}
	for k := 0; k < 3; k++ {
		c.after(10 * time.Minute)
		if _, r = c.order("ACC1", "BANK1", "dev-1", "EUR/USD", SideBuy, 5e6, false); r.Features[FeatNewSource] != 0 {
			t.Fatalf("order %d from the adopted source: new_source %v", k, r.Features[FeatNewSource])
		}
	}
	c.after(10 * time.Minute)
	_, r = c.order("ACC1", "BANK1", "dev-evil", "EUR/USD", SideSell, 5e6, false)
	if r.Features[FeatNewSource] != 1 || r.Features[FeatOtherSession] != 1 {
		t.Fatalf("a second source: features %v, want new_source and other_session", r.Features)
	}
}
