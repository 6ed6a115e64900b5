package journal

import (
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
// through the paced files, and its writes pause (Stats.BackgroundPauses).
func TestFlushPauses(t *testing.T) {
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
	if p := j.Stats().BackgroundPauses; p == 0 {
		t.Errorf("a flush of 8 MiB made %d pauses, want some", p)
	}
}
