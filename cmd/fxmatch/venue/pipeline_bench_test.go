package venue

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
)

// The pipeline benchmarks time the venue's core path without FIX or hub
// subscribers: Submit → ring → shard goroutine (engine) → journal
// (encode, chain, and with durability none the commit, all on the shard
// goroutine) → onDurable → release → hub.Publish. Each op is one command; commands alternate between a
// NewOrderSingle resting far from the market and its cancel, as the FIX
// bench's "cancel" mix does, so the book stays small. An op counts as
// done when the shard's published sequence passes it.
//
// cpu-µs/op is the whole process's CPU (getrusage, user + system) per
// command, including the submitting goroutine: on this 2-core machine it
// is a steadier figure than ns/op when other work shares the cores.
//
//	go test ./cmd/fxmatch/venue -run '^$' -bench Pipeline -benchtime 60000x [-args -spin=50us]

// BenchmarkPipelinePaced offers one command every 50µs (the FIX bench's
// 10,000 orders a second, two commands an order), so nearly every command
// is a batch of its own: it is the cost of the hand-offs between the
// pipeline's goroutines (wake-ups, parking, spinning) per command.
func BenchmarkPipelinePaced(b *testing.B) {
	benchPipeline(b, 50*time.Microsecond)
}

// BenchmarkPipelineFlood offers commands as fast as the pipeline takes
// them, up to 4096 in flight: batches are large, and the figure is the
// per-command cost of the work itself.
func BenchmarkPipelineFlood(b *testing.B) {
	benchPipeline(b, 0)
}

// -spin compares ring spins (venue.Options.RingSpin; 0: the default).
var benchSpin = flag.Duration("spin", 0, "ring spin for the pipeline benchmarks (0: DefaultRingSpin)")

// BenchmarkPipelineRoundTrip has one command in flight: Submit, wait
// (polling) until the hub has its events, then sleep 50µs or more (Go
// rounds a sleep of an idle process up to its netpoller's millisecond),
// so the shard goroutine is idle between commands as at 10,000 orders a
// second or fewer. p50 and p99 are Submit to published: what a wake-up
// from parking costs (-spin). Its cpu-µs/op counts the polling and is no
// figure of the venue's.
func BenchmarkPipelineRoundTrip(b *testing.B) {
	benchPipeline(b, -50*time.Microsecond)
}

func benchPipeline(b *testing.B, every time.Duration) {
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	cfg.Participants[0].ThrottlePerSecond = 1 << 30
	v, err := Open(Options{Config: cfg, DataDir: b.TempDir(), RingSpin: *benchSpin, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	sr := v.shards[v.where[0].shard]
	base := sr.published.Load()

	cmds := make([]engine.Command, 2*1024)
	for i := range cmds {
		id := engine.MustID("B" + strconv.Itoa(i/2))
		if i%2 == 0 {
			cmds[i] = engine.Command{Kind: engine.CmdNewOrder, Party: 1, Instrument: 0, Side: engine.Buy,
				OrdType: engine.Limit, TIF: engine.GTC, Qty: 100000, Price: 700000000, ClOrdID: id}
		} else {
			cmds[i] = engine.Command{Kind: engine.CmdCancel, Party: 1, Instrument: 0, Side: engine.Buy,
				ClOrdID: engine.MustID("C" + strconv.Itoa(i/2)), OrigClOrdID: id}
		}
	}
	// ClOrdIDs must be new each trading day: each lap of cmds gets its
	// own prefix byte-wise (the ids are rewritten in place per lap).
	relabel := func(lap int) {
		p := strconv.Itoa(lap)
		for i := 0; i < len(cmds); i += 2 {
			n := strconv.Itoa(i / 2)
			cmds[i].ClOrdID = engine.MustID("B" + p + "." + n)
			cmds[i+1].OrigClOrdID = cmds[i].ClOrdID
			cmds[i+1].ClOrdID = engine.MustID("C" + p + "." + n)
		}
	}
	const window = 4096
	wait := func(upTo uint64) {
		for sr.published.Load() < upTo {
			time.Sleep(20 * time.Microsecond)
		}
	}
	var lat []time.Duration
	if every < 0 {
		lat = make([]time.Duration, 0, b.N)
	}
	var ru0, ru1 syscall.Rusage
	runtime.GC()
	b.ResetTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	next := t0
	for i := range b.N {
		k := i % len(cmds)
		if k == 0 && i > 0 {
			relabel(i / len(cmds))
		}
		if every > 0 {
			next = next.Add(every)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		} else if every < 0 {
			time.Sleep(-every)
		} else if i >= window {
			wait(base + uint64(i-window+1))
		}
		for {
			err := v.Submit(&cmds[k])
			if err == nil {
				break
			}
			if err != ErrBusy {
				b.Fatal(err)
			}
			runtime.Gosched()
		}
		if every < 0 {
			t := time.Now()
			for sr.published.Load() < base+uint64(i+1) {
				runtime.Gosched() // the shard may be queued on this P
			}
			lat = append(lat, time.Since(t))
		}
	}
	wait(base + uint64(b.N))
	el := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	b.StopTimer()
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(b.N)/el.Seconds(), "cmds/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	}
}
