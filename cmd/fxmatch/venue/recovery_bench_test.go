package venue

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/journal"
)

// BenchmarkRecovery measures Open on a journal of FXMATCH_RECOVERY_CMDS
// commands (default 200,000) with no snapshot: the worst case, a full
// replay from genesis through the engine with every event compared. It
// reports events/s and the time for 10 million events at that rate.
//
//	FXMATCH_RECOVERY_CMDS=2000000 go test ./cmd/fxmatch/venue -run XXX -bench Recovery -benchtime 1x
func BenchmarkRecovery(b *testing.B) {
	n := 200_000
	if s := os.Getenv("FXMATCH_RECOVERY_CMDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	cfg := config.Demo()
	// Credit large enough never to run out: orders left crossed for want
	// of credit are passed over one by one, a different (slower) case.
	for i := range cfg.Credit {
		cfg.Credit[i].LimitUSD = 1 << 50
	}
	v, err := Open(Options{Config: cfg, DataDir: dir, SnapshotEvery: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	a, _ := cfg.PartyID("BANKA")
	bb, _ := cfg.PartyID("BANKB")
	inst, _ := v.Instrument("USD/CNY")
	for i := 0; i < n; i++ {
		// Resting orders a few ticks either side of 7.1000, every seventh
		// an IOC that crosses, every third command a cancel: a book that
		// trades.
		p, side, px := a, engine.Buy, engine.Price(709_900_000+10_000*int64(i%10))
		if i%2 == 1 {
			p, side, px = bb, engine.Sell, engine.Price(710_000_000+10_000*int64(i%10))
		}
		tif := engine.Day
		if i%7 == 0 {
			tif = engine.IOC
			if side == engine.Buy {
				px = 710_050_000
			} else {
				px = 709_950_000
			}
		}
		c := &engine.Command{Kind: engine.CmdNewOrder, Party: p, Instrument: inst, Side: side, OrdType: engine.Limit,
			TIF: tif, Qty: engine.Qty(100_000 * (1 + i%5)), Price: px, ClOrdID: engine.MustID("o" + strconv.Itoa(i))}
		if i%3 == 2 {
			c = &engine.Command{Kind: engine.CmdCancel, Party: p, Instrument: inst, Side: side,
				ClOrdID: engine.MustID("x" + strconv.Itoa(i)), OrigClOrdID: engine.MustID("o" + strconv.Itoa(i-2))}
		}
		for v.Submit(c) == ErrBusy {
			time.Sleep(50 * time.Microsecond)
		}
	}
	for v.shards[0].app.Durable() < uint64(n) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	r, err := journal.OpenReader(dir+"/journal", journal.ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	it := r.Records(0, 1)
	for it.Next() {
		events += len(it.Record().Events)
	}
	it.Close()
	r.Close()
	b.ResetTimer()
	var took time.Duration
	for range b.N {
		t0 := time.Now()
		v2, err := Open(Options{Config: cfg, DataDir: dir, SnapshotEvery: 1 << 40})
		took = time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		v2.j.Close()
	}
	rate := float64(events) / took.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(1e7/rate, "s/10M-events")
	b.Logf("%d commands, %d events recovered in %v (%d orders resting)", n, events, took, v.shards[0].eng.LiveOrders())
}
