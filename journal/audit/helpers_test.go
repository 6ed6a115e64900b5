package audit_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"fxmatch/journal"
	"fxmatch/journal/audit"
	"fxmatch/journal/audit/audittest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// The scenario's journal is written once per test binary (about a quarter
// of a second) and only read afterwards; tests that change a journal
// change a copy.
var (
	scenarioOnce sync.Once
	scenarioRes  *audittest.Result
	scenarioDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if scenarioDir != "" {
		os.RemoveAll(scenarioDir)
	}
	os.Exit(code)
}

func scenario(t *testing.T) *audittest.Result {
	t.Helper()
	scenarioOnce.Do(func() {
		dir, err := os.MkdirTemp("", "audit-scenario-")
		if err != nil {
			t.Fatal(err)
		}
		scenarioDir = dir
		scenarioRes = audittest.Run(t, filepath.Join(dir, "data"))
	})
	if scenarioRes == nil {
		t.Fatal("the scenario failed to run (see the first test that ran it)")
	}
	return scenarioRes
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, dir string) *audit.Journal {
	t.Helper()
	j, err := audit.Open(dir, audit.Options{Logger: quiet()})
	if err != nil {
		t.Fatalf("audit.Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// golden compares got with testdata/name, or writes it with -rewrite.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *rewrite {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s differs at line %d (run with -rewrite if the change is intended):\n got: %s\nwant: %s", path, i+1, gl, wl)
		}
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "journal")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// The tamper tools change a journal the way someone with write access to
// its files would: through Pebble, writing well-formed block values (the
// layout in package journal's doc) so that what is caught is the change
// itself, not a broken frame.

type rawRec struct {
	check   [8]byte
	payload []byte
}

type rawBlock struct {
	first      uint64
	prev, head journal.Hash
	recs       []rawRec
}

func parseBlock(t *testing.T, first uint64, v []byte) rawBlock {
	t.Helper()
	b := rawBlock{first: first}
	if len(v) < 1 || v[0] != journal.BlockVersion {
		t.Fatalf("block %d: version", first)
	}
	n, k := binary.Uvarint(v[1:])
	off := 1 + k
	copy(b.prev[:], v[off:])
	off += journal.HashSize
	for range n {
		l, k := binary.Uvarint(v[off:])
		off += k
		var r rawRec
		copy(r.check[:], v[off:])
		off += 8
		r.payload = slices.Clone(v[off : off+int(l)])
		off += int(l)
		b.recs = append(b.recs, r)
	}
	copy(b.head[:], v[off:])
	if off+journal.HashSize != len(v) {
		t.Fatalf("block %d: %d trailing bytes", first, len(v)-off-journal.HashSize)
	}
	return b
}

func (b rawBlock) encode() []byte {
	v := []byte{journal.BlockVersion}
	v = binary.AppendUvarint(v, uint64(len(b.recs)))
	v = append(v, b.prev[:]...)
	for _, r := range b.recs {
		v = binary.AppendUvarint(v, uint64(len(r.payload)))
		v = append(v, r.check[:]...)
		v = append(v, r.payload...)
	}
	return append(v, b.head[:]...)
}

func withDB(t *testing.T, dir string, fn func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleQuiet{}})
	if err != nil {
		t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

type pebbleQuiet struct{}

func (pebbleQuiet) Infof(string, ...any)  {}
func (pebbleQuiet) Errorf(string, ...any) {}
func (pebbleQuiet) Fatalf(format string, args ...any) {
	panic("pebble: fatal: " + format)
}

// loadBlocks reads every block of a shard, in key order.
func loadBlocks(t *testing.T, dir string, shard uint16) []rawBlock {
	t.Helper()
	var out []rawBlock
	withDB(t, dir, func(db *pebble.DB) {
		lo := journal.BlockKey(shard, 0)
		hi := journal.BlockKey(shard+1, 0)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo[:], UpperBound: hi[:]})
		if err != nil {
			t.Fatal(err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			first := binary.BigEndian.Uint64(it.Key()[3:])
			out = append(out, parseBlock(t, first, it.Value()))
		}
		it.Close()
	})
	return out
}

// storeBlocks replaces every block of a shard with blocks.
func storeBlocks(t *testing.T, dir string, shard uint16, blocks []rawBlock) {
	t.Helper()
	withDB(t, dir, func(db *pebble.DB) {
		lo := journal.BlockKey(shard, 0)
		hi := journal.BlockKey(shard+1, 0)
		b := db.NewBatch()
		if err := b.DeleteRange(lo[:], hi[:], nil); err != nil {
			t.Fatal(err)
		}
		for _, blk := range blocks {
			k := journal.BlockKey(shard, blk.first)
			if err := b.Set(k[:], blk.encode(), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
	})
}

// locate returns the block and record index holding seq.
func locate(t *testing.T, blocks []rawBlock, seq uint64) (int, int) {
	t.Helper()
	for bi := len(blocks) - 1; bi >= 0; bi-- {
		if blocks[bi].first <= seq {
			i := int(seq - blocks[bi].first)
			if i >= len(blocks[bi].recs) {
				t.Fatalf("seq %d is not in block %d", seq, blocks[bi].first)
			}
			return bi, i
		}
	}
	t.Fatalf("no block holds seq %d", seq)
	return 0, 0
}

// rechain recomputes every record's check and every block's prev and head
// hash, as a forger who knows the format would after changing a record.
func rechain(shard uint16, blocks []rawBlock) {
	h := journal.GenesisHash
	seq := uint64(1)
	for bi := range blocks {
		b := &blocks[bi]
		b.first = seq
		b.prev = h
		for ri := range b.recs {
			h = link(h, shard, seq, b.recs[ri].payload)
			copy(b.recs[ri].check[:], h[:8])
			seq++
		}
		b.head = h
	}
}
