package fix_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/fix"
)

// BenchmarkNewOrderAck times one NewOrderSingle → ExecutionReport 150=0
// round trip over loopback, one order in flight, from a plain Go client:
// the FIX acceptor, the venue's ring, the engine, the journal (durability
// none: no fsync) and the hub. Orders rest far from the market, so the
// book grows by b.N orders.
//
//	go test ./fix -run '^$' -bench NewOrderAck -benchtime 20000x
func BenchmarkNewOrderAck(b *testing.B) {
	e := newEnv(b, func(c *config.Config, _ *fix.Options) {
		c.Participants[0].ThrottlePerSecond = 1 << 30
	})
	c := dialRaw(b, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword)
	pre := []byte("35=D|55=USD/CNY|54=1|38=100000|40=2|44=7.0000|60=20261125-10:00:00.000|11=")
	b.ReportAllocs()
	b.ResetTimer()
	var worst time.Duration
	for i := range b.N {
		id := strconv.Itoa(i)
		t0 := time.Now()
		c.send(string(pre) + id)
		for {
			m, err := c.read(10 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if m.typ() == "8" && m.get("11") == id {
				if m.get("150") != "0" {
					b.Fatalf("not accepted: %s", m)
				}
				break
			}
		}
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
}

// BenchmarkCancelAck times one OrderCancelRequest → ExecutionReport
// 150=4 round trip over loopback, one request in flight, like
// BenchmarkNewOrderAck; placing the order it cancels (a NewOrderSingle
// and its 150=0) is outside the timer.
//
//	go test ./fix -run '^$' -bench CancelAck -benchtime 20000x
func BenchmarkCancelAck(b *testing.B) {
	e := newEnv(b, func(c *config.Config, _ *fix.Options) {
		c.Participants[0].ThrottlePerSecond = 1 << 30
	})
	c := dialRaw(b, e.a.Addr().String())
	c.logon("BANKA", config.DemoPassword)
	await := func(id, execType string) {
		for {
			m, err := c.read(10 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if m.typ() == "8" && m.get("11") == id {
				if m.get("150") != execType {
					b.Fatalf("want 150=%s: %s", execType, m)
				}
				return
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var worst time.Duration
	for i := range b.N {
		b.StopTimer()
		id := strconv.Itoa(i)
		c.send("35=D|55=USD/CNY|54=1|38=100000|40=2|44=7.0000|60=20261125-10:00:00.000|11=" + id)
		await(id, "0")
		b.StartTimer()
		t0 := time.Now()
		c.send("35=F|41=" + id + "|55=USD/CNY|54=1|60=20261125-10:00:00.000|11=x" + id)
		await("x"+id, "4")
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
}

// BenchmarkVenueSubmitToHub is the same round trip without FIX: Submit
// to the hub's delivery of the accepted event. The difference to
// BenchmarkNewOrderAck is what the FIX layer costs.
func BenchmarkVenueSubmitToHub(b *testing.B) {
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	sub, _ := v.Hub().SubscribeParty(1, 1024)
	b.ResetTimer()
	var worst time.Duration
	for i := range b.N {
		cmd := engine.Command{Kind: engine.CmdNewOrder, Party: 1, Instrument: 0, Side: engine.Buy, OrdType: engine.Limit, Qty: 100000, Price: 700000000, ClOrdID: engine.MustID(strconv.Itoa(i))}
		t0 := time.Now()
		for v.Submit(&cmd) != nil {
		}
		(<-sub.C).Release()
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
}
