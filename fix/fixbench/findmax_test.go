package fixbench

import (
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	f := FindMaxOptions{}
	f.defaults()
	ok := Result{OfferedRate: 1000, AchievedRate: 1000, Sent: 1000, Acked: 1000, Latency: Percentiles{P99: 200}}
	for _, tc := range []struct {
		name string
		mod  func(*Result)
		want string // "" sustained
	}{
		{"sustained", func(*Result) {}, ""},
		{"p99 over the limit", func(r *Result) { r.Latency.P99 = 6000 }, "p99 6000 µs > 5000 µs"},
		{"p99 over 10x the first", func(r *Result) { r.Latency.P99 = 1600 }, "10× the first step's 150 µs"},
		{"rejects", func(r *Result) { r.Acked, r.Rejected = 980, 20 }, "2.0% of orders rejected or unanswered"},
		{"missing", func(r *Result) { r.Acked, r.Missing = 985, 15 }, "1.5% of orders rejected or unanswered"},
		{"behind", func(r *Result) { r.AchievedRate = 980 }, "acks 980/s behind the offered 1000/s"},
		{"ended", func(r *Result) { r.Errors = []string{"BANKA: gone"} }, "a session ended early: BANKA: gone"},
	} {
		r := ok
		tc.mod(&r)
		got := f.judge(&r, 150)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: judge = %q, want %q", tc.name, got, tc.want)
		}
	}
}
