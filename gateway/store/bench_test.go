package store

import (
	"context"
	"strconv"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub/hubtest"
)

// BenchmarkOpen is the store's cost at a venue's start: reading the whole
// journal (records, not a replay) to re-derive every broker's store. The
// journal holds 100,000 orders of a bank and of the broker, half of them
// crossing (so fills), with durability none to build it quickly.
//
//	go test -run XXX -bench Open -benchtime 5x ./gateway/store
func BenchmarkOpen(b *testing.B) {
	const orders = 100_000
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() { cancel(); <-done }()
	bank, _ := cfg.PartyID("BANKA")
	broker, _ := cfg.PartyID("BROKER1")
	usdcny, _ := v.Instrument("USD/CNY")
	hs, _ := v.Hub().SubscribeParty(bank, 1<<20)
	sub := hubtest.New(hs)
	for i := range orders {
		p, side, px := bank, engine.Buy, engine.Price(709_000_000+int64(i%100)*10_000)
		if i%2 == 1 {
			p, side = broker, engine.Sell
		}
		c := &engine.Command{Kind: engine.CmdNewOrder, Party: p, Instrument: usdcny, Side: side, OrdType: engine.Limit,
			TIF: engine.IOC, Qty: 100_000, Price: px, ClOrdID: engine.MustID("o" + strconv.Itoa(i))}
		for v.Submit(c) != nil {
			time.Sleep(time.Millisecond)
		}
	}
	// Wait until the bank's last order is published (durable).
	for {
		ev, err := sub.Next(time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if ev.ClOrdID.String() == "o"+strconv.Itoa(orders-2) && ev.Kind != engine.EvAccepted {
			break
		}
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := Open(v, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(orders), "orders")
}
