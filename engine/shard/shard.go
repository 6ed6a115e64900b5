// Package shard is the thin shell around one matching engine: the only
// goroutine that touches the engine, the sequenced input it reads from,
// the timers that turn the passage of time into commands, and the
// lock-free snapshots through which everyone else reads the books.
//
//	producers ──Offer──> Input ──Poll (sequenced batch)──> Shard.Run ──Apply──> engine
//	(gateways,           (Ring, or a                        │
//	 shard timer)         JetStream stream)                 ├──Deliver(batch)──> Sink (journal, fan-out)
//	                                                        └──publish──> BookSnapshot per instrument
//
// The engine stays a pure state machine (no clock, no goroutines): time
// reaches it only as the Time of sequenced commands, and the shard's timer
// turns "a GTD order is due" and "it is 17:00 in New York" into CmdTick
// and CmdRollDay commands offered through the same Input as everything
// else. So the journal holds them like any other input, and replaying the
// journal reproduces the same expiries and rolls at the same sequence
// numbers.
package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"fxmatch/engine"
)

// Sink takes each batch after the engine has applied it: the journal (which
// makes it durable, then releases acknowledgements) or a test.
type Sink interface {
	// Deliver is called on the shard's goroutine once per batch, in Seq
	// order. The batch and its slices belong to the shard and are reused
	// for the next batch as soon as Deliver returns (like a bufio.Scanner's
	// Bytes): a sink that needs anything later must copy it. A non-nil
	// error stops the shard (Run returns it): the engine has already
	// applied a batch the sink could not take, so the shard's state is
	// ahead of the journal and only a restart from the journal is safe.
	Deliver(b *Batch) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(b *Batch) error

// Deliver implements Sink.
func (f SinkFunc) Deliver(b *Batch) error { return f(b) }

// Batch is one Poll's worth of sequenced commands and the events the
// engine produced for them.
type Batch struct {
	// Commands in Seq order (contiguous).
	Commands []engine.Command
	// Events of all the commands, in order.
	Events []engine.Event
	// Ends[i] is where command i's events end in Events: they are
	// Events[Ends[i-1]:Ends[i]], with Ends[-1] taken as 0.
	Ends []int
}

// EventsOf returns the events of Commands[i] (aliasing Events).
func (b *Batch) EventsOf(i int) []engine.Event {
	lo := 0
	if i > 0 {
		lo = b.Ends[i-1]
	}
	return b.Events[lo:b.Ends[i]]
}

// Options configures a shard. The zero value is usable: default batch,
// wall clock, no trading-day roll.
type Options struct {
	// MaxBatch bounds the commands taken per Poll, and so the events held
	// per batch and the time between two snapshot publications (default
	// 256, at most 65536).
	MaxBatch int
	// Clock returns Unix nanoseconds; nil is the wall clock. It must be the
	// Input's clock: the timer compares it with GTD expiries and roll
	// instants, the Input stamps commands with it.
	Clock func() int64
	// NextRoll returns the first trading-day roll instant strictly after t
	// (17:00 New York), and TradeDateAt the trade date in force at t (the
	// next one from the roll instant on). Both or neither: without them the
	// shard never rolls the day.
	NextRoll    func(t time.Time) time.Time
	TradeDateAt func(t time.Time) engine.Date
	// TimerSleepMax caps how long the timer sleeps before it looks at the
	// clock again (default 10ms). It is what bounds the delay when the
	// clock does not move at wall speed (a fake clock in tests, a stepped
	// wall clock); otherwise the timer wakes at the instant it is due.
	TimerSleepMax time.Duration
	// AppliedSeq is the Seq of the last command the engine has already
	// applied (0 for a new engine; after recovery, the journal's last).
	// The first command polled must be AppliedSeq+1.
	AppliedSeq uint64
}

const (
	defaultMaxBatch = 256
	maxMaxBatch     = 1 << 16
	// busyRetry is how soon the timer offers again when the input was
	// full: the consumer is evidently busy, and a tick or roll that waits a
	// millisecond behind a full ring loses nothing.
	busyRetry = time.Millisecond
	// minTimerSleep keeps a misbehaving NextRoll (one that returns an
	// instant not after t) from spinning the timer.
	minTimerSleep = 50 * time.Microsecond
)

// Shard owns one engine and runs it on one goroutine (Run).
type Shard struct {
	eng  *engine.Engine
	in   Input
	sink Sink
	opts Options

	// Owned by the Run goroutine.
	cmds      []engine.Command
	batch     Batch
	lastSeq   uint64
	lastTime  int64
	dirty     []bool
	dirtyList []engine.InstrumentID
	trades    []Trade
	levels    []engine.Level // scratch for snapshots

	// Shared.
	books    []atomic.Pointer[BookSnapshot]
	applied  atomic.Uint64
	deadline atomic.Int64  // the engine's NextExpiry after the last batch
	kick     chan struct{} // 1-buffered: the deadline moved earlier
	running  atomic.Bool
}

// New builds a shard around eng, which it owns from now on: nothing else
// may call the engine's methods. The engine may hold state (recovery), in
// which case opts.AppliedSeq says up to which command.
func New(eng *engine.Engine, in Input, sink Sink, opts Options) (*Shard, error) {
	if eng == nil || in == nil || sink == nil {
		return nil, errors.New("shard: New needs an engine, an input and a sink")
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = defaultMaxBatch
	}
	if opts.MaxBatch < 0 || opts.MaxBatch > maxMaxBatch {
		return nil, fmt.Errorf("shard: MaxBatch %d must be between 1 and %d", opts.MaxBatch, maxMaxBatch)
	}
	if (opts.NextRoll == nil) != (opts.TradeDateAt == nil) {
		return nil, errors.New("shard: NextRoll and TradeDateAt go together")
	}
	if opts.Clock == nil {
		opts.Clock = WallClock
	}
	if opts.TimerSleepMax <= 0 {
		opts.TimerSleepMax = 10 * time.Millisecond
	}
	n := len(eng.Instruments())
	s := &Shard{
		eng: eng, in: in, sink: sink, opts: opts,
		cmds:      make([]engine.Command, opts.MaxBatch),
		lastSeq:   opts.AppliedSeq,
		dirty:     make([]bool, n),
		dirtyList: make([]engine.InstrumentID, 0, n),
		trades:    make([]Trade, n),
		books:     make([]atomic.Pointer[BookSnapshot], n),
		kick:      make(chan struct{}, 1),
	}
	s.batch.Ends = make([]int, 0, opts.MaxBatch)
	s.batch.Events = make([]engine.Event, 0, 4*opts.MaxBatch)
	s.applied.Store(opts.AppliedSeq)
	for i := range n {
		s.snapshot(engine.InstrumentID(i))
	}
	s.deadline.Store(eng.NextExpiry())
	return s, nil
}

// Book returns the latest snapshot of an instrument's book, nil for an
// unknown instrument. Safe from any goroutine; never blocks the matcher.
func (s *Shard) Book(id engine.InstrumentID) *BookSnapshot {
	if int(id) >= len(s.books) {
		return nil
	}
	return s.books[id].Load()
}

// Applied is the Seq of the last command applied and delivered to the sink.
func (s *Shard) Applied() uint64 { return s.applied.Load() }

// Run is the shard's goroutine: it polls the input, applies each batch,
// delivers it to the sink and publishes snapshots, until the input is
// closed (nil), ctx is done (ctx's error) or the sink or input fails (that
// error). Cancelling ctx closes the input; commands it had accepted are
// still applied and delivered before Run returns, so an accepted command
// is never silently dropped. Run closes the input when it returns for any
// reason, so producers get ErrClosed rather than ErrBusy forever. Run may
// be called once.
func (s *Shard) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("shard: Run called twice")
	}
	defer s.in.Close()
	stopClose := context.AfterFunc(ctx, func() { s.in.Close() })
	defer stopClose()

	tctx, stopTimer := context.WithCancel(ctx)
	var wg sync.WaitGroup
	date := s.eng.TradeDate() // read here: the timer must not touch the engine
	wg.Go(func() { s.timer(tctx, date) })
	defer wg.Wait()
	defer stopTimer()

	for {
		n, err := s.in.Poll(s.cmds)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("shard: input: %w", err)
		}
		s.apply(s.cmds[:n])
		if err := s.sink.Deliver(&s.batch); err != nil {
			return fmt.Errorf("shard: sink: %w", err)
		}
		s.publish()
	}
}

// apply runs a batch through the engine into s.batch.
func (s *Shard) apply(cmds []engine.Command) {
	b := &s.batch
	b.Commands = cmds
	b.Events = b.Events[:0]
	b.Ends = b.Ends[:0]
	for i := range cmds {
		c := &cmds[i]
		// The input's contract; the engine trusts it, so check it here
		// where it is cheap and a breach is a bug, not bad input.
		if c.Seq != s.lastSeq+1 || c.Time < s.lastTime {
			panic(fmt.Sprintf("shard: input broke its contract: command seq %d time %d after seq %d time %d",
				c.Seq, c.Time, s.lastSeq, s.lastTime))
		}
		s.lastSeq, s.lastTime = c.Seq, c.Time
		if j := i + engine.PrefetchAhead; j < len(cmds) {
			s.eng.Prefetch(&cmds[j])
		}
		b.Events = s.eng.Apply(c, b.Events)
		b.Ends = append(b.Ends, len(b.Events))
	}
	for i := range b.Events {
		ev := &b.Events[i]
		switch ev.Kind {
		case engine.EvLevel:
			s.markDirty(ev.Instrument)
		case engine.EvTrade:
			s.markDirty(ev.Instrument)
			s.trades[ev.Instrument] = Trade{
				TradeID: ev.TradeID, Seq: ev.Seq, Time: ev.Time,
				Price: ev.LastPx, Qty: ev.LastQty, Aggressor: ev.Side,
			}
		}
	}
}

func (s *Shard) markDirty(id engine.InstrumentID) {
	if !s.dirty[id] {
		s.dirty[id] = true
		s.dirtyList = append(s.dirtyList, id)
	}
}

// publish makes the batch's effects visible to readers: snapshots of the
// books it changed, the applied sequence, and the next GTD expiry for the
// timer. It runs after the sink has taken the batch, so nobody sees a book
// the journal has not been handed.
func (s *Shard) publish() {
	for _, id := range s.dirtyList {
		s.snapshot(id)
		s.dirty[id] = false
	}
	s.dirtyList = s.dirtyList[:0]
	s.applied.Store(s.lastSeq)
	next := s.eng.NextExpiry()
	if old := s.deadline.Swap(next); next != 0 && next != old {
		// The timer may be asleep until the old deadline, or for its
		// maximum after ticking for it: wake it to look again.
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// snapshot builds and publishes an instrument's snapshot: two allocations
// (the snapshot and one array holding both sides).
func (s *Shard) snapshot(id engine.InstrumentID) {
	s.levels = s.eng.Levels(id, engine.Buy, 0, s.levels[:0])
	nb := len(s.levels)
	s.levels = s.eng.Levels(id, engine.Sell, 0, s.levels)
	lv := make([]engine.Level, len(s.levels))
	copy(lv, s.levels)
	s.books[id].Store(&BookSnapshot{
		Instrument: id,
		Seq:        s.lastSeq,
		Time:       s.lastTime,
		Bids:       lv[:nb:nb],
		Asks:       lv[nb:],
		RefPrice:   s.eng.RefPrice(id),
		LastTrade:  s.trades[id],
	})
}

// timer turns time into commands. It never touches the engine: it reads
// the deadline the Run goroutine publishes and offers CmdTick and
// CmdRollDay through the Input like any producer, so they are sequenced
// and journaled like everything else. date is the engine's trade date when
// Run started; the timer keeps its own copy from then on (it is the only
// producer of rolls).
func (s *Shard) timer(ctx context.Context, date engine.Date) {
	t := time.NewTimer(s.opts.TimerSleepMax)
	defer t.Stop()
	var tickedFor int64 // the expiry a tick was offered for; never twice
	for {
		now := s.opts.Clock()
		wait := s.opts.TimerSleepMax
		offer := func(cmd *engine.Command) bool {
			err := s.in.Offer(cmd)
			if err != nil && !errors.Is(err, ErrClosed) {
				wait = min(wait, busyRetry) // busy: try again soon
			}
			return err == nil
		}
		if s.opts.TradeDateAt != nil {
			if td := s.opts.TradeDateAt(time.Unix(0, now).UTC()); td > date {
				// Also covers a venue that was down across a roll: the
				// first look at the clock finds the day overdue.
				if offer(&engine.Command{Kind: engine.CmdRollDay, TradeDate: td}) {
					date = td
				}
			}
			next := s.opts.NextRoll(time.Unix(0, now).UTC()).UnixNano()
			wait = min(wait, time.Duration(next-now))
		}
		if d := s.deadline.Load(); d != 0 && d != tickedFor {
			if now >= d {
				if offer(&engine.Command{Kind: engine.CmdTick}) {
					tickedFor = d
				}
			} else {
				wait = min(wait, time.Duration(d-now))
			}
		}
		t.Reset(max(wait, minTimerSleep))
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}
