package risk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fxmatch/assistant/service"
	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/internal/natstest"
)

// BenchmarkScreen is pre-trade scoring as SubmitOrder pays for it: the
// gate builds the request, asks the assistant over a TCP loopback
// connection to an in-process nats-server, decodes the score and applies
// the policy.
//
//	go test ./assistant/risk -run XXX -bench Screen -benchtime 20000x
func BenchmarkScreen(b *testing.B) {
	ns := natstest.Run(b)
	var opts service.Options
	cfg := config.Demo()
	if err := service.FromConfig(cfg, &opts); err != nil {
		b.Fatal(err)
	}
	opts.Conn = natstest.Connect(b, ns)
	svc, err := service.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		b.Fatal(err)
	}
	defer svc.Stop()
	g := newGate(natstest.Connect(b, ns), config.RiskPolicy{Enabled: true, Review: 0.05, Block: 0.5, Deadline: time.Second},
		Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, cfg, opts.Instruments)
	// Orders of 400 accounts. At this pace each soon bursts and is
	// reviewed or blocked: the latency is the same whatever the verdict.
	cmds := make([]engine.Command, 400)
	for i := range cmds {
		c := newOrder(5_000_000, engine.Buy)
		c.Party = engine.PartyID(1 + i%4)
		c.Account = engine.MustID("acct" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		cmds[i] = *c
	}
	h := hdrhistogram.New(1000, 1_000_000_000, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := cmds[i%len(cmds)]
		c.ClOrdID = engine.MustID("b" + string(rune('a'+i%26)) + itoa(i))
		t0 := time.Now()
		err := g.Screen(context.Background(), &c, fix)
		h.RecordValue(int64(time.Since(t0)))
		if err != nil && !errors.Is(err, venue.ErrRiskBlocked) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if g.Stats().Failed.Load() != 0 {
		b.Fatalf("%d orders not scored", g.Stats().Failed.Load())
	}
	b.ReportMetric(float64(h.ValueAtQuantile(50))/1e3, "p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99))/1e3, "p99-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99.9))/1e3, "p99.9-µs")
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}
