package journal

import (
	"runtime"
	"sync/atomic"

	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestPacedFSPacesOnlyBackgroundWrites: the files of flushes and
// compactions are paced, the WAL's and the MANIFEST's (which commits wait
// for) are not.
func TestPacedFSPacesOnlyBackgroundWrites(t *testing.T) {
	fs := pacedFS{FS: vfs.NewMem(), pauses: new(atomic.Uint64)}
	for _, tc := range []struct {
		category vfs.DiskWriteCategory
		paced    bool
	}{
		{"pebble-memtable-flush", true},
		{"pebble-compaction", true},
		{"pebble-wal", false},
		{"pebble-manifest", false},
		{vfs.WriteCategoryUnspecified, false},
	} {
		f, err := fs.Create(string(tc.category), tc.category)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.(*pacedFile); ok != tc.paced {
			t.Errorf("%s: paced %v, want %v", tc.category, ok, tc.paced)
		}
		f.Close()
	}
}

// TestFlushPauses: a memtable flush of a journal open for writing goes
// through the paced files, and its writes pause (Stats.BackgroundPauses)
// with one processor, not with two.
func TestFlushPauses(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if p := flushPauses(t); p == 0 {
		t.Errorf("one processor: a flush of 8 MiB made %d pauses, want some", p)
	}
	runtime.GOMAXPROCS(2)
	if p := flushPauses(t); p != 0 {
		t.Errorf("two processors: a flush of 8 MiB made %d pauses, want none", p)
	}
}

// flushPauses flushes 8 MiB from a new journal's memtable and returns the
// pauses its writes made.
func flushPauses(t *testing.T) uint64 {
	t.Helper()
	j, err := Open(t.TempDir(), Options{Durability: DurabilityNone, FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	b := j.db.NewBatch()
	val := make([]byte, 1024)
	for i := range 8 << 10 { // 8 MiB: a flush of some thousands of blocks
		val[0], val[1] = byte(i), byte(i>>8)
		b.Set([]byte{'z', byte(i >> 8), byte(i)}, val, nil)
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	if err := j.db.Flush(); err != nil {
		t.Fatal(err)
	}
	return j.Stats().BackgroundPauses
}
