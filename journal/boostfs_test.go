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
