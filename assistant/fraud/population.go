package fraud

import (
	"math"
	"time"
)

// This file is the population-level context: what every account is doing
// at once (market-wide order rate against the usual for the hour,
// market-wide volatility against the usual, everyone's sizes against their
// own usual) and the calendar (quarter and month ends). The features of
// one account are read net of this context, so that a volatile afternoon
// or a quarter end, when everyone trades more and larger, does not look
// like many accounts breaking from their habits at once.

// sourceTable maps a source (device or network origin) to the accounts
// seen on it lately, to find accounts of different participants sharing a
// device. A source seen on more than platformAccounts accounts is a
// platform (a bank's gateway, a hosted trading application), not a
// device, and sharing it means nothing.
type sourceTable struct {
	idx map[uint64]int32
	e   []sourceEntry
	lru lruList
	max int
}

const (
	srcAcctSlots     = 4
	platformAccounts = 4
	shareWindow      = 2 * usPerDay  // sharing older than this is forgotten
	shareHalf        = 4 * usPerHour // and it fades with this half-life before that
)

type sourceEntry struct {
	hash     uint64
	distinct uint16 // accounts seen on the source (saturating; evicted slots may recount)
	accts    [srcAcctSlots]srcAcct
}

type srcAcct struct {
	acctH, partH uint64
	idx          int32 // the account's profile slab index; check acctH before use
	last         int64
}

func newSourceTable(max int) sourceTable {
	return sourceTable{idx: make(map[uint64]int32, max), e: make([]sourceEntry, 0, max), lru: newLRU(max), max: max}
}

func (t *sourceTable) get(h uint64) *sourceEntry {
	if i, ok := t.idx[h]; ok {
		return &t.e[i]
	}
	return nil
}

// touch records that account (slab index idx) used source h at ts.
func (t *sourceTable) touch(ts int64, h uint64, idx int32, acctH, partH uint64) {
	i, ok := t.idx[h]
	if !ok {
		if len(t.e) < t.max {
			t.e = append(t.e, sourceEntry{})
			i = t.lru.add()
		} else {
			i = t.lru.tail
			delete(t.idx, t.e[i].hash)
			t.lru.touch(i)
		}
		t.e[i] = sourceEntry{hash: h}
		t.idx[h] = i
	} else {
		t.lru.touch(i)
	}
	e := &t.e[i]
	victim := 0
	for k := range e.accts {
		a := &e.accts[k]
		if a.acctH == acctH {
			a.idx = idx
			if ts > a.last {
				a.last = ts
			}
			return
		}
		if a.acctH == 0 {
			victim = k
			break
		}
		if a.last < e.accts[victim].last {
			victim = k
		}
	}
	e.accts[victim] = srcAcct{acctH: acctH, partH: partH, idx: idx, last: ts}
	if e.distinct < math.MaxUint16 {
		e.distinct++
	}
}

// market is the population context.
type market struct {
	act      ewCount     // all orders, half-life actHalf
	hourAvg  [24]float64 // usual orders in each hour of day (UTC), over past days
	hourIdx  int64       // the hour (since the epoch) being counted
	hourCnt  float64     // orders in that hour so far
	sizeS    ewCount     // sum of everyone's log size ratio, short half-life
	sizeSW   ewCount     // its weight
	sizeL    ewCount     // the same, long half-life
	sizeLW   ewCount
	volS     ewCount // order-weighted sum of the pairs' volatility ratios
	volSW    ewCount
	calDay   int64   // the day calTol was computed for
	calTol   float64 // the calendar's size tolerance (log) on calDay
	calLabel string
}

const (
	actHalf       = 10 * usPerMin
	popSizeHalfS  = 20 * usPerMin
	popSizeHalfL  = 3 * usPerDay
	popVolHalf    = 30 * usPerMin
	hourAvgWeight = 0.25 // weight of the newest day in an hour's usual count
)

// observeOrder counts an order in the market-wide rate, rolling the hour
// of day's usual count when the hour changes. Hours with no orders at all
// (weekends, holidays) do not pull the usual count down.
func (m *market) observeOrder(ts int64) {
	m.act.add(ts, actHalf, 1)
	h := ts / usPerHour
	if h != m.hourIdx {
		if m.hourIdx != 0 && m.hourCnt > 0 {
			b := m.hourIdx % 24
			if m.hourAvg[b] == 0 {
				m.hourAvg[b] = m.hourCnt
			} else {
				m.hourAvg[b] += hourAvgWeight * (m.hourCnt - m.hourAvg[b])
			}
		}
		m.hourIdx, m.hourCnt = h, 0
	}
	m.hourCnt++
}

// activityRatio is the market-wide order rate over the last minutes,
// less own (the asking account's part of it, so that a burst does not
// excuse itself), against the usual rate for this hour of day; 1 until an
// hour's usual is known.
func (m *market) activityRatio(ts int64, own float64) float64 {
	usual := m.hourAvg[(ts/usPerHour)%24]
	if usual < 10 {
		return 1
	}
	n := max(m.act.at(ts, actHalf)-own, 0)
	rate := n * math.Ln2 / float64(actHalf) * float64(usPerHour) // orders per hour
	return min(max(rate/usual, 0.1), 50)
}

// observeSize folds a warmed-up account's log size ratio (its order's size
// against its own median) into the population's.
func (m *market) observeSize(ts int64, logRatio float64) {
	x := min(max(logRatio, -2), 3)
	m.sizeS.add(ts, popSizeHalfS, x)
	m.sizeSW.add(ts, popSizeHalfS, 1)
	m.sizeL.add(ts, popSizeHalfL, x)
	m.sizeLW.add(ts, popSizeHalfL, 1)
}

// sizeShift is how much larger (log) everyone's orders are now than
// usual, relative to each account's own median; 0 when they are not.
func (m *market) sizeShift(ts int64) float64 {
	w := m.sizeSW.at(ts, popSizeHalfS)
	wl := m.sizeLW.at(ts, popSizeHalfL)
	if w < 20 || wl < 200 {
		return 0
	}
	return max(0, m.sizeS.at(ts, popSizeHalfS)/w-m.sizeL.at(ts, popSizeHalfL)/wl)
}

func (m *market) observeVol(ts int64, ratio float64) {
	m.volS.add(ts, popVolHalf, ratio)
	m.volSW.add(ts, popVolHalf, 1)
}

// volRatio is the order-weighted mean of the pairs' short over long
// volatility: above 1 on a volatile day.
func (m *market) volRatio(ts int64) float64 {
	w := m.volSW.at(ts, popVolHalf)
	if w < 5 {
		return 1
	}
	return m.volS.at(ts, popVolHalf) / w
}

// calendarTolerance is how much larger (log) than usual an order may be on
// the day of ts for calendar reasons: quarter-end rebalancing and hedging
// concentrate in the last two business days of a quarter, month ends less
// so. It is computed once per day.
func (m *market) calendarTolerance(ts int64) float64 {
	day := ts / usPerDay
	if day == m.calDay && m.calLabel != "" {
		return m.calTol
	}
	m.calDay = day
	m.calTol, m.calLabel = calendarTolerance(time.UnixMicro(ts).UTC())
	return m.calTol
}

// Calendar tolerances: ×2.5 in the last two business days of a quarter,
// ×1.5 the business day before those, ×1.3 on a month's last business day.
var (
	qeTol    = math.Log(2.5)
	qeEveTol = math.Log(1.5)
	meTol    = math.Log(1.3)
)

func calendarTolerance(t time.Time) (float64, string) {
	left := businessDaysLeftInMonth(t)
	if t.Month()%3 == 0 {
		switch {
		case left <= 1:
			return qeTol, "quarter end"
		case left == 2:
			return qeEveTol, "quarter end"
		}
	}
	if left == 0 {
		return meTol, "month end"
	}
	return 0, "none"
}

// businessDaysLeftInMonth counts the weekdays after t's day to the end of
// its month (0 on the month's last weekday). Holidays are not known here.
func businessDaysLeftInMonth(t time.Time) int {
	y, mo, d := t.Date()
	last := time.Date(y, mo+1, 0, 0, 0, 0, 0, time.UTC).Day()
	n := 0
	for day := d + 1; day <= last; day++ {
		wd := time.Date(y, mo, day, 0, 0, 0, 0, time.UTC).Weekday()
		if wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return n
}
