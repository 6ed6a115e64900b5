package journal

import (
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/internal/yield"
)

// procsFS records GOMAXPROCS at each sync of its files.
type procsFS struct {
	vfs.FS
	seen *[]int
}

func (fs procsFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return procsFile{f, fs.seen}, err
}

type procsFile struct {
	vfs.File
	seen *[]int
}

func (f procsFile) SyncData() error {
	*f.seen = append(*f.seen, runtime.GOMAXPROCS(0))
	return f.File.SyncData()
}

func (f procsFile) Preallocate(offset, length int64) error {
	*f.seen = append(*f.seen, runtime.GOMAXPROCS(0))
	return f.File.Preallocate(offset, length)
}

func (f procsFile) SyncTo(length int64) (bool, error) {
	*f.seen = append(*f.seen, runtime.GOMAXPROCS(0))
	return f.File.SyncTo(length)
}

func (fs procsFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return procsFile{f, fs.seen}, err
}

// TestBoostFSWALPreallocateAndSyncTo: a WAL file's preallocation and
// started writeback (SyncTo) run with one more processor, whether Pebble
// creates the file or recycles an old one; its syncs do not (commits wait
// for them).
func TestBoostFSWALPreallocateAndSyncTo(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	yield.Boost(true)
	defer yield.Boost(false)
	var seen []int
	mem := vfs.NewMem()
	fs := boostFS{FS: procsFS{mem, &seen}}
	f, err := fs.Create("000001.log", walCategory)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, open := range []func() (vfs.File, error){
		func() (vfs.File, error) { return fs.Create("000002.log", walCategory) },
		func() (vfs.File, error) { return fs.ReuseForWrite("000001.log", "000003.log", walCategory) },
	} {
		seen = nil
		f, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Preallocate(0, 1<<20); err != nil {
			t.Fatal(err)
		}
		if _, err := f.SyncTo(0); err != nil {
			t.Fatal(err)
		}
		if err := f.SyncData(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if len(seen) != 3 || seen[0] != 2 || seen[1] != 2 || seen[2] != 1 || runtime.GOMAXPROCS(0) != 1 {
			t.Errorf("GOMAXPROCS in preallocate, SyncTo, SyncData: %v (%d after); want [2 2 1] (1)", seen, runtime.GOMAXPROCS(0))
		}
	}
}

// TestBoostFSSyncsWithASpareProcessor: with yield.Boost on, the syncs of
// Pebble's background work and of the snapshot table run with one more
// processor; the WAL's and the MANIFEST's (commits wait for them) do not.
func TestBoostFSSyncsWithASpareProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	yield.Boost(true)
	defer yield.Boost(false)
	for _, tc := range []struct {
		category vfs.DiskWriteCategory
		want     int
	}{
		{"pebble-memtable-flush", 2},
		{"pebble-compaction", 2},
		{snapshotCategory, 2},
		{"pebble-wal", 1},
		{"pebble-manifest", 1},
		{vfs.WriteCategoryUnspecified, 1},
	} {
		var seen []int
		fs := boostFS{FS: procsFS{vfs.NewMem(), &seen}}
		f, err := fs.Create("f", tc.category)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SyncData(); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 1 || seen[0] != tc.want || runtime.GOMAXPROCS(0) != 1 {
			t.Errorf("%s: GOMAXPROCS %v in the sync, %d after; want %d, 1", tc.category, seen, runtime.GOMAXPROCS(0), tc.want)
		}
	}
}
