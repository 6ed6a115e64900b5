package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"fxmatch/engine"
)

// The tamper tests change a journal the way someone with write access to
// the files would — through Pebble, keeping every value well-formed where
// that is the point — and check that Verify names the change and the
// first sequence it affects.

// rawRec is one framed record of a block.
type rawRec struct {
	check   []byte
	payload []byte
}

type rawBlock struct {
	prev, head Hash
	recs       []rawRec
}

func parseBlock(t *testing.T, val []byte) rawBlock {
	t.Helper()
	var br blockReader
	if err := br.init(val); err != nil {
		t.Fatal(err)
	}
	b := rawBlock{prev: br.prev, head: br.head}
	for {
		check, payload, ok, err := br.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return b
		}
		b.recs = append(b.recs, rawRec{slices.Clone(check), slices.Clone(payload)})
	}
}

func (b rawBlock) encode() []byte {
	v := []byte{BlockVersion}
	v = appendUvarint(v, uint64(len(b.recs)))
	v = append(v, b.prev[:]...)
	for _, r := range b.recs {
		var h Hash
		copy(h[:], r.check)
		v = appendRecordFrame(v, &h, r.payload)
	}
	return append(v, b.head[:]...)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// withDB opens a journal directory with plain Pebble for tampering.
func withDB(t *testing.T, dir string, fn func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{quietLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func rewriteValue(t *testing.T, dir string, key []byte, fn func([]byte) []byte) {
	t.Helper()
	withDB(t, dir, func(db *pebble.DB) {
		v, closer, err := db.Get(key)
		if err != nil {
			t.Fatalf("get %x: %v", key, err)
		}
		nv := fn(slices.Clone(v))
		closer.Close()
		if err := db.Set(key, nv, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	})
}

// blocks lists a shard's block keys (their first sequences) in order.
func blocks(t *testing.T, dir string, shard uint16) (firsts []uint64, counts []int) {
	withDB(t, dir, func(db *pebble.DB) {
		lo, hi := shardBounds(prefixBlock, shard)
		it, _ := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		for ok := it.First(); ok; ok = it.Next() {
			_, _, s, _ := parseKey(it.Key())
			firsts = append(firsts, s)
			counts = append(counts, len(parseBlock(t, it.Value()).recs))
		}
		it.Close()
	})
	return firsts, counts
}

// blockOf returns the first sequence of the block holding seq and seq's
// index in it.
func blockOf(firsts []uint64, seq uint64) (uint64, int) {
	i, found := slices.BinarySearch(firsts, seq)
	if !found {
		i--
	}
	return firsts[i], int(seq - firsts[i])
}

func editBlock(t *testing.T, dir string, shard uint16, first uint64, fn func(*rawBlock)) {
	rewriteValue(t, dir, BlockKey(shard, first).bytes(), func(v []byte) []byte {
		b := parseBlock(t, v)
		fn(&b)
		return b.encode()
	})
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// makeJournal writes n synthetic records of shard 0 in blocks of a few
// dozen records and returns its directory.
func makeJournal(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t), MaxBlockBytes: 4 << 10, MaxCommitBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	a, err := j.Appender(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newSynth(0, 1)
	var cmds []engine.Command
	var events []engine.Event
	var ends []int
	for a.Next() <= uint64(n) {
		cmds, events, ends = s.batch(min(16, n+1-int(a.Next())), cmds, events, ends)
		if err := a.Append(cmds, events, ends); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func verifyDir(t *testing.T, dir string) (Head, error) {
	t.Helper()
	rd, err := OpenReader(dir, ReaderOptions{Options{Logger: quietLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	return rd.Verify(0, nil)
}

func TestTamper(t *testing.T) {
	const n = 2000
	orig := makeJournal(t, n)
	firsts, counts := blocks(t, orig, 0)
	if len(firsts) < 10 {
		t.Fatalf("only %d blocks; the test wants many", len(firsts))
	}
	head, err := verifyDir(t, orig)
	if err != nil || head.Seq != n {
		t.Fatalf("untouched journal: %v %v", head, err)
	}
	t.Logf("%d records in %d blocks; head %v", n, len(firsts), head)

	// A block in the middle with at least 6 records, and the one after.
	bi := len(firsts) / 2
	for counts[bi] < 6 {
		bi++
	}
	b0, b1 := firsts[bi], firsts[bi+1]
	k := b0 + 2 // a record inside block b0

	cases := []struct {
		name   string
		tamper func(dir string)
		want   error
		seq    uint64
	}{
		{"flip a payload byte", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { p := b.recs[2].payload; p[len(p)/2] ^= 0x10 })
		}, ErrHashMismatch, k},
		{"flip the last payload byte", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { p := b.recs[2].payload; p[len(p)-1] ^= 1 })
		}, ErrHashMismatch, k},
		{"flip a byte of the sequence", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.recs[2].payload[1] ^= 0x04 })
		}, ErrHashMismatch, k},
		{"flip a stored hash byte", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.recs[2].check[0] ^= 0x80 })
		}, ErrHashMismatch, k},
		{"flip the block's previous hash", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.prev[5] ^= 1 })
		}, ErrHashMismatch, b0},
		{"flip the block's head hash", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.head[31] ^= 1 })
		}, ErrHashMismatch, b1 - 1},
		{"flip a raw byte of the value", func(dir string) {
			rewriteValue(t, dir, BlockKey(0, b0).bytes(), func(v []byte) []byte { v[len(v)/2] ^= 0x01; return v })
		}, ErrHashMismatch, 0 /* whichever record holds the middle byte: checked below */},
		{"delete a record", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.recs = slices.Delete(b.recs, 2, 3) })
		}, ErrMissing, k},
		{"delete the first record of a block", func(dir string) {
			editBlock(t, dir, 0, b1, func(b *rawBlock) { b.recs = b.recs[1:] })
		}, ErrMissing, b1},
		{"delete the very first record", func(dir string) {
			editBlock(t, dir, 0, 1, func(b *rawBlock) { b.recs = b.recs[1:] })
		}, ErrMissing, 1},
		{"delete a whole block", func(dir string) {
			withDB(t, dir, func(db *pebble.DB) {
				if err := db.Delete(BlockKey(0, b0).bytes(), pebble.Sync); err != nil {
					t.Fatal(err)
				}
			})
		}, ErrMissing, b0},
		{"swap two records in a block", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.recs[2], b.recs[4] = b.recs[4], b.recs[2] })
		}, ErrReordered, k},
		{"swap two adjacent records", func(dir string) {
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.recs[2], b.recs[3] = b.recs[3], b.recs[2] })
		}, ErrReordered, k},
		{"swap records of two blocks", func(dir string) {
			var r0, r1 rawRec
			editBlock(t, dir, 0, b0, func(b *rawBlock) { r0 = b.recs[2] })
			editBlock(t, dir, 0, b1, func(b *rawBlock) { r1, b.recs[0] = b.recs[0], r0 })
			editBlock(t, dir, 0, b0, func(b *rawBlock) { b.recs[2] = r1 })
		}, ErrReordered, k},
		{"swap two whole blocks", func(dir string) {
			withDB(t, dir, func(db *pebble.DB) {
				k0, k1 := BlockKey(0, b0).bytes(), BlockKey(0, b1).bytes()
				v0, c0, _ := db.Get(k0)
				v0 = slices.Clone(v0)
				c0.Close()
				v1, c1, _ := db.Get(k1)
				v1 = slices.Clone(v1)
				c1.Close()
				db.Set(k0, v1, nil)
				db.Set(k1, v0, pebble.Sync)
			})
		}, ErrReordered, b0},
		{"move a block to another key", func(dir string) {
			withDB(t, dir, func(db *pebble.DB) {
				k0 := BlockKey(0, b0).bytes()
				v, c, _ := db.Get(k0)
				v = slices.Clone(v)
				c.Close()
				db.Delete(k0, nil)
				db.Set(BlockKey(0, b0+1).bytes(), v, pebble.Sync)
			})
		}, ErrCorrupt, b0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, orig)
			tc.tamper(dir)
			_, err := verifyDir(t, dir)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v; want %v", err, tc.want)
			}
			_, seq, ok := BadSeq(err)
			if tc.seq == 0 {
				if !ok || seq < b0 || seq >= b1 {
					t.Fatalf("Verify named seq %d; want one in block %d..%d", seq, b0, b1-1)
				}
			} else if !ok || seq != tc.seq {
				t.Fatalf("Verify named seq %d (%v); want %d", seq, err, tc.seq)
			}
			t.Logf("Verify: %v", err)
		})
	}
}

// TestVerifyReplayCallback: fn sees every record in order and can stop
// the walk with its own error (the replay comparing re-executed events).
func TestVerifyReplayCallback(t *testing.T) {
	dir := makeJournal(t, 300)
	rd, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var next uint64 = 1
	var events int
	if _, err := rd.Verify(0, func(r *Record) error {
		if r.Command.Seq != next {
			t.Fatalf("record %d, want %d", r.Command.Seq, next)
		}
		next++
		events += len(r.Events)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if events != 900 {
		t.Fatalf("%d events in 300 synthetic records, want 900", events)
	}
	stop := errors.New("replay differs")
	if _, err := rd.Verify(0, func(r *Record) error {
		if r.Command.Seq == 77 {
			return stop
		}
		return nil
	}); err != stop {
		t.Fatalf("fn's error not returned: %v", err)
	}
}

// TestTamperRandom flips random bytes of random blocks (every part of a
// block: header, frames, payloads, hashes) and demands that Verify always
// reports an error that names a sequence in or next to the block touched,
// and never panics.
func TestTamperRandom(t *testing.T) {
	r := testRand(t)
	fs := vfs.NewMem()
	j, err := Open("j", Options{FS: fs, Logger: quietLogger(t), MaxBlockBytes: 4 << 10, MaxCommitBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := j.Appender(0, nil)
	s := newSynth(0, 1)
	var cmds []engine.Command
	var events []engine.Event
	var ends []int
	for a.Next() <= 600 {
		cmds, events, ends = s.batch(12, cmds, events, ends)
		if err := a.Append(cmds, events, ends); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open("j", &pebble.Options{FS: fs, Logger: pebbleLogger{quietLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rd := &Reader{db: db}
	if _, err := rd.Verify(0, nil); err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixBlock}, UpperBound: []byte{prefixBlock + 1}})
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, slices.Clone(it.Key()))
	}
	it.Close()
	for trial := range 300 {
		bi := r.IntN(len(keys))
		k := keys[bi]
		v, closer, err := db.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		orig := slices.Clone(v)
		closer.Close()
		mod := slices.Clone(orig)
		for range 1 + r.IntN(3) {
			mod[r.IntN(len(mod))] ^= byte(1 + r.IntN(255))
		}
		if err := db.Set(k, mod, nil); err != nil {
			t.Fatal(err)
		}
		_, err = rd.Verify(0, nil)
		_, _, first, _ := parseKey(k)
		var next uint64 = 601
		if bi+1 < len(keys) {
			_, _, next, _ = parseKey(keys[bi+1])
		}
		_, seq, ok := BadSeq(err)
		if err == nil || !ok || seq+1 < first || seq > next {
			t.Fatalf("trial %d: block %d..%d tampered, Verify: %v", trial, first, next-1, err)
		}
		if err := db.Set(k, orig, nil); err != nil {
			t.Fatal(err)
		}
	}
}
