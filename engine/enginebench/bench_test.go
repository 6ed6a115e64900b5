package enginebench

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"fxmatch/engine"
	"fxmatch/engine/shard"
)

// benchOrders is the size of the workload the Go benchmarks cycle
// through: each pass of it runs on a fresh engine (ClOrdIDs are unique
// per day, so the same commands cannot be applied twice to one engine).
const benchOrders = 200_000

var benchWorkload = sync.OnceValues(func() ([]engine.Command, engine.Config) {
	p := DefaultParams()
	p.Orders = benchOrders
	cmds, _ := Generate(p)
	return cmds, Config(p)
})

// BenchmarkApply is the matching core: one op is one message of the
// workload applied to the engine, the events buffer reused.
func BenchmarkApply(b *testing.B) {
	cmds, cfg := benchWorkload()
	var e *engine.Engine
	out := make([]engine.Event, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % len(cmds)
		if k == 0 {
			b.StopTimer()
			var err error
			if e, err = engine.New(cfg); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if k+engine.PrefetchAhead < len(cmds) {
			e.Prefetch(&cmds[k+engine.PrefetchAhead])
		}
		out = e.Apply(&cmds[k], out[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkShard is the workload end to end through a shard: a producer
// goroutine offers, the shard's goroutine applies, delivers and publishes
// snapshots. One op is one message.
func BenchmarkShard(b *testing.B) {
	cmds, cfg := benchWorkload()
	for _, input := range []string{"ring", "chan"} {
		b.Run(input, func(b *testing.B) {
			b.ReportAllocs()
			for done := 0; done < b.N; {
				n := min(b.N-done, len(cmds))
				b.StopTimer()
				e, err := engine.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				icfg := shard.InputConfig{Capacity: 4096, NextSeq: 1}
				var in shard.Input
				if input == "ring" {
					in, _ = shard.NewRing(icfg)
				} else {
					in, _ = shard.NewChanInput(icfg)
				}
				sh, err := shard.New(e, in, shard.SinkFunc(func(*shard.Batch) error { return nil }), shard.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var wg sync.WaitGroup
				wg.Go(func() {
					if err := sh.Run(context.Background()); err != nil {
						b.Error(err)
					}
				})
				for i := range n {
					for {
						err := in.Offer(&cmds[i])
						if err == nil {
							break
						}
						if !errors.Is(err, shard.ErrBusy) {
							b.Fatal(err)
						}
						runtime.Gosched()
					}
				}
				in.Close()
				wg.Wait()
				done += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
