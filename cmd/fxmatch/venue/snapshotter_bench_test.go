package venue

import (
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/shard"
)

// BenchmarkDeliverSnapshotDue: what a batch that makes a snapshot due
// costs the shard goroutine (shardRun.Deliver: journal, hub copy, and
// the snapshot's share), at a day of FXMATCH_SNAP_ORDERS orders
// (default 100,000) placed and cancelled, so twice as many ClOrdIDs in
// the index a snapshot sorts. Each op is one single-command batch with a
// snapshot due after it; between ops, untimed, the snapshotter is given
// time to store it (the design's case: it keeps up). deliver-p50-µs and
// deliver-max-µs are the median and longest Deliver of those batches,
// nosnap-p50-µs and nosnap-max-µs the same of as many batches with no
// snapshot due, each after the snapshotter has finished (the journal's
// inline commit is most of them): the snapshot's share is the
// difference. during-p50-µs, -p99-µs and -max-µs are single-command
// batches delivered every 50µs or so while the snapshot is being taken:
// the snapshotter's CPU and Pebble write are taken from the same cores
// and the same commit pipeline. On a loaded machine the maxima are
// mostly the OS's.
//
//	go test ./cmd/fxmatch/venue -run '^$' -bench DeliverSnapshotDue -benchtime 20x
func BenchmarkDeliverSnapshotDue(b *testing.B) {
	n := 100_000
	if s := os.Getenv("FXMATCH_SNAP_ORDERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	v, err := Open(Options{Config: cfg, DataDir: b.TempDir(), SnapshotEvery: 1 << 40,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer v.j.Close()
	sr := v.shards[0]
	go sr.snap.run()
	defer sr.snap.stop()

	a := party(b, cfg, "BANKA")
	inst := v.where[0].local
	t0 := time.Now().UnixNano()
	seq := uint64(0)
	var events []engine.Event
	ends := make([]int, 1)
	deliver := func(c *engine.Command) time.Duration {
		seq++
		c.Seq, c.Time = seq, t0+int64(seq)
		events = sr.eng.Apply(c, events[:0])
		ends[0] = len(events)
		batch := shard.Batch{Commands: []engine.Command{*c}, Events: events, Ends: ends}
		start := time.Now()
		if err := sr.Deliver(&batch); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for i := range n {
		deliver(order(a, inst, "o"+strconv.Itoa(i), engine.Buy, 100_000, 700_000_000))
		deliver(&engine.Command{Kind: engine.CmdCancel, Party: a, Instrument: inst, Side: engine.Buy,
			ClOrdID: engine.MustID("x" + strconv.Itoa(i)), OrigClOrdID: engine.MustID("o" + strconv.Itoa(i))})
	}
	due := make([]time.Duration, 0, b.N)
	plain := make([]time.Duration, 0, b.N)
	var during []time.Duration
	b.ResetTimer()
	for i := range b.N {
		v.opts.SnapshotEvery = 1
		due = append(due, deliver(order(a, inst, "b"+strconv.Itoa(i), engine.Buy, 100_000, 700_000_000)))
		b.StopTimer()
		v.opts.SnapshotEvery = 1 << 40
		for k := 0; sr.snap.Stats().Taken < uint64(i+1); k++ {
			// The shard goes on while the snapshot is encoded and written:
			// what do its batches cost meanwhile (the snapshotter's CPU,
			// its Pebble write)?
			during = append(during, deliver(order(a, inst, "d"+strconv.Itoa(i)+"."+strconv.Itoa(k), engine.Buy, 100_000, 700_000_000)))
			time.Sleep(50 * time.Microsecond)
		}
		plain = append(plain, deliver(order(a, inst, "c"+strconv.Itoa(i), engine.Buy, 100_000, 700_000_000)))
		b.StartTimer()
	}
	slices.Sort(due)
	slices.Sort(plain)
	µs := func(d time.Duration) float64 { return float64(d) / 1e3 }
	b.ReportMetric(µs(due[len(due)/2]), "deliver-p50-µs")
	b.ReportMetric(µs(due[len(due)-1]), "deliver-max-µs")
	b.ReportMetric(µs(plain[len(plain)/2]), "nosnap-p50-µs")
	b.ReportMetric(µs(plain[len(plain)-1]), "nosnap-max-µs")
	if len(during) > 0 {
		slices.Sort(during)
		b.ReportMetric(µs(during[len(during)/2]), "during-p50-µs")
		b.ReportMetric(µs(during[len(during)*99/100]), "during-p99-µs")
		b.ReportMetric(µs(during[len(during)-1]), "during-max-µs")
	}
}
