package fraud

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// ErrConfig is returned (wrapped) by New for a configuration it refuses.
var ErrConfig = errors.New("fraud: bad configuration")

// Action is what the venue does with a scored order.
type Action uint8

const (
	Allow  Action = iota // trades
	Review               // trades, and raises an alert
	Block                // rejected
)

var actionNames = [...]string{"allow", "review", "block"}

func (a Action) String() string { return actionNames[a] }

// Config is the scorer's configuration. The zero value of a field means
// its default.
//
// The score is a probability of fraud (calibrated on the simulated mix,
// where about one order in 160 is fraudulent), so the thresholds read as
// odds: review an order with a 5% chance of being fraud, block one more
// likely fraud than not. On held-out simulated streams the defaults review
// about 0.3% of honest orders and block almost none.
type Config struct {
	Review      float64 // score at or above which an order is reviewed (default 0.05)
	Block       float64 // score at or above which an order is blocked (default 0.5)
	MaxAccounts int     // profiles kept; the least recently active is evicted (default 16384)
	MaxSources  int     // sources remembered for wash checks (default 65536)
	MaxSymbols  int     // pairs tracked one by one; more share one slot (default 512)
	Weights     *Weights
	// SharedSources are networks whose addresses name a proxy or gateway
	// many participants go through, not a device (see networkSource);
	// loopback addresses always are.
	SharedSources []netip.Prefix
}

// DefaultConfig is the configuration with every default filled in.
func DefaultConfig() Config {
	w := DefaultWeights()
	return Config{Review: 0.05, Block: 0.5, MaxAccounts: 16384, MaxSources: 65536, MaxSymbols: 512, Weights: &w}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Review == 0 {
		c.Review = d.Review
	}
	if c.Block == 0 {
		c.Block = d.Block
	}
	if c.MaxAccounts == 0 {
		c.MaxAccounts = d.MaxAccounts
	}
	if c.MaxSources == 0 {
		c.MaxSources = d.MaxSources
	}
	if c.MaxSymbols == 0 {
		c.MaxSymbols = d.MaxSymbols
	}
	if c.Weights == nil {
		c.Weights = d.Weights
	}
	switch {
	case !(c.Review > 0 && c.Review <= c.Block && c.Block <= 1):
		return c, fmt.Errorf("%w: want 0 < review (%v) <= block (%v) <= 1", ErrConfig, c.Review, c.Block)
	case c.MaxAccounts < 2 || c.MaxAccounts > 1<<24:
		return c, fmt.Errorf("%w: max accounts %d: want 2 to 16777216", ErrConfig, c.MaxAccounts)
	case c.MaxSources < 2 || c.MaxSources > 1<<24:
		return c, fmt.Errorf("%w: max sources %d: want 2 to 16777216", ErrConfig, c.MaxSources)
	case c.MaxSymbols < 1 || c.MaxSymbols > 60000:
		return c, fmt.Errorf("%w: max symbols %d: want 1 to 60000", ErrConfig, c.MaxSymbols)
	}
	return c, nil
}

// Scorer scores orders against per-account profiles and the population
// context, built online from the events it is given.
//
// It is a state machine in the manner of the engine: no clock (time is
// each event's timestamp), no goroutines, no I/O, no randomness, and the
// same events give the same results byte for byte. It is not safe for
// concurrent use: one goroutine owns it (the NATS endpoint's handler, fed
// the venue's execution events and the orders to score in sequence order).
// Memory is bounded by the configuration: MaxAccounts profiles of about
// 2.4 KB, MaxSources source entries of about 150 bytes, MaxSymbols pairs,
// plus the keys' strings and the maps' overhead (about 50 MB with the
// defaults, reserved up front for the profiles).
type Scorer struct {
	cfg    Config
	w      Weights
	accts  map[string]int32
	prof   []profile
	lru    lruList
	syms   symbolTable
	srcs   sourceTable
	mkt    market
	lastTS int64
}

// New returns a scorer with no history.
func New(cfg Config) (*Scorer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Scorer{
		cfg:   cfg,
		w:     *cfg.Weights,
		accts: make(map[string]int32, min(cfg.MaxAccounts, 4096)),
		prof:  make([]profile, 0, cfg.MaxAccounts),
		lru:   newLRU(cfg.MaxAccounts),
		syms:  newSymbolTable(cfg.MaxSymbols),
		srcs:  newSourceTable(cfg.MaxSources),
	}, nil
}

// Config is the scorer's configuration, defaults filled in.
func (s *Scorer) Config() Config { return s.cfg }

// Accounts is the number of profiles held.
func (s *Scorer) Accounts() int { return len(s.accts) }

// Result is the score of one order.
type Result struct {
	Scored   bool    // false for events that are not orders
	Score    float64 // 0..1: the probability of fraud under the weights' calibration
	Logit    float64 // the log odds behind Score
	Action   Action
	Features [NumFeatures]float64
	NReasons int
	Reasons  [MaxReasons]Reason // the largest contributions first
}

// AppendJSON appends the result as the `fxmatch score` output line
// {"order_id","score","action","reasons"} with its newline.
func (r *Result) AppendJSON(dst []byte, orderID string) []byte {
	dst = append(dst, `{"order_id":`...)
	dst = AppendJSONString(dst, orderID)
	dst = append(dst, `,"score":`...)
	dst = strconv.AppendFloat(dst, math.Round(r.Score*1e4)/1e4, 'f', -1, 64)
	dst = append(dst, `,"action":"`...)
	dst = append(dst, r.Action.String()...)
	dst = append(dst, `","reasons":[`...)
	for i := 0; i < r.NReasons; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		// Render first, then quote: names in a reason (accounts,
		// sources, pairs) may hold characters JSON escapes.
		var buf [256]byte
		dst = AppendJSONString(dst, r.Reasons[i].AppendText(buf[:0]))
	}
	return append(dst, "]}\n"...)
}

// Score folds one event into the scorer. For an order it first scores the
// order against everything before it, then learns from it; for any other
// event it only learns, and returns a Result with Scored false. Events
// should come in time order; one older than its predecessor is taken as
// happening at the predecessor's time.
func (s *Scorer) Score(ev *Event) Result {
	ts := ev.TS
	if ts < s.lastTS {
		ts = s.lastTS
	}
	s.lastTS = ts
	switch ev.Kind {
	case KindOrder:
		return s.order(ts, ev, true)
	case KindLogin:
		s.login(ts, ev)
	case KindCancel:
		s.cancel(ts, ev)
	case KindFill:
		s.fill(ts, ev)
	}
	return Result{}
}

// account returns the profile of ev's account, creating it (and evicting
// the least recently active profile if the table is full). The pointer is
// valid until the next call that may create a profile.
func (s *Scorer) account(ev *Event) (*profile, int32) {
	if i, ok := s.accts[ev.Account]; ok {
		s.lru.touch(i)
		p := &s.prof[i]
		if p.partH == 0 && ev.Participant != "" {
			p.partH = fnv64(ev.Participant)
		}
		return p, i
	}
	var i int32
	if len(s.prof) < s.cfg.MaxAccounts {
		s.prof = append(s.prof, profile{})
		i = s.lru.add()
	} else {
		i = s.lru.tail
		delete(s.accts, s.prof[i].account)
		s.lru.touch(i)
	}
	p := &s.prof[i]
	*p = profile{account: ev.Account, acctH: fnv64(ev.Account), first: ev.TS}
	if ev.Participant != "" {
		p.partH = fnv64(ev.Participant)
	}
	s.accts[ev.Account] = i
	return p, i
}

// lookup returns the profile of an account if it is held, without making
// it more recent.
func (s *Scorer) lookup(account string) *profile {
	if i, ok := s.accts[account]; ok {
		return &s.prof[i]
	}
	return nil
}

func sourceHash(src string) uint64 {
	if src == "" {
		return 0
	}
	return fnv64(src)
}

// sourceKey is the hash under which ev's source is remembered. A source
// that is a network origin shared by design rather than a device (see
// networkSource) is qualified by the participant: it still tells one
// participant's usual network from a stranger's (new_source), but two
// participants behind it do not share a device, so it never counts as
// shared (src_shared, wash_cross, wash_hist). This is the one place that
// decides it, for every path into the scorer (the venue's gate, Preview,
// `fxmatch score`).
func (s *Scorer) sourceKey(ev *Event) uint64 {
	h := sourceHash(ev.Source)
	if h == 0 || !s.networkSource(ev.Source) {
		return h
	}
	h ^= fnv64(ev.Participant) * 0x9e3779b97f4a7c15
	if h == 0 {
		h = 1
	}
	return h
}

// networkSource reports whether src is an address that does not identify
// a device: a loopback address (every client of a venue run on one host,
// or behind a reverse proxy on it, arrives from 127.0.0.1 or ::1), or one
// in Config.SharedSources (a corporate proxy, a hosted gateway). Sources
// that are not IP addresses (device fingerprints, FIX gateway names) are
// devices.
func (s *Scorer) networkSource(src string) bool {
	// Only what can be an IP address is parsed: a failed parse allocates
	// its error, and device fingerprints are the common case.
	if c := src[0]; !(c >= '0' && c <= '9') && strings.IndexByte(src, ':') < 0 {
		return false
	}
	a, err := netip.ParseAddr(src)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(src)
		if err2 != nil {
			return false
		}
		a = ap.Addr()
	}
	a = a.Unmap()
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	for _, p := range s.cfg.SharedSources {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Scorer) login(ts int64, ev *Event) {
	p, i := s.account(ev)
	p.logins++
	if h := s.sourceKey(ev); h != 0 {
		p.touchSource(ts, h, false)
		s.srcs.touch(ts, h, i, p.acctH, p.partH)
	}
}

// Thresholds of the spoofing check on cancels: an order counts as pulled
// after an opposite fill when it is cancelled within spoofWindow of the
// fill, was large for the account, and was at least spoofVsFill times the
// filled order. Market makers pull the other side of a quote when one side
// fills; their two sides are of a size, so the ratio leaves them alone.
const (
	spoofWindow = 5 * usPerSec
	spoofVsFill = 3.0
)

func (s *Scorer) cancel(ts int64, ev *Event) {
	p := s.lookup(ev.Account)
	if p == nil {
		return
	}
	o := p.findOpen(fnv64(ev.OrderID))
	if o == nil {
		return
	}
	if o.large && o.passive {
		for i := range p.fills {
			f := &p.fills[i]
			if f.ts != 0 && f.sym == o.sym && f.side == o.side.Opposite() && f.ts >= o.ts &&
				ts-f.ts <= spoofWindow && o.origQty >= spoofVsFill*f.origQty {
				p.spoof.add(ts, spoofHalf, 1)
				break
			}
		}
	}
	*o = openOrder{}
}

func (s *Scorer) fill(ts int64, ev *Event) {
	p := s.lookup(ev.Account)
	if p == nil {
		return
	}
	p.fillS.add(ts, otrHalfS, 1)
	p.fillL.add(ts, otrHalfL, 1)
	if o := p.findOpen(fnv64(ev.OrderID)); o != nil {
		p.addFill(fillRec{ts: ts, origQty: o.origQty, sym: o.sym, side: o.side})
		o.qty -= ev.Qty
		if o.qty <= o.origQty*1e-9 {
			*o = openOrder{}
		}
	}
	if ev.Counterparty != "" {
		if q := s.lookup(ev.Counterparty); q != nil && s.shareSource(ts, p, q) {
			p.wash.add(ts, washHalf, 1)
		}
	}
}

// shareSource reports whether two accounts of different participants used
// one source (not a platform) within the sharing window.
func (s *Scorer) shareSource(ts int64, p, q *profile) bool {
	if p.partH == q.partH {
		return false
	}
	for i := range p.sources {
		a := &p.sources[i]
		if a.hash == 0 || ts-a.last > shareWindow {
			continue
		}
		b := q.source(a.hash)
		if b == nil || ts-b.last > shareWindow {
			continue
		}
		if e := s.srcs.get(a.hash); e != nil && e.distinct <= platformAccounts {
			return true
		}
	}
	return false
}

// participantNetwork reports whether source h was used within the last
// day by another account of p's participant: then it is the bank's own
// network (a new gateway, a disaster-recovery site), not a stranger's
// device, whatever p's own history says.
func (s *Scorer) participantNetwork(ts int64, h uint64, p *profile) bool {
	e := s.srcs.get(h)
	if e == nil || p.partH == 0 {
		return false
	}
	for k := range e.accts {
		a := &e.accts[k]
		if a.acctH != 0 && a.acctH != p.acctH && a.partH == p.partH && ts-a.last <= usPerDay {
			return true
		}
	}
	return false
}

// Feature thresholds. Each is the point past which an observation starts
// to count, chosen so that an honest account crosses it rarely.
const (
	warmOrders     = 10   // orders before an account's own history is fully trusted
	sizeWarmOrders = 3    // orders before its sizes are used at all (the spread's prior covers the rest)
	pairWarmOrders = 5    // orders before a pair it has not traded means something
	srcWarmLogins  = 2    // sessions (logins) before a source it has not used does
	hourWarmOrders = 30   // orders before its hours are
	sizeHinge      = 1.5  // robust z past which size counts (about the 93rd percentile)
	sizeSpreadMin  = 0.25 // least log-size spread assumed (an account trading one size only)
	sizeSpreadPri  = 0.5  // prior log-size spread, for accounts with little history
	sizeSpreadN    = 20.0 // weight of the prior, in orders
	oppMaxAge      = 10 * usPerMin
	layerWindow    = 60 * usPerSec
	washCrossAge   = 5 * usPerMin
	washCrossBand  = 0.001 // prices within 10 bps count as crossing
	sessionWindow  = 2 * usPerHour
	steadyAge      = 5 * usPerDay // history before "always used one source" means something
	burstMinOrders = 2
	typ60Rate      = 0.02  // EWMA weight of an order's minute in the usual burstiness
	typ60RateBurst = 0.002 // the same, for a minute three times busier than usual
	otrMinOrders   = 5.0
	thinAge        = usPerDay // history before an account's pace and sizes are its own, with warmOrders
	// thinMaxLogit bounds the log odds that size and pace alone give an
	// account in its warm-up: a score of about 0.2, between the default
	// review (0.05) and block (0.5) thresholds, so such an order trades
	// and raises an alert.
	thinMaxLogit = -1.4
)

// thinFeatures are the features measured against an account's own usual
// size and pace, which an account in its warm-up does not have yet.
var thinFeatures = [...]int{FeatSize, FeatBurst, FeatOTR, FeatIgnite}

var (
	z95 = 1.6449 // the standard normal's 95th percentile
	ln2 = math.Ln2
	ln4 = math.Log(4)
)

// Preview scores an order as Score would, without learning from it: a
// dealer asking "would this pass?" must not make the order it then sends
// look like the second of a burst. The account's profile is not created
// or made more recent (an unknown account is scored against an empty
// profile), and the scorer's clock does not move. ev must be an order.
func (s *Scorer) Preview(ev *Event) Result {
	if ev.Kind != KindOrder {
		return Result{}
	}
	return s.order(max(ev.TS, s.lastTS), ev, false)
}

// order scores an order, then learns from it if learn is set.
func (s *Scorer) order(ts int64, ev *Event, learn bool) Result {
	var p *profile
	var idx int32
	if learn {
		p, idx = s.account(ev)
	} else if p = s.lookup(ev.Account); p == nil {
		p = &profile{account: ev.Account, acctH: fnv64(ev.Account), first: ts}
		if ev.Participant != "" {
			p.partH = fnv64(ev.Participant)
		}
	}
	sym := s.syms.id(ev.Symbol)
	srcH := s.sourceKey(ev)
	q := ev.Qty
	cls := ev.aggression()
	var r Result
	r.Scored = true
	f := &r.Features
	var why [NumFeatures]Reason
	warm := p.orders >= warmOrders

	// Size against the account's own range, less what the calendar, the
	// market's volatility and everyone else's sizes excuse.
	p50 := p.sizes.quantile(0.5)
	p95 := p.sizes.quantile(0.95)
	logR := 0.0
	if p50 > 0 {
		logR = math.Log(q / p50)
	}
	if p.orders >= sizeWarmOrders && p50 > 0 {
		n := p.sizes.total
		spread := max(math.Log(p95/p50)/z95, sizeSpreadMin)
		spread = (n*spread + sizeSpreadN*sizeSpreadPri) / (n + sizeSpreadN)
		vol := s.mkt.volRatio(ts)
		tol := s.mkt.calendarTolerance(ts) + s.mkt.sizeShift(ts) + min(0.5*math.Log(max(vol, 1)), ln2)
		z := (logR - tol) / spread
		// softplus rather than a hinge: below the hinge the evidence is
		// small but not nil, so that orders rank by size all the way down.
		f[FeatSize] = min(softplus(z-sizeHinge), 8)
		why[FeatSize] = Reason{A: q / p95, B: q / p50}
	}
	if p.orders >= pairWarmOrders && !p.hasPair(sym) {
		f[FeatNewPair] = 1
		why[FeatNewPair] = Reason{A: float64(p.pairCount()), B: float64(p.orders), S: ev.Symbol}
	}
	hour := int((ts / usPerHour) % 24)
	if p.orders >= hourWarmOrders {
		tot, win := 0.0, 0.0
		for i, c := range p.hours {
			tot += float64(c)
			if d := (i - hour + 24) % 24; d <= 1 || d == 23 {
				win += float64(c)
			}
		}
		pr := (win + 0.5) / (tot + 12)
		f[FeatHour] = min(max(0, math.Log(0.125/pr)), 5)
		why[FeatHour] = Reason{A: float64(hour), B: float64(p.hours[hour]) / max(tot, 1)}
	}
	// An account whose history came without sources (replayed from the
	// journal after a restart) adopts the first source it is seen with:
	// nothing says that source is new to it. The price is that an attacker
	// who is an account's very first order after a restart is not seen by
	// source, only by size, pair, hours and pace.
	//
	// A source is new against the account's other sources: one that every
	// order and login of the account came from (a fresh account trading
	// busily on its first day) is its only source, not a stranger's.
	adopt := srcH != 0 && p.blind > 0 && p.otherSources(srcH) == 0 && p.source(srcH) == nil
	onlySource := p.source(srcH) != nil && p.otherSources(srcH) == 0 && p.blind == 0
	if !adopt && !onlySource && (warm || p.logins >= srcWarmLogins) && srcH != 0 && !s.participantNetwork(ts, srcH, p) {
		if sl := p.source(srcH); sl == nil || !sl.established(ts) {
			f[FeatNewSource] = 1
			seen := -1.0
			if sl != nil {
				seen = float64(ts-sl.first) / float64(usPerMin)
			}
			why[FeatNewSource] = Reason{A: seen, S: ev.Source}
			if other := p.lastOtherSource(srcH); other > 0 && ts-other <= sessionWindow {
				f[FeatOtherSession] = 1
				why[FeatOtherSession] = Reason{A: float64(ts-other) / float64(usPerMin)}
			}
			if age := ts - p.first; age >= steadyAge && p.otherSources(srcH) == 1 {
				f[FeatSteadySource] = 1
				why[FeatSteadySource] = Reason{A: float64(age / usPerDay)}
			}
		}
	}
	if cls == aggrTake && p.orders >= 2*warmOrders {
		tot := float64(p.aggr[0] + p.aggr[1] + p.aggr[2])
		pr := (float64(p.aggr[aggrTake]) + 0.5) / (tot + 1.5)
		f[FeatAggrNovel] = min(max(0, -math.Log(pr)-ln4), 4)
		why[FeatAggrNovel] = Reason{A: float64(p.aggr[aggrTake]) / max(tot, 1)}
	}

	// Bursts and the order-to-trade ratio, against the account's habit
	// and net of the market's activity.
	n60, a60 := p.ordersSince(ts - 60*usPerSec)
	n := n60 + 1
	if cls == aggrTake {
		a60++
	}
	if n >= burstMinOrders {
		act := s.mkt.activityRatio(ts, p.act.at(ts, actHalf))
		lr := math.Log(float64(n)/(p.typ60+1)) - math.Log(max(act, 1))
		f[FeatBurst] = min(max(0, lr), 5)
		why[FeatBurst] = Reason{A: float64(n), B: p.typ60 + 1}
		f[FeatIgnite] = f[FeatBurst] * float64(a60) / float64(n)
		why[FeatIgnite] = Reason{A: float64(a60), B: float64(n)}
	}
	if oS := p.ordS.at(ts, otrHalfS) + 1; oS >= otrMinOrders {
		rS := oS / (p.fillS.at(ts, otrHalfS) + 1)
		rL := (p.ordL.at(ts, otrHalfL) + 1) / (p.fillL.at(ts, otrHalfL) + 1)
		f[FeatOTR] = min(max(0, math.Log(rS/rL)), 5)
		why[FeatOTR] = Reason{A: rS, B: rL}
	}

	// Spoofing: a large passive order opposite the account's own resting
	// order, or one of several on a side at once, or any order from an
	// account that has been pulling large orders after fills.
	large := p50 > 0 && q >= largeVsMedian*p50
	if cls == aggrPassive && large && warm {
		maxOpp, layers := 0.0, 0
		for i := range p.open {
			o := &p.open[i]
			if o.idH == 0 || o.sym != sym || !o.passive || ts-o.ts > oppMaxAge {
				continue
			}
			if o.side != ev.Side {
				maxOpp = max(maxOpp, o.qty)
			} else if o.large && ts-o.ts <= layerWindow {
				layers++
			}
		}
		if maxOpp > 0 {
			f[FeatOppLarge] = min(max(0, math.Log(q/maxOpp)-ln2), 4)
			why[FeatOppLarge] = Reason{A: q / maxOpp, S: ev.Symbol, S2: ev.Side.String()}
		}
		f[FeatLayers] = float64(min(layers, 6))
		why[FeatLayers] = Reason{A: float64(layers), S: ev.Symbol}
	}
	if v := p.spoof.at(ts, spoofHalf); v > 0.05 {
		f[FeatSpoofHist] = math.Log1p(v)
		why[FeatSpoofHist] = Reason{A: v}
	}

	// Wash trades: the source is shared with another participant's account
	// (and is not a platform many accounts use), the order would cross
	// that account's resting order, or the account has traded with such
	// accounts before.
	if srcH != 0 {
		if e := s.srcs.get(srcH); e != nil && e.distinct <= platformAccounts {
			for k := range e.accts {
				a := &e.accts[k]
				if a.acctH == 0 || a.acctH == p.acctH || a.partH == p.partH || ts-a.last > shareWindow {
					continue
				}
				other := &s.prof[a.idx]
				if other.acctH != a.acctH {
					continue // the profile was evicted and its slot reused
				}
				if v := decay(ts-a.last, shareHalf); v > f[FeatSrcShared] {
					f[FeatSrcShared] = v
					why[FeatSrcShared] = Reason{S: ev.Source, S2: other.account}
				}
				if crossesResting(other, ts, sym, ev) {
					f[FeatWashCross] = 1
					why[FeatWashCross] = Reason{S2: other.account}
					break
				}
			}
		}
	}
	if v := p.wash.at(ts, washHalf); v > 0.05 {
		f[FeatWashHist] = math.Log1p(v)
		why[FeatWashHist] = Reason{A: v}
	}

	// An account in its warm-up has no meaningful "usual" yet: its first
	// minute is a burst against a baseline of nothing, its third order a
	// size far from a median of two. Such evidence alone reviews, never
	// blocks: size and pace together are held to thinMaxLogit. Anything
	// else (a shared device, a new pair, a new source) still adds to it.
	if p.orders < warmOrders || ts-p.first < thinAge {
		g := 0.0
		for _, i := range thinFeatures {
			g += s.w.W[i] * f[i]
		}
		if lim := max(thinMaxLogit-s.w.Bias, 0); g > lim {
			k := lim / g
			for _, i := range thinFeatures {
				f[i] *= k
			}
		}
	}

	// Combine.
	logit := s.w.Bias
	for i, x := range f {
		logit += s.w.W[i] * x
	}
	r.Logit = logit
	r.Score = 1 / (1 + math.Exp(-logit))
	switch {
	case r.Score >= s.cfg.Block:
		r.Action = Block
	case r.Score >= s.cfg.Review:
		r.Action = Review
	}
	for i, x := range f {
		c := s.w.W[i] * x
		if c < reasonMin {
			continue
		}
		rs := why[i]
		rs.Feature, rs.Contribution = i, c
		r.addReason(rs)
	}

	if learn {
		if adopt {
			p.touchSource(ts, srcH, false)
			p.source(srcH).first = ts - sourceSettle
		}
		s.learnOrder(ts, ev, p, idx, sym, srcH, cls, n60, logR, large)
	}
	return r
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// addReason keeps the MaxReasons largest contributions, largest first.
func (r *Result) addReason(rs Reason) {
	k := r.NReasons
	if k == MaxReasons {
		if rs.Contribution <= r.Reasons[k-1].Contribution {
			return
		}
		k--
	} else {
		r.NReasons++
	}
	for k > 0 && r.Reasons[k-1].Contribution < rs.Contribution {
		r.Reasons[k] = r.Reasons[k-1]
		k--
	}
	r.Reasons[k] = rs
}

// crossesResting reports whether ev would trade against one of other's
// resting orders in the pair: opposite side, recent, and priced within
// washCrossBand of ev's limit (any price for a market order).
func crossesResting(other *profile, ts int64, sym uint16, ev *Event) bool {
	for i := range other.open {
		o := &other.open[i]
		if o.idH == 0 || o.sym != sym || o.side != ev.Side.Opposite() || ts-o.ts > washCrossAge {
			continue
		}
		if ev.Price == 0 || o.price == 0 || math.Abs(o.price-ev.Price) <= washCrossBand*ev.Price {
			return true
		}
	}
	return false
}

// learnOrder folds a scored order into its account's profile and the
// population context.
func (s *Scorer) learnOrder(ts int64, ev *Event, p *profile, idx int32, sym uint16, srcH uint64, cls, n60 int, logR float64, large bool) {
	warm := p.orders >= warmOrders
	p.sizes.add(ts, ev.Qty)
	p.ageHist(ts)
	p.hours[(ts/usPerHour)%24]++
	p.aggr[cls]++
	p.touchPair(ts, sym)
	// The usual burstiness learns slowly, and hardly at all from a burst
	// far above it: a burst must not become the account's habit while it
	// is still going on.
	switch {
	case p.orders == 0:
		p.typ60 = float64(n60)
	case float64(n60+1) > 3*(p.typ60+1):
		p.typ60 += typ60RateBurst * (float64(n60) - p.typ60)
	default:
		p.typ60 += typ60Rate * (float64(n60) - p.typ60)
	}
	p.pushRecent(ts, cls == aggrTake)
	p.ordS.add(ts, otrHalfS, 1)
	p.ordL.add(ts, otrHalfL, 1)
	p.act.add(ts, actHalf, 1)
	p.addOpen(openOrder{
		idH: fnv64(ev.OrderID), ts: ts, price: ev.Price, qty: ev.Qty, origQty: ev.Qty,
		sym: sym, side: ev.Side, passive: cls == aggrPassive, large: large,
	})
	p.orders++
	if srcH == 0 {
		p.blind++
	}
	if srcH != 0 {
		p.touchSource(ts, srcH, true)
		s.srcs.touch(ts, srcH, idx, p.acctH, p.partH)
	}
	s.mkt.observeOrder(ts)
	if warm {
		s.mkt.observeSize(ts, logR)
	}
	st := &s.syms.state[sym]
	st.observeMid(ts, ev.Mid)
	s.mkt.observeVol(ts, st.volRatio())
}

// SortedFeatures lists the nonzero features of a result by contribution,
// for debugging and reports.
func (s *Scorer) SortedFeatures(r *Result) []string {
	type fc struct {
		i int
		c float64
	}
	var l []fc
	for i, x := range r.Features {
		if x != 0 {
			l = append(l, fc{i, s.w.W[i] * x})
		}
	}
	sort.Slice(l, func(a, b int) bool { return l[a].c > l[b].c })
	out := make([]string, len(l))
	for k, e := range l {
		out[k] = fmt.Sprintf("%s=%.2f(%+.2f)", FeatureNames[e.i], r.Features[e.i], e.c)
	}
	return out
}
