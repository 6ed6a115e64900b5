package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/internal/yield"
)

// Snapshots are stored by ingestion.
//
// A snapshot is one key (SnapshotKey) with a multi-megabyte value. Written
// as a Pebble batch, it went through the commit pipeline like the
// records: its WAL write and memtable insert run under the pipeline's
// lock and every commit behind it waits, so the shard's commits (inline
// with DurabilityNone, the writer's groups with DurabilitySync) stalled
// for the length of a multi-megabyte write (figures below).
//
// So PutSnapshot writes the same key and value as a one-key sstable (in
// the journal's directory, on its goroutine: the caller's, the venue's
// snapshotter) and hands it to Pebble's DB.Ingest, which links the file
// into the LSM with a version edit: no WAL record, no memtable insert. The
// journal reads as before: the same key, the same value bytes, found by
// the same iterators (readers, replay, verify, recovery do not change).
//
// What Pebble v2.1.7 does in Ingest (ingest.go, commit.go), and what
// PutSnapshot does about each:
//
//   - Sequencing. Ingest takes its sequence number through the commit
//     pipeline (commitPipeline.AllocateSeqNum): under the pipeline's lock
//     it waits for the commits before it to reach the memtable and checks
//     the memtables for overlap (prepare); outside the lock it applies the
//     version edit — the MANIFEST write and its fsync (ingestApply) — and
//     only then publishes its sequence number. Commits that took a later
//     sequence meanwhile have written their WAL record and memtable entry
//     but wait in publish for it: so the shard's commits are held for
//     about one MANIFEST fsync per snapshot (0.3-0.8 ms on this disk
//     when quiet, a few ms when it is busy), where the batch held them
//     for the whole value's write. The table's own write, fsync, link
//     into the directory and the directory's fsync come before, off the
//     pipeline (ingestLinkLocal, objProvider.Sync).
//
//   - Overlap. If the table's key range overlaps a memtable (a key or a
//     range deletion in it), prepare either makes the ingest a flushable
//     (FormatFlushableIngest and later: a synced WAL record and a memtable
//     rotation, under the pipeline's lock) or forces a flush and waits for
//     it: a stall either way. The table holds one key, SnapshotKey(shard,
//     seq), and nothing else in a memtable falls on it: records, metadata
//     and the format marker have other prefixes, other shards' snapshots
//     other shard fields, and the prune's DeleteRange ends (exclusive) at
//     a kept snapshot, at or below the newest, below any later snapshot's
//     seq. Prune runs after the ingest that made it due. An overlap would
//     only be slower, not wrong; PutSnapshot logs one at warning level
//     (IngestWithStats' MemtableOverlappingFiles).
//
//   - Crash order. The ingested table is durable once Ingest returns (its
//     fsync and the MANIFEST's), independently of the WAL. The records up
//     to seq must be durable first, or a crash could keep the snapshot and
//     lose records before it, and recovery would refuse a snapshot beyond
//     the chain's end. With DurabilitySync, PutSnapshot queues a barrier
//     behind those records in the writer's queue and waits for the acker
//     to see its group (so every group before it) synced. With
//     DurabilityNone the records went into the WAL unsynced (Pebble may
//     even hold them in its last block, in memory), so PutSnapshot syncs
//     the WAL first: a synced empty LogData record, which covers every
//     WAL write before it. That sync does not hold others' commits: a
//     commit waits only for its own sync, and publishes behind earlier
//     batches once they are applied, not synced.
//
//   - Its own file. The table is written to
//     "<dir>/fxmatch-snapshot-<shard>.sst.tmp" (one PutSnapshot per
//     appender at a time, one appender per shard), synced before Ingest
//     as Ingest requires, and removed by Ingest on success (it hard-links
//     the file under a table name), by PutSnapshot on failure. A crash in
//     between leaves it behind: Pebble ignores names it does not parse,
//     and Open removes it. A table Ingest linked before a crash that no
//     MANIFEST names is an obsolete table to Pebble, removed at its Open.
//     The table is written at the format the database accepts
//     (db.TableFormat(), from its FormatMajorVersion) with the writer
//     options Pebble would use itself, except compression (see
//     snapshotTableOptions).
//
//   - One processor (serve --procs=1). A goroutine in a blocking system
//     call keeps its Go processor until sysmon takes it back, which an
//     idle-looking venue's sysmon does up to 10 ms later, and one
//     returning from a call takes its processor straight back: so each
//     fsync above (the table's, the directory's, the WAL's, the
//     MANIFEST's) keeps the shard off the processor for its length, and
//     back-to-back calls with no scheduling point between them add up.
//     PutSnapshot pauses (package yield) while it builds the value, after
//     the table, and between the WAL's sync and Ingest; the table is
//     written paced (see Pacing); and pacedFS pauses Pebble's reads and
//     link of the table in Ingest. The table's own syncs go through
//     boostFS (a spare processor while they wait, yield.Blocking); what
//     is left is the others (the WAL's, the directory's, the MANIFEST's:
//     commits wait for those, which a boost could make wait for a garbage
//     collection too).
//
// Cost: the caller's goroutine copies the value once more into a table
// block and pays three or four fsyncs (the table, the directory, the
// MANIFEST; DurabilityNone adds the WAL's) and the table's paced write:
// 25-40 ms of wall time per 3 MiB snapshot, 1-2 ms of it CPU, on the
// snapshotter's goroutine.
//
// Measured (BenchmarkSnapshotCommitStall: 3 MiB snapshots, one-record
// commits due every 50 µs, the longest commit around each store, median
// over 20 snapshots, range over 5 runs, load 1.3-1.9 on the 2 shared
// cores; "one P" is -cpu 1): durability none, one P 14.8-20.7 ms before,
// 4.1-4.6 ms after; two Ps 14.1-16.9 ms before, 1.1-2.0 ms after.
// Durability sync (every commit waits for a WAL fsync, 1-10 ms here under
// load): one P 21.9-27.4 ms before, 5.7-11.2 ms after; two Ps 19.9-22.9 ms
// before, 8.0-9.3 ms after. The worst snapshot of a run stays in the tens
// of milliseconds either way on this shared disk (before 29-78 ms, after
// 8-55 ms), as do the worst commits with no snapshot at all (4-20 ms).
//
// Failure inside Ingest's commit-pipeline step: a failed MANIFEST write
// or sync is fatal to Pebble (its logger's Fatalf); pebbleLogger panics,
// and guard recovers it on PutSnapshot's goroutine into the sticky
// error. Pebble never publishes that ingest's sequence number, so a
// commit already in the pipeline behind it (a shard's inline commit, the
// writer's group) never returns, and Close, which waits for inline
// commits, would wait for it too: the venue stops taking orders (the
// snapshotter fails it) and must be killed and restarted from the
// journal. The batch path had the same end for a failed WAL write
// (Pebble leaves the failed batch unpublished). Not tested: errorfs on
// the MANIFEST leaves a test hung by design.
//
// Rejected: storing the snapshot in chunks over several small batches
// (changes the format readers know); another Pebble database or plain
// files for snapshots (changes where readers look, and two stores to
// keep in step).
const snapshotTablePrefix = "fxmatch-snapshot-"

// isSnapshotTable says whether a path is a snapshot table's (see
// snapshotTablePath).
func isSnapshotTable(path string) bool {
	return strings.HasPrefix(filepath.Base(path), snapshotTablePrefix)
}

// snapshotTablePath is where PutSnapshot writes shard's snapshot table
// before ingesting it.
func snapshotTablePath(fs vfs.FS, dir string, shard uint16) string {
	return fs.PathJoin(dir, fmt.Sprintf("%s%05d.sst.tmp", snapshotTablePrefix, shard))
}

// SnapshotTableFile is where another process may write the table of
// shard's snapshot at seq (WriteSnapshotTable) for the journal to ingest
// (IngestSnapshot): a name of its own per snapshot and per process that
// opened the journal (a writer left over from a killed venue never writes
// the file its restarted successor's writer does), in the journal's
// directory, which the journal's Open removes if a crash left it there.
// ok is false when the journal does not run on the operating system's
// filesystem (Options.FS): no other process could see the file.
func (a *Appender) SnapshotTableFile(seq uint64) (path string, format TableFormat, ok bool) {
	j := a.j
	if j.opts.FS != vfs.Default {
		return "", 0, false
	}
	name := fmt.Sprintf("%s%05d-%020d-%d.sst.tmp", snapshotTablePrefix, a.shard, seq, os.Getpid())
	return filepath.Join(j.dir, name), TableFormat(j.db.TableFormat()), true
}

// TableFormat is the sstable format a journal's database accepts for an
// ingested table (SnapshotTableFile).
type TableFormat uint32

// WriteSnapshotTable writes, at path on the operating system's
// filesystem, the table of shard's snapshot at seq — the same key and
// value PutSnapshot stores — and syncs it, for the journal (in this
// process or another) to ingest with Appender.IngestSnapshot. format and
// path come from Appender.SnapshotTableFile. data is the engine's
// snapshot, stateHash its hash. On failure it removes what it wrote.
func WriteSnapshotTable(path string, format TableFormat, shard uint16, seq uint64, stateHash Hash, data []byte) error {
	po := &pebble.Options{}
	po.EnsureDefaults()
	o := po.MakeWriterOptions(0, sstable.TableFormat(format))
	o.Compression = sstable.NoCompression
	k := SnapshotKey(shard, seq)
	value := appendSnapshotValuePaced(nil, &stateHash, data, func() {})
	if err := writeSnapshotTable(vfs.Default, path, o, k[:], value); err != nil {
		return fmt.Errorf("journal: snapshot table of shard %d at seq %d: %w", shard, seq, err)
	}
	return nil
}

// removeSnapshotTables removes the snapshot tables a crash left in dir
// between writing and ingesting them (see above).
func removeSnapshotTables(fs vfs.FS, dir string) error {
	names, err := fs.List(dir)
	if err != nil {
		return fmt.Errorf("journal: list %s: %w", dir, err)
	}
	for _, name := range names {
		if !strings.HasPrefix(name, snapshotTablePrefix) {
			continue
		}
		if err := fs.Remove(fs.PathJoin(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: remove a crash's snapshot table: %w", err)
		}
	}
	return nil
}

// snapshotTableOptions are the writer options of a snapshot table: the
// format the open database accepts and the options Pebble would write a
// table with, uncompressed. Why uncompressed: the table writer
// compresses the one multi-megabyte block in one call that cannot yield,
// on the caller's goroutine — the venue's snapshotter, which shares a
// processor with the shard (GOMAXPROCS 1) and otherwise yields every
// tens of microseconds; the table is compressed anyway when a compaction
// rewrites it, on Pebble's goroutines, as a batch-written snapshot was
// when its memtable was flushed.
func snapshotTableOptions(db *pebble.DB, po *pebble.Options) sstable.WriterOptions {
	o := po.MakeWriterOptions(0, db.TableFormat())
	o.Compression = sstable.NoCompression
	return o
}

// writeSnapshotTable writes the one-key table key=value at path and
// syncs it (Ingest's precondition). On failure it removes what it wrote.
func writeSnapshotTable(fs vfs.FS, path string, o sstable.WriterOptions, key, value []byte) (err error) {
	// Through boostFS: its syncs (SyncTo every chunk, the Sync at the end,
	// 5-6.5 ms in a runtime trace at 31,250 orders/s) run with a spare
	// processor, like those of Pebble's background work (yield.Blocking).
	f, err := boostFS{FS: fs}.Create(path, snapshotCategory)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fs.Remove(path)
		}
	}()
	// Close writes the table through the writable and finishes it
	// (syncs and closes the file), or aborts it (closes it) after an
	// error.
	w := sstable.NewWriter(&pacedWritable{f: f}, o)
	if err := w.Set(key, value); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// PutSnapshot stores a snapshot of the shard's engine taken after seq
// (which must already have been appended: an Append that covered it has
// returned nil), with the engine's canonical stateHash. data is copied.
// It returns once the snapshot is durable — with either Durability — or
// with the error that made the journal unavailable (any failure to
// write, sync or ingest the snapshot's table does), or ErrClosed.
//
// It may be called from another goroutine than Append's, concurrently
// with it (the venue encodes snapshots on a goroutine of their own, so
// that the shard never stops matching for one); calls to PutSnapshot
// itself must not overlap. It takes milliseconds (fsyncs) on the
// caller's goroutine and holds the shard's commits for about one
// MANIFEST fsync (see "Snapshots are stored by ingestion" above).
//
// Order: a snapshot becomes durable only after the records it follows,
// so a crash can never leave a snapshot whose records are lost —
// recovery would restore it and find the chain ending before it, and
// refuse to start. With DurabilitySync it waits for those records'
// group commit to be synced; with DurabilityNone it syncs the WAL,
// which holds them. Older snapshots beyond Options.KeepSnapshots are
// pruned after it is stored. The value it keeps in a buffer of its own,
// reused, is the size of the largest snapshot so far.
func (a *Appender) PutSnapshot(seq uint64, stateHash Hash, data []byte) error {
	j := a.j
	if err := j.Err(); err != nil {
		return err
	}
	if appended := a.appended.Load(); seq == 0 || seq > appended {
		return fmt.Errorf("journal: snapshot at seq %d of shard %d, which has records up to %d", seq, a.shard, appended)
	}
	// The table first: the slow part, and it needs nothing durable yet.
	path := snapshotTablePath(j.opts.FS, j.dir, a.shard)
	k := SnapshotKey(a.shard, seq)
	var pacer yield.Pacer
	pause := func() { pacer.MaybePause() }
	a.snapValue = appendSnapshotValuePaced(a.snapValue[:0], &stateHash, data, pause)
	if err := writeSnapshotTable(j.opts.FS, path, snapshotTableOptions(j.db, j.popts), k[:], a.snapValue); err != nil {
		return j.fail(fmt.Errorf("snapshot table of shard %d at seq %d: %w", a.shard, seq, err))
	}
	pause()
	return a.ingestSnapshot(seq, path, false, pause)
}

// IngestSnapshot stores the snapshot at seq whose table another process
// wrote at path (WriteSnapshotTable, at a path from SnapshotTableFile):
// PutSnapshot's second half, with the same order, durability and errors
// (a failure to ingest makes the journal unavailable). The table must
// hold shard's snapshot at seq, which must have been appended. path is
// gone when it returns, ingested or removed.
//
// walMark is a WALMark taken after seq was appended. Under DurabilityNone,
// where PutSnapshot syncs the WAL for the snapshot (an fsync on the disk
// the commits write to), IngestSnapshot does not if Pebble has rotated
// the WAL since walMark (which synced it: walGeneration); a caller that
// can wait for WALRotated(walMark) first spares the venue that sync.
func (a *Appender) IngestSnapshot(seq uint64, path string, walMark uint64) error {
	if _, _, ok := a.SnapshotTableFile(seq); !ok || filepath.Dir(path) != filepath.Clean(a.j.dir) || !isSnapshotTable(path) {
		os.Remove(path)
		return fmt.Errorf("journal: snapshot table %s of shard %d at seq %d: not a snapshot table in the journal's directory", path, a.shard, seq)
	}
	if err := a.j.Err(); err != nil {
		os.Remove(path)
		return err
	}
	if appended := a.appended.Load(); seq == 0 || seq > appended {
		os.Remove(path)
		return fmt.Errorf("journal: snapshot at seq %d of shard %d, which has records up to %d", seq, a.shard, appended)
	}
	walSynced := a.j.walGen.now() > walMark
	var pacer yield.Pacer
	return a.ingestSnapshot(seq, path, walSynced, func() { pacer.MaybePause() })
}

// ingestSnapshot ingests the snapshot table at path (see PutSnapshot);
// walSynced: the WAL has been synced since the records the snapshot
// follows were appended.
func (a *Appender) ingestSnapshot(seq uint64, path string, walSynced bool, pause func()) error {
	j := a.j
	ingested := false
	defer func() {
		if !ingested {
			j.opts.FS.Remove(path)
		}
	}()
	if j.opts.Durability == DurabilitySync {
		if err := a.awaitDurable(seq); err != nil {
			return err
		}
	}
	if err := j.enterInline(); err != nil {
		return err
	}
	defer j.inline.RUnlock()
	var stats pebble.IngestOperationStats
	// With a spare processor (yield.Blocking) for the WAL's sync and the
	// ingest, one boost for both (each change of GOMAXPROCS stops the
	// world for ~24 µs). The WAL's sync runs on Pebble's WAL flusher
	// goroutine, which keeps its processor through the fsync until sysmon
	// takes it back (up to two 10 ms sysmon ticks): with one processor a
	// runtime trace of bench fix showed the shard and every FIX session
	// runnable and waiting 16.8 ms behind a 20 ms sync here. Pebble
	// publishes a commit once the batches before it are applied, not
	// synced, so the shard's commits do not wait for this sync itself.
	// Ingest reads the table's one multi-megabyte block back and checks
	// it, a stretch of CPU (8.7 ms in a runtime trace of bench fix) that
	// kept the shard off the only processor, besides its reads and syncs.
	// Nothing latency-critical waits for this goroutine.
	err := j.guard(func() error {
		return yield.Blocking(func() error {
			if j.opts.Durability == DurabilityNone && !walSynced {
				j.stats.snapshotWALSyncs.Add(1)
				if err := j.db.LogData(nil, pebble.Sync); err != nil {
					return fmt.Errorf("WAL sync before snapshot of shard %d at seq %d: %w", a.shard, seq, err)
				}
			}
			// Let the others have the processor between the two (with
			// one processor of the venue's own, spare or not).
			pause()
			var err error
			stats, err = j.db.IngestWithStats(context.Background(), []string{path})
			if err != nil {
				return fmt.Errorf("ingest snapshot of shard %d at seq %d: %w", a.shard, seq, err)
			}
			ingested = true // Ingest removed path
			return nil
		})
	})
	if err != nil {
		return err
	}
	if stats.MemtableOverlappingFiles > 0 {
		j.log.Warn("journal: a snapshot's table overlapped the memtable; its ingestion held commits for a flush",
			"shard", a.shard, "seq", seq)
	}
	a.pruneSnapshots(seq)
	return nil
}

// appendSnapshotValuePaced is appendSnapshotValue in pieces of
// snapTableChunk, calling pause after each: with one Go processor
// (serve --procs=1) a copy and checksum of a multi-megabyte snapshot in
// one go would keep the shard and the FIX readers off the processor for
// a millisecond or more (package yield says why a pause, not Gosched).
func appendSnapshotValuePaced(dst []byte, stateHash *Hash, data []byte, pause func()) []byte {
	dst = slices.Grow(dst, 1+HashSize+4+len(data))
	dst = append(dst, snapshotVersion)
	dst = append(dst, stateHash[:]...)
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0) // the CRC, below
	var crc uint32
	for p := data; len(p) > 0; {
		n := min(len(p), snapTableChunk)
		crc = crc32.Update(crc, castagnoli, p[:n])
		dst = append(dst, p[:n]...)
		p = p[n:]
		pause()
	}
	binary.LittleEndian.PutUint32(dst[at:], crc)
	return dst
}

// awaitDurable waits until the shard's records up to seq (all appended,
// maybe not yet written) are durable: it queues a barrier behind them and
// waits for the acker to acknowledge it (DurabilitySync).
func (a *Appender) awaitDurable(seq uint64) error {
	if a.durable.Load() >= seq {
		return nil
	}
	s := a.j.getSegment()
	s.app, s.kind = a, segSnapshotBarrier
	s.first, s.last, s.count = seq, seq, 0
	if err := a.j.enqueue(s); err != nil {
		return err
	}
	// Every queued segment is acknowledged once, durable or lost (the
	// acker's finish, or its report of what a failure left queued), so
	// this wait ends.
	return <-a.snapDone
}

// Pacing the table's write. A multi-megabyte table written at once and
// then synced keeps the disk busy for milliseconds with one writeback,
// and two things wait for it. A WAL sync issued meanwhile (DurabilitySync's
// group commits) waits behind it: on ext4 each fsync commits the
// filesystem's journal, and that commit waits for the data of blocks
// allocated in it. And the fsync itself blocks its goroutine in the
// kernel for those milliseconds, holding its Go processor until sysmon
// takes it back (up to 10 ms later): with one processor (serve
// --procs=1) nothing else in the venue runs. So the table is written in
// snapTableChunk pieces; after each, sync_file_range (vfs.File.SyncTo,
// write and wait-before: Pebble's own BytesPerSync mechanism) starts the
// piece's writeback, and the writer sleeps snapTablePause — longer than
// a piece's writeback here — so that the next SyncTo seldom waits, the
// final fsync finds little left to write, and the disk serves the WAL in
// between. Measured (BenchmarkSnapshotCommitStall, 20 snapshots of 3 MiB,
// load ~2): with durability sync, the longest commit during a store,
// median over the snapshots, 8.7-10.1 ms written at once, 5.0 ms paced
// with 300 µs pauses; with durability none and one processor (-cpu 1),
// its largest 12-35 ms with 300 µs pauses, 4.0-6.7 ms with 1 ms (the
// commits without a store reach 2.6-17 ms on this shared machine). It
// costs the snapshotter twelve 1 ms sleeps per 3 MiB, no CPU.
const (
	snapTableChunk = 256 << 10
	snapTablePause = 1 * time.Millisecond
)

// pacedWritable is the objstorage.Writable the snapshot table is written
// through (see Pacing above).
type pacedWritable struct {
	f           vfs.File
	off, synced int64
}

func (w *pacedWritable) Write(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), snapTableChunk)
		if _, err := w.f.Write(p[:n]); err != nil {
			return err
		}
		w.off += int64(n)
		p = p[n:]
		if w.off-w.synced >= snapTableChunk {
			if _, err := w.f.SyncTo(w.off); err != nil {
				return err
			}
			w.synced = w.off
			time.Sleep(snapTablePause)
		}
	}
	return nil
}

// Finish syncs the whole file (data and size: Ingest's precondition) and
// closes it.
func (w *pacedWritable) Finish() error {
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *pacedWritable) Abort() { w.f.Close() }

var _ objstorage.Writable = (*pacedWritable)(nil)
