package fraud

import "math"

// This file holds the bounded tables the scorer keeps: an intrusive LRU
// list shared by the account and source tables, the symbol table, and the
// small helpers for exponentially decayed counters.

const (
	usPerSec  = int64(1_000_000)
	usPerMin  = 60 * usPerSec
	usPerHour = 60 * usPerMin
	usPerDay  = 24 * usPerHour
)

// lruList is a doubly linked list threaded through slab indexes: entry i of
// a table is node i of its list. The front is the most recently used entry.
// Every operation is O(1) and allocation-free once the list has reached its
// capacity.
type lruList struct {
	prev, next []int32
	head, tail int32 // -1 when empty
}

func newLRU(capacity int) lruList {
	return lruList{prev: make([]int32, 0, capacity), next: make([]int32, 0, capacity), head: -1, tail: -1}
}

// add appends a node for the next slab index and puts it in front.
func (l *lruList) add() int32 {
	i := int32(len(l.prev))
	l.prev = append(l.prev, -1)
	l.next = append(l.next, -1)
	l.pushFront(i)
	return i
}

func (l *lruList) pushFront(i int32) {
	l.prev[i], l.next[i] = -1, l.head
	if l.head >= 0 {
		l.prev[l.head] = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

func (l *lruList) unlink(i int32) {
	p, n := l.prev[i], l.next[i]
	if p >= 0 {
		l.next[p] = n
	} else {
		l.head = n
	}
	if n >= 0 {
		l.prev[n] = p
	} else {
		l.tail = p
	}
}

// touch moves node i to the front.
func (l *lruList) touch(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

// fnv64 is FNV-1a: the scorer keys sources, participants and order IDs by
// a 64-bit hash so that profiles hold no strings for them. Collisions are
// negligible at the table sizes involved (2^-64 per pair) and would only
// blur a feature, never break an invariant.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return h
}

// decay is the factor that ages a counter with half-life h over dt (both
// in microseconds). A negative dt (an event older than the last one) ages
// nothing.
func decay(dt, h int64) float64 {
	if dt <= 0 {
		return 1
	}
	return math.Exp2(-float64(dt) / float64(h))
}

// ewCount is an exponentially decayed event count.
type ewCount struct {
	v  float64
	ts int64
}

func (c *ewCount) at(ts, half int64) float64 { return c.v * decay(ts-c.ts, half) }

func (c *ewCount) add(ts, half int64, x float64) {
	c.v = c.at(ts, half) + x
	if ts > c.ts {
		c.ts = ts
	}
}

// symbolTable interns symbols to small ids, up to a fixed number; symbols
// beyond it share id 0, which the features treat as "some other pair".
type symbolTable struct {
	ids   map[string]uint16
	names []string
	state []symbolState
	max   int
}

// symbolState is the per-pair market context: the last mid and a short and
// a long estimate of the variance rate of the mid's log returns.
type symbolState struct {
	mid        float64
	midTS      int64
	r2S, dtS   float64 // decayed sums of squared returns and of elapsed seconds, short half-life
	r2L, dtL   float64 // the same, long half-life
	volRatioTS int64
}

func newSymbolTable(max int) symbolTable {
	return symbolTable{ids: make(map[string]uint16, max), names: []string{"(other)"}, state: make([]symbolState, 1, max+1), max: max}
}

func (t *symbolTable) id(sym string) uint16 {
	if id, ok := t.ids[sym]; ok {
		return id
	}
	if len(t.names) > t.max || sym == "" {
		return 0
	}
	id := uint16(len(t.names))
	t.ids[sym] = id
	t.names = append(t.names, sym)
	t.state = append(t.state, symbolState{})
	return id
}

// Volatility half-lives: "now" is the last half hour, "usual" the last
// week.
const (
	volHalfShort = 30 * usPerMin
	volHalfLong  = 5 * usPerDay
)

// observeMid folds a mid into the pair's volatility estimates and returns
// the pair's current ratio of short to long volatility (1 until both are
// known).
func (s *symbolState) observeMid(ts int64, mid float64) {
	if mid <= 0 {
		return
	}
	if s.mid > 0 && ts > s.midTS {
		dt := float64(ts-s.midTS) / float64(usPerSec)
		if dt < 1 {
			dt = 1 // quotes a microsecond apart are not a microsecond of variance
		}
		if dt > 3600 {
			dt = 3600 // a night or a weekend gap is not a long quiet sample
		}
		r := math.Log(mid / s.mid)
		dS, dL := decay(ts-s.midTS, volHalfShort), decay(ts-s.midTS, volHalfLong)
		s.r2S, s.dtS = s.r2S*dS+r*r, s.dtS*dS+dt
		s.r2L, s.dtL = s.r2L*dL+r*r, s.dtL*dL+dt
	}
	if ts >= s.midTS {
		s.mid, s.midTS = mid, ts
	}
}

// volRatio is short over long volatility, 1 when either is not yet known.
func (s *symbolState) volRatio() float64 {
	if s.dtS < 600 || s.dtL < 6*3600 || s.r2L <= 0 {
		return 1
	}
	return math.Sqrt((s.r2S / s.dtS) / (s.r2L / s.dtL))
}
