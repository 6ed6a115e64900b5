package fraud

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// This file is the stream simulator behind `fxmatch sim fraud`: a seeded,
// deterministic interbank FX event stream with labelled fraud episodes and
// labelled hard negatives. Same parameters, same bytes.
//
// The honest population:
//   - participants (banks) of about 20 accounts each; accounts are dealers
//     (60%: a few orders a day, 1–20M median size), algorithmic market
//     makers (10%: two-sided quotes of equal size, tens a day, the other
//     side pulled when one side fills) and real-money accounts (30%: one or
//     two large orders on the days they trade);
//   - each account has a home session (Asia, Europe, Americas) with daily
//     jitter, 1–4 pairs weighted by the market's popularity, a log-normal
//     size distribution of its own (spread 0.2–0.8) rounded to market
//     sizes, its own mix of passive, marketable and aggressive orders;
//   - sources: a bank gateway shared by the participant's accounts, a
//     personal device, or a hosted platform shared across participants; a
//     third of the accounts have a second device they use now and then;
//     accounts that do not trade through their bank's gateway log in from
//     a network they have never used (roaming) in 3% of their sessions;
//   - mids follow a random walk per pair with intraday seasonality.
//
// Fraud episodes (labelled fraud; every order of an episode is labelled):
//   - takeover: an attacker trades an existing account. 80% come from a
//     new device (logging in minutes before); half are stealthy at 2–3×
//     the account's median size, half at 4–15×; 35% go to a pair the
//     account never traded, 40% at hours it does not trade, half in a
//     burst; 1–8 orders, mostly aggressive;
//   - spoofing: a small passive bait on one side, then 3–6 large passive
//     layers on the other, the bait fills, the layers are pulled within a
//     second or two; 2–5 cycles;
//   - wash: two accounts of different participants sharing a device
//     (one's own device, or a new one both use) trade with each other,
//     3–8 round trips;
//   - momentum: a burst of 15–40 orders in one to three minutes, small
//     passive orders pulled within seconds and aggressive IOCs on one
//     side, then a larger order on the other side.
//
// Hard negatives (labelled, not fraud):
//   - new_pair: an honest account's first orders in a pair it then keeps;
//   - quarter_end: in the last two business days of the quarter, half of
//     the real-money accounts and a tenth of the dealers trade 2.5–6×
//     their usual size, 1.5× as often;
//   - volatile_day: a three-hour window of one day when volatility is 4×,
//     every account in session trades about three times as often, 1–2×
//     its usual size and more aggressively;
//   - new_device: an honest account moves to a new device for good, or
//     (1% of sessions) switches to a new phone halfway through the day, or
//     its bank runs a day from its disaster-recovery gateway (each bank
//     one day in 50).

// Label kinds. The fraud kinds are the episodes the scorer must catch;
// the hard negatives are honest orders that look like them.
const (
	LabelTakeover    = "takeover"
	LabelSpoofing    = "spoofing"
	LabelWash        = "wash"
	LabelMomentum    = "momentum"
	LabelNewPair     = "new_pair"
	LabelQuarterEnd  = "quarter_end"
	LabelVolatileDay = "volatile_day"
	LabelNewDevice   = "new_device"
)

// FraudKinds and HardNegativeKinds list the label kinds in report order.
var (
	FraudKinds        = []string{LabelTakeover, LabelSpoofing, LabelWash, LabelMomentum}
	HardNegativeKinds = []string{LabelNewPair, LabelQuarterEnd, LabelVolatileDay, LabelNewDevice}
)

// Label is one line of the labels file: an order and the episode it
// belongs to. Fraud is false for hard negatives.
type Label struct {
	OrderID string `json:"order_id"`
	Kind    string `json:"kind"`
	Episode string `json:"episode"`
	Fraud   bool   `json:"fraud"`
}

// SimParams parameterise the simulator.
type SimParams struct {
	Seed     uint64
	Accounts int // default 2000
	Days     int // trading days, default 20
}

// SimStats summarise a simulated stream.
type SimStats struct {
	Events, Orders int
	Start, End     time.Time // the first and last trading day
	Episodes       map[string]int
	Labelled       map[string]int // orders per label kind
}

const (
	defaultSimAccounts = 2000
	defaultSimDays     = 20
)

// simPair is a currency pair of the simulated market.
type simPair struct {
	sym    string
	mid    float64
	dec    int     // price decimals
	weight float64 // popularity
	vol    float64 // annualised volatility
}

var simPairs = []simPair{
	{"EUR/USD", 1.0825, 5, 25, 0.07},
	{"USD/JPY", 150.12, 3, 18, 0.09},
	{"USD/CNY", 7.1020, 4, 10, 0.04},
	{"GBP/USD", 1.2710, 5, 10, 0.08},
	{"AUD/USD", 0.6580, 5, 6, 0.09},
	{"USD/CHF", 0.8810, 5, 5, 0.07},
	{"USD/CAD", 1.3560, 5, 5, 0.06},
	{"EUR/CNY", 7.6870, 4, 4, 0.06},
	{"EUR/JPY", 162.51, 3, 4, 0.09},
	{"USD/HKD", 7.8240, 4, 3, 0.01},
	{"USD/SGD", 1.3420, 5, 3, 0.05},
	{"EUR/GBP", 0.8515, 5, 3, 0.06},
	{"NZD/USD", 0.6110, 5, 2, 0.10},
	{"USD/MXN", 17.100, 4, 2, 0.12},
	{"USD/ZAR", 18.600, 4, 1, 0.14},
	{"USD/TRY", 32.200, 4, 1, 0.15},
}

const (
	styleDealer = iota
	styleAlgo
	styleRealMoney
)

type simAccount struct {
	idx        int
	id         string
	part       int
	style      int
	start, end float64 // session hours, UTC
	activeProb float64
	perDay     float64 // orders (algo: quotes) per active day
	pairs      []int
	pairW      []float64
	median     float64
	sigma      float64
	aggrShare  float64 // market/IOC share
	mktShare   float64 // marketable limit share
	primary    string
	second     string
	startDay   int // first day the account trades (late joiners)
	spiker     bool
	busy       bool // taken by an episode on busyDay
	busyDay    int
	// per-day state
	newPairDay   int
	newPair      int
	newDeviceDay int
	newDevice    string
	volMult      float64
}

type simEvent struct {
	ev  Event
	seq uint64
}

type gen struct {
	rng    *rand.Rand
	p      SimParams
	accts  []*simAccount
	parts  []string
	byPart [][]int
	days   []time.Time
	warm   int // first day episodes may happen on

	day      int
	dayStart int64
	mids     [][]float64 // per pair, per minute of the current day (1441)
	buf      []simEvent
	carry    []simEvent
	seq      uint64
	nOrder   int
	labels   []Label
	volDay   int
	volStart int64
	volEnd   int64
	qe       map[int]bool
	dr       []bool // participants running from their DR site today
	plan     map[int][]func()
	stats    SimStats
	w        *bufio.Writer
	line     []byte
}

// Simulate writes a simulated event stream to events and its labels to
// labels, both as JSON lines.
func Simulate(p SimParams, events, labels io.Writer) (SimStats, error) {
	if p.Accounts == 0 {
		p.Accounts = defaultSimAccounts
	}
	if p.Days == 0 {
		p.Days = defaultSimDays
	}
	if p.Accounts < 40 || p.Accounts > 200_000 {
		return SimStats{}, fmt.Errorf("fraud: sim: %d accounts: want 40 to 200000", p.Accounts)
	}
	if p.Days < 3 || p.Days > 250 {
		return SimStats{}, fmt.Errorf("fraud: sim: %d days: want 3 to 250", p.Days)
	}
	g := &gen{
		rng:  rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)),
		p:    p,
		qe:   map[int]bool{},
		plan: map[int][]func(){},
		w:    bufio.NewWriterSize(events, 1<<16),
		stats: SimStats{
			Episodes: map[string]int{},
			Labelled: map[string]int{},
		},
	}
	g.setup()
	for d := range g.days {
		g.runDay(d)
		if err := g.flush(d == len(g.days)-1); err != nil {
			return g.stats, err
		}
	}
	if err := g.w.Flush(); err != nil {
		return g.stats, err
	}
	slices.SortFunc(g.labels, func(a, b Label) int { return cmp.Compare(a.OrderID, b.OrderID) })
	lw := bufio.NewWriter(labels)
	for _, l := range g.labels {
		b, _ := json.Marshal(l)
		lw.Write(b)
		lw.WriteByte('\n')
	}
	g.stats.Start, g.stats.End = g.days[0], g.days[len(g.days)-1]
	return g.stats, lw.Flush()
}

// setup draws the calendar, the participants and accounts, and plans the
// episodes.
func (g *gen) setup() {
	r := g.rng
	// Place the quarter end (31 March 2025, a Monday) three quarters of
	// the way through the window, so that profiles have history before it.
	qeDay := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	before := (3*g.p.Days + 3) / 4
	d := qeDay
	for n := 0; n < before; {
		d = d.AddDate(0, 0, -1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	for len(g.days) < g.p.Days {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			g.days = append(g.days, d)
		}
		d = d.AddDate(0, 0, 1)
	}
	for i, day := range g.days {
		if tol, _ := calendarTolerance(day); tol == qeTol {
			g.qe[i] = true
		}
	}
	g.warm = max(1, g.p.Days*35/100)

	nParts := max(2, g.p.Accounts/20)
	g.byPart = make([][]int, nParts)
	for i := range nParts {
		g.parts = append(g.parts, fmt.Sprintf("BANK%03d", i+1))
	}
	platforms := []string{"asp-fxall", "asp-360t", "asp-bbg"}
	for i := range g.p.Accounts {
		a := &simAccount{idx: i, id: fmt.Sprintf("ACC%05d", i+1), part: r.IntN(nParts), newPairDay: -1, newDeviceDay: -1, busyDay: -1}
		g.byPart[a.part] = append(g.byPart[a.part], i)
		switch x := r.Float64(); {
		case x < 0.6:
			a.style = styleDealer
			a.perDay = math.Exp(math.Log(6) + 0.5*r.NormFloat64())
			a.median = logUniform(r, 1e6, 20e6)
			a.sigma = 0.3 + 0.35*r.Float64()
			a.aggrShare = 0.05 + 0.25*r.Float64()
			a.mktShare = 0.15
			a.activeProb = 0.85
			a.spiker = r.Float64() < 0.1
		case x < 0.7:
			a.style = styleAlgo
			a.perDay = math.Exp(math.Log(20) + 0.4*r.NormFloat64())
			a.median = logUniform(r, 0.5e6, 3e6)
			a.sigma = 0.2 + 0.2*r.Float64()
			a.aggrShare = 0.1
			a.mktShare = 0.05
			a.activeProb = 0.95
		default:
			a.style = styleRealMoney
			a.perDay = math.Exp(math.Log(2) + 0.5*r.NormFloat64())
			a.median = logUniform(r, 5e6, 50e6)
			a.sigma = 0.4 + 0.4*r.Float64()
			a.aggrShare = 0.3 + 0.3*r.Float64()
			a.mktShare = 0.2
			a.activeProb = 0.4
			a.spiker = r.Float64() < 0.5
		}
		switch x := r.Float64(); {
		case a.style == styleAlgo:
			a.start, a.end = 7+r.Float64(), 20+r.Float64()
		case x < 0.3:
			a.start, a.end = 0.5+r.Float64(), 8.5+r.Float64()
		case x < 0.75:
			a.start, a.end = 6.5+r.Float64(), 16+r.Float64()
		default:
			a.start, a.end = 12+r.Float64(), 20.5+r.Float64()
		}
		np := 1 + r.IntN(3)
		if a.style == styleDealer {
			np = 2 + r.IntN(3)
		}
		for len(a.pairs) < np {
			k := g.popularPair(a.pairs)
			a.pairs = append(a.pairs, k)
			a.pairW = append(a.pairW, 0.3+r.Float64())
		}
		switch x := r.Float64(); {
		case x < 0.5:
			a.primary = "gw-" + g.parts[a.part]
		case x < 0.9:
			a.primary = g.device()
		default:
			a.primary = platforms[r.IntN(len(platforms))]
		}
		if r.Float64() < 0.3 {
			a.second = g.device()
		}
		if r.Float64() < 0.03 {
			a.startDay = 1 + r.IntN(g.p.Days-1) // joins late: no history to speak of
		}
		g.accts = append(g.accts, a)
	}

	// The volatile day: a three-hour window on one day after the warm-up
	// that is not a quarter-end day.
	g.volDay = g.warm + r.IntN(g.p.Days-g.warm)
	for g.qe[g.volDay] && g.p.Days-g.warm > 2 {
		g.volDay = g.warm + r.IntN(g.p.Days-g.warm)
	}
	for _, a := range g.accts {
		a.volMult = 1 + r.Float64()
	}

	scale := float64(g.p.Accounts*g.p.Days) / 1000
	counts := []struct {
		kind string
		n    int
		f    func(ep string)
	}{
		{LabelTakeover, max(3, int(scale*1.6)), g.takeover},
		{LabelSpoofing, max(2, int(scale*0.8)), g.spoofing},
		{LabelWash, max(2, int(scale*0.8)), g.wash},
		{LabelMomentum, max(2, int(scale*0.8)), g.momentum},
	}
	for _, c := range counts {
		for i := range c.n {
			ep := fmt.Sprintf("%s-%d", c.kind, i+1)
			g.stats.Episodes[c.kind]++
			c.f(ep)
		}
	}
	// Hard negatives that belong to an account and a day.
	for i := range max(3, int(scale*2.5)) {
		a := g.pickAccount(func(a *simAccount) bool { return a.newPairDay < 0 && len(a.pairs) < len(simPairs) })
		a.newPairDay = g.warm + r.IntN(g.p.Days-g.warm)
		a.newPair = g.popularPair(a.pairs)
		_ = i
		g.stats.Episodes[LabelNewPair]++
	}
	for range max(2, int(scale*1.5)) {
		a := g.pickAccount(func(a *simAccount) bool { return a.newDeviceDay < 0 && a.primary[:3] == "dev" })
		a.newDeviceDay = g.warm + r.IntN(g.p.Days-g.warm)
		a.newDevice = g.device()
		g.stats.Episodes[LabelNewDevice]++
	}
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*math.Log(hi/lo))
}

// popularPair draws a pair by popularity, not one of have.
func (g *gen) popularPair(have []int) int {
	total := 0.0
	for k, p := range simPairs {
		if !slices.Contains(have, k) {
			total += p.weight
		}
	}
	x := g.rng.Float64() * total
	for k, p := range simPairs {
		if slices.Contains(have, k) {
			continue
		}
		if x < p.weight {
			return k
		}
		x -= p.weight
	}
	for k := range simPairs {
		if !slices.Contains(have, k) {
			return k
		}
	}
	return 0
}

func (g *gen) device() string {
	return "dev-" + strconv.FormatUint(g.rng.Uint64()>>32|1<<31, 16)
}

// pickAccount draws an account with history (not a late joiner) that ok
// accepts.
func (g *gen) pickAccount(ok func(*simAccount) bool) *simAccount {
	for range 10000 {
		a := g.accts[g.rng.IntN(len(g.accts))]
		if a.startDay == 0 && ok(a) {
			return a
		}
	}
	panic("fraud: sim: no account fits an episode")
}

// episodeDay picks a day after the warm-up for an episode of a and marks
// the account busy that day, so that two episodes never share an account
// and a day.
func (g *gen) episodeAccount(ok func(*simAccount) bool) (*simAccount, int) {
	a := g.pickAccount(func(a *simAccount) bool { return a.busyDay < 0 && ok(a) })
	d := g.warm + g.rng.IntN(g.p.Days-g.warm)
	a.busyDay = d
	return a, d
}

// at converts an hour of the current day to a timestamp.
func (g *gen) at(hour float64) int64 {
	return g.dayStart + int64(hour*float64(usPerHour))
}

// midAt is pair k's mid at ts (interpolated by minute).
func (g *gen) midAt(k int, ts int64) float64 {
	m := float64(ts-g.dayStart) / float64(usPerMin)
	m = min(max(m, 0), 1440)
	i := int(m)
	if i >= 1440 {
		return g.mids[k][1440]
	}
	fr := m - float64(i)
	return g.mids[k][i]*(1-fr) + g.mids[k][i+1]*fr
}

func (g *gen) runDay(d int) {
	g.day = d
	g.dayStart = g.days[d].UnixMicro()
	r := g.rng
	// Mids: a random walk per minute, busier in the London and New York
	// hours, four times as volatile in the volatile window.
	g.volStart, g.volEnd = g.at(13), g.at(16)
	if g.mids == nil {
		g.mids = make([][]float64, len(simPairs))
		for k := range simPairs {
			g.mids[k] = make([]float64, 1441)
			g.mids[k][1440] = simPairs[k].mid
		}
	}
	for k, p := range simPairs {
		m := g.mids[k]
		m[0] = m[1440]
		sd := p.vol / math.Sqrt(252*1440)
		for i := 1; i <= 1440; i++ {
			h := float64(i) / 60
			season := 0.6
			if h >= 7 && h < 17 {
				season = 1.3
			}
			if d == g.volDay && h >= 13 && h < 16 {
				season *= 4
			}
			m[i] = m[i-1] * math.Exp(sd*season*r.NormFloat64())
		}
	}
	// Now and then a bank runs a day from its disaster-recovery site:
	// every account on its gateway logs in from the DR gateway instead.
	g.dr = g.dr[:0]
	for range g.parts {
		g.dr = append(g.dr, r.Float64() < 1.0/50)
	}
	for _, a := range g.accts {
		if d < a.startDay {
			continue
		}
		if a.newDeviceDay == d {
			a.primary = a.newDevice
		}
		forced := a.newPairDay == d || a.newDeviceDay == d
		if !forced && r.Float64() >= a.activeProb {
			continue
		}
		g.session(a)
	}
	for _, f := range g.plan[d] {
		f()
	}
}

// session generates an honest account's trading for the current day.
func (g *gen) session(a *simAccount) {
	r := g.rng
	start := min(max(a.start+0.4*r.NormFloat64(), 0.05), 21)
	end := min(max(a.end+0.4*r.NormFloat64(), start+1), 22.5)
	src := a.primary
	switch x := r.Float64(); {
	case a.second != "" && x < 0.15:
		src = a.second
	case a.primary[:3] != "gw-" && x > 0.97:
		// Roaming: a session from a network the account has not used
		// (a hotel, a VPN exit, a home line), once. Honest, unlabelled.
		src = "net-" + strconv.FormatUint(r.Uint64()>>32|1<<31, 16)
	}
	dr := a.primary[:3] == "gw-" && g.dr[a.part]
	if dr {
		src = a.primary + "-dr"
	}
	login := g.at(start) - int64(r.Float64()*float64(10*usPerMin))
	login = max(login, g.dayStart)
	g.emit(Event{TS: login, Kind: KindLogin, Participant: g.parts[a.part], Account: a.id, Source: src})

	qe := g.qe[g.day] && a.spiker
	rate := a.perDay * math.Exp(0.3*r.NormFloat64())
	if qe {
		rate *= 1.5
	}
	mult := 1.0
	if qe {
		mult = 2.5 + 3.5*r.Float64()
	}
	n := poisson(r, rate)
	label := func(ts int64) string {
		switch {
		case qe:
			return LabelQuarterEnd
		case g.day == g.volDay && ts >= g.volStart && ts < g.volEnd:
			return LabelVolatileDay
		case a.newDeviceDay == g.day && src == a.newDevice, dr:
			return LabelNewDevice
		}
		return ""
	}
	order := func(ts int64, k int, mult float64, aggrBoost float64) {
		lb := label(ts)
		if lb == LabelVolatileDay {
			mult *= a.volMult
			aggrBoost += 0.15
		}
		if a.style == styleAlgo {
			g.quote(a, ts, src, k, mult, lb)
		} else {
			g.honestOrder(a, ts, src, k, mult, aggrBoost, lb)
		}
	}
	// Now and then (1% of sessions not on a bank gateway) the trader
	// picks up a new phone or laptop halfway through the day and carries
	// on from it: an honest new source minutes after activity from the
	// usual one, the takeover's own signature.
	switchAt, mobile := int64(math.MaxInt64), ""
	if a.primary[:3] != "gw-" && a.style != styleAlgo && r.Float64() < 0.01 {
		switchAt = g.at(start + (end-start)*(0.3+0.4*r.Float64()))
		mobile = "mob-" + strconv.FormatUint(r.Uint64()>>32|1<<31, 16)
		g.emit(Event{TS: switchAt, Kind: KindLogin, Participant: g.parts[a.part], Account: a.id, Source: mobile})
	}
	for range n {
		ts := g.at(start + (end-start)*(r.Float64()+r.Float64())/2)
		if ts > switchAt {
			src0 := src
			src = mobile
			id := g.honestOrder(a, ts, src, g.accountPair(a), mult, 0, "")
			if label(ts) == "" {
				g.label(id, LabelNewDevice, LabelNewDevice, false)
			}
			src = src0
			continue
		}
		order(ts, g.accountPair(a), mult, 0)
	}
	if g.day == g.volDay {
		s, e := max(g.at(start), g.volStart), min(g.at(end), g.volEnd)
		if e > s {
			extra := poisson(r, 2*rate*float64(e-s)/float64(g.at(end)-g.at(start)))
			for range extra {
				ts := s + int64(r.Float64()*float64(e-s))
				order(ts, g.accountPair(a), mult, 0)
			}
		}
	}
	if a.newPairDay == g.day {
		ep := fmt.Sprintf("%s-%s", LabelNewPair, a.id)
		for range 1 + r.IntN(3) {
			ts := g.at(start + (end-start)*r.Float64())
			id := g.honestOrder(a, ts, src, a.newPair, mult, 0, "")
			g.label(id, LabelNewPair, ep, false)
		}
		a.pairs = append(a.pairs, a.newPair)
		a.pairW = append(a.pairW, 0.5)
	}
}

func (g *gen) accountPair(a *simAccount) int {
	total := 0.0
	for _, w := range a.pairW {
		total += w
	}
	x := g.rng.Float64() * total
	for i, w := range a.pairW {
		if x < w {
			return a.pairs[i]
		}
		x -= w
	}
	return a.pairs[len(a.pairs)-1]
}

// size draws an order size for a around mult times its median, rounded
// to a market size (1, 1.5, 2, 2.5, 3, 4, 5 … times a power of ten).
func (g *gen) size(a *simAccount, mult float64) float64 {
	return niceSize(a.median * mult * math.Exp(a.sigma*g.rng.NormFloat64()))
}

var niceMantissas = []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9, 10}

func niceSize(x float64) float64 {
	x = max(x, 1e5)
	e := math.Floor(math.Log10(x))
	base := math.Pow(10, e)
	m := x / base
	best, bd := 1.0, math.Inf(1)
	for _, c := range niceMantissas {
		if d := math.Abs(math.Log(m / c)); d < bd {
			best, bd = c, d
		}
	}
	return math.Round(best * base)
}

func roundTo(x float64, dec int) float64 {
	p := math.Pow(10, float64(dec))
	return math.Round(x*p) / p
}

// price is a limit price for side at distance ticks from the touch
// (negative: through the mid).
func (g *gen) price(k int, mid float64, side Side, ticks int) float64 {
	p := simPairs[k]
	tick := math.Pow(10, -float64(p.dec))
	off := float64(ticks+1) * tick
	if side == SideBuy {
		return roundTo(mid-off, p.dec)
	}
	return roundTo(mid+off, p.dec)
}

func (g *gen) side() Side {
	if g.rng.IntN(2) == 0 {
		return SideBuy
	}
	return SideSell
}

// newOrder builds an order event.
func (g *gen) newOrder(a *simAccount, ts int64, src string, k int, side Side, qty float64, cls int) Event {
	g.nOrder++
	mid := g.midAt(k, ts)
	p := simPairs[k]
	ev := Event{
		TS: ts, Kind: KindOrder, Participant: g.parts[a.part], Account: a.id, Source: src,
		OrderID: fmt.Sprintf("o%08d", g.nOrder), Symbol: p.sym, Side: side, Qty: qty,
		OrdType: OrdLimit, TIF: TIFDay, Mid: roundTo(mid, p.dec+1),
	}
	switch cls {
	case aggrTake:
		if g.rng.IntN(2) == 0 {
			ev.OrdType, ev.TIF = OrdMarket, TIFIOC
		} else {
			ev.TIF = TIFIOC
			ev.Price = g.price(k, mid, side.Opposite(), 1+g.rng.IntN(3))
		}
	case aggrMarketable:
		ev.Price = g.price(k, mid, side.Opposite(), g.rng.IntN(2))
	default:
		ev.Price = g.price(k, mid, side, g.rng.IntN(4))
	}
	return ev
}

// honestOrder generates an honest order and what becomes of it, and
// returns its id.
func (g *gen) honestOrder(a *simAccount, ts int64, src string, k int, mult, aggrBoost float64, lb string) string {
	r := g.rng
	cls := aggrPassive
	switch x := r.Float64(); {
	case x < a.aggrShare+aggrBoost:
		cls = aggrTake
	case x < a.aggrShare+aggrBoost+a.mktShare:
		cls = aggrMarketable
	}
	ev := g.newOrder(a, ts, src, k, g.side(), g.size(a, mult), cls)
	g.emit(ev)
	if lb != "" {
		g.label(ev.OrderID, lb, lb, false)
	}
	switch {
	case cls != aggrPassive:
		if r.Float64() < 0.95 {
			g.fillOf(a, &ev, ts+int64(1000+r.IntN(20000)), g.counterparty(a))
		}
	case r.Float64() < 0.35:
		g.fillOf(a, &ev, ts+g.delay(3*usPerMin), g.counterparty(a))
	case r.Float64() < 0.7:
		g.emit(Event{TS: ts + g.delay(5*usPerMin), Kind: KindCancel, Participant: ev.Participant, Account: a.id, Source: src, OrderID: ev.OrderID})
	}
	return ev.OrderID
}

// quote generates a market maker's two-sided quote of one size: when one
// side fills, the other is pulled within a second; otherwise both are
// pulled after some seconds.
func (g *gen) quote(a *simAccount, ts int64, src string, k int, mult float64, lb string) {
	r := g.rng
	qty := g.size(a, mult)
	bid := g.newOrder(a, ts, src, k, SideBuy, qty, aggrPassive)
	ask := g.newOrder(a, ts+int64(50+r.IntN(500)), src, k, SideSell, qty, aggrPassive)
	g.emit(bid)
	g.emit(ask)
	if lb != "" {
		g.label(bid.OrderID, lb, lb, false)
		g.label(ask.OrderID, lb, lb, false)
	}
	if r.Float64() < 0.3 {
		filled, other := &bid, &ask
		if r.IntN(2) == 0 {
			filled, other = other, filled
		}
		ft := ask.TS + g.delay(20*usPerSec)
		g.fillOf(a, filled, ft, g.counterparty(a))
		g.emit(Event{TS: ft + int64(50_000+r.IntN(950_000)), Kind: KindCancel, Participant: bid.Participant, Account: a.id, Source: src, OrderID: other.OrderID})
		return
	}
	ct := ask.TS + g.delay(8*usPerSec)
	g.emit(Event{TS: ct, Kind: KindCancel, Participant: bid.Participant, Account: a.id, Source: src, OrderID: bid.OrderID})
	g.emit(Event{TS: ct + int64(r.IntN(2000)), Kind: KindCancel, Participant: bid.Participant, Account: a.id, Source: src, OrderID: ask.OrderID})
}

// delay is an exponential delay with the given mean, capped at an hour.
func (g *gen) delay(mean int64) int64 {
	return min(int64(g.rng.ExpFloat64()*float64(mean))+1, usPerHour)
}

func (g *gen) counterparty(a *simAccount) *simAccount {
	for range 20 {
		b := g.accts[g.rng.IntN(len(g.accts))]
		if b.part != a.part {
			return b
		}
	}
	return g.accts[(a.idx+1)%len(g.accts)]
}

// fillOf emits a full fill of order ev against b.
func (g *gen) fillOf(a *simAccount, ev *Event, ts int64, b *simAccount) {
	px := ev.Price
	if px == 0 {
		px = g.price(g.pairIndex(ev.Symbol), g.midAt(g.pairIndex(ev.Symbol), ts), ev.Side.Opposite(), 0)
	}
	g.emit(Event{TS: ts, Kind: KindFill, Participant: ev.Participant, Account: a.id, OrderID: ev.OrderID, Qty: ev.Qty, Price: px, Counterparty: b.id})
}

func (g *gen) pairIndex(sym string) int {
	for k, p := range simPairs {
		if p.sym == sym {
			return k
		}
	}
	return 0
}

func (g *gen) emit(ev Event) {
	g.seq++
	g.buf = append(g.buf, simEvent{ev: ev, seq: g.seq})
}

func (g *gen) label(id, kind, ep string, fraud bool) {
	g.labels = append(g.labels, Label{OrderID: id, Kind: kind, Episode: ep, Fraud: fraud})
	g.stats.Labelled[kind]++
}

// flush writes the day's events in time order; events that fall after the
// next day has begun wait for it (all of them, on the last day).
func (g *gen) flush(last bool) error {
	all := append(g.carry, g.buf...)
	slices.SortFunc(all, func(x, y simEvent) int {
		if c := cmp.Compare(x.ev.TS, y.ev.TS); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	cut := len(all)
	if !last {
		next := g.days[g.day+1].UnixMicro()
		cut, _ = slices.BinarySearchFunc(all, next, func(e simEvent, t int64) int { return cmp.Compare(e.ev.TS, t) })
	}
	for i := range all[:cut] {
		e := &all[i].ev
		g.line = AppendEvent(g.line[:0], e)
		if _, err := g.w.Write(g.line); err != nil {
			return err
		}
		g.stats.Events++
		if e.Kind == KindOrder {
			g.stats.Orders++
		}
	}
	g.carry = append([]simEvent(nil), all[cut:]...)
	g.buf = all[:0]
	return nil
}

func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// inSession is a time of day (hours) inside a's usual session.
func (g *gen) inSession(a *simAccount) float64 {
	return a.start + 0.5 + (a.end-a.start-1)*g.rng.Float64()
}

// offHours is a time of day at least an hour outside a's usual session.
func (g *gen) offHours(a *simAccount) float64 {
	for range 1000 {
		h := 23.5 * g.rng.Float64()
		if h < a.start-1.5 || h > a.end+1.5 {
			return h
		}
	}
	return 23
}

// takeover plans an account-takeover episode.
func (g *gen) takeover(ep string) {
	r := g.rng
	a, d := g.episodeAccount(func(a *simAccount) bool { return a.style != styleAlgo })
	newSrc := r.Float64() < 0.8
	stealthy := r.Float64() < 0.5
	newPair := r.Float64() < 0.35
	off := r.Float64() < 0.4
	burst := r.Float64() < 0.5
	aggr := r.Float64() < 0.7
	n := 1
	for n < 8 && r.Float64() < 0.65 {
		n++
	}
	k := 4 + 11*r.Float64()
	if stealthy {
		k = 2 + r.Float64()
	}
	src := a.primary
	if newSrc {
		src = g.device()
	}
	hour := g.inSession(a)
	if off {
		hour = g.offHours(a)
	}
	sym := -1
	if newPair {
		var others []int
		for i := range simPairs {
			if !slices.Contains(a.pairs, i) {
				others = append(others, i)
			}
		}
		if len(others) > 0 {
			sym = others[r.IntN(len(others))]
		}
	}
	side := g.side()
	g.plan[d] = append(g.plan[d], func() {
		t := g.at(hour)
		if newSrc {
			g.emit(Event{TS: t - int64((1+14*r.Float64())*float64(usPerMin)), Kind: KindLogin, Participant: g.parts[a.part], Account: a.id, Source: src})
		}
		k0 := sym
		if k0 < 0 {
			k0 = g.accountPair(a)
		}
		for i := range n {
			if i > 0 {
				if burst {
					t += int64((2 + 18*r.Float64()) * float64(usPerSec))
				} else {
					t += int64((1 + 14*r.Float64()) * float64(usPerMin))
				}
			}
			cls := aggrMarketable
			if aggr {
				cls = aggrTake
			}
			ev := g.newOrder(a, t, src, k0, side, niceSize(a.median*k*(0.9+0.2*r.Float64())), cls)
			g.emit(ev)
			g.label(ev.OrderID, LabelTakeover, ep, true)
			if r.Float64() < 0.95 {
				g.fillOf(a, &ev, t+int64(1000+r.IntN(20000)), g.counterparty(a))
			}
		}
	})
}

// spoofing plans a spoofing/layering episode.
func (g *gen) spoofing(ep string) {
	r := g.rng
	a, d := g.episodeAccount(func(a *simAccount) bool { return a.style != styleRealMoney })
	cycles := 2 + r.IntN(4)
	hour := g.inSession(a)
	g.plan[d] = append(g.plan[d], func() {
		t := g.at(hour)
		k := a.pairs[0]
		src := a.primary
		for range cycles {
			side := g.side()
			bait := g.newOrder(a, t, src, k, side, g.size(a, 0.8), aggrPassive)
			bait.Price = g.price(k, g.midAt(k, t), side, 0)
			g.emit(bait)
			g.label(bait.OrderID, LabelSpoofing, ep, true)
			lt := t
			var layers []string
			for i := range 3 + r.IntN(4) {
				lt += int64((0.3 + 2.7*r.Float64()) * float64(usPerSec))
				l := g.newOrder(a, lt, src, k, side.Opposite(), niceSize(a.median*(3+7*r.Float64())), aggrPassive)
				l.Price = g.price(k, g.midAt(k, lt), side.Opposite(), 1+i)
				g.emit(l)
				g.label(l.OrderID, LabelSpoofing, ep, true)
				layers = append(layers, l.OrderID)
			}
			ft := lt + int64((0.5+7.5*r.Float64())*float64(usPerSec))
			g.fillOf(a, &bait, ft, g.counterparty(a))
			for _, id := range layers {
				g.emit(Event{TS: ft + int64((0.05+1.45*r.Float64())*float64(usPerSec)), Kind: KindCancel, Participant: g.parts[a.part], Account: a.id, Source: src, OrderID: id})
			}
			t = ft + int64((30+270*r.Float64())*float64(usPerSec))
		}
	})
}

// wash plans a wash-trading episode between two accounts of different
// participants that share a device.
func (g *gen) wash(ep string) {
	r := g.rng
	a, d := g.episodeAccount(func(a *simAccount) bool { return a.style != styleAlgo })
	b := g.pickAccount(func(b *simAccount) bool { return b.part != a.part && b.busyDay != d && b.style != styleAlgo })
	b.busyDay = d
	rounds := 3 + r.IntN(6)
	hour := g.inSession(a)
	ownDevice := a.primary[:3] == "dev" && r.Float64() < 0.6
	g.plan[d] = append(g.plan[d], func() {
		t := g.at(hour)
		srcA, srcB := a.primary, a.primary
		if !ownDevice {
			srcA = g.device()
			srcB = srcA
			g.emit(Event{TS: t - int64((2+10*r.Float64())*float64(usPerMin)), Kind: KindLogin, Participant: g.parts[a.part], Account: a.id, Source: srcA})
		}
		g.emit(Event{TS: t - int64((1+10*r.Float64())*float64(usPerMin)), Kind: KindLogin, Participant: g.parts[b.part], Account: b.id, Source: srcB})
		k := a.pairs[0]
		for range rounds {
			x, y, sx, sy := a, b, srcA, srcB
			if r.IntN(2) == 0 {
				x, y, sx, sy = b, a, srcB, srcA
			}
			side := g.side()
			qty := niceSize(a.median * (0.8 + 1.2*r.Float64()))
			o1 := g.newOrder(x, t, sx, k, side, qty, aggrPassive)
			o1.Price = g.price(k, g.midAt(k, t), side, 0)
			t2 := t + int64((1+19*r.Float64())*float64(usPerSec))
			o2 := g.newOrder(y, t2, sy, k, side.Opposite(), qty, aggrPassive)
			o2.Price = o1.Price
			g.emit(o1)
			g.emit(o2)
			g.label(o1.OrderID, LabelWash, ep, true)
			g.label(o2.OrderID, LabelWash, ep, true)
			g.fillOf(x, &o1, t2+1000, y)
			g.fillOf(y, &o2, t2+1000, x)
			t = t2 + int64((1+9*r.Float64())*float64(usPerMin))
		}
	})
}

// momentum plans a momentum-ignition episode.
func (g *gen) momentum(ep string) {
	r := g.rng
	a, d := g.episodeAccount(func(a *simAccount) bool { return a.style != styleRealMoney })
	hour := g.inSession(a)
	n := 15 + r.IntN(26)
	dur := 60 + 120*r.Float64()
	g.plan[d] = append(g.plan[d], func() {
		t0 := g.at(hour)
		k := a.pairs[0]
		src := a.primary
		side := g.side()
		times := make([]int64, n)
		for i := range times {
			times[i] = t0 + int64(r.Float64()*dur*float64(usPerSec))
		}
		slices.Sort(times)
		for i, t := range times {
			var ev Event
			switch {
			case i >= n*85/100:
				ev = g.newOrder(a, t, src, k, side.Opposite(), g.size(a, 1+2*r.Float64()), aggrMarketable)
				g.emit(ev)
				g.fillOf(a, &ev, t+int64(1000+r.IntN(20000)), g.counterparty(a))
			case r.Float64() < 0.55:
				ev = g.newOrder(a, t, src, k, side, g.size(a, 0.3+0.7*r.Float64()), aggrPassive)
				ev.Price = g.price(k, g.midAt(k, t), side, 0)
				g.emit(ev)
				g.emit(Event{TS: t + int64((0.3+2.7*r.Float64())*float64(usPerSec)), Kind: KindCancel, Participant: g.parts[a.part], Account: a.id, Source: src, OrderID: ev.OrderID})
			default:
				ev = g.newOrder(a, t, src, k, side, g.size(a, 0.3+0.7*r.Float64()), aggrTake)
				g.emit(ev)
				g.fillOf(a, &ev, t+int64(1000+r.IntN(20000)), g.counterparty(a))
			}
			g.label(ev.OrderID, LabelMomentum, ep, true)
		}
	})
}
