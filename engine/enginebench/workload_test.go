package enginebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"fxmatch/engine"
	"fxmatch/engine/shard"
)

func small(orders int, seed uint64) Params {
	p := DefaultParams()
	p.Orders, p.Seed = orders, seed
	return p
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, ma := Generate(small(20_000, 7))
	b, mb := Generate(small(20_000, 7))
	c, _ := Generate(small(20_000, 8))
	if !reflect.DeepEqual(a, b) || ma != mb {
		t.Fatal("the same seed gave different workloads")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same workload")
	}
	// Generating in chunks gives the same commands as all at once.
	g := NewGenerator(small(20_000, 7))
	var chunked []engine.Command
	for range 4 {
		chunked = append(chunked, g.Next(make([]engine.Command, 5000))...)
	}
	if !reflect.DeepEqual(a, chunked) {
		t.Fatal("chunked generation differs")
	}
	for i, c := range a {
		if c.Seq != uint64(i+1) || c.Time != StartTime+int64(i)*MessageSpacing {
			t.Fatalf("command %d: seq %d time %d", i, c.Seq, c.Time)
		}
	}
	if !reflect.DeepEqual(Config(small(10, 3)), Config(small(10, 3))) {
		t.Fatal("Config is not deterministic")
	}
}

// apply runs cmds through a fresh engine and returns its events per
// command.
func apply(t testing.TB, p Params, cmds []engine.Command) (*engine.Engine, [][]engine.Event) {
	t.Helper()
	e, err := engine.New(Config(p))
	if err != nil {
		t.Fatal(err)
	}
	evs := make([][]engine.Event, len(cmds))
	var out []engine.Event
	for i := range cmds {
		out = e.Apply(&cmds[i], out[:0])
		evs[i] = append([]engine.Event(nil), out...)
	}
	return e, evs
}

// The workload has the shape the package promises: the message mix, most
// resting orders cancelled before they trade, some requests too late, few
// rejects.
func TestWorkloadShape(t *testing.T) {
	const n = 100_000
	p := small(n, 1)
	cmds, mix := Generate(p)
	_, evs := apply(t, p, cmds)
	var w Workload
	flags := make([]uint8, n+1)
	for _, e := range evs {
		w.count(e, flags)
	}
	resting, traded := 0, 0
	for _, f := range flags {
		if f&flagResting != 0 {
			resting++
			if f&flagTraded != 0 {
				traded++
			}
		}
	}
	share := func(k int) float64 { return float64(k) / n }
	iocOfNew := float64(mix.IOC) / float64(mix.IOC+mix.NewResting)
	t.Logf("mix %+v: ioc %.3f of new orders, replace %.3f, cancel %.3f; %d trades, %d rejects, %d cancel rejects (%d too late); resting %d, traded %.3f",
		mix, iocOfNew, share(mix.Replace), share(mix.Cancel), w.Trades, w.Rejects, w.CancelRejects, w.TooLate, resting, float64(traded)/float64(resting))
	for _, c := range []struct {
		what     string
		got      float64
		min, max float64
	}{
		{"IOC share of new orders", iocOfNew, 0.13, 0.17},
		{"replace share", share(mix.Replace), 0.14, 0.22},
		{"cancel share", share(mix.Cancel), 0.25, 0.45},
		{"share of resting orders that ever trade", float64(traded) / float64(resting), 0.05, 0.45},
		{"trades per message", share(w.Trades), 0.03, 0.3},
		{"rejects per message", share(w.Rejects), 0, 0.02},
		{"too-late requests per message", share(w.TooLate), 0.001, 0.15},
	} {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s is %.4f, want %.2f to %.2f", c.what, c.got, c.min, c.max)
		}
	}
}

// Invariants of the engine's output over the whole workload: ExecIDs
// follow each other, every trade is two fills and a print that agree, and
// the L2 rebuilt from EvLevel events is the engine's book, which is the
// sum of its resting orders (L3).
func TestWorkloadInvariants(t *testing.T) {
	p := small(60_000, 3)
	cmds, _ := Generate(p)
	e, evs := apply(t, p, cmds)
	type lk struct {
		inst  engine.InstrumentID
		side  engine.Side
		price engine.Price
	}
	l2 := map[lk]engine.Level{}
	var exec uint64
	for i, es := range evs {
		for j := range es {
			ev := &es[j]
			if exec != 0 && ev.ExecID != exec+1 {
				t.Fatalf("seq %d: ExecID %d after %d", cmds[i].Seq, ev.ExecID, exec)
			}
			exec = ev.ExecID
			if ev.Seq != cmds[i].Seq {
				t.Fatalf("event of seq %d says seq %d", cmds[i].Seq, ev.Seq)
			}
			switch ev.Kind {
			case engine.EvTrade:
				if j < 2 {
					t.Fatalf("seq %d: trade without its fills", cmds[i].Seq)
				}
				a, r := &es[j-2], &es[j-1]
				if a.Kind != engine.EvFill || r.Kind != engine.EvFill || !a.Aggressor || r.Aggressor ||
					a.TradeID != ev.TradeID || r.TradeID != ev.TradeID || a.LastQty != ev.LastQty || r.LastQty != ev.LastQty ||
					a.LastPx != ev.LastPx || r.LastPx != ev.LastPx || a.Side == r.Side || a.Party == r.Party ||
					a.Counterparty != r.Party || r.Counterparty != a.Party {
					t.Fatalf("seq %d: trade %+v\nfills %+v\n%+v", cmds[i].Seq, *ev, *a, *r)
				}
			case engine.EvLevel:
				k := lk{ev.Instrument, ev.Side, ev.Price}
				if ev.Displayed == 0 {
					delete(l2, k)
				} else {
					l2[k] = engine.Level{Price: ev.Price, Qty: ev.Displayed, Count: int(ev.Count)}
				}
			}
		}
	}
	levels := 0
	for id := range engine.InstrumentID(len(Config(p).Instruments)) {
		for _, s := range []engine.Side{engine.Buy, engine.Sell} {
			lv := e.Levels(id, s, 0, nil)
			levels += len(lv)
			for i, l := range lv {
				if got := l2[lk{id, s, l.Price}]; got != l {
					t.Errorf("%d %v level %v: the EvLevel stream says %v", id, s, l, got)
				}
				if i > 0 && (s == engine.Buy) != (l.Price < lv[i-1].Price) {
					t.Errorf("%d %v: levels not best first: %v then %v", id, s, lv[i-1], l)
				}
			}
			// L3 sums to L2.
			sum := map[engine.Price]engine.Level{}
			e.BookOrders(id, s, func(o engine.OrderView) bool {
				l := sum[o.Price]
				l.Price, l.Qty, l.Count = o.Price, l.Qty+o.Displayed, l.Count+1
				sum[o.Price] = l
				return true
			})
			for _, l := range lv {
				if sum[l.Price] != l {
					t.Errorf("%d %v level %v: its orders add up to %v", id, s, l, sum[l.Price])
				}
			}
			if len(sum) != len(lv) {
				t.Errorf("%d %v: %d levels but orders at %d prices", id, s, len(lv), len(sum))
			}
		}
	}
	if levels != len(l2) {
		t.Errorf("the engine has %d levels, the EvLevel stream %d", levels, len(l2))
	}
}

// Apply allocates nothing per message once the engine has warmed up on
// the workload (its slices grown to their working size).
func TestApplyZeroAllocs(t *testing.T) {
	p := small(120_000, 5)
	cmds, _ := Generate(p)
	e, err := engine.New(Config(p))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]engine.Event, 0, 1024)
	const warm = 60_000
	for i := range cmds[:warm] {
		out = e.Apply(&cmds[i], out[:0])
	}
	i := warm
	allocs := testing.AllocsPerRun(len(cmds)-warm-1, func() {
		out = e.Apply(&cmds[i], out[:0])
		i++
	})
	if allocs != 0 {
		t.Errorf("Apply: %.5f allocations per message after warm-up", allocs)
	}
}

// The workload through a shard gives the same events as applied directly
// (up to Time, which the ring stamps from the wall clock).
func TestShardMatchesCore(t *testing.T) {
	p := small(30_000, 11)
	cmds, _ := Generate(p)
	_, want := apply(t, p, cmds)
	e, err := engine.New(Config(p))
	if err != nil {
		t.Fatal(err)
	}
	in, err := shard.NewRing(shard.InputConfig{Capacity: 1024, NextSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink := shard.SinkFunc(func(b *shard.Batch) error {
		for i := range b.Commands {
			got := b.EventsOf(i)
			w := want[b.Commands[i].Seq-1]
			if len(got) != len(w) {
				return fmt.Errorf("seq %d: %d events, want %d", b.Commands[i].Seq, len(got), len(w))
			}
			for j := range got {
				g := got[j]
				g.Time = w[j].Time
				if g != w[j] {
					return fmt.Errorf("seq %d event %d: %+v, want %+v", b.Commands[i].Seq, j, g, w[j])
				}
			}
		}
		return nil
	})
	sh, err := shard.New(e, in, sink, shard.Options{MaxBatch: 64})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sh.Run(context.Background()) }()
	if err := offerAll(in, cmds); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sh.Applied() != uint64(len(cmds)) {
		t.Fatalf("applied %d", sh.Applied())
	}
}

// A small full run fills every figure and writes both forms.
func TestRunSmall(t *testing.T) {
	rep, err := Run(Options{Params: small(5000, 2), Repeat: 1, PacedSec: 0.05, RingCapacity: 256, MaxBatch: 32})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if strings.Count(js.String(), "\n}\n") != 1 || !strings.HasPrefix(js.String(), "{") {
		t.Fatalf("not one JSON object:\n%s", js.String())
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"msgs_per_sec", "p50_ns", "p99_ns", "p999_ns", "allocs_per_msg", "workload", "ring", "chan", "ring_vs_chan"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	for _, v := range []float64{rep.MsgsPerSec, float64(rep.P50), rep.Ring.MsgsPerSec, rep.Chan.MsgsPerSec, rep.Ring.TransportMsgsPerSec, float64(rep.Ring.Paced.P50), rep.RingVsChan} {
		if v <= 0 {
			t.Fatalf("a figure is missing: %+v", rep)
		}
	}
	var txt bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"msgs/s", "p99.9", "ring vs channel", "includes ~"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, txt.String())
		}
	}
}

// No two resting orders that may trade with each other stay crossed (the
// engine's uncrossing rule): a crossed pair must lack the credit for one
// lot between its owners. Checked every few thousand messages, on several
// seeds.
func TestNoTradableCrossedOrders(t *testing.T) {
	crossed := 0
	for _, seed := range []uint64{1, 2, 3} {
		p := small(40_000, seed)
		p.NoLineFrac = 0.6       // many banks cannot trade with each other
		p.SmallLine = 30_000_000 // and some lines run out after a dozen trades
		cfg := Config(p)
		cmds, _ := Generate(p)
		e, err := engine.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []engine.Event
		for i := range cmds {
			out = e.Apply(&cmds[i], out[:0])
			if i%5000 != 4999 {
				continue
			}
			for id := range engine.InstrumentID(len(cfg.Instruments)) {
				in := cfg.Instruments[id]
				var bids, asks []engine.OrderView
				e.BookOrders(id, engine.Buy, func(o engine.OrderView) bool { bids = append(bids, o); return true })
				e.BookOrders(id, engine.Sell, func(o engine.OrderView) bool { asks = append(asks, o); return true })
				for _, b := range bids {
					for _, a := range asks {
						if a.Price > b.Price {
							break // asks are best (lowest) first
						}
						lot := float64(in.Lot)
						if in.Base != "USD" {
							lot *= float64(a.Price) / engine.PriceScale // USD-termed pairs here
						}
						crossed++
						if b.Party != a.Party && float64(e.RemainingCredit(b.Party, a.Party)) >= lot {
							t.Fatalf("seed %d after seq %d: %s bid %+v and ask %+v are crossed with %d USD of credit between them",
								seed, cmds[i].Seq, in.Symbol, b, a, e.RemainingCredit(b.Party, a.Party))
						}
					}
				}
			}
		}
	}
	t.Logf("%d crossed pairs seen, all without credit", crossed)
}
