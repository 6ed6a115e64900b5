package journal

import (
	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/internal/yield"
)

// boostFS is beneath pacedFS in the filesystem the journal gives Pebble:
// each call of Pebble's that may wait for the disk — a file's sync (the
// WAL's on each synced commit and at each rotation, an sstable's, the
// MANIFEST's, a directory's), sync_file_range, fallocate, and unlinking
// a file (which frees its blocks) — runs through yield.Blocking, so that
// with the venue on one processor the shard and the FIX sessions go on
// while Pebble waits (see yield.Blocking for why they did not).
//
// Except the WAL's under DurabilitySync (wal false): there every group
// commit syncs the WAL, a thousand times a second at 10,000 orders/s, and
// adding and removing a processor each time cost more than it saved
// (bench fix, 1 session, 10,000/s, durability sync, 10 s, one run each:
// p50 0.69 ms and 40.5 us of venue CPU an order without, 2.5 ms and 85.6
// us with).
type boostFS struct {
	vfs.FS
	wal bool // boost the WAL's syncs too
}

func (fs boostFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if category == walCategory && !fs.wal {
		return f, err
	}
	return boosted(f, err)
}

func (fs boostFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if category == walCategory && !fs.wal {
		return f, err
	}
	return boosted(f, err)
}

// walCategory is the write category of Pebble's WAL files (Pebble
// v2.1.7, wal/standalone_manager.go).
const walCategory vfs.DiskWriteCategory = "pebble-wal"

func (fs boostFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	return boosted(f, err)
}

func (fs boostFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.FS.OpenDir(name)
	return boosted(f, err)
}

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
