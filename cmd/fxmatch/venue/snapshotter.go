package venue

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"fxmatch/engine"
	"fxmatch/journal"
)

// Engine snapshots, off the shard goroutine.
//
// A snapshot is the engine's whole state in canonical form
// (engine.AppendSnapshot): every resting order and the day's ClOrdID
// index, sorted. Taken on the shard goroutine, it stopped matching for
// its whole length — 40-100 ms at 100,000 orders into the day on this
// project's 2-core machine (BenchmarkDeliverSnapshotDue), growing with
// the day's ClOrdIDs — and at 10,000 orders/s that was the venue's
// p99.9. The engine cannot be read while the shard applies commands to
// it, and copying its state would cost about what encoding it does.
//
// So each shard has a snapshotter: a goroutine owning a shadow engine,
// restored at Open from the primary's own snapshot (Open checks that the
// shadow then snapshots to the same bytes). Deliver, once the journal has
// a batch, copies the batch's commands into a chunk of a bounded queue;
// the snapshotter applies them to the shadow — the engine is a
// deterministic state machine, the same commands from the same state
// give the same state: the property replay already rests on — and when
// Deliver marked a chunk with a snapshot due after its last command, it
// encodes, hashes and stores that snapshot (journal PutSnapshot) on its
// own goroutine. The shard pays, per command, a 240-byte copy, and per
// snapshot (and per full chunk) one channel send that may wake the
// snapshotter.
//
// What stays as it was: a snapshot is taken at the same sequence (the
// last of the batch that made one due: Deliver still decides) and is the
// same bytes (the state after that command, canonical), so recovery and
// the regulator's tools read it unchanged. The snapshotter only ever
// sees commands the journal has been handed, so its PutSnapshot follows
// the records it covers into the journal (journal Appender.PutSnapshot
// says why that order survives a crash).
//
// Checking the shadow: at each snapshot the primary's engine.Progress
// (a few counters, O(1)) travels with the chunk and the shadow must show
// the same before its snapshot is stored; a shadow that went apart
// stores no more snapshots (see apply). Whole states are compared in
// the tests (TestSnapshotsAreThePrimarysState), not on the hot path.
//
// Bounds: the queue holds at most snapChunks chunks of snapChunkCommands
// commands: 65,536 commands, 15 MiB, allocated as first needed. A chunk
// goes to the snapshotter when it is full or a snapshot is due, so with
// SnapshotEvery under snapChunkCommands the queue holds fewer commands
// (snapChunks snapshots' worth). At 100,000 commands a second, 65,536
// are 650 ms: room for a snapshot of a day of millions of ClOrdIDs
// (BenchmarkAppendSnapshot: 10 ms of CPU for 200,000) while the shard
// goes on. When the queue is full the shard waits for a chunk
// (back-pressure, counted in SnapshotStats): a command is never dropped,
// since a shadow that missed one would be wrong for the rest of the day.
//
// Cost: the shadow doubles the engine's memory, and every command is
// applied twice, the second time on the snapshotter's goroutine:
// BenchmarkPipelineFlood, CPU per command of the whole pipeline, 2.1-2.7
// µs before and 2.6-3.5 µs after (load 6.7-7.5), against the tens of
// microseconds per order of the FIX venue around it.
//
// The snapshot's Pebble write: a snapshot is one multi-megabyte value,
// and written as a batch it went through the WAL and the memtable under
// Pebble's commit pipeline, holding the records the shard committed
// meanwhile (inline, with durability none; in the writer's next group,
// with sync) for tens of milliseconds. The journal now stores it by
// sstable ingestion (journal/snapingest.go), same key, same value: the
// shard's commits wait for about one MANIFEST fsync, and the
// snapshotter's goroutine pays the table's write and fsyncs (with one Go
// processor, the table's run with a spare one, yield.Blocking; the WAL's
// and the MANIFEST's still keep the shard off it for their length).
// BenchmarkDeliverSnapshotDue, durability none, the longest batch
// delivered while a snapshot of a 100,000-order day is taken and stored
// (3 runs, load 1.3-1.5): -cpu 1, 36-39 ms before, 0.3-11.4 ms after;
// -cpu 2, 25-48 ms before, 1.5-2.5 ms after; during-p99 50-70 µs both.
// With GOMAXPROCS 1 the snapshotter must also let the goroutines waiting
// for the network run while it works: see Yielding below.
//
// A partly filled chunk waits until it fills, a snapshot is due or the
// venue stops: the shadow lags the primary by up to a chunk, which delays
// no snapshot (a due snapshot sends its chunk at once). At a clean stop
// the snapshotter applies what is queued and takes the snapshots due in
// it before the journal closes; a snapshot is one Pebble write (one
// ingested table), so none is ever torn.
const (
	snapChunkCommands = 1024
	snapChunks        = 64
)

// snapChunk is a run of consecutive sequenced commands on their way to
// the shadow engine; snapAt, when not 0, is the sequence of the last of
// them and asks for a snapshot after it.
type snapChunk struct {
	cmds   []engine.Command
	snapAt uint64
	// want is the primary engine's Progress after snapAt: the shadow must
	// show the same before its snapshot is stored.
	want engine.Progress
}

// snapshotter is a shard's snapshot taker (see above).
type snapshotter struct {
	shard int
	app   *journal.Appender
	// raiseTo: the venue's Venue.raiseTo (snapshot process only).
	raiseTo *atomic.Int32
	fail    func(error) // makes the venue unavailable (Venue.fail)
	log     *slog.Logger

	// full carries chunks to the snapshotter, in sequence order; free
	// brings them back. Each has room for every chunk there can be, so
	// neither send ever blocks.
	full chan *snapChunk
	free chan *snapChunk
	done chan struct{} // closed when run returns

	// Owned by the shard goroutine.
	cur  *snapChunk
	made int // chunks allocated so far, at most snapChunks

	// Owned by the snapshotter goroutine (and by Open before it runs;
	// readable by anyone once done is closed).
	eng    *engine.Engine // the shadow
	next   uint64         // the sequence the next command must carry
	events []engine.Event // the shadow's events, discarded
	buf    []byte         // the snapshot being encoded, reused
	// broken: PutSnapshot failed, the shadow diverged or the snapshot
	// process is gone: take no more.
	broken atomic.Bool
	// child, when not nil, is the snapshot process (snapchild.go): eng
	// is nil and runChild runs instead of run.
	child *snapChild
	// childGone is set, and childGoneCh closed, once the child is lost;
	// stopping once runChild has handed it everything.
	childGone   atomic.Bool
	childGoneCh chan struct{}
	stopping    atomic.Bool
	// stopWait is closed when the venue stops: the ingester stores what
	// it has without waiting for the WAL (ingestTables).
	stopWait chan struct{}
	// table is the written table the reader offers the ingester, if any;
	// tableOffered tells it one is there.
	tableMu      sync.Mutex
	table        *writtenTable
	tableOffered chan struct{}
	// lastPause is when yield last paused (see Yielding).
	lastPause time.Time
	// hurry: the shard waits for the snapshotter (its queue is full) or
	// the venue stops: nothing to pause for, since nothing matches until
	// the snapshotter is through (see Yielding).
	hurry atomic.Bool

	// hookBeforeSnapshot, when set (by tests), runs on the snapshotter's
	// goroutine before each snapshot is encoded.
	hookBeforeSnapshot func(seq uint64)

	stats snapCounters
}

type snapCounters struct {
	taken      atomic.Uint64
	lastSeq    atomic.Uint64
	applied    atomic.Uint64
	waits      atomic.Uint64
	waitNanos  atomic.Int64
	diverged   atomic.Bool
	pauses     atomic.Uint64
	childLost  atomic.Bool
	superseded atomic.Uint64
	boosts     atomic.Uint64
}

// SnapshotStats are a shard's snapshotter's counters since Open.
type SnapshotStats struct {
	// Taken is how many snapshots it has stored; LastSeq is the sequence
	// of the newest (0: none since Open).
	Taken, LastSeq uint64
	// Applied is the last sequence the shadow engine has applied.
	Applied uint64
	// Waits is how many times the shard goroutine found the snapshotter's
	// queue full and waited for room, for WaitTime in all: the snapshotter
	// (its encoding, or the journal under it) was not keeping up.
	Waits    uint64
	WaitTime time.Duration
	// Diverged: at a snapshot the shadow engine's Progress differed from
	// the primary's — a bug (the engine is meant to be deterministic) —
	// and no snapshot has been stored since (see apply).
	Diverged bool
	// Pauses is how many times the snapshotter slept to let the scheduler
	// poll the network (see Yielding).
	Pauses uint64
	// ProcessLost: the shard's snapshot process (Options.SnapshotProcess)
	// went away, and no snapshot has been stored since.
	ProcessLost bool
	// Superseded is how many snapshots a snapshot process wrote that were
	// not stored because a newer one came while they waited for the WAL.
	Superseded uint64
	// Boosts is how many times the snapshot process, fallen behind, was
	// raised from idle to normal priority (see snapchild.go).
	Boosts uint64
}

// newSnapshotter makes shard's snapshotter around shadow, an engine in the
// state after command last.
func newSnapshotter(shard int, shadow *engine.Engine, last uint64, app *journal.Appender, fail func(error), log *slog.Logger) *snapshotter {
	s := &snapshotter{
		shard: shard, app: app, fail: fail, log: log, eng: shadow, next: last + 1,
		full: make(chan *snapChunk, snapChunks),
		free: make(chan *snapChunk, snapChunks),
		done: make(chan struct{}), childGoneCh: make(chan struct{}),
		stopWait: make(chan struct{}), tableOffered: make(chan struct{}, 1),
	}
	s.stats.applied.Store(last)
	return s
}

// add queues a batch's commands (Deliver, on the shard goroutine, after
// the journal has them); snapAt, when not 0, is the batch's last sequence
// and a snapshot is due after it, want the primary engine's Progress
// then. The commands are copied: the batch's slice is reused. It blocks
// only while the queue is full.
func (s *snapshotter) add(cmds []engine.Command, snapAt uint64, want engine.Progress) {
	for len(cmds) > 0 {
		if s.cur != nil && len(s.cur.cmds) == cap(s.cur.cmds) {
			s.full <- s.cur
			s.cur = nil
		}
		if s.cur == nil {
			s.cur = s.chunk()
		}
		n := copy(s.cur.cmds[len(s.cur.cmds):cap(s.cur.cmds)], cmds)
		s.cur.cmds = s.cur.cmds[:len(s.cur.cmds)+n]
		cmds = cmds[n:]
	}
	if snapAt != 0 && s.cur != nil {
		s.cur.snapAt, s.cur.want = snapAt, want
		s.full <- s.cur
		s.cur = nil
	}
}

// chunk returns an empty chunk: a recycled one, a new one while fewer
// than snapChunks exist, else the next one the snapshotter frees.
func (s *snapshotter) chunk() *snapChunk {
	select {
	case c := <-s.free:
		return c
	default:
	}
	if s.made < snapChunks {
		s.made++
		return &snapChunk{cmds: make([]engine.Command, 0, snapChunkCommands)}
	}
	t0 := time.Now()
	s.hurry.Store(true)
	s.stats.waits.Add(1) // counted as it starts: a wait may be long
	c := <-s.free
	s.hurry.Store(false)
	s.stats.waitNanos.Add(int64(time.Since(t0)))
	return c
}

// stop hands over the partly filled chunk, lets the snapshotter finish
// what is queued and waits for it. It runs once the shard goroutine has
// returned (it takes over the shard's side) and before the journal
// closes.
func (s *snapshotter) stop() {
	if s.cur != nil && len(s.cur.cmds) > 0 {
		s.full <- s.cur
	}
	s.cur = nil
	s.hurry.Store(true)
	close(s.full)
	<-s.done
}

// run is the snapshotter's goroutine: until stop, it applies each chunk
// to the shadow and takes the snapshot the chunk asks for.
func (s *snapshotter) run() {
	if s.child != nil {
		s.runChild()
		return
	}
	defer close(s.done)
	for c := range s.full {
		s.apply(c)
		c.cmds, c.snapAt, c.want = c.cmds[:0], 0, engine.Progress{}
		s.free <- c
	}
}

func (s *snapshotter) apply(c *snapChunk) {
	for i := range c.cmds {
		cmd := &c.cmds[i]
		if cmd.Seq != s.next {
			panic(fmt.Sprintf("venue: shard %d snapshotter given seq %d, expected %d: the shadow engine would diverge", s.shard, cmd.Seq, s.next))
		}
		s.events = s.eng.Apply(cmd, s.events[:0])
		s.next++
		if i%snapApplyYield == snapApplyYield-1 {
			s.yield()
		}
	}
	s.stats.applied.Store(s.next - 1)
	if c.snapAt == 0 {
		return
	}
	if c.snapAt != s.next-1 {
		panic(fmt.Sprintf("venue: shard %d snapshot asked after seq %d, the shadow is at %d", s.shard, c.snapAt, s.next-1))
	}
	if s.broken.Load() {
		return
	}
	if got := s.eng.Progress(); got != c.want {
		s.diverged(fmt.Sprintf("at seq %d the shadow shows %+v, the primary %+v", c.snapAt, got, c.want))
		return
	}
	if s.hookBeforeSnapshot != nil {
		s.hookBeforeSnapshot(c.snapAt)
	}
	s.buf = s.eng.AppendSnapshotYielding(s.buf[:0], s.yield)
	s.stored(c.snapAt, s.app.PutSnapshot(c.snapAt, hashYielding(s.buf, s.yield), s.buf))
}

// stored counts the snapshot at seq stored, or, given the error that
// stopped it, stops the snapshots and fails the venue: the journal has
// failed (or closed under us) and the venue stops taking commands; the
// queue is still drained, so the shard never waits on it.
func (s *snapshotter) stored(seq uint64, err error) {
	if err != nil {
		s.broken.Store(true)
		s.fail(err)
		return
	}
	s.stats.taken.Add(1)
	s.stats.lastSeq.Store(seq)
}

// diverged stops the snapshots when the shadow, at a snapshot, shows other
// counters than the primary. Not a panic: the shard's engine, what the
// venue trades on and journals, is not in question, and the snapshots
// stored so far were checked like this one. A restart recovers from the
// last of them and replays the journal (checking every event), so what is
// lost is only recovery time. Stopping the venue would lose the day's
// trading over a snapshot.
func (s *snapshotter) diverged(what string) {
	s.broken.Store(true)
	s.stats.diverged.Store(true)
	s.log.Error("SNAPSHOTS STOPPED: the snapshotter's shadow engine went apart from the shard's engine (a determinism bug); no snapshot is stored until a restart",
		"shard", s.shard, "diverged", what)
}

// Yielding. The snapshotter's work is tens of milliseconds per snapshot
// (more with the day's index) and the Go scheduler has no priorities: on
// a processor it shares with a shard's goroutine (serve --procs 1, the
// bench's default on 2 cores) a goroutine that never blocks runs until
// the scheduler preempts it, 10 ms later, and the shard, woken by the
// next order, waits that long. Measured before this (bench fix, 1
// session, 10k/s, --snapshot-every=20000, runtime trace): the
// snapshotter ran in slices of 17-27 ms. So it passes runtime.Gosched
// every few tens of microseconds of its work: every snapApplyYield
// commands it applies, inside the snapshot's encoding
// (engine.AppendSnapshotYielding) and between the pieces of its hash
// (hashYielding). Gosched with nobody waiting costs a few hundred
// nanoseconds.
//
// Gosched alone lets through the goroutines others have readied (the
// shard woken by an order), not those waiting for the network: it puts
// the snapshotter on the global run queue, which the scheduler serves
// before it polls the network (runtime.findRunnable, Go 1.26), so with
// GOMAXPROCS 1 a FIX session's reader would be found only by sysmon's
// poll, up to 10 ms later. So every snapPauseEvery of its time the
// snapshotter also sleeps snapPause: parked on a timer it leaves the
// run queues empty, and the scheduler polls the network before it comes
// back to it. A pause with the venue otherwise idle lasts about a
// millisecond (the poller's shortest wait), which only stretches the
// snapshot's wall time; under load others run meanwhile. It does not
// pause while the shard waits for it (a full queue) or the venue stops
// (hurry): then matching waits for the snapshotter, and a pause would
// only stretch the wait (a review measured a full queue drained in 468
// ms of wall time for 57 ms of work with the pauses).
// BenchmarkNetWakeWhileSnapshotting (a goroutine working like this one
// beside a reader of a loopback socket, GOMAXPROCS 1, -benchtime 300x,
// load ~3): the reader's wait after its byte arrived, Gosched alone p50
// 9.95-9.97 ms, p99 13.8-15.0 ms (sysmon's poll); with these pauses p50
// 73-84 µs, p99 129-151 µs (pausing every 200 µs: p50 243 µs).
const (
	snapApplyYield = 64
	snapHashPiece  = 256 << 10 // ~100 µs of SHA-256 here
	snapPauseEvery = 50 * time.Microsecond
	snapPause      = 10 * time.Microsecond
)

// yield is the snapshotter's yield: see Yielding.
func (s *snapshotter) yield() {
	runtime.Gosched()
	if s.hurry.Load() {
		return
	}
	if now := time.Now(); now.Sub(s.lastPause) >= snapPauseEvery {
		time.Sleep(snapPause)
		s.lastPause = time.Now()
		s.stats.pauses.Add(1)
	}
}

// hashYielding is sha256.Sum256(b), calling yield between pieces of b.
func hashYielding(b []byte, yield func()) journal.Hash {
	h := sha256.New()
	for len(b) > 0 {
		n := min(len(b), snapHashPiece)
		h.Write(b[:n])
		b = b[n:]
		if len(b) > 0 {
			yield()
		}
	}
	var out journal.Hash
	h.Sum(out[:0])
	return out
}

// Stats returns the snapshotter's counters. Safe from any goroutine.
func (s *snapshotter) Stats() SnapshotStats {
	return SnapshotStats{
		Taken:    s.stats.taken.Load(),
		LastSeq:  s.stats.lastSeq.Load(),
		Applied:  s.stats.applied.Load(),
		Waits:    s.stats.waits.Load(),
		WaitTime: time.Duration(s.stats.waitNanos.Load()),
		Diverged: s.stats.diverged.Load(),
		Pauses:   s.stats.pauses.Load(),

		ProcessLost: s.stats.childLost.Load(),
		Superseded:  s.stats.superseded.Load(),
		Boosts:      s.stats.boosts.Load(),
	}
}
