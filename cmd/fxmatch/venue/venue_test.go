package venue

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/engine/hub/hubtest"
)

type running struct {
	v    *Venue
	stop func() error
}

func start(t *testing.T, dir string, cfg *config.Config, snapEvery uint64) *running {
	t.Helper()
	return startWith(t, Options{Config: cfg, DataDir: dir, SnapshotEvery: snapEvery})
}

// startWith opens a venue with opts and runs it.
func startWith(t *testing.T, opts Options) *running {
	t.Helper()
	v, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	return &running{v: v, stop: func() error { cancel(); return <-done }}
}

func party(t testing.TB, cfg *config.Config, id string) engine.PartyID {
	p, ok := cfg.PartyID(id)
	if !ok {
		t.Fatalf("no participant %s", id)
	}
	return p
}

func order(p engine.PartyID, inst engine.InstrumentID, clid string, side engine.Side, qty engine.Qty, px engine.Price) *engine.Command {
	return &engine.Command{Kind: engine.CmdNewOrder, Party: p, Instrument: inst, ClOrdID: engine.MustID(clid),
		Side: side, OrdType: engine.Limit, TIF: engine.GTC, Qty: qty, Price: px}
}

// next waits for the next event of a subscription.
func next(t *testing.T, s *hubtest.Reader) engine.Event {
	t.Helper()
	ev, err := s.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// reader reads a new subscription (a hub.Subscribe method's results).
func reader(s *hub.Sub, err error) *hubtest.Reader {
	if err != nil {
		panic(err)
	}
	return hubtest.New(s)
}

func TestOrdersAreDurableAndRecovered(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Demo()
	r := start(t, dir, cfg, 7)
	a, b := party(t, cfg, "BANKA"), party(t, cfg, "BANKB")
	usdcny, ok := r.v.Instrument("USD/CNY")
	if !ok {
		t.Fatal("no USD/CNY")
	}
	eurusd, _ := r.v.Instrument("EUR/USD")
	subA := reader(r.v.Hub().SubscribeParty(a, 1024))
	mkt := reader(r.v.Hub().SubscribeMarket(eurusd, 1024))

	// 20 resting sells of BANKA in USD/CNY, then BANKB takes two of them.
	for i := 0; i < 20; i++ {
		if err := r.v.Submit(order(a, usdcny, "a"+strconv.Itoa(i), engine.Sell, 1_000_000, engine.Price(710_000_000+10_000*int64(i)))); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, subA); ev.Kind != engine.EvAccepted || ev.ClOrdID.String() != "a"+strconv.Itoa(i) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if err := r.v.Submit(order(b, usdcny, "b1", engine.Buy, 2_000_000, 710_010_000)); err != nil {
		t.Fatal(err)
	}
	for fills := 0; fills < 2; {
		if ev := next(t, subA); ev.Kind == engine.EvFill {
			fills++
		}
	}
	// An order in EUR/USD: the market subscription sees its level with the
	// global instrument id.
	if err := r.v.Submit(order(b, eurusd, "b2", engine.Buy, 1_000_000, 107_990_000)); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, mkt); ev.Kind != engine.EvLevel || ev.Instrument != eurusd {
		t.Fatalf("market event %+v", ev)
	}
	before := r.v.Book(usdcny)
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Restart: snapshots were taken every 7 commands, the rest is replayed.
	r = start(t, dir, cfg, 7)
	defer r.stop()
	after := r.v.Book(usdcny)
	if len(after.Asks) != len(before.Asks) || len(after.Asks) != 18 {
		t.Fatalf("asks after restart %d, before %d, want 18", len(after.Asks), len(before.Asks))
	}
	for i := range after.Asks {
		if after.Asks[i] != before.Asks[i] {
			t.Fatalf("ask level %d: %+v after restart, %+v before", i, after.Asks[i], before.Asks[i])
		}
	}
	// ClOrdIDs used before the restart are still known: a duplicate is
	// rejected, a cancel of a live one works.
	subA = reader(r.v.Hub().SubscribeParty(a, 1024))
	if err := r.v.Submit(order(a, usdcny, "a5", engine.Sell, 1_000_000, 720_000_000)); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, subA); ev.Kind != engine.EvRejected || ev.Reason != engine.ReasonDuplicateClOrdID {
		t.Fatalf("duplicate after restart: %+v", ev)
	}
	cancel := &engine.Command{Kind: engine.CmdCancel, Party: a, Instrument: usdcny, Side: engine.Sell,
		ClOrdID: engine.MustID("x1"), OrigClOrdID: engine.MustID("a7")}
	if err := r.v.Submit(cancel); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, subA); ev.Kind != engine.EvCancelled || ev.OrigClOrdID.String() != "a7" {
		t.Fatalf("cancel after restart: %+v", ev)
	}
}

func TestConfigChangeIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Demo()
	r := start(t, dir, cfg, 0)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	changed := config.Demo()
	changed.Credit[0].LimitUSD++
	if _, err := Open(Options{Config: changed, DataDir: dir}); !errors.Is(err, ErrConfigChanged) {
		t.Fatalf("Open with a changed credit line: %v, want ErrConfigChanged", err)
	}
}
