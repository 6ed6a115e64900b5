package journal

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/internal/yield"
)

// pacedFS is the filesystem the journal gives Pebble: the one it was
// given, except that the files Pebble's flushes and compactions write
// (its background work: building sstables from the memtable or from other
// sstables) pause their goroutine briefly every few tens of microseconds
// of work (package yield), at each write.
//
// Why: with the venue on one Go processor (serve --procs=1), a flush
// computes for tens to hundreds of milliseconds without blocking, in
// slices the scheduler ends every 10 ms. A runtime trace of bench fix (1
// session, 10,000 orders/s, 30 s) showed the shard's goroutine runnable
// and waiting 20-28 ms at a time, again and again, while a 32 MiB
// memtable was flushed; every order in those windows was that late. The
// sstable writer writes through a 4 KiB buffer, so a write comes every few
// microseconds of its work, and a pause every yield.Every keeps a slice
// near that long.
//
// The WAL, the MANIFEST and anything written on a commit's behalf are not
// paced: commits wait for them.
type pacedFS struct {
	vfs.FS
	pauses *atomic.Uint64 // every paced file's pauses (Stats.BackgroundPauses)
}

// paced reports whether files of this write category are written by
// Pebble's background work (see compaction.go's
// getDiskWriteCategoryForCompaction, Pebble v2.1.7).
func paced(category vfs.DiskWriteCategory) bool {
	switch category {
	case "pebble-memtable-flush", "pebble-compaction", "pebble-blob-file-rewrite":
		return true
	}
	return false
}

func (fs pacedFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || !paced(category) {
		return f, err
	}
	return &pacedFile{File: f, pauses: fs.pauses}, nil
}

// pacedFile is a file of Pebble's background work: see pacedFS. A file is
// written by one goroutine at a time (the flush or compaction creating
// it), so its Pacer needs no lock.
type pacedFile struct {
	vfs.File
	pacer  yield.Pacer
	pauses *atomic.Uint64
}

func (f *pacedFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if f.pacer.MaybePause() {
		f.pauses.Add(1)
	}
	return n, err
}

// Open and Link pace Pebble's reading and linking of a snapshot table in
// Ingest (snapingest.go), which run on PutSnapshot's goroutine — the
// venue's snapshotter — before Ingest enters the commit pipeline. With
// one Go processor a goroutine returning from a system call takes its
// processor straight back, so without a pause in between, reading the
// multi-megabyte table back, linking it, syncing the directory and
// writing the MANIFEST ran as one stretch of 7-17 ms in which the shard
// never ran (BenchmarkSnapshotCommitStall, -cpu 1). Files Pebble opens
// under its own names (the linked table, the WAL, the MANIFEST) are not
// paced: commits may wait for those reads.
func (fs pacedFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.Open(name, opts...)
	if err != nil || !isSnapshotTable(name) {
		return f, err
	}
	return &pacedReadFile{File: f, pauses: fs.pauses}, nil
}

func (fs pacedFS) Link(oldname, newname string) error {
	if isSnapshotTable(oldname) {
		var p yield.Pacer
		if p.MaybePause() { // a new Pacer always pauses
			fs.pauses.Add(1)
		}
	}
	return fs.FS.Link(oldname, newname)
}

// pacedReadFile is a snapshot table Ingest reads: see pacedFS.Open.
type pacedReadFile struct {
	vfs.File
	pacer  yield.Pacer
	pauses *atomic.Uint64
}

// ReadAt also runs with a spare processor (yield.Blocking): Ingest reads
// the table's one multi-megabyte block back, 5 ms of pread in a runtime
// trace of bench fix, during which the shard waited for the only
// processor. The reader is the snapshot's goroutine, before Ingest enters
// the commit pipeline: nothing waits for it.
func (f *pacedReadFile) ReadAt(p []byte, off int64) (n int, err error) {
	if f.pacer.MaybePause() {
		f.pauses.Add(1)
	}
	err = yield.Blocking(func() error {
		n, err = f.File.ReadAt(p, off)
		return err
	})
	return n, err
}
