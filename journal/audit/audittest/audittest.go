// Package audittest writes journals for the regulator's tools to read: it
// runs the real venue (cmd/fxmatch/venue) in-process on a fake clock and
// drives a scripted scenario through it — two shards, two trading days,
// orders that rest, trade, are replaced, cancelled, rejected, refused,
// expire at their GTD time and at the day's end, an iceberg, a mass
// cancel and ClOrdIDs reused on the second day.
//
// The scenario is deterministic: each command is submitted alone, at a
// time the script sets on the fake clock, and the next one waits until
// the journal holds it; the shards' timers roll the day and expire GTD
// orders only when the script moves the clock past those moments, and the
// script waits for them too. So every run writes the same records, with
// the same sequences, times, order ids and chain hashes, and tests can
// keep golden outputs.
package audittest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/shard"
)

// Start is the fake clock's first reading: Tuesday 2026-03-03 09:30 in
// New York, trade date 2026-03-03. The day rolls at 17:00 New York
// (22:00 UTC).
var Start = time.Date(2026, 3, 3, 14, 30, 0, 0, time.UTC)

// RollAt is when the script rolls the day: just after 22:00 UTC.
var RollAt = time.Date(2026, 3, 3, 22, 0, 1, 0, time.UTC)

// SnapshotEvery is the venue's snapshot cadence in the scenario: small, so
// that books are rebuilt both from snapshots and from genesis.
const SnapshotEvery = 4

// Config is the scenario's configuration: the demo (config.Demo) split
// into two shards, USD/CNY EUR/USD EUR/CNY and USD/JPY.
func Config() *config.Config {
	cfg := config.Demo()
	cfg.Shards = []config.Shard{
		{Instruments: []string{"USD/CNY", "EUR/USD", "EUR/CNY"}},
		{Instruments: []string{"USD/JPY"}},
	}
	return cfg
}

// Result is what a run left behind.
type Result struct {
	DataDir    string // the venue's data directory
	JournalDir string // DataDir/journal
	Config     *config.Config
	// Events are every event the venue published (after it was durable),
	// with the venue's global instrument numbering, in publication order.
	Events []engine.Event
	// Steps are the script's steps with the shards' heads after each.
	Steps []Step
	// Books are the venue's own last published books, by symbol, taken
	// after it stopped.
	Books map[string]*shard.BookSnapshot
}

// Step is one step of the script.
type Step struct {
	Name  string
	Time  time.Time
	Heads []uint64 // each shard's last sequence after the step
}

// run drives the venue.
type run struct {
	t     testing.TB
	v     *venue.Venue
	cfg   *config.Config
	clock atomic.Int64
	want  []uint64 // each shard's expected head
	res   *Result
}

// Run writes the scenario's journal into dataDir (which should be empty)
// and stops the venue. It fails t if the venue does not behave.
func Run(t testing.TB, dataDir string) *Result {
	t.Helper()
	cfg := Config()
	r := &run{t: t, cfg: cfg, want: make([]uint64, len(cfg.Shards))}
	r.res = &Result{DataDir: dataDir, JournalDir: filepath.Join(dataDir, "journal"), Config: cfg}
	r.clock.Store(Start.UnixNano())
	v, err := venue.Open(venue.Options{
		Config: cfg, DataDir: dataDir, Clock: r.clock.Load, SnapshotEvery: SnapshotEvery,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("venue.Open: %v", err)
	}
	r.v = v
	sub, err := v.Hub().SubscribeAll(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	var collected sync.WaitGroup
	collected.Go(func() {
		for b := range sub.C {
			for ev := range sub.Events(b) {
				r.res.Events = append(r.res.Events, *ev)
			}
			b.Release()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	r.script()

	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("venue.Run: %v", err)
	}
	collected.Wait()
	r.res.Books = map[string]*shard.BookSnapshot{}
	for g, in := range v.Instruments() {
		r.res.Books[in.Symbol] = v.Book(engine.InstrumentID(g))
	}
	if r.v.Hub().Lagged() != 0 {
		t.Fatalf("audittest: the event subscription lagged; Events is incomplete")
	}
	return r.res
}

const (
	usdcny = "USD/CNY"
	eurusd = "EUR/USD"
	usdjpy = "USD/JPY"
)

func (r *run) party(id string) engine.PartyID {
	p, ok := r.cfg.PartyID(id)
	if !ok {
		r.t.Fatalf("audittest: no participant %s", id)
	}
	return p
}

func (r *run) inst(sym string) engine.InstrumentID {
	id, ok := r.v.Instrument(sym)
	if !ok {
		r.t.Fatalf("audittest: no instrument %s", sym)
	}
	return id
}

func px(s string) engine.Price {
	p, err := engine.ParsePrice(s)
	if err != nil {
		panic(err)
	}
	return p
}

// order is a new limit order.
func (r *run) order(party, sym, clid string, side engine.Side, q engine.Qty, price string, tif engine.TIF) *engine.Command {
	return &engine.Command{Kind: engine.CmdNewOrder, Party: r.party(party), Instrument: r.inst(sym),
		ClOrdID: engine.MustID(clid), Side: side, OrdType: engine.Limit, TIF: tif, Qty: q, Price: px(price)}
}

func (r *run) cancelReq(party, sym, clid, orig string, side engine.Side) *engine.Command {
	return &engine.Command{Kind: engine.CmdCancel, Party: r.party(party), Instrument: r.inst(sym), Side: side,
		ClOrdID: engine.MustID(clid), OrigClOrdID: engine.MustID(orig)}
}

func (r *run) replaceReq(party, sym, clid, orig string, side engine.Side, q engine.Qty, price string) *engine.Command {
	return &engine.Command{Kind: engine.CmdReplace, Party: r.party(party), Instrument: r.inst(sym), Side: side,
		OrdType: engine.Limit, ClOrdID: engine.MustID(clid), OrigClOrdID: engine.MustID(orig), Qty: q, Price: px(price)}
}

// at sets the clock.
func (r *run) at(t time.Time) { r.clock.Store(t.UnixNano()) }

// submit offers cmd at the clock's time and waits until the journal
// holds it.
func (r *run) submit(name string, cmd *engine.Command) {
	r.t.Helper()
	if err := r.v.Submit(cmd); err != nil {
		r.t.Fatalf("audittest: %s: Submit: %v", name, err)
	}
	if cmd.Kind == engine.CmdSetCredit || cmd.Kind == engine.CmdMassCancel && cmd.Scope != engine.MassBySymbol {
		for s := range r.want {
			r.want[s]++
		}
	} else {
		sh, _ := r.cfg.ShardOf(r.v.Instruments()[cmd.Instrument].Symbol)
		r.want[sh]++
	}
	r.settle(name)
}

// timer expects the shards' timers to add a command (a tick or a roll) to
// the given shards, and waits for it.
func (r *run) timer(name string, shards ...int) {
	r.t.Helper()
	for _, s := range shards {
		r.want[s]++
	}
	r.settle(name)
}

// settle waits until every shard's journal head is where the script
// expects it, and checks it goes no further (a command the script did not
// expect, such as a stray tick, would make the run non-deterministic).
func (r *run) settle(name string) {
	r.t.Helper()
	rd := r.v.Journal().Reader()
	heads := make([]uint64, len(r.want))
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for s := range r.want {
			h, err := rd.Head(uint16(s))
			if err != nil {
				r.t.Fatalf("audittest: %s: Head: %v", name, err)
			}
			heads[s] = h.Seq
			if h.Seq > r.want[s] {
				r.t.Fatalf("audittest: %s: shard %d journal at seq %d, the script expected %d", name, s, h.Seq, r.want[s])
			}
			ok = ok && h.Seq == r.want[s]
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("audittest: %s: journal heads %v after 10s, want %v", name, heads, r.want)
		}
		time.Sleep(200 * time.Microsecond)
	}
	r.res.Steps = append(r.res.Steps, Step{Name: name, Time: time.Unix(0, r.clock.Load()).UTC(), Heads: heads})
}

// script is the scenario. Times advance by 1.000125 s per step so that
// microseconds show in the outputs.
func (r *run) script() {
	const (
		buy  = engine.Buy
		sell = engine.Sell
		m    = 1_000_000
	)
	t := Start
	step := func() time.Time {
		t = t.Add(time.Second + 125*time.Microsecond)
		r.at(t)
		return t
	}

	// Day 1: trade date 2026-03-03.
	step()
	r.submit("a1 rests", r.order("BANKA", usdcny, "a1", sell, 1*m, "7.1010", engine.GTC))
	step()
	r.submit("a2 rests", r.order("BANKA", usdcny, "a2", sell, 2*m, "7.1020", engine.Day))
	step()
	r.submit("b1 rests", r.order("BANKB", usdcny, "b1", buy, m/2, "7.1000", engine.Day))
	step()
	r.submit("b2 IOC takes a1", r.order("BANKB", usdcny, "b2", buy, 3*m/2, "7.1010", engine.IOC))
	step()
	r.submit("a2 replaced to a2r at 7.1015", r.replaceReq("BANKA", usdcny, "a2r", "a2", sell, 2*m, "7.1015"))
	step()
	r.submit("k1 rests behind a2r", r.order("BROKER1", usdcny, "k1", sell, 1*m, "7.1015", engine.GTC))
	step()
	r.submit("c1 passes over a2r (no credit) and takes k1", r.order("BANKC", usdcny, "c1", buy, 7*m/10, "7.1015", engine.Day))
	step()
	r.submit("b1 cancelled", r.cancelReq("BANKB", usdcny, "b1x", "b1", buy))
	step()
	r.submit("a3 rests in USD/JPY", r.order("BANKA", usdjpy, "a3", sell, 1*m, "150.100", engine.GTC))
	step()
	r.submit("b3 takes a3", r.order("BANKB", usdjpy, "b3", buy, 1*m, "150.100", engine.Day))
	expire := step().Add(10 * time.Second)
	gtd := r.order("BANKA", eurusd, "a4", sell, 1*m, "1.08100", engine.GTD)
	gtd.ExpireTime = expire.UnixNano()
	r.submit("a4 rests GTD", gtd)
	step()
	r.submit("b5 rejected: not a lot", r.order("BANKB", usdcny, "b5", buy, 150_000, "7.1000", engine.Day))
	step()
	r.submit("cancel of an unknown ClOrdID refused", r.cancelReq("BANKB", usdcny, "zz", "nope", buy))
	step()
	ice := r.order("BANKB", usdcny, "b4", buy, 3*m, "7.0990", engine.GTC)
	ice.MaxFloor = 1 * m
	r.submit("b4 iceberg rests", ice)
	step()
	r.submit("a2r replaced down to a2rr (keeps priority)", r.replaceReq("BANKA", usdcny, "a2rr", "a2r", sell, 3*m/2, "7.1015"))
	step()
	r.submit("regulator's order rejected: read-only", r.order("REGULATOR", usdcny, "r1", buy, 1*m, "7.1000", engine.Day))
	t = expire.Add(500 * time.Microsecond)
	r.at(t)
	r.timer("a4 expires (tick)", 0)
	step()
	r.submit("cancel of filled a1 refused: too late", r.cancelReq("BANKA", usdcny, "a1x", "a1", sell))

	// The roll: Day orders expire (a2rr), the ClOrdIDs of the day are
	// forgotten.
	t = RollAt
	r.at(t)
	r.timer("day rolls to 2026-03-04", 0, 1)

	// Day 2: trade date 2026-03-04; a1 and b1 are used again.
	step()
	r.submit("a1 again, day 2", r.order("BANKA", usdcny, "a1", sell, 1*m, "7.1005", engine.Day))
	step()
	r.submit("b1 again, day 2, takes a1", r.order("BANKB", usdcny, "b1", buy, 1*m, "7.1005", engine.Day))
	step()
	r.submit("c2 rests in USD/JPY", r.order("BANKC", usdjpy, "c2", buy, m/2, "150.000", engine.GTC))
	step()
	r.submit("BANKB mass-cancels everything", &engine.Command{Kind: engine.CmdMassCancel, Party: r.party("BANKB"),
		Scope: engine.MassAll, ClOrdID: engine.MustID("mc1")})
	step()
	r.submit("k1 replaced up to k1r at 7.1020 (loses priority)", r.replaceReq("BROKER1", usdcny, "k1r", "k1", sell, 1*m, "7.1020"))
	step()
	r.submit("a5 rests", r.order("BANKA", usdcny, "a5", sell, 2*m, "7.1020", engine.GTC))
	step()
	r.submit("c3 buys at 7.1020: k1r fills (BANKA has no credit with BANKC)", r.order("BANKC", usdcny, "c3", buy, 5*m/10, "7.1020", engine.IOC))
}
