package journal

import (
	"runtime"
	"slices"
	"sync/atomic"
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

func (fs procsFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return procsFile{f, fs.seen}, err
}

// TestBoostFSWALPreallocate: under DurabilityNone a WAL file's
// preallocation runs with one more processor, whether Pebble creates the
// file or recycles an old one, through the journal's whole filesystem
// (pacedFS over boostFS); its syncs do not (commits may wait for them);
// under DurabilitySync nothing of the WAL does.
func TestBoostFSWALPreallocate(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	yield.Boost(true)
	defer yield.Boost(false)
	for _, d := range []Durability{DurabilityNone, DurabilitySync} {
		var seen []int
		mem := vfs.NewMem()
		o := Options{FS: procsFS{mem, &seen}, Durability: d}
		fs := pebbleOptions(&o, new(atomic.Uint64)).FS
		f, err := fs.Create("000001.log", "pebble-wal")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		want := []int{2, 1}
		if d == DurabilitySync {
			want = []int{1, 1}
		}
		for _, open := range []func() (vfs.File, error){
			func() (vfs.File, error) { return fs.Create("000002.log", "pebble-wal") },
			func() (vfs.File, error) { return fs.ReuseForWrite("000001.log", "000003.log", "pebble-wal") },
		} {
			seen = nil
			f, err := open()
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Preallocate(0, 1<<20); err != nil {
				t.Fatal(err)
			}
			if err := f.SyncData(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if !slices.Equal(seen, want) || runtime.GOMAXPROCS(0) != 1 {
				t.Errorf("%v: GOMAXPROCS in preallocate and SyncData: %v (%d after); want %v (1)", d, seen, runtime.GOMAXPROCS(0), want)
			}
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
