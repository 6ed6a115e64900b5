package shard

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"fxmatch/engine"
)

const (
	d1 engine.Date = 20260105 // a Monday
	d2 engine.Date = 20260106
)

func px(f float64) engine.Price { return engine.Price(f*engine.PriceScale + 0.5) }

func testConfig() engine.Config {
	cfg := engine.Config{
		Participants: []engine.Participant{{}, {Name: "A", CanTrade: true}, {Name: "B", CanTrade: true}, {Name: "C", CanTrade: true}},
		Instruments: []engine.Instrument{
			{Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: px(0.0001), Lot: 100_000, MinQty: 100_000, MaxQty: 1_000_000_000, RefPrice: px(7.1), BandBP: 200},
			{Symbol: "EUR/USD", Base: "EUR", Term: "USD", Tick: px(0.00001), Lot: 100_000, MinQty: 100_000, MaxQty: 1_000_000_000, RefPrice: px(1.08), BandBP: 200},
		},
		TradeDate:            d1,
		MaxLiveOrders:        100_000,
		ExpectedOrdersPerDay: 10_000,
	}
	for a := engine.PartyID(1); a <= 3; a++ {
		for b := a + 1; b <= 3; b++ {
			cfg.CreditLines = append(cfg.CreditLines, engine.CreditLine{A: a, B: b, Limit: 1e12})
		}
	}
	return cfg
}

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// recorder is a Sink that copies everything it is given.
type recorder struct {
	mu     sync.Mutex
	cmds   []engine.Command
	events [][]engine.Event // per command
	err    error            // returned by Deliver when set
}

func (r *recorder) Deliver(b *Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(b.Ends) != len(b.Commands) {
		return fmt.Errorf("batch of %d commands with %d ends", len(b.Commands), len(b.Ends))
	}
	for i := range b.Commands {
		r.cmds = append(r.cmds, b.Commands[i])
		r.events = append(r.events, append([]engine.Event(nil), b.EventsOf(i)...))
	}
	return r.err
}

// find returns the events of kind k and the commands that produced them.
func (r *recorder) find(k engine.EventKind) (evs []engine.Event, by []engine.Command) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, es := range r.events {
		for _, e := range es {
			if e.Kind == k {
				evs = append(evs, e)
				by = append(by, r.cmds[i])
			}
		}
	}
	return evs, by
}

func newOrder(p engine.PartyID, inst engine.InstrumentID, side engine.Side, price engine.Price, qty engine.Qty, tif engine.TIF, id string) engine.Command {
	return engine.Command{
		Kind: engine.CmdNewOrder, Party: p, Instrument: inst, Side: side,
		OrdType: engine.Limit, TIF: tif, Price: price, Qty: qty, ClOrdID: engine.MustID(id),
	}
}

// harness runs a shard on a goroutine.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	in     Input
	sink   *recorder
	shard  *Shard
	cancel context.CancelFunc
	done   chan error
}

func startShard(t *testing.T, opts Options, in Input) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(d1.Time().Add(10 * time.Hour).UnixNano()), sink: &recorder{}, done: make(chan error, 1)}
	if in == nil {
		var err error
		in, err = NewRing(InputConfig{Capacity: 256, NextSeq: opts.AppliedSeq + 1, Clock: h.clock.now})
		if err != nil {
			t.Fatal(err)
		}
	}
	h.in = in
	opts.Clock = h.clock.now
	if opts.TimerSleepMax == 0 {
		opts.TimerSleepMax = time.Millisecond
	}
	s, err := New(newEngine(t), in, h.sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.shard = s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

// offer offers until accepted (retrying while busy).
func (h *harness) offer(c engine.Command) {
	h.t.Helper()
	for {
		err := h.in.Offer(&c)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrBusy) {
			h.t.Fatalf("offer: %v", err)
		}
		time.Sleep(10 * time.Microsecond)
	}
}

func (h *harness) waitApplied(seq uint64) {
	h.t.Helper()
	checkFor(h.t, 5*time.Second, func() error {
		if a := h.shard.Applied(); a < seq {
			return fmt.Errorf("applied %d, want %d", a, seq)
		}
		return nil
	})
}

// Commands from several goroutines come out of the sink in Seq order, with
// exactly the events the engine gives when the same commands are applied
// to it directly.
func TestShardDeliversSequencedBatches(t *testing.T) {
	const producers, perProducer = 3, 400
	h := startShard(t, Options{MaxBatch: 16}, nil)
	var wg sync.WaitGroup
	for p := 1; p <= producers; p++ {
		wg.Go(func() {
			for k := range perProducer {
				side := engine.Buy
				if (k+p)%2 == 0 {
					side = engine.Sell
				}
				// Prices straddle the reference so orders cross and trade.
				price := px(7.1) + engine.Price((k*7+p*3)%11-5)*px(0.0001)
				c := newOrder(engine.PartyID(p), engine.InstrumentID(k%2), side, price, engine.Qty(1+k%5)*100_000, engine.Day, fmt.Sprintf("p%d-%d", p, k))
				if k%2 == 1 {
					c.Price = px(1.08) + engine.Price((k*7+p*3)%11-5)*px(0.00001)
				}
				h.offer(c)
			}
		})
	}
	wg.Wait()
	h.waitApplied(producers * perProducer)
	h.in.Close()
	if err := <-h.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	h.done <- nil // for the cleanup

	rec := h.sink
	if len(rec.cmds) != producers*perProducer {
		t.Fatalf("sink got %d commands", len(rec.cmds))
	}
	ref := newEngine(t)
	var out []engine.Event
	trades := 0
	for i := range rec.cmds {
		c := rec.cmds[i]
		if c.Seq != uint64(i+1) {
			t.Fatalf("command %d has seq %d", i, c.Seq)
		}
		out = ref.Apply(&c, out[:0])
		if !reflect.DeepEqual(out, rec.events[i]) && !(len(out) == 0 && len(rec.events[i]) == 0) {
			t.Fatalf("seq %d: shard delivered\n%+v\nengine gives\n%+v", c.Seq, rec.events[i], out)
		}
		for _, e := range out {
			if e.Kind == engine.EvTrade {
				trades++
			}
		}
	}
	if trades == 0 {
		t.Fatal("the workload made no trades; the test does not test matching")
	}
	// The final snapshots are the reference engine's books.
	for id := range engine.InstrumentID(2) {
		snap := h.shard.Book(id)
		if snap.Seq != producers*perProducer {
			t.Errorf("instrument %d: snapshot seq %d", id, snap.Seq)
		}
		if want := ref.Levels(id, engine.Buy, 0, nil); !reflect.DeepEqual(snap.Bids, want) && len(want)+len(snap.Bids) > 0 {
			t.Errorf("instrument %d bids: %v, want %v", id, snap.Bids, want)
		}
		if want := ref.Levels(id, engine.Sell, 0, nil); !reflect.DeepEqual(snap.Asks, want) && len(want)+len(snap.Asks) > 0 {
			t.Errorf("instrument %d asks: %v, want %v", id, snap.Asks, want)
		}
		if snap.RefPrice != ref.RefPrice(id) {
			t.Errorf("instrument %d ref %d, want %d", id, snap.RefPrice, ref.RefPrice(id))
		}
	}
	t.Logf("%d commands, %d trades", len(rec.cmds), trades)
}

func TestShardSnapshots(t *testing.T) {
	h := startShard(t, Options{}, nil)
	if s := h.shard.Book(0); s == nil || len(s.Bids)+len(s.Asks) != 0 || s.RefPrice != px(7.1) || s.Seq != 0 {
		t.Fatalf("initial snapshot: %+v", s)
	}
	if h.shard.Book(2) != nil {
		t.Fatal("snapshot of an unknown instrument")
	}
	h.offer(newOrder(1, 0, engine.Buy, px(7.0990), 1_000_000, engine.Day, "b1"))
	h.offer(newOrder(1, 0, engine.Buy, px(7.0980), 3_000_000, engine.GTC, "b2"))
	h.offer(newOrder(2, 0, engine.Sell, px(7.1010), 2_000_000, engine.Day, "s1"))
	h.waitApplied(3)
	snap := h.shard.Book(0)
	bid, okb := snap.BestBid()
	ask, oka := snap.BestAsk()
	if !okb || !oka || bid != (engine.Level{Price: px(7.0990), Qty: 1_000_000, Count: 1}) || ask != (engine.Level{Price: px(7.1010), Qty: 2_000_000, Count: 1}) {
		t.Fatalf("best bid %v %v, best ask %v %v", bid, okb, ask, oka)
	}
	if len(snap.Bids) != 2 || snap.Bids[1].Price != px(7.0980) {
		t.Fatalf("bids not best first: %v", snap.Bids)
	}
	for _, c := range []struct {
		side  engine.Side
		price engine.Price
		want  engine.Qty
	}{
		{engine.Buy, px(7.0990), 1_000_000}, {engine.Buy, px(7.0980), 3_000_000}, {engine.Buy, px(7.0985), 0},
		{engine.Buy, px(7.2), 0}, {engine.Buy, px(7.0), 0}, {engine.Sell, px(7.1010), 2_000_000}, {engine.Sell, px(7.0990), 0},
	} {
		if got := snap.DepthAt(c.side, c.price); got != c.want {
			t.Errorf("DepthAt(%v, %d) = %d, want %d", c.side, c.price, got, c.want)
		}
	}
	if snap.Seq != 3 || snap.LastTrade.TradeID != 0 {
		t.Fatalf("seq %d last trade %+v", snap.Seq, snap.LastTrade)
	}
	other := h.shard.Book(1)

	// A sell that trades 400k against the best bid.
	h.offer(newOrder(3, 0, engine.Sell, px(7.0990), 400_000, engine.IOC, "s2"))
	h.waitApplied(4)
	snap2 := h.shard.Book(0)
	if snap2.Seq != 4 || snap2.RefPrice != px(7.0990) || snap2.DepthAt(engine.Buy, px(7.0990)) != 600_000 {
		t.Fatalf("after trade: %+v", snap2)
	}
	if lt := snap2.LastTrade; lt.TradeID == 0 || lt.Price != px(7.0990) || lt.Qty != 400_000 || lt.Aggressor != engine.Sell || lt.Seq != 4 {
		t.Fatalf("last trade %+v", lt)
	}
	// Snapshots are immutable: the one taken before still says 1M.
	if snap.DepthAt(engine.Buy, px(7.0990)) != 1_000_000 {
		t.Fatal("an old snapshot changed")
	}
	// An untouched book keeps its snapshot.
	if h.shard.Book(1) != other {
		t.Fatal("a book no batch touched was republished")
	}
}

// A GTD order expires through a CmdTick the shard's timer offers when the
// (fake) clock reaches its expiry, with no other traffic.
func TestShardGTDExpiryByTick(t *testing.T) {
	h := startShard(t, Options{}, nil)
	c := newOrder(1, 0, engine.Buy, px(7.0990), 1_000_000, engine.GTD, "g1")
	c.ExpireTime = h.clock.after(time.Second)
	h.offer(c)
	h.waitApplied(1)
	time.Sleep(5 * time.Millisecond) // the timer must not tick early
	if evs, _ := h.sink.find(engine.EvExpired); len(evs) != 0 {
		t.Fatalf("expired before its time: %+v", evs)
	}
	h.clock.add(time.Second)
	checkFor(t, 5*time.Second, func() error {
		if evs, _ := h.sink.find(engine.EvExpired); len(evs) == 0 {
			return errors.New("no expiry yet")
		}
		return nil
	})
	evs, by := h.sink.find(engine.EvExpired)
	if len(evs) != 1 || evs[0].Reason != engine.ReasonGTDExpired || by[0].Kind != engine.CmdTick || by[0].Seq != 2 || by[0].Time != c.ExpireTime {
		t.Fatalf("expiry %+v by %+v", evs, by)
	}
	if _, ok := h.shard.Book(0).BestBid(); ok {
		t.Fatal("snapshot still shows the expired bid")
	}
	// No further ticks: nothing else is due.
	h.clock.add(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if a := h.shard.Applied(); a != 2 {
		t.Fatalf("applied %d commands, want 2 (one tick only)", a)
	}
}

// rollAt is a trading-day calendar with one roll instant r: d1 before it,
// d2 from it on. NextRoll keeps returning r plus whole days, as 17:00 New
// York does.
func rollAt(r time.Time) (func(time.Time) time.Time, func(time.Time) engine.Date) {
	next := func(t time.Time) time.Time {
		n := r
		for !n.After(t) {
			n = n.Add(24 * time.Hour)
		}
		return n
	}
	date := func(t time.Time) engine.Date {
		if t.Before(r) {
			return d1
		}
		return d2
	}
	return next, date
}

func TestShardRollsDay(t *testing.T) {
	clock := newFakeClock(0)
	h := startShardAt(t, clock, func(now time.Time) Options {
		next, date := rollAt(now.Add(time.Hour))
		return Options{NextRoll: next, TradeDateAt: date}
	})
	h.offer(newOrder(1, 0, engine.Buy, px(7.0990), 1_000_000, engine.Day, "day"))
	h.offer(newOrder(1, 0, engine.Buy, px(7.0980), 1_000_000, engine.GTC, "gtc"))
	h.waitApplied(2)
	h.clock.add(59 * time.Minute)
	time.Sleep(10 * time.Millisecond)
	if a := h.shard.Applied(); a != 2 {
		t.Fatalf("rolled early: applied %d", a)
	}
	h.clock.add(time.Minute) // the roll instant
	checkFor(t, 5*time.Second, func() error {
		if evs, _ := h.sink.find(engine.EvDayRolled); len(evs) == 0 {
			return errors.New("not rolled yet")
		}
		return nil
	})
	rolled, by := h.sink.find(engine.EvDayRolled)
	if len(rolled) != 1 || rolled[0].TradeDate != d2 || by[0].Kind != engine.CmdRollDay || by[0].Seq != 3 {
		t.Fatalf("roll %+v by %+v", rolled, by)
	}
	exp, _ := h.sink.find(engine.EvExpired)
	if len(exp) != 1 || exp[0].Reason != engine.ReasonDayEnd || exp[0].ClOrdID != engine.MustID("day") {
		t.Fatalf("expired %+v", exp)
	}
	if s := h.shard.Book(0); len(s.Bids) != 1 || s.Bids[0].Price != px(7.0980) {
		t.Fatalf("after roll the book is %+v", s.Bids)
	}
	h.clock.add(time.Minute)
	time.Sleep(20 * time.Millisecond)
	if rolled, _ := h.sink.find(engine.EvDayRolled); len(rolled) != 1 {
		t.Fatalf("rolled %d times", len(rolled))
	}
}

// A venue that starts after a roll instant it missed rolls at once.
func TestShardRollsOverdueDayAtStart(t *testing.T) {
	clock := newFakeClock(0)
	h := startShardAt(t, clock, func(now time.Time) Options {
		next, date := rollAt(now.Add(-time.Minute))
		return Options{NextRoll: next, TradeDateAt: date}
	})
	checkFor(t, 5*time.Second, func() error {
		if evs, _ := h.sink.find(engine.EvDayRolled); len(evs) != 1 {
			return errors.New("not rolled")
		}
		return nil
	})
}

func startShardAt(t *testing.T, clock *fakeClock, opts func(now time.Time) Options) *harness {
	t.Helper()
	clock.set(d1.Time().Add(20 * time.Hour).UnixNano()) // 15:00 New York on d1
	in, err := NewRing(InputConfig{Capacity: 256, NextSeq: 1, Clock: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	h := startShardWithClock(t, opts(clock.at()), in, clock)
	return h
}

func startShardWithClock(t *testing.T, opts Options, in Input, clock *fakeClock) *harness {
	t.Helper()
	h := &harness{t: t, clock: clock, in: in, sink: &recorder{}, done: make(chan error, 1)}
	opts.Clock = clock.now
	opts.TimerSleepMax = time.Millisecond
	s, err := New(newEngine(t), in, h.sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.shard = s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// Cancelling Run's context closes the input; what was accepted is still
// applied, and Run returns the context's error.
func TestShardCancel(t *testing.T) {
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			clock := newFakeClock(d1.Time().UnixNano())
			q, _ := in.make(InputConfig{Capacity: 64, NextSeq: 1, Clock: clock.now})
			h := startShardWithClock(t, Options{}, q, clock)
			for k := range 20 {
				h.offer(newOrder(1, 0, engine.Buy, px(7.0), 100_000, engine.Day, fmt.Sprint(k)))
			}
			h.cancel()
			err := <-h.done
			h.done <- err
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v", err)
			}
			if a := h.shard.Applied(); a != 20 {
				t.Fatalf("applied %d of 20 accepted commands", a)
			}
			c := newOrder(1, 0, engine.Buy, px(7.0), 100_000, engine.Day, "late")
			if err := h.in.Offer(&c); !errors.Is(err, ErrClosed) {
				t.Fatalf("offer after Run: %v", err)
			}
		})
	}
}

func TestShardSinkError(t *testing.T) {
	h := startShard(t, Options{}, nil)
	h.sink.mu.Lock()
	h.sink.err = errors.New("disk on fire")
	h.sink.mu.Unlock()
	h.offer(newOrder(1, 0, engine.Buy, px(7.0), 100_000, engine.Day, "x"))
	err := <-h.done
	h.done <- err
	if err == nil || !strings.Contains(err.Error(), "shard: sink: disk on fire") {
		t.Fatalf("Run: %v", err)
	}
	c := newOrder(1, 0, engine.Buy, px(7.0), 100_000, engine.Day, "y")
	if err := h.in.Offer(&c); !errors.Is(err, ErrClosed) {
		t.Fatalf("offer after a failed Run: %v", err)
	}
}

// badInput breaks the sequencing contract: it skips a Seq.
type badInput struct{ n int }

func (b *badInput) Offer(*engine.Command) error { return nil }
func (b *badInput) Close() error                { return nil }
func (b *badInput) Poll(dst []engine.Command) (int, error) {
	b.n++
	dst[0] = engine.Command{Kind: engine.CmdTick, Seq: uint64(2 * b.n), Time: 1}
	return 1, nil
}

func TestShardPanicsOnBrokenSequence(t *testing.T) {
	s, err := New(newEngine(t), &badInput{}, &recorder{}, Options{AppliedSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "broke its contract: command seq 4") {
			t.Fatalf("recovered %v", r)
		}
	}()
	s.Run(context.Background())
}

func TestShardOptionErrors(t *testing.T) {
	in, _ := NewRing(InputConfig{Capacity: 8, NextSeq: 1})
	for _, o := range []Options{{MaxBatch: -1}, {MaxBatch: 1 << 20}, {NextRoll: func(t time.Time) time.Time { return t }}} {
		if _, err := New(newEngine(t), in, &recorder{}, o); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
	if _, err := New(nil, in, &recorder{}, Options{}); err == nil {
		t.Error("New accepted a nil engine")
	}
}
