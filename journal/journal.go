package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/engine"
	"fxmatch/internal/metrics"
)

// Durability says when the writer acknowledges a commit.
type Durability uint8

const (
	// DurabilitySync (the default) acknowledges a group commit only after
	// Pebble has synced it to the WAL (pebble.Sync).
	DurabilitySync Durability = iota
	// DurabilityNone writes without syncing and acknowledges at once. A
	// crash of the process, not only of the machine, can lose
	// acknowledged records: Pebble keeps an unsynced record in its WAL
	// block in process memory until the block fills (32 KiB). For
	// benchmarks only; Open logs it at error level.
	DurabilityNone
)

func (d Durability) String() string {
	switch d {
	case DurabilitySync:
		return "sync"
	case DurabilityNone:
		return "none"
	}
	return fmt.Sprintf("durability(%d)", uint8(d))
}

// ParseDurability parses "sync" or "none".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "sync", "":
		return DurabilitySync, nil
	case "none":
		return DurabilityNone, nil
	}
	return 0, fmt.Errorf("journal: unknown durability %q (want sync or none)", s)
}

// Options configures a journal. The zero value is the production default.
type Options struct {
	// Durability is DurabilitySync unless a benchmark asks otherwise.
	Durability Durability
	// Logger receives the journal's loud messages (nil: slog.Default()).
	Logger *slog.Logger

	// MaxQueueBytes and MaxQueueBatches bound what producers may have
	// queued for the writer (defaults 16 MiB — four full group commits —
	// and 1024). When either is
	// reached Append blocks until the writer has taken a group commit:
	// that is the back-pressure that stops the shard goroutine, fills its
	// input ring, and turns into "busy" rejects at the gateways. A batch
	// larger than MaxQueueBytes is still admitted into an empty queue.
	MaxQueueBytes   int
	MaxQueueBatches int
	// MaxCommitBytes and MaxCommitRecords bound one group commit (defaults
	// 4 MiB and 65536): the writer takes queued batches until the next one
	// would exceed either (it always takes at least one).
	MaxCommitBytes   int
	MaxCommitRecords int
	// MaxBlockBytes bounds one block value (default 1 MiB). The records of
	// one shard in one group commit share a block up to this size.
	MaxBlockBytes int
	// KeepSnapshots is how many snapshots per shard survive pruning
	// (default 2). The journal itself is never pruned.
	KeepSnapshots int

	// MemTableSize is Pebble's memtable size (default 64 MiB): journal
	// writes are sequential, so a large memtable only means fewer, larger
	// flushes.
	MemTableSize uint64
	// FS is the filesystem Pebble runs on (nil: the operating system's).
	// Tests inject pebble's errorfs here to make writes or syncs fail.
	FS vfs.FS
}

func (o *Options) withDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxQueueBytes, 16<<20)
	def(&o.MaxQueueBatches, 1024)
	def(&o.MaxCommitBytes, 4<<20)
	def(&o.MaxCommitRecords, 1<<16)
	def(&o.MaxBlockBytes, 1<<20)
	def(&o.KeepSnapshots, 2)
	if o.MemTableSize == 0 {
		o.MemTableSize = 64 << 20
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
}

// formatMarker is the value under the 'V' key: a name and the format
// version, so a directory of another program or version is refused.
const formatMarker = "fxmatch-journal\x00\x01"

// Journal is an open journal: one Pebble database holding the record
// chains of any number of shards, their snapshots and metadata, and the
// writer and acker goroutines that group-commit them.
//
// Lock order: Journal.mu is the only lock; callbacks run without it.
type Journal struct {
	db   *pebble.DB
	dir  string
	opts Options
	log  *slog.Logger
	wo   *pebble.WriteOptions
	// popts are the options db was opened with, defaults filled in: the
	// snapshot tables are written with the writer options they imply
	// (see snapshotTableOptions).
	popts *pebble.Options
	// walGen counts the WALs Pebble has made (IngestSnapshot).
	walGen *walGeneration

	// failed is set once, by the writer, when a write or sync failed; it
	// holds the ErrUnavailable error every later call returns.
	failed atomic.Pointer[error]

	mu          sync.Mutex
	nonEmpty    sync.Cond // the writer waits for work
	notFull     sync.Cond // producers wait for room
	queue       []*segment
	queuedBytes int
	free        []*segment
	freeBytes   int
	closing     bool
	appenders   map[uint16]*Appender
	// views counts the open SnapshotReaders; Close waits for them (Pebble
	// refuses to close with snapshots open), signalled on viewClosed.
	views      int
	viewClosed sync.Cond

	// inline guards the writes Appenders make on their own goroutines
	// (DurabilityNone's commits, see commitInline; snapshot ingestions,
	// see PutSnapshot): each holds it shared while it writes to Pebble;
	// Close sets shut, then takes it exclusively, so no write is under
	// way or can start when the database closes.
	inline sync.RWMutex
	shut   atomic.Bool

	// The commit pipeline: the writer builds and applies group commits,
	// the acker waits for their syncs and acknowledges them, in order.
	jobs     chan *commitJob // writer → acker
	freeJobs chan *commitJob // acker → writer; its size bounds the commits in flight
	done     chan struct{}   // closed when the acker (the last to stop) has exited

	// Owned by the writer goroutine.
	blk  []*segment
	used []bool

	stats writerStats
	// paced counts the pauses of Pebble's flushes and compactions (pacedFS).
	paced *atomic.Uint64
}

// writerStats are counters the writer keeps (read by Bench and Stats).
type writerStats struct {
	commits atomic.Uint64
	records atomic.Uint64
	bytes   atomic.Uint64
	blocks  atomic.Uint64
	// commitTime: nanoseconds from the writer taking a group commit to
	// the acker seeing it durable (the build, the WAL write and the sync,
	// and any wait behind the previous group's sync).
	commitTime *metrics.Histogram
	// snapshotWALSyncs: Stats.SnapshotWALSyncs.
	snapshotWALSyncs atomic.Uint64
}

// Stats is a snapshot of the writer's counters since Open.
type Stats struct {
	Commits uint64 // Pebble batches committed
	Records uint64 // records made durable
	Bytes   uint64 // block bytes written (values, excluding keys)
	Blocks  uint64 // block keys written
	// BackgroundPauses is how many times Pebble's flushes and compactions
	// paused to let the venue's goroutines run (see pacedFS).
	BackgroundPauses uint64
	// SnapshotWALSyncs is how many times storing a snapshot synced the WAL
	// (DurabilityNone, no rotation since the caller's mark: IngestSnapshot).
	SnapshotWALSyncs uint64
}

// CommitTimes is the histogram of group commit times in nanoseconds:
// from the writer taking a group to its sync acknowledged, one
// observation per durable group commit. It is live (read it with
// Snapshot).
func (j *Journal) CommitTimes() *metrics.Histogram { return j.stats.commitTime }

// Stats returns the writer's counters.
func (j *Journal) Stats() Stats {
	return Stats{
		Commits:          j.stats.commits.Load(),
		Records:          j.stats.records.Load(),
		Bytes:            j.stats.bytes.Load(),
		Blocks:           j.stats.blocks.Load(),
		BackgroundPauses: j.paced.Load(),
		SnapshotWALSyncs: j.stats.snapshotWALSyncs.Load(),
	}
}

// Flush writes Pebble's memtable out to an sstable and waits for it;
// Pebble starts a new WAL for the memtable after it (a WAL rotation:
// WALRotated). For tools and tests: the journal never needs it.
func (j *Journal) Flush() error {
	return j.guard(func() error { return j.db.Flush() })
}

type segKind uint8

const (
	segRecords segKind = iota
	// segSnapshotBarrier writes nothing: its acknowledgement tells a
	// PutSnapshot waiting on Appender.snapDone that the records queued
	// before it are durable (or lost).
	segSnapshotBarrier
)

// segment is what a producer hands the writer: the framed records of one
// Append, already chained, or a snapshot's barrier. Segments are recycled.
type segment struct {
	app         *Appender
	kind        segKind
	first, last uint64 // records: the sequence range; barrier: first = the snapshot's seq
	count       int
	prev, head  Hash // chain hash before the first and after the last record
	buf         []byte
}

// Open opens (creating if needed) the journal in dir and starts its
// writer.
func Open(dir string, opts Options) (*Journal, error) {
	opts.withDefaults()
	paced := new(atomic.Uint64)
	po := pebbleOptions(&opts, paced)
	walGen := newWALGeneration()
	walGen.listen(po)
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", dir, err)
	}
	if err := checkFormat(db, true); err != nil {
		db.Close()
		return nil, err
	}
	// Pebble holds the directory's lock now: no other journal writes a
	// snapshot table here, so any found is a crash's leftover.
	if err := removeSnapshotTables(opts.FS, dir); err != nil {
		db.Close()
		return nil, err
	}
	po.EnsureDefaults() // what pebble.Open applied to its own copy
	j := &Journal{
		db: db, dir: dir, opts: opts, log: opts.Logger, popts: po,
		appenders: make(map[uint16]*Appender),
		jobs:      make(chan *commitJob, commitsInFlight),
		freeJobs:  make(chan *commitJob, commitsInFlight),
		done:      make(chan struct{}),
		paced:     paced,
		walGen:    walGen,
	}
	for range commitsInFlight {
		j.freeJobs <- &commitJob{batch: db.NewBatch(pebble.WithInitialSizeBytes(opts.MaxCommitBytes+opts.MaxCommitBytes/4),
			pebble.WithMaxRetainedSizeBytes(2*opts.MaxCommitBytes))}
	}
	j.nonEmpty.L = &j.mu
	j.notFull.L = &j.mu
	j.viewClosed.L = &j.mu
	j.stats.commitTime = metrics.NewHistogram(metrics.LatencyBounds...)
	j.wo = pebble.Sync
	if opts.Durability == DurabilityNone {
		j.wo = pebble.NoSync
		j.log.Error("journal: DURABILITY NONE — acknowledgements are NOT durable; a crash of the process or the machine can lose acknowledged orders; benchmarks only",
			"dir", dir)
	} else if opts.Durability != DurabilitySync {
		db.Close()
		return nil, fmt.Errorf("journal: unknown durability %d", opts.Durability)
	}
	go j.writer()
	go j.acker()
	return j, nil
}

// pebbleOptions are the journal's Pebble options; paced, for a journal
// open for writing, counts the pauses of Pebble's background work (see
// pacedFS); nil opens read-only.
func pebbleOptions(o *Options, paced *atomic.Uint64) *pebble.Options {
	readOnly := paced == nil
	fs := o.FS
	if !readOnly {
		fs = pacedFS{FS: boostFS{FS: fs, boostWAL: o.Durability == DurabilityNone}, pauses: paced}
	}
	po := &pebble.Options{
		FS:                          fs,
		ReadOnly:                    readOnly,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 4,
		// Without it the WAL's whole unsynced tail is synced when Pebble
		// rotates the WAL (each new memtable), on the goroutine of the
		// commit that filled the memtable, holding every other commit:
		// under DurabilityNone that tail is the whole memtable's worth,
		// and a runtime trace of bench fix at 10,000 orders/s showed the
		// shard's commit held 4.8, 9.3 and 15.5 ms at the first three
		// rotations (memtables of 1 to 8 MiB; a full 64 MiB one would be
		// worse). With it Pebble's WAL flusher asks the kernel to start
		// writing back every 512 KiB as it goes (sync_file_range), so the
		// rotation's sync has at most about 1.5 MiB left (same run: 3.3,
		// 4.1 and 9.3 ms). Under DurabilitySync every commit syncs, and
		// this changes nothing.
		WALBytesPerSync: 512 << 10,
		Logger:          pebbleLogger{o.Logger},
	}
	return po
}

// checkFormat checks (and on a new writable journal, writes) the format
// marker.
func checkFormat(db *pebble.DB, write bool) error {
	v, closer, err := db.Get([]byte{prefixFormat})
	if errors.Is(err, pebble.ErrNotFound) {
		// A new journal, or a directory of something else that happens to
		// be a Pebble database: only an empty one gets the marker.
		it, err := db.NewIter(nil)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		empty := !it.First()
		it.Close()
		if !empty {
			return fmt.Errorf("%w: database has keys but no journal format marker", ErrVersion)
		}
		if !write {
			return nil
		}
		if err := db.Set([]byte{prefixFormat}, []byte(formatMarker), pebble.Sync); err != nil {
			return fmt.Errorf("journal: write format marker: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: read format marker: %w", err)
	}
	defer closer.Close()
	if string(v) != formatMarker {
		return fmt.Errorf("%w: format marker %q", ErrVersion, v)
	}
	return nil
}

// Err returns the sticky error (wrapping ErrUnavailable) once a write or
// sync has failed, nil before.
func (j *Journal) Err() error {
	if p := j.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Checkpoint writes a consistent copy of the journal into dir (which must
// not exist) while the writer runs, using Pebble's checkpoint: sstables
// are hard-linked, the WAL is synced and copied. The copy holds whole
// group commits only. Open it with OpenReader.
func (j *Journal) Checkpoint(dir string) (err error) {
	if err := j.Err(); err != nil {
		return err
	}
	// WithFlushedWAL syncs the WAL through Pebble's commit path, which
	// can hit the same fatal error as a group commit; the copy itself
	// failing (a full disk at dir) is only this call's failure.
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(pebbleFatal)
			if !ok {
				panic(r)
			}
			err = j.fail(f)
		}
	}()
	if err := j.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("journal: checkpoint %s: %w", dir, err)
	}
	return nil
}

// Reader returns a reader over the live journal (it sees what has been
// committed, durable or about to be). Closing it does not close the
// journal.
func (j *Journal) Reader() *Reader { return &Reader{db: j.db} }

// Close stops accepting appends, waits for the writer to commit what is
// queued, and closes the database. It returns the sticky error if the
// journal had failed. Appenders must not be used after Close.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closing {
		j.mu.Unlock()
		<-j.done
		return ErrClosed
	}
	j.closing = true
	j.shut.Store(true)
	j.nonEmpty.Broadcast()
	j.notFull.Broadcast()
	j.mu.Unlock()
	j.inline.Lock() // waits for the inline commits under way (none start now)
	j.inline.Unlock()
	<-j.done
	j.mu.Lock()
	for j.views > 0 {
		j.viewClosed.Wait()
	}
	j.mu.Unlock()
	for range commitsInFlight {
		(<-j.freeJobs).batch.Close()
	}
	for _, a := range j.appenders {
		if a.batch != nil {
			a.batch.Close()
		}
	}
	err := j.db.Close()
	if ferr := j.Err(); ferr != nil {
		return ferr
	}
	if err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

// Appender is one shard's way into the journal. It is used by one
// goroutine at a time (the shard's): it keeps the shard's chain head and
// encodes and hashes records on that goroutine, so the writer only
// concatenates and commits.
type Appender struct {
	j         *Journal
	shard     uint16
	onDurable func(first, last uint64, err error)

	// Owned by the producer goroutine.
	next    uint64 // the sequence the next command must have
	head    Hash   // chain hash after the last appended record
	hasher  chainHasher
	recSize int // bytes per framed record of the last batch: sizes the next buffer
	// With DurabilityNone the appender commits its own batches
	// (commitInline) from its own segment and Pebble batch, reused.
	own   segment
	one   [1]*segment
	batch *pebble.Batch

	// PutSnapshot may run on another goroutine than Append (the venue's
	// snapshotter), so what it shares with Append is atomic or its own:
	// appended is the last sequence Append has handed over (Next()-1 as
	// of the last Append that returned nil); snapDone carries the
	// outcome of its barrier through the writer (DurabilitySync: the
	// records before it are durable, or lost), and snapValue is the
	// buffer it builds the snapshot's value in (see PutSnapshot).
	appended  atomic.Uint64
	snapDone  chan error
	snapValue []byte
	// snapSeqs are the shard's stored snapshots, oldest first, as
	// PutSnapshot and IngestSnapshot prune them (pruneSnapshots).
	snapSeqs []uint64

	durable atomic.Uint64
}

// Appender returns the appender of a shard, positioned after the shard's
// last journaled record as its last block states it (sequence 1 and
// GenesisHash for a new shard); recovery replays through Records (which
// checks every link it reads) before it appends. onDurable (may be nil)
// is called once per Append, in order: with err nil once the batch's
// records are durable (the moment acknowledgements may leave), or with an
// error wrapping ErrUnavailable if they never will be. With
// DurabilitySync it runs on the journal's acker goroutine; with
// DurabilityNone, where there is no sync to wait for, Append commits the
// batch itself and calls onDurable on the appending goroutine before it
// returns. Either way it must not block and must not call back into the
// journal. There is one Appender per shard per Journal.
func (j *Journal) Appender(shard uint16, onDurable func(first, last uint64, err error)) (*Appender, error) {
	if err := j.Err(); err != nil {
		return nil, err
	}
	h, err := j.Reader().Head(shard)
	if err != nil {
		return nil, err
	}
	snaps, err := j.Reader().Snapshots(shard)
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closing {
		return nil, ErrClosed
	}
	if _, dup := j.appenders[shard]; dup {
		return nil, fmt.Errorf("journal: shard %d already has an appender", shard)
	}
	a := &Appender{j: j, shard: shard, onDurable: onDurable, next: h.Seq + 1, head: h.Hash, hasher: newChainHasher(),
		snapDone: make(chan error, 1), snapSeqs: snaps}
	a.durable.Store(h.Seq)
	a.appended.Store(h.Seq)
	j.appenders[shard] = a
	return a, nil
}

// Shard is the appender's shard.
func (a *Appender) Shard() uint16 { return a.shard }

// Next is the sequence number the next appended command must carry: the
// shard input's NextSeq after recovery.
func (a *Appender) Next() uint64 { return a.next }

// Durable is the last sequence number known durable. Safe from any
// goroutine.
func (a *Appender) Durable() uint64 { return a.durable.Load() }

// frameGuess is the room Append leaves for a record's frame header: a
// two-byte length and the check bytes.
const frameGuess = 2 + checkSize

// reframe changes the header room of the record at buf[start:] from have
// to want bytes, moving the payload.
func reframe(buf []byte, start, have, want int) []byte {
	if want < have {
		n := copy(buf[start+want:], buf[start+have:])
		return buf[:start+want+n]
	}
	buf = append(buf, make([]byte, want-have)...)
	copy(buf[start+want:], buf[start+have:len(buf)-(want-have)])
	return buf
}

// Append journals a batch: commands (contiguous, continuing Next) and the
// events each produced, events[ends[i-1]:ends[i]] for command i (the
// shard.Batch layout). It encodes and chains the records on the calling
// goroutine and hands them to the writer; it keeps no reference to its
// arguments. It blocks while the writer's queue is full (back-pressure).
// It returns nil once the writer has the batch — durability is reported
// later, through onDurable — or the sticky ErrUnavailable error, ErrClosed,
// or ErrSequence when the batch does not continue the shard's chain.
//
// With DurabilityNone it commits the batch itself instead (commitInline):
// it returns once the batch is written and reported through onDurable,
// or with the error that made the journal unavailable (also reported to
// onDurable).
func (a *Appender) Append(cmds []engine.Command, events []engine.Event, ends []int) error {
	if len(cmds) == 0 {
		return nil
	}
	if len(ends) != len(cmds) || ends[len(ends)-1] != len(events) {
		panic(fmt.Sprintf("journal: Append given %d commands, %d ends and %d events", len(cmds), len(ends), len(events)))
	}
	if err := a.j.Err(); err != nil {
		return err
	}
	for i := range cmds {
		if cmds[i].Seq != a.next+uint64(i) {
			return seqErr(ErrSequence, a.shard, a.next+uint64(i), "command %d of the batch has seq %d", i, cmds[i].Seq)
		}
	}
	var s *segment
	if a.j.opts.Durability == DurabilityNone {
		s = &a.own
		s.buf = s.buf[:0]
	} else {
		s = a.j.getSegment()
	}
	if want := (a.recSize + a.recSize/4) * len(cmds); cap(s.buf) < want {
		// Grown once here rather than by doubling in appendRecordFrame.
		s.buf = make([]byte, 0, want)
	}
	s.app, s.kind = a, segRecords
	s.first, s.last, s.count = a.next, a.next+uint64(len(cmds))-1, len(cmds)
	s.prev = a.head
	lo := 0
	for i := range cmds {
		hi := ends[i]
		if hi < lo {
			panic(fmt.Sprintf("journal: Append ends not increasing at %d: %d < %d", i, hi, lo))
		}
		// Encode straight into the segment behind a frame header sized for
		// the usual payload (100 B to 16 KiB); move it in the rare case
		// the length needs another size.
		start := len(s.buf)
		s.buf = append(s.buf, make([]byte, frameGuess)...)
		s.buf = AppendRecord(s.buf, &cmds[i], events[lo:hi])
		payload := len(s.buf) - start - frameGuess
		if n := uvarintLen(uint64(payload)) + checkSize; n != frameGuess {
			s.buf = reframe(s.buf, start, frameGuess, n)
		}
		p := s.buf[len(s.buf)-payload:]
		a.hasher.link(&a.head, &a.head, a.shard, a.next, p)
		f := binary.AppendUvarint(s.buf[start:start], uint64(payload))
		copy(s.buf[start+len(f):], a.head[:checkSize])
		a.next++
		lo = hi
	}
	s.head = a.head
	a.recSize = len(s.buf) / len(cmds)
	// Read before the hand-over: an enqueued segment is the writer's,
	// and recycled once committed.
	last := s.last
	var err error
	if s == &a.own {
		err = a.commitInline()
	} else {
		err = a.j.enqueue(s)
	}
	if err == nil {
		a.appended.Store(last)
	}
	return err
}

// enterInline takes the read side of j.inline for a write an Appender
// makes on its own goroutine, or returns ErrClosed or the sticky error
// (and holds nothing). The caller releases it with j.inline.RUnlock.
func (j *Journal) enterInline() error {
	j.inline.RLock()
	if j.shut.Load() {
		j.inline.RUnlock()
		return ErrClosed
	}
	if err := j.Err(); err != nil {
		j.inline.RUnlock()
		return err
	}
	return nil
}

// commitInline writes the appender's own segment (a.own) of records to
// Pebble on the calling goroutine and acknowledges it — the
// DurabilityNone path.
//
// Why not through the writer: with no sync to wait for, the writer would
// only add a goroutine hand-off per batch — the shard enqueues and signals,
// the writer wakes, applies and acknowledges — and on a small machine that
// wake-up is most of a NoSync commit's cost (BenchmarkPipelinePaced in
// cmd/fxmatch/venue). What group commit buys is one sync per group, and
// there is none here. The guarantees stay those of the writer's path: a
// shard's records reach the WAL in its sequence order (one goroutine
// appends them), and acknowledgements leave only after the write. Shards
// commit concurrently, each its own Pebble batch: their chains are
// independent, and Pebble serialises the WAL writes.
//
// Failures: an error Apply returns, or a failure Pebble reports through
// its logger's Fatalf, makes the journal unavailable as on the writer's
// path (guard). A WAL write that fails behind earlier NoSync commits
// surfaces in a later Apply as a panic Pebble raises with the bare error;
// as on the writer's path before, that is not recovered and ends the
// process (only DurabilityNone, a benchmarks-only mode, gets there).
func (a *Appender) commitInline() error {
	j, s := a.j, &a.own
	if err := j.enterInline(); err != nil {
		return err
	}
	defer j.inline.RUnlock()
	if a.batch == nil {
		a.batch = j.db.NewBatch()
	}
	batch := a.batch
	start := time.Now()
	var n int
	err := j.guard(func() error {
		var err error
		a.one[0] = s
		if n, err = writeBlock(batch, a.one[:]); err == nil {
			err = j.db.Apply(batch, j.wo)
		}
		return err
	})
	batch.Reset()
	if err == nil {
		j.stats.commitTime.Observe(int64(time.Since(start)))
		j.stats.commits.Add(1)
		j.stats.records.Add(s.last - s.first + 1)
		j.stats.bytes.Add(uint64(n))
		j.stats.blocks.Add(1)
		a.durable.Store(s.last)
	}
	if a.onDurable != nil {
		a.onDurable(s.first, s.last, err)
	}
	return err
}

// Snapshot value: version u8 | stateHash [32] | crc32c(data) u32 LE | data.
const snapshotVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendSnapshotValue(dst []byte, stateHash *Hash, data []byte) []byte {
	dst = append(dst, snapshotVersion)
	dst = append(dst, stateHash[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(data, castagnoli))
	return append(dst, data...)
}

func (j *Journal) getSegment() *segment {
	j.mu.Lock()
	var s *segment
	if n := len(j.free); n > 0 {
		s = j.free[n-1]
		j.free = j.free[:n-1]
		j.freeBytes -= cap(s.buf)
	}
	j.mu.Unlock()
	if s == nil {
		s = new(segment)
	}
	s.buf = s.buf[:0]
	return s
}

// putSegmentsLocked recycles segments; j.mu must be held. The free list
// holds at most MaxQueueBatches segments and MaxQueueBytes of buffer
// capacity, so what it pins is bounded like the queue itself.
func (j *Journal) putSegmentsLocked(segs []*segment) {
	for _, s := range segs {
		s.app = nil
		if j.freeBytes+cap(s.buf) > j.opts.MaxQueueBytes {
			s.buf = nil
		}
		if len(j.free) < j.opts.MaxQueueBatches {
			j.free = append(j.free, s)
			j.freeBytes += cap(s.buf)
		}
	}
}

// enqueue hands a segment to the writer, waiting while the queue is full.
func (j *Journal) enqueue(s *segment) error {
	j.mu.Lock()
	for len(j.queue) > 0 && !j.closing && j.failed.Load() == nil &&
		(j.queuedBytes+len(s.buf) > j.opts.MaxQueueBytes || len(j.queue) >= j.opts.MaxQueueBatches) {
		j.notFull.Wait()
	}
	var err error
	if err = j.Err(); err == nil && j.closing {
		err = ErrClosed
	}
	if err != nil {
		j.putSegmentsLocked([]*segment{s})
		j.mu.Unlock()
		return err
	}
	j.queue = append(j.queue, s)
	j.queuedBytes += len(s.buf)
	j.nonEmpty.Signal()
	j.mu.Unlock()
	return nil
}

// commitsInFlight bounds the group commits between the writer and the
// acker: one syncing, one applied behind it, one being built.
const commitsInFlight = 3

// commitJob is one group commit on its way through the pipeline.
type commitJob struct {
	start                 time.Time // when the writer took it
	batch                 *pebble.Batch
	segs                  []*segment
	err                   error // from building or applying it
	records, bytes, block uint64
}

// writer is the goroutine that turns queued segments into group commits
// (DurabilitySync only: with DurabilityNone the appenders commit their
// own batches, see commitInline).
//
// Why a writer and a queue rather than letting each shard commit to
// Pebble itself: Pebble would group concurrent commits too, but every
// committer would then block for the sync on its own goroutine — the
// shard's — and could not apply the next batch meanwhile. Here the shard
// only encodes and enqueues, and durability is reported by the one
// goroutine that knows what is durable, in sequence order.
//
// Why a separate acker: the writer hands each group to Pebble with
// ApplyNoSyncWait and goes on to build the next while the previous one's
// WAL sync runs; Pebble's WAL writer folds the syncs requested meanwhile
// into one. The acker waits for each sync in commit order. One goroutine
// applies, so the WAL holds the groups in the order they were taken, and a
// sync covers every group before it: no later record can be durable while
// an earlier one is not. (Two goroutines calling Apply could interleave
// their WAL writes and break that.) ApplyNoSyncWait is marked experimental
// in Pebble; CockroachDB uses it in the same way, and the tests here pin
// the behaviour this package relies on (nothing acknowledged before its
// sync; a failed sync reported to its batch).
func (j *Journal) writer() {
	defer close(j.jobs)
	for {
		job := <-j.freeJobs // waits while commitsInFlight are in flight
		j.mu.Lock()
		for len(j.queue) == 0 && !j.closing && j.failed.Load() == nil {
			j.nonEmpty.Wait()
		}
		if len(j.queue) == 0 || j.failed.Load() != nil {
			j.mu.Unlock()
			j.freeJobs <- job
			return
		}
		job.segs = j.takeLocked(job.segs[:0])
		j.notFull.Broadcast()
		j.mu.Unlock()
		job.start = time.Now()

		job.err = j.apply(job)
		j.jobs <- job
		if job.err != nil {
			return
		}
	}
}

// acker waits for each group commit's sync, in order, and acknowledges
// it; after a failure it reports everything in flight and queued as lost.
func (j *Journal) acker() {
	defer close(j.done)
	for job := range j.jobs {
		j.finish(job)
	}
	// The writer has stopped. If it stopped on a failure, what is still
	// queued will never be written: report it lost, after everything
	// before it.
	if err := j.Err(); err != nil {
		j.mu.Lock()
		q := j.queue
		j.queue = nil
		j.queuedBytes = 0
		j.notFull.Broadcast()
		j.mu.Unlock()
		j.ack(q, err)
	}
}

// finish waits for a group commit's sync, acknowledges it and recycles
// it; the acker runs it for every job.
func (j *Journal) finish(job *commitJob) {
	err := job.err
	if err == nil && !job.batch.Empty() {
		// (Empty: a group of snapshot barriers only. Nothing was
		// applied, and the groups before it have been waited for.)
		err = job.batch.SyncWait()
	}
	if ferr := j.Err(); ferr != nil {
		err = ferr // already failed: this group was never synced as a whole
	} else if err != nil {
		err = j.fail(err)
	}
	j.ack(job.segs, err)
	if err == nil && job.block > 0 {
		j.stats.commitTime.Observe(int64(time.Since(job.start)))
		j.stats.commits.Add(1)
		j.stats.records.Add(job.records)
		j.stats.bytes.Add(job.bytes)
		j.stats.blocks.Add(job.block)
	}
	j.mu.Lock()
	j.putSegmentsLocked(job.segs)
	j.mu.Unlock()
	clear(job.segs)
	job.batch.Reset()
	j.freeJobs <- job
}

// takeLocked moves the next group commit's segments from the queue to
// dst: at least one, then as long as the bounds allow.
func (j *Journal) takeLocked(dst []*segment) []*segment {
	bytes, recs := 0, 0
	n := 0
	for _, s := range j.queue {
		if n > 0 && (bytes+len(s.buf) > j.opts.MaxCommitBytes || recs+s.count > j.opts.MaxCommitRecords) {
			break
		}
		bytes += len(s.buf)
		recs += s.count
		n++
	}
	dst = append(dst, j.queue[:n]...)
	rest := copy(j.queue, j.queue[n:])
	clear(j.queue[rest:])
	j.queue = j.queue[:rest]
	j.queuedBytes -= bytes
	return dst
}

// guard runs a Pebble write, turning Pebble's fatal commit error (see
// pebbleLogger.Fatalf) into an error; any error makes the journal
// unavailable, and guard returns the sticky error.
func (j *Journal) guard(write func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(pebbleFatal)
			if !ok {
				panic(r)
			}
			err = j.fail(f)
		}
	}()
	if err := write(); err != nil {
		return j.fail(err)
	}
	return nil
}

// apply writes one group commit as one Pebble batch and hands it to
// Pebble without waiting for its sync.
func (j *Journal) apply(job *commitJob) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(pebbleFatal)
			if !ok {
				panic(r)
			}
			err = f
		}
	}()
	if err := j.Err(); err != nil {
		return err // failed since this group was taken: write nothing more
	}
	b, segs := job.batch, job.segs
	job.records, job.bytes, job.block = 0, 0, 0
	if cap(j.used) < len(segs) {
		j.used = make([]bool, len(segs))
	}
	used := j.used[:len(segs)]
	clear(used)
	for i, s := range segs {
		if used[i] {
			continue
		}
		used[i] = true
		if s.kind == segSnapshotBarrier {
			continue // nothing to write: see PutSnapshot
		}
		// One block per shard per commit, split at MaxBlockBytes: gather
		// this shard's later record segments (in order: a shard's
		// segments are queued in sequence order).
		blk := append(j.blk[:0], s)
		size := len(s.buf)
		flush := func() error {
			n, err := writeBlock(b, blk)
			job.records += blk[len(blk)-1].last - blk[0].first + 1
			job.bytes += uint64(n)
			job.block++
			return err
		}
		for k := i + 1; k < len(segs); k++ {
			t := segs[k]
			if used[k] || t.kind != segRecords || t.app != s.app {
				continue
			}
			used[k] = true
			if size+len(t.buf) > j.opts.MaxBlockBytes {
				if err := flush(); err != nil {
					return err
				}
				blk, size = blk[:0], 0
			}
			blk = append(blk, t)
			size += len(t.buf)
		}
		if err := flush(); err != nil {
			return err
		}
		j.blk = blk[:0]
	}
	if b.Empty() {
		return nil // only snapshot barriers: finish waits for nothing
	}
	return j.db.ApplyNoSyncWait(b, j.wo)
}

// writeBlock adds one block made of consecutive record segments of one
// shard to the batch, writing the value straight into the batch's buffer.
func writeBlock(b *pebble.Batch, segs []*segment) (int, error) {
	first, last := segs[0], segs[len(segs)-1]
	count := last.last - first.first + 1
	n := 1 + uvarintLen(count) + HashSize + HashSize
	for _, s := range segs {
		n += len(s.buf)
	}
	op := b.SetDeferred(KeyLen, n)
	k := BlockKey(first.app.shard, first.first)
	copy(op.Key, k[:])
	v := op.Value[:0]
	v = append(v, BlockVersion)
	v = binary.AppendUvarint(v, count)
	v = append(v, first.prev[:]...)
	for _, s := range segs {
		v = append(v, s.buf...)
	}
	v = append(v, last.head[:]...)
	if len(v) != n {
		panic(fmt.Sprintf("journal: block of %d bytes, computed %d", len(v), n))
	}
	return n, op.Finish()
}

// ack reports segments durable (err nil) or lost, in queue order. A
// snapshot barrier's PutSnapshot learns that everything queued before it
// is durable, or not.
func (j *Journal) ack(segs []*segment, err error) {
	for _, s := range segs {
		if s.kind == segSnapshotBarrier {
			// Never blocks: one barrier per appender is outstanding at a
			// time (PutSnapshot calls do not overlap and each waits for
			// its own), and snapDone holds one.
			s.app.snapDone <- err
			continue
		}
		if err == nil {
			s.app.durable.Store(s.last)
		}
		if s.app.onDurable != nil {
			s.app.onDurable(s.first, s.last, err)
		}
	}
}

// fail makes the journal unavailable for good and returns the sticky
// error: every waiting and future Append returns it, the writer takes
// nothing more, and the acker reports everything in flight and queued as
// lost. Pebble is not written again: after a failed WAL write or sync the
// state of the file is unknown, and a journal that continued past a hole
// it cannot see would acknowledge orders whose predecessors may be gone.
func (j *Journal) fail(cause error) error {
	err := fmt.Errorf("%w: %w", ErrUnavailable, cause)
	if !j.failed.CompareAndSwap(nil, &err) {
		return j.Err()
	}
	j.log.Error("journal: write failed; the venue must stop acknowledging and be restarted from the journal",
		"dir", j.dir, "err", cause)
	j.mu.Lock()
	j.notFull.Broadcast()
	j.nonEmpty.Broadcast()
	j.mu.Unlock()
	return err
}

// pruneSnapshots records the snapshot just stored at seq and keeps the
// shard's newest KeepSnapshots; a failure is only logged (the next prune
// redoes it). It works from the appender's list (snapSeqs), read once
// when the appender was made: listing the snapshots from the database
// (Reader.Snapshots, as it once did) reads every one of them, each one
// multi-megabyte block, and with one Go processor those reads kept the
// shard off it — a runtime trace of bench fix showed 4-13 ms in pread
// after each snapshot.
func (a *Appender) pruneSnapshots(seq uint64) {
	j := a.j
	// In order, once each: a snapshot may be stored again, or below the
	// newest (the venue's never are).
	if i, found := slices.BinarySearch(a.snapSeqs, seq); !found {
		a.snapSeqs = slices.Insert(a.snapSeqs, i, seq)
	}
	keep := j.opts.KeepSnapshots
	if len(a.snapSeqs) <= keep {
		return
	}
	lo := SnapshotKey(a.shard, 0)
	hi := SnapshotKey(a.shard, a.snapSeqs[len(a.snapSeqs)-keep])
	err := j.Err()
	if err == nil {
		err = j.guard(func() error { return j.db.DeleteRange(lo[:], hi[:], pebble.NoSync) })
	}
	if err != nil {
		j.log.Warn("journal: pruning snapshots", "shard", a.shard, "err", err)
		return
	}
	a.snapSeqs = append(a.snapSeqs[:0], a.snapSeqs[len(a.snapSeqs)-keep:]...)
}

// pebbleLogger sends Pebble's messages to the journal's logger.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(pebbleMsg(format, args))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(pebbleMsg(format, args))
}

func pebbleMsg(format string, args []any) string {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasPrefix(msg, "pebble: ") {
		msg = "pebble: " + msg
	}
	return msg
}

// Fatalf is called by Pebble when it cannot go on: a broken invariant
// of its own, or — on the committing goroutine — a failed WAL write or
// sync ("fatal commit error"), after which its commit pipeline is unusable.
// Its default logger exits the process. Returning would be worse: Apply
// would then report success for a batch that is not durable. So Fatalf
// panics with a pebbleFatal, which the writer recovers into the journal's
// sticky error (commit); anywhere else the panic crashes the process,
// loudly, which is the right end for a store that cannot write.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := pebbleMsg(format, args)
	p.l.Error(msg)
	panic(pebbleFatal{msg})
}

type pebbleFatal struct{ msg string }

func (f pebbleFatal) Error() string { return f.msg }
