package journal

import (
	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/internal/yield"
)

// boostFS is beneath pacedFS in the filesystem the journal gives Pebble:
// the syncs (and sync_file_range, fallocate) of the files Pebble's
// background work writes — flushes' and compactions' sstables — and the
// unlinking of obsolete files (which can free their blocks) run through
// yield.Blocking, so that with the venue on one processor the shard and
// the FIX sessions go on while Pebble waits for the disk (see
// yield.Blocking for why they did not). The snapshot table's file is made
// through it too (snapingest.go).
//
// Only those: yield.Blocking changes GOMAXPROCS, which waits for a
// garbage collection in progress (a review measured 16-17 ms during one),
// so nothing a commit waits for goes through it — not the WAL (under
// DurabilitySync a sync per group commit, where a boost each time also
// cost more than it saved: bench fix, 1 session, 10,000/s, 10 s, one run
// each, p50 0.69 ms and 40.5 us of venue CPU an order without, 2.5 ms and
// 85.6 us with), not the MANIFEST (an ingest's edit holds the commits
// behind it), not directories (the new WAL's is synced on a commit).
// Under DurabilityNone a WAL file's preallocation does go through it
// (walFile): once per WAL, and no commit's own sync comes after it.
type boostFS struct {
	vfs.FS
	// boostWAL: WAL files are walFiles (DurabilityNone only).
	boostWAL bool
}

func (fs boostFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if fs.isBoostedWAL(category) && err == nil {
		return walFile{f}, nil
	}
	if !boostedCategory(category) {
		return f, err
	}
	return boosted(f, err)
}

// ReuseForWrite is how Pebble makes a new WAL from a recycled one.
func (fs boostFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if fs.isBoostedWAL(category) && err == nil {
		return walFile{f}, nil
	}
	return f, err
}

// isBoostedWAL says whether a file of category is a WAL this boostFS
// makes a walFile.
func (fs boostFS) isBoostedWAL(category vfs.DiskWriteCategory) bool {
	return category == walCategory && fs.boostWAL
}

// walCategory is the write category of Pebble's WAL files.
const walCategory vfs.DiskWriteCategory = "pebble-wal"

// walFile is a WAL file of boostFS under DurabilityNone (boostWAL): not
// its syncs (a commit may wait for one, at a snapshot or a rotation), but
// its preallocation, which Pebble's WAL flusher makes at a new WAL's
// second write (fallocate of 110% of the memtable, 70 MiB by default) and
// which blocks the flusher, not the commits, under DurabilityNone. A
// runtime trace of bench fix (1 session, 10,000 orders/s) showed the
// flusher 7.7 and 19.5 ms in fallocate(2) just after two rotations,
// holding the only processor with the shard runnable. Once per WAL: a
// rotation whose closing of the old WAL meets it waits for it, and for
// the boost (yield.Blocking). Not under DurabilitySync, where a group
// commit's sync comes after it on the same flusher, and so would wait for
// the boost's GOMAXPROCS changes (and a garbage collection's mark phase).
// A recycled WAL keeps its earlier preallocation, so its fallocate is
// likely quick; it is boosted alike, once per WAL.
type walFile struct {
	vfs.File
}

func (f walFile) Preallocate(offset, length int64) error {
	return yield.Blocking(func() error { return f.File.Preallocate(offset, length) })
}

// boostedCategory reports whether files of this write category are
// written off the commit path: Pebble's background work (paced) and the
// snapshot table.
func boostedCategory(category vfs.DiskWriteCategory) bool {
	return paced(category) || category == snapshotCategory
}

// snapshotCategory is the write category of the snapshot table's file
// (writeSnapshotTable).
const snapshotCategory vfs.DiskWriteCategory = "fxmatch-snapshot"

func (fs boostFS) Remove(name string) error {
	return yield.Blocking(func() error { return fs.FS.Remove(name) })
}

func boosted(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	return boostFile{f}, nil
}

// boostFile is a file of boostFS.
type boostFile struct {
	vfs.File
}

func (f boostFile) Sync() error {
	return yield.Blocking(f.File.Sync)
}

func (f boostFile) SyncData() error {
	return yield.Blocking(f.File.SyncData)
}

func (f boostFile) SyncTo(length int64) (fullSync bool, err error) {
	err = yield.Blocking(func() error {
		var err error
		fullSync, err = f.File.SyncTo(length)
		return err
	})
	return fullSync, err
}

func (f boostFile) Preallocate(offset, length int64) error {
	return yield.Blocking(func() error { return f.File.Preallocate(offset, length) })
}
