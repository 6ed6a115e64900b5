package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// snapshotTables lists the snapshot tables (written, not yet ingested)
// in dir.
func snapshotTables(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, snapshotTablePrefix) {
			out = append(out, n)
		}
	}
	return out
}

// TestSnapshotIngested: a snapshot is stored by ingestion — the WAL does
// not grow by its size — under the key and with the value bytes the
// journal always had, read back identical live and after a reopen, and
// no table file is left behind.
func TestSnapshotIngested(t *testing.T) { durabilities(t, testSnapshotIngested) }

func testSnapshotIngested(t *testing.T, d Durability) {
	r := testRand(t)
	dir := t.TempDir()
	j, a := openAppender(t, dir, Options{Logger: quietLogger(t), Durability: d}, 2)
	if err := a.Append(randBatch(r, 1, 20)); err != nil {
		t.Fatal(err)
	}
	data := randBytes(r, 1<<20+17)
	h := Hash{7, 7, 7}
	walBefore := j.db.Metrics().WAL.BytesIn
	if err := a.PutSnapshot(20, h, data); err != nil {
		t.Fatal(err)
	}
	if grew := j.db.Metrics().WAL.BytesIn - walBefore; grew >= uint64(len(data)) {
		t.Fatalf("the WAL grew by %d bytes for a snapshot of %d: written as a batch, not ingested", grew, len(data))
	}
	want := appendSnapshotValue(nil, &h, data)
	k := SnapshotKey(2, 20)
	v, closer, err := j.db.Get(k[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v, want) {
		t.Fatalf("stored value of %d bytes differs from the format's %d", len(v), len(want))
	}
	closer.Close()
	if s, err := j.Reader().LatestSnapshot(2); err != nil || s.Seq != 20 || s.StateHash != h || !bytes.Equal(s.Data, data) {
		t.Fatalf("live read: seq %d (%v)", s.Seq, err)
	}
	if left := snapshotTables(t, vfs.Default, dir); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	rd := closeAndRead(t, j, dir)
	s, err := rd.LatestSnapshot(2)
	if err != nil || s.Seq != 20 || s.StateHash != h || !bytes.Equal(s.Data, data) {
		t.Fatalf("after reopen: seq %d (%v)", s.Seq, err)
	}
	if hd, err := rd.Verify(2, nil); err != nil || hd.Seq != 20 {
		t.Fatalf("verify: %v %v", hd, err)
	}
}

// TestSnapshotValuePaced: the value PutSnapshot builds in pieces is the
// format's, byte for byte, at sizes around the piece boundaries, and it
// pauses once per piece.
func TestSnapshotValuePaced(t *testing.T) {
	r := testRand(t)
	for _, n := range []int{0, 1, snapTableChunk - 1, snapTableChunk, snapTableChunk + 1, 3*snapTableChunk + 7} {
		data := randBytes(r, n)
		h := Hash{byte(n), 2, 3}
		pauses := 0
		got := appendSnapshotValuePaced([]byte("keep"), &h, data, func() { pauses++ })
		want := appendSnapshotValue([]byte("keep"), &h, data)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: the paced value differs", n)
		}
		if wantPauses := (n + snapTableChunk - 1) / snapTableChunk; pauses != wantPauses {
			t.Fatalf("%d bytes: %d pauses, want %d", n, pauses, wantPauses)
		}
	}
}

// TestSnapshotTableFormats: the snapshot table is written in a format
// the database accepts whatever its FormatMajorVersion (the journal
// opens at Pebble's default; the newest writes columnar blocks, which
// need the key schema from the database's options).
func TestSnapshotTableFormats(t *testing.T) {
	for _, fmv := range []pebble.FormatMajorVersion{pebble.FormatMinSupported, pebble.FormatNewest} {
		t.Run(fmv.String(), func(t *testing.T) {
			fs := vfs.NewMem()
			po := &pebble.Options{FS: fs, FormatMajorVersion: fmv}
			db, err := pebble.Open("db", po)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			po.EnsureDefaults()
			k := SnapshotKey(1, 9)
			val := bytes.Repeat([]byte("state "), 100_000)
			if err := writeSnapshotTable(fs, "db/t.sst.tmp", snapshotTableOptions(db, po), k[:], val); err != nil {
				t.Fatal(err)
			}
			if err := db.Ingest(t.Context(), []string{"db/t.sst.tmp"}); err != nil {
				t.Fatalf("table format %s: %v", db.TableFormat(), err)
			}
			v, closer, err := db.Get(k[:])
			if err != nil || !bytes.Equal(v, val) {
				t.Fatalf("read back: %d bytes, %v", len(v), err)
			}
			closer.Close()
		})
	}
}

// failSnapshotTable fails the first operation of kind on a snapshot
// table (after arm), and Link with it when link is set (Ingest falls
// back from a failed link to a copy, which must fail too).
type failSnapshotTable struct {
	kind  errorfs.OpKind
	armed atomic.Bool
	fired atomic.Int32
}

func (f *failSnapshotTable) String() string { return "failSnapshotTable" }

func (f *failSnapshotTable) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() || !strings.Contains(op.Path, snapshotTablePrefix) {
		return nil
	}
	if op.Kind == f.kind || (f.kind == errorfs.OpLink && op.Kind == errorfs.OpOpen && f.fired.Load() > 0) {
		f.fired.Add(1)
		return errors.New("injected: no space left on device")
	}
	return nil
}

// TestSnapshotIngestFailure: when writing, syncing or ingesting the
// snapshot's table fails, PutSnapshot reports the journal unavailable,
// no table file is left, and the journal reopens whole: every record
// appended before, the snapshots stored before, nothing of the failed
// one.
func TestSnapshotIngestFailure(t *testing.T) {
	for _, c := range []struct {
		name string
		kind errorfs.OpKind
	}{
		{"write", errorfs.OpFileWrite},
		{"sync", errorfs.OpFileSync},
		{"ingest-load", errorfs.OpOpen},
		{"ingest-link", errorfs.OpLink},
	} {
		t.Run(c.name, func(t *testing.T) {
			durabilities(t, func(t *testing.T, d Durability) {
				r := testRand(t)
				dir := t.TempDir()
				inj := &failSnapshotTable{kind: c.kind}
				j, err := Open(dir, Options{Logger: quietLogger(t), Durability: d, FS: errorfs.Wrap(vfs.Default, inj)})
				if err != nil {
					t.Fatal(err)
				}
				a, _ := j.Appender(0, nil)
				if err := a.Append(randBatch(r, 1, 10)); err != nil {
					t.Fatal(err)
				}
				if err := a.PutSnapshot(10, Hash{1}, bytes.Repeat([]byte{1}, 600<<10)); err != nil {
					t.Fatal(err)
				}
				if err := a.Append(randBatch(r, 11, 10)); err != nil {
					t.Fatal(err)
				}
				// (DurabilitySync: the failure makes the journal
				// unavailable, and records still queued are lost, never
				// acknowledged; here they are durable first.)
				checkFor(t, 5*time.Second, func() error {
					if a.Durable() < 20 {
						return errors.New("records 11-20 not durable yet")
					}
					return nil
				})
				inj.armed.Store(true)
				err = a.PutSnapshot(20, Hash{2}, bytes.Repeat([]byte{2}, 600<<10))
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("PutSnapshot with a failing %s: %v", c.name, err)
				}
				if inj.fired.Load() == 0 {
					t.Fatal("the fault was never injected")
				}
				if left := snapshotTables(t, vfs.Default, dir); len(left) > 0 {
					t.Fatalf("left behind: %v", left)
				}
				if err := a.Append(randBatch(r, 21, 1)); !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Append after the failure: %v", err)
				}
				j.Close()

				j, err = Open(dir, Options{Logger: quietLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				rd := j.Reader()
				if h, err := rd.Verify(0, nil); err != nil || h.Seq != 20 {
					t.Fatalf("verify after reopen: head %d, %v", h.Seq, err)
				}
				if seqs, err := rd.Snapshots(0); err != nil || !slices.Equal(seqs, []uint64{10}) {
					t.Fatalf("snapshots after reopen: %v %v", seqs, err)
				}
				if s, err := rd.LatestSnapshot(0); err != nil || !bytes.Equal(s.Data, bytes.Repeat([]byte{1}, 600<<10)) {
					t.Fatalf("the earlier snapshot: %v", err)
				}
			})
		})
	}
}

// TestOpenRemovesSnapshotTables: a crash between writing a snapshot's
// table and ingesting it leaves the file; a reader opens past it and the
// journal's Open removes it.
func TestOpenRemovesSnapshotTables(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := j.Appender(4, nil)
	a.Append(randBatch(testRand(t), 1, 3))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash's leftover: a whole table, as writeSnapshotTable leaves it
	// before Ingest.
	f, err := vfs.Default.Create(snapshotTablePath(vfs.Default, dir, 4), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("a table never ingested"))
	f.Close()
	rd, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	if left := snapshotTables(t, vfs.Default, dir); len(left) != 1 {
		t.Fatalf("a reader must not write: %v", left)
	}
	j, err = Open(dir, Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if left := snapshotTables(t, vfs.Default, dir); len(left) > 0 {
		t.Fatalf("Open left %v", left)
	}
	if h, err := j.Reader().Verify(4, nil); err != nil || h.Seq != 3 {
		t.Fatalf("verify: %v %v", h, err)
	}
}

// TestSnapshotNeverOutlivesItsRecords is crash-shaped: a machine crash
// (what was not synced is lost: vfs.MemFS.CrashClone) right after
// PutSnapshot returns keeps the snapshot — it is durable on return — and
// every record up to it, with either durability. With DurabilityNone the
// records went to the WAL unsynced, so this fails if PutSnapshot does
// not sync the WAL before ingesting.
func TestSnapshotNeverOutlivesItsRecords(t *testing.T) {
	durabilities(t, func(t *testing.T, d Durability) {
		r := testRand(t)
		fs := vfs.NewCrashableMem()
		j, err := Open("j", Options{Logger: quietLogger(t), Durability: d, FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		a, _ := j.Appender(1, nil)
		var seqs []uint64
		for i := range 5 {
			// Several batches, none waited for (DurabilitySync: still
			// queued or syncing when PutSnapshot is called).
			for range 3 {
				if err := a.Append(randBatch(r, a.Next(), 5)); err != nil {
					t.Fatal(err)
				}
			}
			seq := a.Next() - 1
			if err := a.PutSnapshot(seq, Hash{byte(i)}, bytes.Repeat([]byte{byte(i)}, 50_000)); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, seq)

			crashed := fs.CrashClone(vfs.CrashCloneCfg{})
			cj, err := Open("j", Options{Logger: quietLogger(t), FS: crashed})
			if err != nil {
				t.Fatal(err)
			}
			rd := cj.Reader()
			h, err := rd.Verify(1, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := rd.LatestSnapshot(1)
			if err != nil || s.Seq != seq {
				t.Fatalf("crash after PutSnapshot(%d): latest snapshot %d (%v)", seq, s.Seq, err)
			}
			if h.Seq < seq {
				t.Fatalf("crash after PutSnapshot(%d): the snapshot survived, the records end at %d", seq, h.Seq)
			}
			cj.Close()
		}
	})
}

// TestPacedFSPacesSnapshotTableReads: Pebble's reads of a snapshot table
// (Ingest loading it, on PutSnapshot's goroutine) pause; its reads of its
// own files do not; and a journal's ingestion goes through them.
func TestPacedFSPacesSnapshotTableReads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // pauses are for one processor (yield.Pacer)
	mem := vfs.NewMem()
	fs := pacedFS{FS: mem, pauses: new(atomic.Uint64)}
	for _, name := range []string{snapshotTablePath(mem, "", 3), "000042.sst", "MANIFEST-000001"} {
		f, err := mem.Create(name, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("bytes"))
		f.Close()
		r, err := fs.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		_, paced := r.(*pacedReadFile)
		if want := isSnapshotTable(name); paced != want {
			t.Errorf("%s: paced %v, want %v", name, paced, want)
		}
		r.Close()
	}

	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t), Durability: DurabilityNone})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	a, _ := j.Appender(0, nil)
	a.Append(randBatch(testRand(t), 1, 2))
	before := j.Stats().BackgroundPauses
	if err := a.PutSnapshot(2, Hash{}, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if got := j.Stats().BackgroundPauses - before; got < 2 {
		t.Errorf("ingesting a snapshot paused %d times in Pebble's reads and link, want at least 2", got)
	}
}

// TestSnapshotWrittenElsewhere: a snapshot table written by
// WriteSnapshotTable (as another process would, at the path
// SnapshotTableFile gives) and ingested by IngestSnapshot is stored under
// the same key with the same value bytes as PutSnapshot's, read back
// identical after a reopen; a table IngestSnapshot refuses (outside the
// journal's directory, not a snapshot table's name, a seq not appended)
// is removed and stores nothing.
func TestSnapshotWrittenElsewhere(t *testing.T) { durabilities(t, testSnapshotWrittenElsewhere) }

func testSnapshotWrittenElsewhere(t *testing.T, d Durability) {
	r := testRand(t)
	dir := t.TempDir()
	j, a := openAppender(t, dir, Options{Logger: quietLogger(t), Durability: d}, 3)
	if err := a.Append(randBatch(r, 1, 30)); err != nil {
		t.Fatal(err)
	}
	data := randBytes(r, 600<<10+5)
	h := Hash{9, 1}
	path, format, ok := a.SnapshotTableFile(30)
	if !ok {
		t.Fatal("no table file on the operating system's filesystem")
	}
	if other, _, _ := a.SnapshotTableFile(31); other == path {
		t.Fatalf("two snapshots, one table path %s", path)
	}
	// Refused: each leaves nothing stored and no file behind.
	outside := t.TempDir() + "/" + filepath.Base(path)
	misnamed := dir + "/not-a-snapshot.sst"
	for _, c := range []struct {
		path string
		seq  uint64
		want string
	}{
		{outside, 30, "not a snapshot table in the journal's directory"},
		{misnamed, 30, "not a snapshot table in the journal's directory"},
		{path, 31, "which has records up to 30"},
	} {
		if err := WriteSnapshotTable(c.path, format, 3, c.seq, h, data); err != nil {
			t.Fatal(err)
		}
		err := a.IngestSnapshot(c.seq, c.path, a.WALMark())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("IngestSnapshot(%d, %s) = %v, want %q", c.seq, c.path, err, c.want)
		}
		if _, err := os.Stat(c.path); !os.IsNotExist(err) {
			t.Fatalf("%s left behind (%v)", c.path, err)
		}
	}
	if _, err := j.Reader().LatestSnapshot(3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused table was stored: %v", err)
	}
	if err := j.Err(); err != nil {
		t.Fatalf("a refused table failed the journal: %v", err)
	}

	if err := WriteSnapshotTable(path, format, 3, 30, h, data); err != nil {
		t.Fatal(err)
	}
	if err := a.IngestSnapshot(30, path, a.WALMark()); err != nil {
		t.Fatal(err)
	}
	want := appendSnapshotValue(nil, &h, data)
	k := SnapshotKey(3, 30)
	v, closer, err := j.db.Get(k[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v, want) {
		t.Fatalf("stored value of %d bytes differs from PutSnapshot's %d", len(v), len(want))
	}
	closer.Close()
	if left := snapshotTables(t, vfs.Default, dir); len(left) > 0 {
		t.Fatalf("tables left behind: %v", left)
	}
	rd := closeAndRead(t, j, dir)
	if s, err := rd.LatestSnapshot(3); err != nil || s.Seq != 30 || s.StateHash != h || !bytes.Equal(s.Data, data) {
		t.Fatalf("after reopen: seq %d (%v)", s.Seq, err)
	}
}

// TestSnapshotTableFileNeedsTheOSFilesystem: a journal on another
// filesystem (Options.FS) gives no path another process could write to.
func TestSnapshotTableFileNeedsTheOSFilesystem(t *testing.T) {
	j, a := openAppender(t, "j", Options{Logger: quietLogger(t), FS: vfs.NewMem(), Durability: DurabilityNone}, 0)
	defer j.Close()
	if path, _, ok := a.SnapshotTableFile(1); ok {
		t.Fatalf("a path on a memory filesystem: %s", path)
	}
}

// TestIngestSnapshotAfterWALRotation: under DurabilityNone, a snapshot
// ingested after Pebble has rotated the WAL since the mark (which synced
// the records it follows) does not sync the WAL again; one ingested with
// no rotation since does; WALRotated tells which, and is closed by the
// rotation. Under DurabilitySync nothing syncs the WAL for a snapshot.
func TestIngestSnapshotAfterWALRotation(t *testing.T) {
	durabilities(t, testIngestSnapshotAfterWALRotation)
}

func testIngestSnapshotAfterWALRotation(t *testing.T, d Durability) {
	r := testRand(t)
	dir := t.TempDir()
	j, a := openAppender(t, dir, Options{Logger: quietLogger(t), Durability: d}, 1)
	defer j.Close()
	if got, want := a.SnapshotSyncsWAL(), d == DurabilityNone; got != want {
		t.Fatalf("SnapshotSyncsWAL %v under %v", got, d)
	}
	store := func(seq uint64, mark uint64) {
		t.Helper()
		path, format, _ := a.SnapshotTableFile(seq)
		if err := WriteSnapshotTable(path, format, 1, seq, Hash{byte(seq)}, []byte("state")); err != nil {
			t.Fatal(err)
		}
		if err := a.IngestSnapshot(seq, path, mark); err != nil {
			t.Fatal(err)
		}
		if s, err := j.Reader().LatestSnapshot(1); err != nil || s.Seq != seq {
			t.Fatalf("latest snapshot %d (%v), want %d", s.Seq, err, seq)
		}
	}
	syncs := func() uint64 { return j.Stats().SnapshotWALSyncs }
	wantSyncs := uint64(0)
	if d == DurabilityNone {
		wantSyncs = 1
	}

	// No rotation since the mark: the WAL is synced for the snapshot.
	if err := a.Append(randBatch(r, 1, 10)); err != nil {
		t.Fatal(err)
	}
	mark := a.WALMark()
	select {
	case <-a.WALRotated(mark):
		t.Fatal("WALRotated closed with no rotation")
	default:
	}
	store(10, mark)
	if got := syncs(); got != wantSyncs {
		t.Fatalf("%d WAL syncs for a snapshot with no rotation since its mark, want %d", got, wantSyncs)
	}

	// A rotation (a flush makes a new memtable and WAL) after the mark:
	// WALRotated is closed and the snapshot needs no sync of its own.
	if err := a.Append(randBatch(r, 11, 10)); err != nil {
		t.Fatal(err)
	}
	mark = a.WALMark()
	rotated := a.WALRotated(mark)
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rotated:
	case <-time.After(10 * time.Second):
		t.Fatal("WALRotated not closed by a rotation")
	}
	if a.WALMark() <= mark {
		t.Fatalf("mark %d after a rotation, was %d", a.WALMark(), mark)
	}
	store(20, mark)
	if got := syncs(); got != wantSyncs {
		t.Fatalf("%d WAL syncs after a snapshot that followed a rotation, want still %d", got, wantSyncs)
	}
}

// TestWALRotationSyncsRecords is the ground IngestSnapshot stands on
// (walGeneration), checked against Pebble itself on a filesystem that can
// crash: records committed without a sync before WALMark are all there
// after a crash that loses every unsynced byte, once WALRotated(mark) has
// fired; without the rotation the same crash loses them (the test would
// not show anything otherwise).
func TestWALRotationSyncsRecords(t *testing.T) {
	for _, rotate := range []bool{true, false} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			r := testRand(t)
			mem := vfs.NewCrashableMem()
			j, err := Open("j", Options{Logger: quietLogger(t), FS: mem, Durability: DurabilityNone})
			if err != nil {
				t.Fatal(err)
			}
			a, err := j.Appender(4, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Append(randBatch(r, 1, 50)); err != nil {
				t.Fatal(err)
			}
			mark := a.WALMark()
			if rotate {
				// A rotation not caused by the journal's own commits: the
				// memtable flushed in the background.
				if _, err := j.db.AsyncFlush(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-a.WALRotated(mark):
				case <-time.After(10 * time.Second):
					t.Fatal("no rotation")
				}
			}
			crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
			j.Close()
			rd, err := OpenReader("j", ReaderOptions{Options{FS: crashed, Logger: quietLogger(t)}})
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			h, err := rd.Head(4)
			if err != nil {
				t.Fatal(err)
			}
			if rotate && h.Seq != 50 {
				t.Fatalf("after a rotation and a crash the journal ends at seq %d, want 50", h.Seq)
			}
			if !rotate && h.Seq == 50 {
				t.Fatal("records survived a crash without a rotation: the test shows nothing")
			}
		})
	}
}
