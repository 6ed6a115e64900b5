package service

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/bus"
	"fxmatch/gateway/wire"
)

// TestHubFeedMatchesBus: for every kind of venue event, the hub feed
// takes from it exactly what the assistant takes from the document the
// bus publishes for it (wire.AppendExecEvent on fxmatch.exec.<PARTY>,
// wire.AppendTrade on fxmatch.trades.<SYM>, nothing for the rest), so an
// assistant fed from the hub builds the same profiles, inventories and
// recommender state as one fed over NATS. Events are drawn at random
// (seeded) over the kinds, participants (known, unknown, none),
// instruments, sides, accounts, times and quantities.
func TestHubFeedMatchesBus(t *testing.T) {
	cfg := config.Demo()
	s := newService(t, time.Now)
	s.log = slog.New(slog.DiscardHandler) // the drawn fills without a quantity are warned about, twice each
	insts := make([]engine.Instrument, len(s.opts.Instruments))
	copy(insts, s.opts.Instruments)
	names := wire.NamesFor(cfg, insts)
	s.opts.Names = names
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 7))
	kinds := []engine.EventKind{engine.EvAccepted, engine.EvRejected, engine.EvFill, engine.EvCancelled, engine.EvReplaced,
		engine.EvExpired, engine.EvCancelRejected, engine.EvMassCancelReport, engine.EvTrade, engine.EvLevel}
	pick := func(xs ...int64) int64 { return xs[r.IntN(len(xs))] }
	taken := map[venueKind]int{}
	for i := range 20000 {
		ev := engine.Event{
			Kind: kinds[r.IntN(len(kinds))], Seq: uint64(i + 1), ExecID: uint64(i + 1),
			Time:       pick(1_795_000_000_000_000_000, 1_795_000_000_123_456_789, 1_795_000_001_000_000_000, 1_795_000_000_100_000_000) + int64(r.IntN(1000)),
			Party:      engine.PartyID(r.IntN(names.Parties() + 2)),
			Instrument: engine.InstrumentID(r.IntN(names.Instruments() + 1)),
			OrderID:    engine.OrderID(r.IntN(3)), Side: engine.Side(r.IntN(3)), OrdType: engine.Limit, TIF: engine.GTC,
			Price: 710_000_000, OrderQty: 1_000_000, LeavesQty: 0, CumQty: 1_000_000, AvgPx: 710_050_000,
			LastQty:      engine.Qty(pick(1_000_000, 0, 5, 3_000_000, -5)),
			LastPx:       engine.Price(pick(710_000_000, 710_005_000, 0, 1_234_567_891)),
			TradeID:      uint64(r.IntN(100)),
			Counterparty: engine.PartyID(r.IntN(names.Parties() + 1)), TradeDate: 20261125, SettlDate: 20261127,
		}
		if r.IntN(4) > 0 {
			ev.ClOrdID = engine.MustID(fmt.Sprintf("c%d", r.IntN(50)))
		}
		if r.IntN(3) == 0 {
			ev.Account = engine.MustID(fmt.Sprintf("acct-%d", r.IntN(3)))
		}
		if r.IntN(5) == 0 {
			ev.Reason = engine.ReasonRequested
		}
		fromBus, busOK := busSide(s, names, &ev)
		fromHub, hubOK := s.hubEvent(&ev)
		if busOK != hubOK || fromBus != fromHub {
			t.Fatalf("seed %d, event %d %+v:\nbus %v %+v\nhub %v %+v", seed, i, ev, busOK, fromBus, hubOK, fromHub)
		}
		if hubOK {
			taken[fromHub.kind]++
		}
	}
	for _, k := range []venueKind{vFill, vCancel, vTrade} {
		if taken[k] < 100 {
			t.Errorf("only %d events of kind %d taken (seed %d): the test shows little", taken[k], k, seed)
		}
	}
}

// busSide is what the assistant takes from ev over NATS: the bus's
// document for it (bus.Bus.handle's choice of subject and encoder), read
// by onExec's or onTrade's decoding.
func busSide(s *Service, names *wire.Names, ev *engine.Event) (venueEvent, bool) {
	switch {
	case ev.Kind == engine.EvLevel:
		return venueEvent{}, false // books: the bus publishes them coalesced, and both feeds take them over NATS
	case ev.Kind == engine.EvTrade:
		if int(ev.Instrument) >= names.Instruments() {
			return venueEvent{}, false
		}
		data, ok := names.AppendTrade(nil, ev)
		if !ok {
			return venueEvent{}, false
		}
		return s.busTrade(&nats.Msg{Subject: bus.TradesSubject(names.Code(ev.Instrument)), Data: data})
	case int(ev.Party) <= names.Parties() && ev.Party != engine.NoParty:
		data, ok := names.AppendExecEvent(nil, ev)
		if !ok {
			return venueEvent{}, false
		}
		return s.busExec(&nats.Msg{Subject: bus.ExecSubject(names.Party(ev.Party)), Data: data})
	}
	return venueEvent{}, false
}

// TestHubFeedRunsInVenue: an assistant started with the venue's hub and
// books in process takes a broker's fill from a running venue (its
// inventory moves) and prices from a book handed to it, without a
// subscription to fxmatch.exec.>, fxmatch.trades.> or fxmatch.md.> on
// NATS, and Stop ends the feed.
func TestHubFeedRunsInVenue(t *testing.T) {
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	ns := runNATS(t)
	svc := startService(t, ns, func(o *Options) {
		o.Hub, o.Names, o.BooksInProcess = v.Hub(), wire.NamesFor(cfg, v.Instruments()), true
	})
	for _, sub := range svc.subs {
		if sub.Subject == bus.ExecAll || sub.Subject == bus.TradesAll || sub.Subject == bus.MDAll {
			t.Errorf("subscribed to %s on NATS with a hub feed and books in process", sub.Subject)
		}
	}
	broker, _ := cfg.PartyID("BROKER1")
	bank, _ := cfg.PartyID("BANKA")
	usdcny, _ := v.Instrument("USD/CNY")
	for _, c := range []*engine.Command{
		{Kind: engine.CmdNewOrder, Party: broker, Instrument: usdcny, Side: engine.Buy, OrdType: engine.Limit, TIF: engine.GTC,
			Qty: 20_000_000, Price: 710_200_000, ClOrdID: engine.MustID("b1")},
		{Kind: engine.CmdNewOrder, Party: bank, Instrument: usdcny, Side: engine.Sell, OrdType: engine.Limit, TIF: engine.IOC,
			Qty: 20_000_000, Price: 710_200_000, ClOrdID: engine.MustID("s1")},
	} {
		if err := v.Submit(c); err != nil {
			t.Fatal(err)
		}
	}
	// A book to price from, as the bus's book sink hands it (no bus runs
	// here).
	lv := func(px string) []wire.Level { return []wire.Level{{Px: px, Qty: "5000000", Orders: 1}} }
	svc.TakeBookDoc(&wire.Book{Symbol: "USD/CNY", Bids: lv("7.1018"), Asks: lv("7.1022"), Time: "2026-11-25T14:03:07.123456Z"})
	checkFor(t, 5*time.Second, func() error {
		svc.quoteMu.Lock()
		q, err := svc.rec.Recommend("BROKER1", "USD/CNY", 5_000_000)
		svc.quoteMu.Unlock()
		if inv := q.Inventory; err != nil || inv != 20_000_000 {
			return fmt.Errorf("BROKER1's inventory %v (%v), want 20000000", inv, err)
		}
		return nil
	})
	svc.Stop()
	if svc.feedSub != nil {
		t.Error("Stop left the hub subscription")
	}
}
