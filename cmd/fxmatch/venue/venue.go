// Package venue puts the venue together: one matching engine per shard,
// each run by its shard goroutine behind a lock-free input ring, the
// journal that makes every batch durable before anything is acknowledged,
// and the hub that fans the durable events out to FIX sessions, the
// gateway and the bus.
//
//	Submit ──> Ring ──> shard goroutine ──Apply──> engine
//	                         │
//	                         └─ stage.Deliver: journal.Append (encode, chain)
//	                                            + copy its events into a hub batch
//	                                            + copy its commands to the snapshotter
//	snapshotter goroutine ── shadow engine ── every SnapshotEvery: encode,
//	                                          hash, journal.PutSnapshot
//	  or, with Options.SnapshotProcess (serve's default), the same in a
//	  child process at idle priority, writing the table the venue ingests
//	journal writer ── group commit + Sync ── onDurable(first, last)
//	(acker goroutine)        │
//	                         └─ hub.PublishBatch(batches up to last) ──> subscribers
//
// The hub is published to from onDurable itself, on the journal's acker
// goroutine (with durability none on the shard goroutine, inside
// journal.Append, which commits there): Publish never blocks, and a
// publisher goroutine of its own would put one more goroutine wake-up
// between a batch becoming durable and its ExecutionReports.
//
// Recovery (Open): for each shard, the latest snapshot is restored (its
// state hash checked) and the journal after it is replayed through the
// engine; every replayed event must equal the journaled one, else the
// venue refuses to start and names the first sequence that differs.
//
// Snapshots (snapshotter.go) are encoded from a shadow engine on a
// goroutine of their own, never on the shard's: the shadow doubles each
// shard's engine memory. With Options.SnapshotProcess the shadow lives in
// a child process per shard instead (snapchild.go).
//
// Instruments: engines number their instruments locally (the shard's
// subset of the configuration, in order). Outside the engines — in
// commands given to Submit and in events coming out of the hub —
// InstrumentID is the instrument's index in the configuration, so the
// FIX and HTTP layers never need to know about shards. The journal keeps
// the engines' own numbering.
package venue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/engine/shard"
	"fxmatch/journal"
	"fxmatch/journal/audit"
)

// ErrUnavailable: the journal cannot write, so the venue takes no more
// commands (clients get 103=99 "unavailable: …").
var ErrUnavailable = errors.New("venue: unavailable: the journal cannot write")

// ErrBusy: the shard's input ring is full (clients get "busy: …").
var ErrBusy = shard.ErrBusy

// ErrUnknownInstrument: Submit was given an instrument the configuration
// does not have.
var ErrUnknownInstrument = errors.New("venue: unknown instrument")

// ErrReplayMismatch: recovery replayed the journal and the engine produced
// different events than the journal holds.
var ErrReplayMismatch = errors.New("venue: replay does not reproduce the journal")

// ErrConfigChanged: the journal was written under another configuration.
var ErrConfigChanged = errors.New("venue: the configuration differs from the one the journal was written with")

// Options configures Open.
type Options struct {
	Config  *config.Config
	DataDir string
	Logger  *slog.Logger
	// Clock returns Unix nanoseconds (nil: the wall clock). Tests inject a
	// fake one.
	Clock func() int64
	// SnapshotEvery is how many commands a shard applies between engine
	// snapshots (default 100,000): it bounds recovery time. Snapshots are
	// taken off the shard goroutine (snapshotter.go).
	SnapshotEvery uint64
	// SnapshotProcess puts each shard's shadow engine, and the encoding
	// of its snapshots, in a child process at the kernel's idle priority
	// (snapchild.go) instead of a goroutine: the program must call
	// RunSnapshotChildIfAsked first thing in main, and the journal must
	// be on a real directory.
	SnapshotProcess bool
	// RingCapacity is each shard's input capacity (default 65536).
	RingCapacity int
	// RingSpin is how long a shard's goroutine keeps polling its empty
	// ring before it parks (default DefaultRingSpin; negative: park after
	// a few dozen checks).
	RingSpin time.Duration
	// MaxBatch bounds a shard's batch (default 256).
	MaxBatch int
	// PendingBatches bounds the batches waiting for durability per shard
	// (default 4096); beyond it the shard goroutine waits.
	PendingBatches int
	// HubQueue is the default subscriber queue length.
	HubQueue int
}

// DefaultRingSpin is how long an idle shard polls its ring before it
// parks: shorter than the ring's own default (shard.DefaultSpin, 50µs).
// A shard spinning through the gaps between commands holds a core; at
// 10,000 orders a second (a command every 50µs) a 50µs spin never
// parks, and on a 2-core machine that core is taken from the FIX
// sessions and the client. BenchmarkPipelinePaced (a command every 50µs,
// CPU of the whole pipeline per command, load 6-10): 50µs spin 16-29 µs,
// 10µs spin 8-10 µs, parking at once 8-12 µs. Parking costs a wake-up
// instead (BenchmarkPipelineRoundTrip p50, Submit to published: 4-6 µs
// spinning, 8-15 µs parked); under bursts (many sessions, 100,000 a
// second) commands come closer than 10µs and the shard rarely parks.
const DefaultRingSpin = 10 * time.Microsecond

// Venue is a running (or ready to run) venue.
type Venue struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	j       *journal.Journal
	hub     *hub.Hub
	shards  []*shardRun
	symbols map[string]engine.InstrumentID
	insts   []engine.Instrument // global numbering
	// where[g] is the shard and local id of global instrument g.
	where []instLoc
	// failed is set once the journal cannot write.
	failed atomic.Pointer[error]
	ran    atomic.Bool
	closed atomic.Bool
	// screener is pre-trade scoring (pretrade.go); nil: none.
	screener atomic.Pointer[screenerBox]
	orders   orderCounters // ops.go
	// raiseTo is the SCHED_FIFO priority a lagging snapshot process is
	// raised to (SetRealtime), 0: the normal policy.
	raiseTo atomic.Int32
}

// SetRealtime tells the venue that its threads run under SCHED_FIFO at
// prio (serve --realtime; 0: the normal policy, the default). A snapshot
// process that falls behind is then raised to the same policy and
// priority instead of the normal one: against real-time threads the
// normal policy gets the CPU only when they leave it, or the kernel's
// share kept for it (about 5%), under full load too little, and the
// snapshots would stop (see Falling behind in snapchild.go).
func (v *Venue) SetRealtime(prio int) { v.raiseTo.Store(int32(prio)) }

type instLoc struct {
	shard int
	local engine.InstrumentID
}

// Open recovers the venue's state from DataDir (creating it if new) and
// returns it ready to Run.
func Open(opts Options) (*Venue, error) {
	if opts.Config == nil {
		return nil, errors.New("venue: no configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = shard.WallClock
	}
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = 100_000
	}
	if opts.RingCapacity == 0 {
		opts.RingCapacity = 1 << 16
	}
	if opts.PendingBatches == 0 {
		opts.PendingBatches = 4096
	}
	if opts.RingSpin == 0 {
		opts.RingSpin = DefaultRingSpin
	}
	cfg := opts.Config
	v := &Venue{opts: opts, cfg: cfg, log: opts.Logger, symbols: map[string]engine.InstrumentID{}}

	dur := journal.DurabilitySync
	if !cfg.Durable() {
		dur = journal.DurabilityNone
	}
	j, err := journal.Open(filepath.Join(opts.DataDir, "journal"), journal.Options{Durability: dur, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	v.j = j
	if err := v.checkConfig(); err != nil {
		j.Close()
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			for _, sr := range v.shards {
				if sr.snap.child != nil {
					sr.snap.child.kill()
				}
			}
			j.Close()
		}
	}()

	// Global instrument numbering: the configuration's order.
	for i := range cfg.Instruments {
		sym := cfg.Instruments[i].Symbol
		v.symbols[sym] = engine.InstrumentID(i)
	}
	v.where = make([]instLoc, len(cfg.Instruments))
	v.insts = make([]engine.Instrument, len(cfg.Instruments))
	v.hub = hub.New(len(cfg.Participants)+1, len(cfg.Instruments))

	now := time.Unix(0, opts.Clock()).UTC()
	for si := range cfg.Shards {
		sr, err := v.openShard(si, now)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", si, err)
		}
		v.shards = append(v.shards, sr)
	}
	ok = true
	return v, nil
}

// checkConfig refuses a configuration that differs from the one the
// journal began with: replay must run under the same rules. A new journal
// records the configuration it starts with.
func (v *Venue) checkConfig() error {
	canon, err := canonicalConfig(v.cfg)
	if err != nil {
		return err
	}
	old, err := v.j.Reader().Meta(journal.MetaConfig)
	if errors.Is(err, journal.ErrNotFound) {
		return v.j.SetMeta(journal.MetaConfig, canon)
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(old, canon) {
		return fmt.Errorf("%w (data dir %s): start with the configuration the journal was written with, or with a new data directory (participants, instruments, credit lines, holidays and shards must stay as they were)", ErrConfigChanged, v.opts.DataDir)
	}
	return nil
}

// canonicalConfig is what replay depends on: every shard's engine
// configuration (trade date aside), as JSON. Passwords, listen addresses
// and throttles may change between runs; the matching rules may not.
func canonicalConfig(cfg *config.Config) ([]byte, error) {
	var ecs []engine.Config
	for si := range cfg.Shards {
		ec, err := cfg.EngineConfig(si, 20000103)
		if err != nil {
			return nil, err
		}
		ec.TradeDate = 0
		ecs = append(ecs, ec)
	}
	return json.Marshal(ecs)
}

// genesisKey names the metadata holding the trade date a shard's engine
// was created with: replay from the start needs it.
func genesisKey(si int) string { return journal.MetaGenesisTradeDate(si) }

// engineConfig is shard si's engine configuration with its genesis trade
// date (fallbackDate for a shard the journal has not started yet).
func engineConfig(cfg *config.Config, r *journal.Reader, si int, fallbackDate engine.Date) (engine.Config, error) {
	date := fallbackDate
	if b, err := r.Meta(genesisKey(si)); err == nil {
		n, perr := strconv.Atoi(string(b))
		if perr != nil {
			return engine.Config{}, fmt.Errorf("venue: bad genesis trade date %q", b)
		}
		date = engine.Date(n)
	} else if !errors.Is(err, journal.ErrNotFound) {
		return engine.Config{}, err
	}
	return cfg.EngineConfig(si, date)
}

// EngineFor rebuilds shard si's engine from the journal: the latest
// snapshot (hash-checked), then every later record replayed and its events
// compared with the journaled ones. It returns the engine and the last
// sequence applied. The replay is journal/audit's (audit.Rebuild), the
// same the regulator's tools run, so the venue accepts at start exactly
// the journals an audit would; a difference wraps ErrReplayMismatch (or
// audit.ErrSnapshotMismatch) and names the shard, sequence and field.
func EngineFor(cfg *config.Config, r *journal.Reader, si int, fallbackDate engine.Date) (*engine.Engine, uint64, error) {
	ec, err := engineConfig(cfg, r, si, fallbackDate)
	if err != nil {
		return nil, 0, err
	}
	eng, last, err := audit.Rebuild(r, uint16(si), ec)
	if errors.Is(err, audit.ErrReplayMismatch) {
		return nil, 0, fmt.Errorf("%w: %w", ErrReplayMismatch, err)
	}
	if err != nil {
		return nil, 0, err
	}
	return eng, last, nil
}

func (v *Venue) openShard(si int, now time.Time) (*shardRun, error) {
	cfg := v.cfg
	r := v.j.Reader()
	startDate := cfg.StartTradeDate(now)
	if _, err := r.Meta(genesisKey(si)); errors.Is(err, journal.ErrNotFound) {
		if err := v.j.SetMeta(genesisKey(si), []byte(strconv.Itoa(int(startDate)))); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	eng, last, err := EngineFor(cfg, r, si, startDate)
	if err != nil {
		return nil, err
	}
	if last > 0 {
		v.log.Info("shard recovered", "shard", si, "seq", last, "live_orders", eng.LiveOrders(), "trade_date", eng.TradeDate(), "took", time.Since(t0))
	}
	sr := &shardRun{v: v, idx: si, eng: eng, lastSnap: last, recoveredDate: eng.TradeDate(), recoveredSeq: last}
	sr.durable.Store(last)
	sr.published.Store(last)
	sr.releaseUpTo = last
	for li, in := range eng.Instruments() {
		g := v.symbols[in.Symbol]
		v.where[g] = instLoc{shard: si, local: engine.InstrumentID(li)}
		v.insts[g] = in
		sr.global = append(sr.global, g)
	}
	sr.pending = make(chan pendingBatch, v.opts.PendingBatches)
	app, err := v.j.Appender(uint16(si), sr.onDurable)
	if err != nil {
		return nil, err
	}
	if app.Next() != last+1 {
		return nil, fmt.Errorf("venue: journal continues at seq %d but replay ended at %d", app.Next(), last)
	}
	sr.app = app
	ring, err := shard.NewRing(shard.InputConfig{Capacity: v.opts.RingCapacity, NextSeq: last + 1, Clock: v.opts.Clock, Spin: v.opts.RingSpin})
	if err != nil {
		return nil, err
	}
	sr.in = ring
	sr.sh, err = shard.New(eng, ring, sr, shard.Options{
		MaxBatch: v.opts.MaxBatch, Clock: v.opts.Clock, AppliedSeq: last,
		NextRoll: cfg.NextRoll, TradeDateAt: cfg.TradeDateAt,
	})
	if err != nil {
		return nil, err
	}
	// The snapshotter last: a snapshot process is the one thing here to
	// undo if Open fails later.
	ec, err := engineConfig(cfg, r, si, startDate)
	if err != nil {
		return nil, err
	}
	snap := eng.AppendSnapshot(nil)
	if v.opts.SnapshotProcess {
		_, format, ok := app.SnapshotTableFile(last + 1)
		if !ok {
			return nil, errors.New("venue: a snapshot process needs the journal on the operating system's filesystem")
		}
		child, err := startSnapChild(childInit{Shard: si, Last: last, Format: format, Config: ec}, snap)
		if err != nil {
			return nil, err
		}
		if child.notIdle != "" {
			v.log.Warn("the shard's snapshot process could not take idle priority; it competes with the venue for CPU",
				"shard", si, "err", child.notIdle)
		} else if !child.canRaise {
			v.log.Warn("the venue cannot raise its snapshot process from idle priority when it falls behind (needs RLIMIT_NICE 20, e.g. systemd LimitNICE=20, or CAP_SYS_NICE): under sustained full load its snapshots may stop until a restart",
				"shard", si)
		}
		sr.snap = newSnapshotter(si, nil, last, app, v.fail, v.log)
		sr.snap.child = child
		sr.snap.raiseTo = &v.raiseTo
	} else {
		shadow, err := shadowFrom(ec, snap)
		if err != nil {
			return nil, err
		}
		sr.snap = newSnapshotter(si, shadow, last, app, v.fail, v.log)
	}
	return sr, nil
}

// shadowFrom makes the snapshotter's shadow of a recovered engine:
// restored from snap, the engine's own snapshot, which the shadow must
// then reproduce byte for byte — the same check recovery makes of a
// stored snapshot. It runs once, at Open, and adds to recovery one
// snapshot encoded, restored and encoded again: BenchmarkRecovery
// (200,000 commands, 41,000 orders resting, load 5.5-6.3) 553-587 ms
// before the shadow, 614-757 ms with it.
func shadowFrom(ec engine.Config, snap []byte) (*engine.Engine, error) {
	shadow, err := engine.Restore(ec, snap)
	if err != nil {
		return nil, fmt.Errorf("venue: shadow engine for snapshots: %w", err)
	}
	if !bytes.Equal(shadow.AppendSnapshot(nil), snap) {
		return nil, fmt.Errorf("venue: shadow engine for snapshots: restored from the engine's snapshot, it snapshots differently")
	}
	return shadow, nil
}

// shardRun is one shard's pipeline: the shard (engine + goroutine), its
// journal appender and the publisher of its durable events.
type shardRun struct {
	v      *Venue
	idx    int
	eng    *engine.Engine // touched only on the shard goroutine
	in     *shard.Ring
	sh     *shard.Shard
	app    *journal.Appender
	global []engine.InstrumentID // local → global instrument id

	// lastSnap is the sequence of the last snapshot asked of snap
	// (shard goroutine).
	lastSnap uint64
	snap     *snapshotter
	// recovered is the engine's trade date and last seq when Open finished.
	recoveredDate engine.Date
	recoveredSeq  uint64

	// pending holds batches whose events wait for durability, in order.
	// Deliver queues a batch before it hands it to the journal, so the
	// batch is there by the time onDurable reports it.
	pending   chan pendingBatch
	durable   atomic.Uint64
	published atomic.Uint64 // the last seq whose events the hub has
	failErr   atomic.Pointer[error]

	// relMu serialises release: onDurable on the journal's goroutine and
	// Run's final release after the journal has closed.
	relMu       sync.Mutex
	relNext     pendingBatch // taken from pending, not yet durable (if relHas)
	relHas      bool
	releaseUpTo uint64
}

type pendingBatch struct {
	last   uint64
	events *hub.Batch // not yet published: the venue's alone
}

// Deliver runs on the shard goroutine for every applied batch: it hands
// the batch to the journal (which encodes and chains it here, then
// commits it), copies its events once into the hub batch the publisher
// will publish, and its commands to the snapshotter, asking it for a
// snapshot after the batch when one is due. Events are translated to
// global instrument ids in that copy only. The commands go to the
// snapshotter only once the journal has them, so that a snapshot is
// never stored ahead of its records.
func (sr *shardRun) Deliver(b *shard.Batch) error {
	hb := sr.v.hub.NewBatch(b.Events)
	for i := range hb.Events {
		hb.Events[i].Instrument = sr.global[hb.Events[i].Instrument]
	}
	last := b.Commands[len(b.Commands)-1].Seq
	sr.pending <- pendingBatch{last: last, events: hb}
	if err := sr.app.Append(b.Commands, b.Events, b.Ends); err != nil {
		sr.v.fail(err)
		return err
	}
	if last-sr.lastSnap >= sr.v.opts.SnapshotEvery {
		sr.lastSnap = last
		sr.snap.add(b.Commands, last, sr.eng.Progress())
	} else {
		sr.snap.add(b.Commands, 0, engine.Progress{})
	}
	return nil
}

// onDurable runs on the journal's goroutine; it must not block. It
// releases the batches that became durable to the hub, in order. Once the
// journal has failed nothing more is published: those events were never
// durable.
func (sr *shardRun) onDurable(first, last uint64, err error) {
	if err != nil {
		// A copy, so that only this branch allocates: storing &err
		// itself would move the parameter to the heap on every call.
		e := err
		sr.failErr.Store(&e)
		sr.v.fail(err)
		return
	}
	sr.durable.Store(last)
	sr.release(last)
}

// release publishes the pending batches up to seq durable. A batch is in
// pending before the journal has it (Deliver), so the channel never has
// to be waited for here.
func (sr *shardRun) release(durable uint64) {
	sr.relMu.Lock()
	defer sr.relMu.Unlock()
	if sr.failErr.Load() != nil {
		return
	}
	for {
		if !sr.relHas {
			select {
			case sr.relNext = <-sr.pending:
				sr.relHas = true
			default:
				return
			}
		}
		if sr.relNext.last > durable {
			return
		}
		sr.v.hub.PublishBatch(sr.relNext.events)
		sr.published.Store(sr.relNext.last)
		sr.relNext, sr.relHas = pendingBatch{}, false
	}
}

func (v *Venue) fail(err error) {
	if v.failed.CompareAndSwap(nil, &err) {
		v.log.Error("JOURNAL FAILED: the venue no longer accepts commands; nothing more will be acknowledged", "err", err)
	}
}

// Err is the journal failure that stopped the venue, or nil.
func (v *Venue) Err() error {
	if p := v.failed.Load(); p != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, *p)
	}
	return nil
}

// Run runs every shard and its publisher until ctx ends or a shard fails.
// It closes the journal before it returns.
func (v *Venue) Run(ctx context.Context) error {
	if !v.ran.CompareAndSwap(false, true) {
		return errors.New("venue: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(v.shards))
	for _, sr := range v.shards {
		go sr.snap.run()
	}
	for _, sr := range v.shards {
		wg.Go(func() {
			if err := sr.sh.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("shard %d: %w", sr.idx, err)
				cancel()
			}
		})
	}
	wg.Wait()
	// The shards have stopped: their snapshotters finish what is queued
	// (the snapshots due in it included) while the journal can still
	// take a snapshot.
	for _, sr := range v.shards {
		sr.snap.stop()
	}
	// What the shards handed the journal is committed
	// and reported durable by Close (a failed journal publishes nothing
	// more); release what is left, in case.
	jerr := v.j.Close()
	for _, sr := range v.shards {
		sr.release(sr.app.Durable())
	}
	v.hub.Close()
	v.closed.Store(true)
	close(errs)
	for err := range errs {
		return err
	}
	return jerr
}

// Submit offers a command. Its Instrument is a global id. Commands not
// tied to one instrument (a mass cancel of everything, a credit change, a
// participant's cancel on disconnect) go to every shard. It returns
// ErrBusy when a shard's input is full and ErrUnavailable once the
// journal has failed; it never blocks.
func (v *Venue) Submit(cmd *engine.Command) error {
	switch cmd.Kind {
	case engine.CmdNewOrder, engine.CmdCancel, engine.CmdReplace, engine.CmdMassCancel, engine.CmdSetCredit:
	default:
		// Ticks and day rolls come from the shards' own timers only: a
		// roll to a date not after the engine's is a broken invariant.
		return fmt.Errorf("venue: %v commands are not taken from outside", cmd.Kind)
	}
	if err := v.Err(); err != nil {
		return err
	}
	broadcast := cmd.Kind == engine.CmdSetCredit || (cmd.Kind == engine.CmdMassCancel && cmd.Scope != engine.MassBySymbol)
	if broadcast {
		// All or nothing is impossible across independent rings; offer to
		// each and report the first failure (the caller retries busy).
		var first error
		for _, sr := range v.shards {
			if err := sr.in.Offer(cmd); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if int(cmd.Instrument) >= len(v.where) {
		return ErrUnknownInstrument
	}
	loc := v.where[cmd.Instrument]
	c := *cmd
	c.Instrument = loc.local
	return v.shards[loc.shard].in.Offer(&c)
}

// Recovered reports shard si's trade date and last applied sequence as
// Open left them (the shard's timer rolls the day at once if it is
// overdue).
func (v *Venue) Recovered(si int) (engine.Date, uint64) {
	return v.shards[si].recoveredDate, v.shards[si].recoveredSeq
}

// Shards is the number of shards: a mass cancel of everything produces one
// EvMassCancelReport per shard.
func (v *Venue) Shards() int { return len(v.shards) }

// SnapshotLine says how snapshots are taken, for a banner: how often,
// and where (the snapshot processes' PIDs, Options.SnapshotProcess).
func (v *Venue) SnapshotLine() string {
	line := fmt.Sprintf("every %d commands per shard; ", v.opts.SnapshotEvery)
	if !v.opts.SnapshotProcess {
		return line + "encoded on a goroutine of the venue (--snapshotter inline)"
	}
	var pids []string
	for _, sr := range v.shards {
		pids = append(pids, strconv.Itoa(sr.snap.child.cmd.Process.Pid))
	}
	return line + "encoded in a process per shard at the kernel's idle priority (PID " + strings.Join(pids, ", ") + ")"
}

// SnapshotStats are shard si's snapshotter's counters.
func (v *Venue) SnapshotStats(si int) SnapshotStats { return v.shards[si].snap.Stats() }

// Hub is where durable events are subscribed to.
func (v *Venue) Hub() *hub.Hub { return v.hub }

// Config is the venue's configuration.
func (v *Venue) Config() *config.Config { return v.cfg }

// Instruments are the instruments in global numbering.
func (v *Venue) Instruments() []engine.Instrument { return v.insts }

// Instrument finds an instrument by symbol.
func (v *Venue) Instrument(sym string) (engine.InstrumentID, bool) {
	id, ok := v.symbols[sym]
	return id, ok
}

// Book is the latest published snapshot of an instrument's book (global
// id); its levels may include the last batch before it is durable.
func (v *Venue) Book(id engine.InstrumentID) *shard.BookSnapshot {
	if int(id) >= len(v.where) {
		return nil
	}
	loc := v.where[id]
	return v.shards[loc.shard].sh.Book(loc.local)
}

// Journal is the venue's journal (checkpoints, metadata such as FIX
// sequence numbers).
func (v *Venue) Journal() *journal.Journal { return v.j }
