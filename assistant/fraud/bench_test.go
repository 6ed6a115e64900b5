package fraud

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// benchStream is a simulated stream for the benchmarks: 2000 accounts,
// six trading days. The first four warm the scorer up; the benchmark
// replays the rest, again and again, shifted in time on every pass so
// that time keeps moving forward.
func benchStream(b *testing.B) (warm, rest []Event) {
	b.Helper()
	evs := simEvents(b, SimParams{Seed: 9, Accounts: 2000, Days: 6})
	cut := len(evs) * 2 / 3
	return evs[:cut], evs[cut:]
}

// latencyHist is a histogram of nanoseconds, 1 ns to 10 s, three
// significant digits.
func latencyHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 10_000_000_000, 3) }

// reportPercentiles reports a latency histogram's median, p99, p99.9 and
// maximum as benchmark metrics, in the unit given (e.g. "ns/order").
func reportPercentiles(b *testing.B, h *hdrhistogram.Histogram, unit string) {
	b.Helper()
	if h.TotalCount() == 0 {
		return
	}
	b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-"+unit)
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-"+unit)
	b.ReportMetric(float64(h.ValueAtQuantile(99.9)), "p99.9-"+unit)
	b.ReportMetric(float64(h.Max()), "max-"+unit)
}

// BenchmarkScore feeds the scorer one event per operation (orders,
// fills, cancels and logins in the stream's mix, about half of them
// orders) and times each order's Score call on its own for the
// percentiles. ns/op is per event; the p50/p99 metrics are per order.
func BenchmarkScore(b *testing.B) {
	warm, rest := benchStream(b)
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range warm {
		s.Score(&warm[i])
	}
	span := rest[len(rest)-1].TS - rest[0].TS + usPerHour
	h := latencyHist()
	var shift int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(rest)
		if k == 0 && i > 0 {
			shift += span
		}
		ev := rest[k]
		ev.TS += shift
		if ev.Kind != KindOrder {
			s.Score(&ev)
			continue
		}
		t0 := time.Now()
		s.Score(&ev)
		h.RecordValue(time.Since(t0).Nanoseconds())
	}
	b.StopTimer()
	reportPercentiles(b, h, "ns/order")
}

// BenchmarkScoreJSON is the whole offline path per order line: parse the
// JSON, score, render the output line.
func BenchmarkScoreJSON(b *testing.B) {
	var ev, lb bytes.Buffer
	if _, err := Simulate(SimParams{Seed: 9, Accounts: 2000, Days: 6}, &ev, &lb); err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(&ev)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	s, _ := New(Config{})
	var e Event
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%len(lines) == 0 {
			b.StopTimer()
			s, _ = New(Config{}) // a fresh pass: time must not run backwards
			b.StartTimer()
		}
		if err := ParseEvent(lines[i%len(lines)], &e); err != nil {
			b.Fatal(err)
		}
		if r := s.Score(&e); r.Scored {
			out = r.AppendJSON(out[:0], e.OrderID)
		}
	}
	io.Discard.Write(out)
}
