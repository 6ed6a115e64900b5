package service

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub/hubtest"
)

// TestRebuildFromJournal: a venue journals weeks of BANKA's ordinary
// orders and some fills; after a restart the assistant rebuilds the
// profiles from the running venue's journal, so an ordinary order is not
// flagged and a takeover-like one is blocked — while an assistant that did
// not rebuild knows nothing of BANKA and lets the takeover through.
func TestRebuildFromJournal(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Demo()
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC).UnixNano())
	clock := func() int64 { return now.Load() }
	open := func() (*venue.Venue, func()) {
		v, err := venue.Open(venue.Options{Config: cfg, DataDir: dir, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.Run(ctx) }()
		return v, func() {
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	v, stop := open()
	a, _ := cfg.PartyID("BANKA")
	b, _ := cfg.PartyID("BANKB")
	usdcny, _ := v.Instrument("USD/CNY")
	sa, _ := v.Hub().SubscribeParty(a, 4096)
	subA := hubtest.New(sa)
	const orders = 60
	for k := 0; k < orders; k++ {
		// Weekdays, 08:00 to 16:00 UTC, every 40 minutes.
		now.Add(int64(40 * time.Minute))
		if tm := time.Unix(0, now.Load()).UTC(); tm.Hour() >= 16 {
			next := time.Date(tm.Year(), tm.Month(), tm.Day()+1, 8, 0, 0, 0, time.UTC)
			for next.Weekday() == time.Saturday || next.Weekday() == time.Sunday {
				next = next.AddDate(0, 0, 1)
			}
			now.Store(next.UnixNano())
		}
		qty := engine.Qty([]int64{4_000_000, 5_000_000, 6_000_000, 5_000_000}[k%4])
		cmd := &engine.Command{Kind: engine.CmdNewOrder, Party: a, Instrument: usdcny, Side: engine.Buy, OrdType: engine.Limit,
			TIF: engine.GTC, Qty: qty, Price: 710_000_000, ClOrdID: engine.MustID(fmt.Sprintf("h%d", k))}
		if err := v.Submit(cmd); err != nil {
			t.Fatal(err)
		}
		waitFor(t, subA, engine.EvAccepted)
		if k%3 == 0 {
			// BANKB takes it: fills in the journal too.
			sell := &engine.Command{Kind: engine.CmdNewOrder, Party: b, Instrument: usdcny, Side: engine.Sell, OrdType: engine.Limit,
				TIF: engine.IOC, Qty: qty, Price: 710_000_000, ClOrdID: engine.MustID(fmt.Sprintf("s%d", k))}
			if err := v.Submit(sell); err != nil {
				t.Fatal(err)
			}
			waitFor(t, subA, engine.EvFill)
		}
	}
	stop()

	now.Add(int64(time.Hour))
	v, stop = open()
	defer stop()
	wall := func() time.Time { return time.Unix(0, now.Load()) }
	rebuilt := newService(t, wall)
	st, err := rebuilt.Rebuild(cfg, v.Journal().Reader(), RebuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Orders != orders+orders/3 || st.Fills < 2*(orders/3) || st.Accounts != 2 {
		t.Fatalf("rebuild: %+v, want %d orders, at least %d fills, 2 accounts", st, orders+orders/3, 2*(orders/3))
	}
	cold := newService(t, wall)

	at := wall().UTC()
	ordinary := order("n1", "5000000", at)
	r, err := rebuilt.Score(&ordinary)
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != "allow" || len(r.Reasons) != 0 {
		t.Errorf("ordinary order after the rebuild: %+v", r)
	}
	take := order("evil", "200000000", at.Add(5*time.Minute))
	take.Source, take.TIF = "203.0.113.9", "ioc"
	if r, _ := rebuilt.Score(&take); r.Action != "block" {
		t.Errorf("takeover after the rebuild: %+v, want block", r)
	}
	if r, _ := cold.Score(&take); r.Action != "allow" {
		t.Errorf("takeover without the rebuild: %+v (the test shows nothing if history does not matter)", r)
	}

	// A window that starts after the history replays none of its orders
	// (the restarted venue's day roll may be in it).
	later := newService(t, wall)
	if st, err := later.Rebuild(cfg, v.Journal().Reader(), RebuildOptions{Since: wall().Add(-time.Minute)}); err != nil || st.Orders != 0 || st.Records > 1 {
		t.Errorf("empty window: %+v %v", st, err)
	}
	// MaxRecords keeps the most recent.
	if st, err := later.Rebuild(cfg, v.Journal().Reader(), RebuildOptions{MaxRecords: 10}); err != nil || st.Records != 10 {
		t.Errorf("max records 10: %+v %v", st, err)
	}
}

func newService(t *testing.T, clock func() time.Time) *Service {
	opts := Options{Clock: clock}
	if err := FromConfig(config.Demo(), &opts); err != nil {
		t.Fatal(err)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor reads the subscription up to an event of kind.
func waitFor(t *testing.T, s *hubtest.Reader, kind engine.EventKind) {
	t.Helper()
	for {
		ev, err := s.Next(5 * time.Second)
		switch {
		case errors.Is(err, hubtest.ErrTimeout):
			t.Fatalf("no %v within 5s", kind)
		case err != nil:
			t.Fatalf("subscription closed: %v", err)
		case ev.Kind == kind:
			return
		case ev.Kind == engine.EvRejected:
			t.Fatalf("rejected: %v", ev.Reason)
		}
	}
}
