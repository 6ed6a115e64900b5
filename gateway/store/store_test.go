package store

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
)

type running struct {
	v    *venue.Venue
	s    *Store
	stop func()
}

// start runs a demo venue on dir with a store on it, the store opened
// after the venue runs (the harder case: events race the journal scan).
func start(t *testing.T, dir string) *running {
	t.Helper()
	v, err := venue.Open(venue.Options{Config: config.Demo(), DataDir: dir, SnapshotEvery: 5})
	if err != nil {
		t.Fatalf("venue.Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	s, err := Open(v, Options{})
	if err != nil {
		cancel()
		<-done
		t.Fatalf("store.Open: %v", err)
	}
	r := &running{v: v, s: s}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		s.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("venue.Run: %v", err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

func px(s string) engine.Price {
	return engine.Price(decimal.RequireFromString(s).Shift(engine.PriceDecimals).IntPart())
}

var o = Origin("test", "t1")

func tiers(t ...Tier) []Tier { return t }

func TestListingLifecycleAndRestart(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir)
	ctx := context.Background()

	l, err := r.s.SetListing(ctx, "BROKER1", "USD/CNY", tiers(
		Tier{Qty: 1_000_000, Bid: px("7.0990"), Ask: px("7.1010")},
		Tier{Qty: 5_000_000, Bid: px("7.0980"), Ask: px("7.1020")},
		Tier{Qty: 20_000_000, Bid: px("7.0970"), Ask: px("7.1030")},
	), o)
	if err != nil {
		t.Fatalf("SetListing: %v", err)
	}
	if len(l.Tiers) != 3 || l.Tiers[1].Bid.Price != px("7.0980") || l.Tiers[2].Ask.Leaves != 20_000_000 || l.Tiers[0].Bid.State != SideLive {
		t.Fatalf("listing %+v", l)
	}
	usdcny, _ := r.v.Instrument("USD/CNY")
	waitBook(t, r.v, usdcny, func(bids, asks int) bool { return bids == 3 && asks == 3 })

	// New prices for the 1m and 5m tiers, the 20m tier withdrawn.
	l, err = r.s.SetListing(ctx, "BROKER1", "USD/CNY", tiers(
		Tier{Qty: 1_000_000, Bid: px("7.0995"), Ask: px("7.1010")},
		Tier{Qty: 5_000_000, Bid: px("7.0985"), Ask: px("7.1025")},
	), o)
	if err != nil {
		t.Fatalf("SetListing 2: %v", err)
	}
	if len(l.Tiers) != 2 || l.Tiers[0].Bid.Price != px("7.0995") || l.Tiers[1].Ask.Price != px("7.1025") {
		t.Fatalf("listing after update %+v", l)
	}
	if l.Tiers[0].Ask.ClOrdID == "" || l.Tiers[0].Ask.State != SideLive {
		t.Fatalf("unchanged side: %+v", l.Tiers[0].Ask)
	}
	waitBook(t, r.v, usdcny, func(bids, asks int) bool { return bids == 2 && asks == 2 })

	// BANKA buys 3m: the 5m tier's ask covers it.
	res, err := r.s.Hit(ctx, Hit{Taker: "BANKA", Broker: "BROKER1", Symbol: "USD/CNY", Side: engine.Buy, Qty: 3_000_000}, o)
	if err != nil {
		t.Fatalf("Hit: %v", err)
	}
	// The directed order at 7.1025 takes the 1m tier's ask (7.1010) first,
	// then 2m of the 5m tier's.
	if res.Status != "filled" || res.Filled != 3_000_000 || len(res.Fills) != 2 || res.Fills[0].Price != px("7.1010") || res.Fills[1].Price != px("7.1025") {
		t.Fatalf("hit %+v", res)
	}
	view, err := r.s.Get("BROKER1", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Listings) != 1 {
		t.Fatalf("listings %+v", view.Listings)
	}
	lt := view.Listings[0].Tiers
	if lt[0].Ask == nil || lt[0].Ask.State != SideFilled || lt[1].Ask.Leaves != 3_000_000 || lt[1].Ask.Cum != 2_000_000 {
		t.Fatalf("tiers after hit: 1m ask %+v, 5m ask %+v", lt[0].Ask, lt[1].Ask)
	}
	if len(view.Positions) != 1 || view.Positions[0].Qty != -3_000_000 || view.Positions[0].Sold != 3_000_000 {
		t.Fatalf("positions %+v", view.Positions)
	}
	// Cash: 1m × 7.1010 + 2m × 7.1025 = 21,306,000 CNY.
	if got := view.Positions[0].Cash.String(); got != "21306000" {
		t.Fatalf("cash %s", got)
	}
	if len(view.Fills) != 2 || view.Fills[0].Counterparty != "BANKA" || !view.Fills[0].Listing {
		t.Fatalf("fills %+v", view.Fills)
	}
	pub, _ := r.s.Get("BROKER1", false)
	if pub.Positions != nil || pub.Fills != nil || len(pub.Listings) != 1 {
		t.Fatalf("public view shows private data: %+v", pub)
	}

	// Re-listing supersedes the filled 1m ask and tops the 5m ask up to 5m
	// left (its order keeps its 2m filled).
	l, err = r.s.SetListing(ctx, "BROKER1", "USD/CNY", tiers(
		Tier{Qty: 1_000_000, Bid: px("7.0995"), Ask: px("7.1010")},
		Tier{Qty: 5_000_000, Bid: px("7.0985"), Ask: px("7.1025")},
	), o)
	if err != nil {
		t.Fatalf("SetListing 3: %v", err)
	}
	if l.Tiers[0].Ask.State != SideLive || l.Tiers[1].Ask.Leaves != 5_000_000 || l.Tiers[1].Ask.Cum != 2_000_000 {
		t.Fatalf("re-listed %+v / %+v", l.Tiers[0].Ask, l.Tiers[1].Ask)
	}
	before, _ := r.s.Get("BROKER1", true)
	r.stop()

	// Restart: the store is re-derived from the journal alone.
	r = start(t, dir)
	after, _ := r.s.Get("BROKER1", true)
	if !reflect.DeepEqual(before.Listings, after.Listings) {
		t.Fatalf("listings differ after restart:\nbefore %+v\nafter  %+v", before.Listings, after.Listings)
	}
	if !reflect.DeepEqual(before.Fills, after.Fills) || len(after.Positions) != 1 || after.Positions[0].Qty != before.Positions[0].Qty || !after.Positions[0].Cash.Equal(before.Positions[0].Cash) {
		t.Fatalf("fills/positions differ after restart:\nbefore %+v %+v\nafter  %+v %+v", before.Fills, before.Positions, after.Fills, after.Positions)
	}
	// The counter continues: a new update uses fresh ClOrdIDs (a reused
	// one would be rejected as a duplicate).
	if _, err := r.s.SetListing(ctx, "BROKER1", "USD/CNY", tiers(
		Tier{Qty: 1_000_000, Bid: px("7.0990"), Ask: px("7.1005")},
		Tier{Qty: 5_000_000, Bid: px("7.0985"), Ask: px("7.1025")},
	), o); err != nil {
		t.Fatalf("SetListing after restart: %v", err)
	}
	if err := r.s.DeleteListing(ctx, "BROKER1", "USD/CNY", o); err != nil {
		t.Fatalf("DeleteListing: %v", err)
	}
	if _, err := r.s.Listing("BROKER1", "USD/CNY"); !errors.Is(err, ErrNoListing) {
		t.Fatalf("listing after delete: %v", err)
	}
	waitBook(t, r.v, usdcny, func(bids, asks int) bool { return bids == 0 && asks == 0 })
	if err := r.s.DeleteListing(ctx, "BROKER1", "USD/CNY", o); !errors.Is(err, ErrNoListing) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	r := start(t, t.TempDir())
	ctx := context.Background()
	good := Tier{Qty: 1_000_000, Bid: px("7.0990"), Ask: px("7.1010")}
	for _, tc := range []struct {
		name   string
		broker string
		sym    string
		tiers  []Tier
		want   error
		field  string
		reason string
	}{
		{"not a broker", "BANKA", "USD/CNY", tiers(good), ErrUnknownBroker, "broker", ""},
		{"unknown pair", "BROKER1", "USD/XYZ", tiers(good), ErrUnknownSymbol, "symbol", ""},
		{"no tiers", "BROKER1", "USD/CNY", nil, ErrInvalid, "tiers", "empty"},
		{"off tick", "BROKER1", "USD/CNY", tiers(Tier{Qty: 1_000_000, Bid: px("7.09905"), Ask: px("7.1010")}), ErrInvalid, "tiers[0].bid", "price-not-tick"},
		{"not lot", "BROKER1", "USD/CNY", tiers(Tier{Qty: 1_050_000, Bid: px("7.0990"), Ask: px("7.1010")}), ErrInvalid, "tiers[0].qty", "qty-not-lot"},
		{"crossed", "BROKER1", "USD/CNY", tiers(good, Tier{Qty: 2_000_000, Bid: px("7.1010"), Ask: px("7.1020")}), ErrInvalid, "tiers[1].bid", "crossed"},
		{"not increasing", "BROKER1", "USD/CNY", tiers(good, good), ErrInvalid, "tiers[1].qty", "tiers-not-increasing"},
	} {
		_, err := r.s.SetListing(ctx, tc.broker, tc.sym, tc.tiers, o)
		var se *Error
		if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Field != tc.field || se.Reason != tc.reason {
			t.Errorf("%s: %v (%+v), want %v field %q reason %q", tc.name, err, se, tc.want, tc.field, tc.reason)
		}
	}
	// Outside the band: the venue rejects it, and the store says which rule.
	_, err := r.s.SetListing(ctx, "BROKER1", "USD/CNY", tiers(Tier{Qty: 1_000_000, Bid: px("6.0000"), Ask: px("7.1010")}), o)
	var se *Error
	if !errors.Is(err, ErrRejected) || !errors.As(err, &se) || se.Reason != "price-outside-band" {
		t.Fatalf("outside band: %v", err)
	}
	usdcny, _ := r.v.Instrument("USD/CNY")
	if _, err := r.s.SetListing(ctx, "BROKER1", "USD/CNY", tiers(good), o); err != nil {
		t.Fatal(err)
	}
	waitBook(t, r.v, usdcny, func(bids, asks int) bool { return bids == 1 && asks == 1 })
	for _, tc := range []struct {
		name   string
		h      Hit
		field  string
		reason string
	}{
		{"too big", Hit{Taker: "BANKA", Broker: "BROKER1", Symbol: "USD/CNY", Side: engine.Buy, Qty: 2_000_000}, "qty", "above-listing"},
		{"own", Hit{Taker: "BROKER1", Broker: "BROKER1", Symbol: "USD/CNY", Side: engine.Buy, Qty: 1_000_000}, "broker", "own-store"},
		{"moved", Hit{Taker: "BANKA", Broker: "BROKER1", Symbol: "USD/CNY", Side: engine.Buy, Qty: 1_000_000, Price: px("7.1000")}, "price", "price-moved"},
	} {
		_, err := r.s.Hit(ctx, tc.h, o)
		var se *Error
		if !errors.As(err, &se) || se.Field != tc.field || se.Reason != tc.reason {
			t.Errorf("%s: %v, want field %q reason %q", tc.name, err, tc.field, tc.reason)
		}
	}
	// The regulator may not trade: the venue rejects its hit (read-only).
	_, err = r.s.Hit(ctx, Hit{Taker: "REGULATOR", Broker: "BROKER1", Symbol: "USD/CNY", Side: engine.Sell, Qty: 1_000_000}, o)
	if !errors.As(err, &se) || se.Reason != "read-only" {
		t.Fatalf("regulator hit: %v", err)
	}
	if _, err := r.s.Hit(ctx, Hit{Taker: "BANKB", Broker: "BROKER1", Symbol: "EUR/USD", Side: engine.Buy, Qty: 1_000_000}, o); !errors.Is(err, ErrNoListing) {
		t.Fatalf("hit with no listing: %v", err)
	}
	bk := r.v.Book(usdcny)
	if len(bk.Bids) != 1 || len(bk.Asks) != 1 || bk.Bids[0].Qty != 1_000_000 || bk.Asks[0].Qty != 1_000_000 {
		t.Fatalf("book changed: %+v", bk)
	}
}

func waitBook(t *testing.T, v *venue.Venue, id engine.InstrumentID, ok func(bids, asks int) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b := v.Book(id)
		if ok(len(b.Bids), len(b.Asks)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("book never reached the expected shape: %d bids %d asks", len(b.Bids), len(b.Asks))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFormatPrice(t *testing.T) {
	for _, s := range []string{"7.102", "150.12", "1", "0.00001", "-2.5"} {
		if got := FormatPrice(px(s)); got != s {
			t.Errorf("%s → %s", s, got)
		}
	}
}

// TestFallingBehindResyncs: a store whose subscription is cut off by the
// hub (a tiny queue and a burst of the broker's orders) refolds from the
// journal and ends up equal to a store opened afresh.
func TestFallingBehindResyncs(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir)
	small, err := Open(r.v, Options{SubQueue: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	ctx := context.Background()
	if _, err := small.SetListing(ctx, "BROKER1", "USD/CNY", tiers(Tier{Qty: 1_000_000, Bid: px("7.0990"), Ask: px("7.1010")}), o); err != nil {
		t.Fatal(err)
	}
	broker, _ := r.v.Config().PartyID("BROKER1")
	eurusd, _ := r.v.Instrument("EUR/USD")
	// The store's fold waits for its lock while orders are published one
	// commit at a time: the hub delivers whole batches, which a store
	// that is not held up reads faster than the venue commits them.
	lagged := r.v.Hub().Lagged()
	small.mu.Lock()
	for i := 0; i < 300 && r.v.Hub().Lagged() == lagged; i++ {
		c := &engine.Command{Kind: engine.CmdNewOrder, Party: broker, Instrument: eurusd, Side: engine.Buy, OrdType: engine.Limit,
			TIF: engine.Day, Qty: 100_000, Price: engine.Price(107_000_000 + int64(i%50)*1000), ClOrdID: engine.MustID("burst-" + strconv.Itoa(i))}
		if err := r.v.Submit(c); err != nil {
			small.mu.Unlock()
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	small.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for small.Resyncs() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the store never fell behind: the test did not test anything")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// It still works, and agrees with a store that read everything anew.
	if _, err := small.SetListing(ctx, "BROKER1", "USD/CNY", tiers(Tier{Qty: 1_000_000, Bid: px("7.0985"), Ask: px("7.1010")}), o); err != nil {
		t.Fatalf("SetListing after resync: %v", err)
	}
	got, _ := small.Get("BROKER1", true)
	if len(got.Listings) != 1 || got.Listings[0].Tiers[0].Bid.Price != px("7.0985") {
		t.Fatalf("listing after resync %+v", got.Listings)
	}
	fresh, err := Open(r.v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want, _ := fresh.Get("BROKER1", true)
	if !reflect.DeepEqual(got.Listings, want.Listings) {
		t.Fatalf("after resync:\n%+v\nopened afresh:\n%+v", got.Listings, want.Listings)
	}
}
