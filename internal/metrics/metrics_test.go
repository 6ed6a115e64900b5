package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestHistogramObserve(t *testing.T) {
	h := NewHistogram(10, 100, 1000)
	for _, v := range []int64{-5, 0, 10, 11, 100, 999, 1000, 1001, 1 << 40} {
		h.Observe(v)
	}
	s := h.Snapshot()
	want := []uint64{3, 2, 2, 2} // ≤10: -5,0,10; ≤100: 11,100; ≤1000: 999,1000; +Inf: 1001, 2^40
	for i := range want {
		if s.Counts[i] != want[i] {
			t.Fatalf("bucket %d = %d, want %d (all %v)", i, s.Counts[i], want[i], s.Counts)
		}
	}
	if s.Count() != 9 {
		t.Fatalf("count %d", s.Count())
	}
	if got, want := s.Sum, int64(0+10+11+100+999+1000+1001+1<<40); got != want {
		t.Fatalf("sum %d want %d", got, want)
	}
	if q := s.Quantile(0.5); q != 100 {
		t.Fatalf("p50 %d", q)
	}
	if q := s.Quantile(1); q != math.MaxInt64 {
		t.Fatalf("p100 %d", q)
	}
	var empty HistogramSnapshot
	if empty.Quantile(0.99) != 0 {
		t.Fatal("empty quantile")
	}
}

func TestHistogramSumSaturates(t *testing.T) {
	h := NewHistogram(1)
	h.Observe(math.MaxInt64)
	h.Observe(math.MaxInt64)
	if s := h.Snapshot(); s.Sum != math.MaxInt64 {
		t.Fatalf("sum %d", s.Sum)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	h := NewHistogram(LatencyBounds...)
	if n := testing.AllocsPerRun(1000, func() { h.Observe(123456) }); n != 0 {
		t.Fatalf("Observe allocates %v", n)
	}
}

func TestNewHistogramPanicsOnBadBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewHistogram(10, 10)
}

// TestRoundTrip writes every kind of family and reads it back strictly.
func TestRoundTrip(t *testing.T) {
	h := NewHistogram(LatencyBounds...)
	h.Observe(30e3)
	h.Observe(2e9)
	h.Observe(20e9)
	s := h.Snapshot()
	var d []byte
	d = AppendHeader(d, "x_orders_total", "Orders, by channel.\nSecond line with a \\ backslash.", "counter")
	d = AppendUint(d, "x_orders_total", []Label{{"channel", "fix"}}, 7)
	d = AppendUint(d, "x_orders_total", []Label{{"channel", `we"ird\` + "\n"}}, 0)
	d = AppendHeader(d, "x_up", "Up.", "gauge")
	d = AppendSample(d, "x_up", nil, 1)
	d = AppendHeader(d, "x_lat_seconds", "Latency.", "histogram")
	d = AppendHistogram(d, "x_lat_seconds", []Label{{"path", "ack"}}, &s, 1e9)
	d = AppendHistogram(d, "x_lat_seconds", []Label{{"path", "other"}}, &HistogramSnapshot{Bounds: s.Bounds, Counts: make([]uint64, len(s.Counts))}, 1e9)
	fams, err := Parse(string(d))
	if err != nil {
		t.Fatalf("%v\n%s", err, d)
	}
	if len(fams) != 3 {
		t.Fatalf("%d families", len(fams))
	}
	if fams[0].Help != "Orders, by channel.\nSecond line with a \\ backslash." {
		t.Fatalf("help %q", fams[0].Help)
	}
	if v, ok := Value(fams, "x_orders_total", Label{"channel", "fix"}); !ok || v != 7 {
		t.Fatalf("fix orders %v %v", v, ok)
	}
	if _, ok := Value(fams, "x_orders_total", Label{"channel", `we"ird\` + "\n"}); !ok {
		t.Fatal("escaped label value lost")
	}
	if v, _ := Value(fams, "x_lat_seconds_bucket", Label{"path", "ack"}, Label{"le", "5e-05"}); v != 1 {
		t.Fatalf("bucket le=5e-05 = %v\n%s", v, d)
	}
	if v, _ := Value(fams, "x_lat_seconds_count", Label{"path", "ack"}); v != 3 {
		t.Fatalf("count %v", v)
	}
	if v, _ := Value(fams, "x_lat_seconds_sum", Label{"path", "ack"}); v != 22.00003 {
		t.Fatalf("sum %v", v)
	}
}

// TestParseRejects: each broken exposition is refused, naming why.
func TestParseRejects(t *testing.T) {
	hdr := "# HELP a_total A.\n# TYPE a_total counter\n"
	hist := "# HELP h H.\n# TYPE h histogram\n"
	for _, c := range []struct{ name, text, want string }{
		{"no newline at end", hdr + "a_total 1", "no newline"},
		{"sample before header", "a_total 1\n", "before its HELP"},
		{"missing TYPE", "# HELP a_total A.\na_total 1\n", "lacks HELP or TYPE"},
		{"missing HELP", "# TYPE a_total counter\na_total 1\n", "lacks HELP or TYPE"},
		{"second TYPE", hdr + "# TYPE a_total counter\n", "second TYPE"},
		{"header after samples", hdr + "a_total 1\n# HELP a_total again\n", "after its samples"},
		{"unknown type", "# HELP a A.\n# TYPE a summary\n", "TYPE \"summary\""},
		{"counter not _total", "# HELP a A.\n# TYPE a counter\n", "not named *_total"},
		{"negative counter", hdr + "a_total -1\n", "counter value"},
		{"duplicate series", hdr + "a_total{x=\"1\"} 1\na_total{x=\"1\"} 2\n", "twice"},
		{"duplicate label", hdr + "a_total{x=\"1\",x=\"2\"} 1\n", "label x twice"},
		{"bad name", hdr + "a-total 1\n", "metric name"},
		{"bad label name", hdr + "a_total{1x=\"1\"} 1\n", "label name"},
		{"unquoted label", hdr + "a_total{x=1} 1\n", "not quoted"},
		{"bad escape", hdr + "a_total{x=\"\\t\"} 1\n", "escape"},
		{"unterminated", hdr + "a_total{x=\"1} 1\n", "unterminated"},
		{"timestamp", hdr + "a_total 1 1700000000\n", "timestamp"},
		{"bad value", hdr + "a_total one\n", "value \"one\""},
		{"hex value", hdr + "a_total 0x10\n", "value"},
		{"two spaces", hdr + "a_total  1\n", "value"},
		{"not contiguous", hdr + "a_total{x=\"1\"} 1\n# HELP b B.\n# TYPE b gauge\nb 1\na_total{x=\"2\"} 1\n", "not contiguous"},
		{"wrong family sample", hdr + "a_totalx 1\n", "before its HELP"},
		{"no +Inf", hist + "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf"},
		{"decreasing bucket", hist + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not increasing"},
		{"le not increasing", hist + "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not increasing"},
		{"count mismatch", hist + "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", "_count 1 but"},
		{"no sum", hist + "h_bucket{le=\"+Inf\"} 1\nh_count 1\n", "_sum or _count"},
		{"bare histogram sample", hist + "h 1\n", "sample h in histogram h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.text)
			if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
