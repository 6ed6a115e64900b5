package fraud

import "math"

// A profile is everything the scorer remembers about one account, in a
// fixed size (about 2.4 KB): the account's usual sizes, hours, order
// types, pairs and sources as decayed histograms and small sets, its
// recent order times, its open orders and its recent fills. Nothing in it
// grows with the account's history; every set has a fixed number of slots
// and evicts its stalest entry.
type profile struct {
	account string
	acctH   uint64 // fnv64(account), to check a slab index still means the account
	partH   uint64 // fnv64(participant)
	orders  uint32 // orders seen, not decayed: how much history the features stand on
	logins  uint32 // logins seen, not decayed
	// blind counts orders that came without a source: a history replayed
	// from the journal, which does not record where orders came from.
	blind uint32
	first int64 // when the account was first seen

	sizes sizeHist
	hours [24]float32 // decayed order count per hour of day (UTC)
	aggr  [aggrClasses]float32
	histT int64 // when hours and aggr were last decayed

	pairs   [pairSlots]pairSlot
	sources [sourceSlots]sourceSlot

	recent    [recentSlots]recentOrder // ring of the last orders, for bursts
	recentPos uint8
	typ60     float64 // EWMA of the number of orders in the minute before each order

	ordS, fillS ewCount // orders and fills, short half-life
	ordL, fillL ewCount // orders and fills, long half-life
	act         ewCount // orders, the market activity's half-life: the account's share of it

	open  [openSlots]openOrder
	fills [fillSlots]fillRec

	spoof ewCount // large orders pulled right after an opposite fill
	wash  ewCount // fills against accounts sharing a source
}

const (
	pairSlots   = 8
	sourceSlots = 6
	recentSlots = 32
	openSlots   = 16
	fillSlots   = 4
)

// Half-lives of the profile's memories. Sizes, hours and order types
// describe the last month; the order-to-trade ratio compares the last two
// minutes with the last few days. Pulled orders and wash fills fade within
// hours: they mark the episode under way, the orders that follow it in the
// same session. An account caught at it belongs on a watch list, a
// decision for people, not a score that stays high on its honest orders
// for a week.
const (
	histHalf  = 30 * usPerDay
	otrHalfS  = 2 * usPerMin
	otrHalfL  = 3 * usPerDay
	spoofHalf = 6 * usPerHour
	washHalf  = 6 * usPerHour
)

type pairSlot struct {
	sym  uint16
	used bool
	last int64
	n    uint32
}

// A sourceSlot is one device or origin the account has used. A source is
// established once it is older than sourceSettle or has carried
// sourceSettleOrders orders: a session's first login from a new laptop
// does not make the laptop familiar.
type sourceSlot struct {
	hash   uint64
	first  int64
	last   int64
	orders uint32
}

const (
	sourceSettle       = 12 * usPerHour
	sourceSettleOrders = 20
)

func (s *sourceSlot) established(ts int64) bool {
	return s.hash != 0 && (ts-s.first >= sourceSettle || s.orders >= sourceSettleOrders)
}

type recentOrder struct {
	ts   int64
	aggr bool
}

// openOrder is a live order of the account, as far as the scorer knows:
// added when scored, reduced by fills, removed by cancels and full fills,
// and forgotten when a newer order needs the slot.
type openOrder struct {
	idH     uint64
	ts      int64
	price   float64
	qty     float64 // remaining
	origQty float64
	sym     uint16
	side    Side
	passive bool
	large   bool // at least largeVsMedian the account's median size when sent
}

const largeVsMedian = 1.5

// fillRec is a recent fill of the account: what the spoofing check needs.
type fillRec struct {
	ts      int64
	origQty float64
	sym     uint16
	side    Side
}

// sizeHist is a decayed histogram of log2(qty) in quarter-octave bins from
// 2^12 (4 096) to 2^36 (6.9e10); sizes outside fall in the end bins.
type sizeHist struct {
	bins  [sizeBins]float32
	total float64
	ts    int64 // last decay
}

const (
	sizeBins          = 96
	sizeLog2Lo        = 12
	sizeBinsPerOctave = 4
)

func sizeBin(q float64) int {
	b := int((math.Log2(q) - sizeLog2Lo) * sizeBinsPerOctave)
	return min(max(b, 0), sizeBins-1)
}

// age decays the histogram to ts, at most once an hour: a month-long
// memory does not need finer steps, and the hourly step keeps the cost of
// an update at one bin most of the time.
func (h *sizeHist) age(ts int64) {
	if ts-h.ts < usPerHour {
		return
	}
	f := float32(decay(ts-h.ts, histHalf))
	for i := range h.bins {
		h.bins[i] *= f
	}
	h.total *= float64(f)
	h.ts = ts
}

func (h *sizeHist) add(ts int64, q float64) {
	if h.ts == 0 {
		h.ts = ts
	}
	h.age(ts)
	h.bins[sizeBin(q)]++
	h.total++
}

// quantile is the p-quantile of the sizes, interpolated within a bin (in
// log space). It returns 0 for an empty histogram.
func (h *sizeHist) quantile(p float64) float64 {
	if h.total <= 0 {
		return 0
	}
	target := p * h.total
	cum := 0.0
	for i, c := range h.bins {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= target {
			frac := (target - cum) / float64(c)
			return math.Exp2(sizeLog2Lo + (float64(i)+frac)/sizeBinsPerOctave)
		}
		cum += float64(c)
	}
	return math.Exp2(sizeLog2Lo + float64(sizeBins)/sizeBinsPerOctave)
}

// ageHist decays the hour and order-type histograms to ts, hourly.
func (p *profile) ageHist(ts int64) {
	if p.histT == 0 {
		p.histT = ts
	}
	if ts-p.histT < usPerHour {
		return
	}
	f := float32(decay(ts-p.histT, histHalf))
	for i := range p.hours {
		p.hours[i] *= f
	}
	for i := range p.aggr {
		p.aggr[i] *= f
	}
	p.histT = ts
}

func (p *profile) hasPair(sym uint16) bool {
	for i := range p.pairs {
		if p.pairs[i].used && p.pairs[i].sym == sym {
			return true
		}
	}
	return false
}

func (p *profile) pairCount() int {
	n := 0
	for i := range p.pairs {
		if p.pairs[i].used {
			n++
		}
	}
	return n
}

func (p *profile) touchPair(ts int64, sym uint16) {
	victim := 0
	for i := range p.pairs {
		s := &p.pairs[i]
		if s.used && s.sym == sym {
			s.last = ts
			s.n++
			return
		}
		if !s.used {
			victim = i
			break
		}
		if s.last < p.pairs[victim].last {
			victim = i
		}
	}
	p.pairs[victim] = pairSlot{sym: sym, used: true, last: ts, n: 1}
}

func (p *profile) source(h uint64) *sourceSlot {
	for i := range p.sources {
		if p.sources[i].hash == h {
			return &p.sources[i]
		}
	}
	return nil
}

// touchSource records that the account used source h at ts; order says
// whether it carried an order (rather than a login).
func (p *profile) touchSource(ts int64, h uint64, order bool) {
	s := p.source(h)
	if s == nil {
		victim := 0
		for i := range p.sources {
			if p.sources[i].hash == 0 {
				victim = i
				break
			}
			if p.sources[i].last < p.sources[victim].last {
				victim = i
			}
		}
		s = &p.sources[victim]
		*s = sourceSlot{hash: h, first: ts}
	}
	if ts > s.last {
		s.last = ts
	}
	if order {
		s.orders++
	}
}

// otherSources counts the sources in the account's set other than h.
func (p *profile) otherSources(h uint64) int {
	n := 0
	for i := range p.sources {
		if s := &p.sources[i]; s.hash != 0 && s.hash != h {
			n++
		}
	}
	return n
}

// lastOtherSource is the latest time any source other than h was used, 0
// if none.
func (p *profile) lastOtherSource(h uint64) int64 {
	var t int64
	for i := range p.sources {
		if s := &p.sources[i]; s.hash != 0 && s.hash != h && s.last > t {
			t = s.last
		}
	}
	return t
}

// ordersSince counts the ring's orders at or after since, and how many of
// them were aggressive.
func (p *profile) ordersSince(since int64) (n, aggr int) {
	for i := 0; i < recentSlots; i++ {
		r := &p.recent[(int(p.recentPos)-1-i+recentSlots)%recentSlots]
		if r.ts == 0 || r.ts < since {
			break
		}
		n++
		if r.aggr {
			aggr++
		}
	}
	return n, aggr
}

func (p *profile) pushRecent(ts int64, aggr bool) {
	p.recent[p.recentPos] = recentOrder{ts: ts, aggr: aggr}
	p.recentPos = uint8((int(p.recentPos) + 1) % recentSlots)
}

func (p *profile) findOpen(idH uint64) *openOrder {
	for i := range p.open {
		if p.open[i].idH == idH {
			return &p.open[i]
		}
	}
	return nil
}

// addOpen stores an order in a free slot, or in place of the oldest.
func (p *profile) addOpen(o openOrder) {
	victim := 0
	for i := range p.open {
		if p.open[i].idH == 0 {
			victim = i
			break
		}
		if p.open[i].ts < p.open[victim].ts {
			victim = i
		}
	}
	p.open[victim] = o
}

func (p *profile) addFill(f fillRec) {
	victim := 0
	for i := range p.fills {
		if p.fills[i].ts < p.fills[victim].ts {
			victim = i
		}
	}
	p.fills[victim] = f
}
