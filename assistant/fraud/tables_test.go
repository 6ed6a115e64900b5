package fraud

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestSizeHistQuantiles(t *testing.T) {
	var h sizeHist
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 20000; i++ {
		h.add(1, 5e6*math.Exp(0.4*r.NormFloat64()))
	}
	for _, c := range []struct{ p, want float64 }{{0.5, 5e6}, {0.95, 5e6 * math.Exp(0.4*1.6449)}} {
		if got := h.quantile(c.p); math.Abs(math.Log(got/c.want)) > 0.05 {
			t.Errorf("p%.0f = %.3g, want %.3g within 5%%", 100*c.p, got, c.want)
		}
	}
	// Decay: a month later, a new regime of 20M orders outweighs the old.
	for i := 0; i < 20000; i++ {
		h.add(1+90*usPerDay, 20e6)
	}
	if got := h.quantile(0.5); math.Abs(math.Log(got/20e6)) > 0.1 {
		t.Errorf("median after three months of 20M = %.3g", got)
	}
	var empty sizeHist
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
}

func TestDecay(t *testing.T) {
	var c ewCount
	c.add(0, usPerHour, 8)
	if got := c.at(2*usPerHour, usPerHour); math.Abs(got-2) > 1e-9 {
		t.Errorf("8 after two half-lives = %v, want 2", got)
	}
	if decay(-5, usPerHour) != 1 {
		t.Error("negative time decayed")
	}
}

func TestLRU(t *testing.T) {
	l := newLRU(4)
	for i := 0; i < 4; i++ {
		l.add()
	}
	// Order now 3 2 1 0; touch 0 and 2.
	l.touch(0)
	l.touch(2)
	var got []int32
	for i := l.head; i >= 0; i = l.next[i] {
		got = append(got, i)
	}
	want := []int32{2, 0, 3, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if l.tail != 1 {
		t.Errorf("tail %d, want 1", l.tail)
	}
}

func TestCalendarTolerance(t *testing.T) {
	for _, c := range []struct {
		day  string
		want float64
	}{
		{"2025-03-31", qeTol},    // last business day of Q1
		{"2025-03-28", qeTol},    // the one before (a Friday)
		{"2025-03-27", qeEveTol}, // three business days out
		{"2025-03-17", 0},
		{"2025-04-30", meTol}, // a month end
		{"2025-06-30", qeTol},
		{"2025-09-29", qeTol}, // 30 September is a Tuesday: the 29th is one of the last two
	} {
		d, _ := time.Parse(time.DateOnly, c.day)
		if got, _ := calendarTolerance(d); got != c.want {
			t.Errorf("%s: tolerance %.3f, want %.3f", c.day, got, c.want)
		}
	}
}

func TestSymbolTableOverflow(t *testing.T) {
	st := newSymbolTable(2)
	a, b, c := st.id("A"), st.id("B"), st.id("C")
	if a == 0 || b == 0 || a == b || c != 0 || st.id("A") != a {
		t.Errorf("ids %d %d %d", a, b, c)
	}
}

func TestVolRatio(t *testing.T) {
	var s symbolState
	r := rand.New(rand.NewPCG(2, 2))
	mid, ts := 1.0, int64(0)
	for i := 0; i < 5000; i++ { // three and a half quiet days, a quote a minute
		ts += usPerMin
		mid *= math.Exp(0.0001 * r.NormFloat64())
		s.observeMid(ts, mid)
	}
	if v := s.volRatio(); v < 0.7 || v > 1.4 {
		t.Errorf("quiet market: ratio %.2f, want about 1", v)
	}
	for i := 0; i < 60; i++ { // an hour four times as volatile
		ts += usPerMin
		mid *= math.Exp(0.0004 * r.NormFloat64())
		s.observeMid(ts, mid)
	}
	if v := s.volRatio(); v < 2.5 {
		t.Errorf("volatile hour: ratio %.2f, want well above 1", v)
	}
}
