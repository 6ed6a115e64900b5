package service

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fxmatch/config"
	"fxmatch/gateway/bus"
)

// The assistant's share of the pre-trade deadline:
//
//	go test ./assistant/service -run XXX -bench 'Score' -benchtime 20000x
//
// BenchmarkScoreInProcess is the score endpoint's work on one request
// body (JSON decode, checks, the scorer, the answer's encoding), without
// NATS; BenchmarkScoreNATS is the round trip a venue sees: request over a
// TCP loopback connection to an in-process nats-server, the endpoint's
// work, the answer back. Both report p50/p99/p99.9 from an HDR histogram
// (the ns/op mean hides the tail the deadline is about).

// benchAccounts: 500 accounts of 10 participants with 40 orders of
// history each, spread over the last days, so that scoring runs on warm
// profiles (the path that matters).
const benchAccounts = 500

func benchService(b *testing.B, clock func() time.Time) *Service {
	opts := Options{Clock: clock}
	if err := FromConfig(config.Demo(), &opts); err != nil {
		b.Fatal(err)
	}
	s, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchRequests builds the warm-up history and then n requests to score,
// as JSON bodies, in time order.
func benchRequests(s *Service, n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	req := func(acct int, id string) ScoreRequest {
		qty := 1_000_000 * (3 + r.IntN(5))
		return ScoreRequest{
			Participant: fmt.Sprintf("P%d", acct%10), Account: fmt.Sprintf("A%d", acct), ClOrdID: id,
			Symbol: []string{"USD/CNY", "EUR/USD"}[acct%2], Side: []string{"buy", "sell"}[r.IntN(2)], OrdType: "limit", TIF: "day",
			Qty: Num(fmt.Sprint(qty)), Price: "7.1010", Mid: "7.1020", Channel: "fix",
			Source: fmt.Sprintf("10.0.%d.%d", acct/250, acct%250), Session: fmt.Sprintf("P%d", acct%10),
			Time: at.Format(time.RFC3339Nano),
		}
	}
	for k := 0; k < 40*benchAccounts; k++ {
		at = at.Add(time.Duration(r.IntN(2000)) * time.Millisecond * 30)
		sr := req(r.IntN(benchAccounts), fmt.Sprintf("h%d", k))
		s.Score(&sr)
	}
	out := make([][]byte, n)
	for k := range out {
		at = at.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		sr := req(r.IntN(benchAccounts), fmt.Sprintf("b%d", k))
		out[k] = sr.AppendJSON(nil)
	}
	return out
}

func report(b *testing.B, h *hdrhistogram.Histogram) {
	b.ReportMetric(float64(h.ValueAtQuantile(50))/1e3, "p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, "p99-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9))/1e3, "p99.9-µs")
}

func BenchmarkScoreInProcess(b *testing.B) {
	s := benchService(b, time.Now)
	reqs := benchRequests(s, b.N)
	h := hdrhistogram.New(100, 100_000_000, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s.scoreMu.Lock()
		_, err := s.scoreLocked(reqs[i])
		s.scoreMu.Unlock()
		h.RecordValue(int64(time.Since(t0)))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	report(b, h)
}

func BenchmarkScoreNATS(b *testing.B) {
	ns := runNATS(b)
	s := benchService(b, time.Now)
	reqs := benchRequests(s, b.N)
	s.SetConn(connect(b, ns))
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Stop()
	nc := connect(b, ns)
	// Warm the connection's response mux.
	if _, err := nc.Request(bus.AssistantScore, reqs[0], time.Second); err != nil {
		b.Fatal(err)
	}
	h := hdrhistogram.New(1000, 1_000_000_000, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		m, err := nc.Request(bus.AssistantScore, reqs[i], time.Second)
		h.RecordValue(int64(time.Since(t0)))
		if err != nil {
			b.Fatal(err)
		}
		if m.Header.Get("Nats-Service-Error") != "" {
			b.Fatal(m.Header)
		}
	}
	b.StopTimer()
	report(b, h)
}
