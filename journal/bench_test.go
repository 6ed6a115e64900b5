package journal

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"fxmatch/engine"
	"fxmatch/internal/yield"
)

// TestBenchSmoke runs Bench small, so the code `fxmatch bench journal`
// calls is exercised by go test; the figures come from the real run.
func TestBenchSmoke(t *testing.T) {
	res, err := Bench(BenchOptions{Dir: t.TempDir(), Events: 30_000, Rate: 30_000,
		LatencyDuration: 200 * time.Millisecond, Shards: 2, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.String())
	if res.Events < 29_000 || res.DurableEventsPerSec <= 0 || res.LatencyRecords == 0 || res.ReplayEventsPerSec <= 0 {
		t.Fatalf("implausible result %+v", res)
	}
	if res.EventsPerRecord < 2.9 || res.EventsPerRecord > 3.1 {
		t.Fatalf("%.2f events per record, want the mix's 3", res.EventsPerRecord)
	}
}

func TestMountOf(t *testing.T) {
	mounts := "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\ntmpfs /tmpx tmpfs rw 0 0\n"
	for path, want := range map[string]string{"/tmp/a": "tmpfs on tmpfs", "/tmpy": "ext4 on /dev/vda", "/": "ext4 on /dev/vda"} {
		if got := mountOf(strings.NewReader(mounts), path); got != want {
			t.Errorf("mountOf(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestBenchFull runs the standard Bench when JOURNAL_BENCH=1 (it writes a
// few hundred MB and takes tens of seconds): the figures in the report.
//
//	JOURNAL_BENCH=1 JOURNAL_BENCH_DIR=/var/tmp go test ./journal -run TestBenchFull -v
func TestBenchFull(t *testing.T) {
	if os.Getenv("JOURNAL_BENCH") == "" {
		t.Skip("set JOURNAL_BENCH=1 to run the full journal benchmark")
	}
	o := BenchOptions{Dir: os.Getenv("JOURNAL_BENCH_DIR")}
	envInt := func(name string) int {
		n, _ := strconv.Atoi(os.Getenv(name))
		return n
	}
	o.MemTableSize = uint64(envInt("JOURNAL_BENCH_MEMTABLE"))
	o.MaxCommitBytes = envInt("JOURNAL_BENCH_COMMIT")
	o.MaxBlockBytes = envInt("JOURNAL_BENCH_BLOCK")
	o.MaxQueueBytes = envInt("JOURNAL_BENCH_QUEUE")
	o.Shards = envInt("JOURNAL_BENCH_SHARDS")
	o.LatencySkip = os.Getenv("JOURNAL_BENCH_NOLAT") != ""
	o.Events = envInt("JOURNAL_BENCH_EVENTS")
	o.Rate = envInt("JOURNAL_BENCH_RATE")
	if os.Getenv("JOURNAL_BENCH_NOSYNC") != "" {
		o.Durability = DurabilityNone
	}
	res, err := Bench(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.String())
}

// benchRecords encodes n synthetic records (framed, with their check
// bytes) for the layout benchmark.
func benchRecords(n int) [][]byte {
	s := newSynth(0, 1)
	hasher := newChainHasher()
	var head Hash
	var events []engine.Event
	out := make([][]byte, n)
	for i := range out {
		var c engine.Command
		events, c = s.record(events[:0])
		p := AppendRecord(nil, &c, events)
		hasher.link(&head, &head, 0, c.Seq, p)
		out[i] = appendRecordFrame(nil, &head, p)
	}
	return out
}

// BenchmarkPebbleLayout compares a Pebble key per record with a key per
// block (the journal's layout): groups of 1024 or 16384 records per synced
// Pebble batch, then a scan of everything after a flush. Three runs each
// on this 2-core VM (ext4 on a virtual disk, other work running: load
// average 3–4):
//
//	                  group   write records/s    scan records/s
//	key-per-record     1024   306k–412k          1.7M–2.3M
//	key-per-block      1024   294k–384k          4.5M–7.9M
//	key-per-record    16384   334k–464k          2.4M–2.6M
//	key-per-block     16384   518k–628k          7.0M–8.0M
//
// With small groups the sync dominates and the layouts write alike; with
// the groups group commit forms under load, a key per block writes about
// 1.4× faster, and it scans about 3× faster at any size. Every key costs a
// skiplist node and comparisons on insert, an index entry and an iterator
// step on read; a block pays them once per group.
func BenchmarkPebbleLayout(b *testing.B) {
	recs := benchRecords(1 << 16)
	for _, group := range []int{1024, 16384} {
		for _, layout := range []string{"key-per-record", "key-per-block"} {
			b.Run(fmt.Sprintf("%s/group=%d", layout, group), func(b *testing.B) {
				benchLayout(b, layout, group, recs)
			})
		}
	}
}

func benchLayout(b *testing.B, layout string, group int, recs [][]byte) {
	{
		{
			db, err := pebble.Open(b.TempDir(), &pebble.Options{MemTableSize: 64 << 20, Logger: pebbleLogger{quietLogger(b)}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			batch := db.NewBatch()
			var blk []byte
			b.SetBytes(int64(len(recs[0])))
			b.ResetTimer()
			for i := 0; i < b.N; {
				batch.Reset()
				n := min(group, b.N-i)
				if layout == "key-per-record" {
					for k := range n {
						key := BlockKey(0, uint64(i+k+1))
						batch.Set(key[:], recs[(i+k)%len(recs)], nil)
					}
				} else {
					blk = append(blk[:0], BlockVersion)
					blk = binary.AppendUvarint(blk, uint64(n))
					blk = append(blk, make([]byte, HashSize)...)
					for k := range n {
						blk = append(blk, recs[(i+k)%len(recs)]...)
					}
					blk = append(blk, make([]byte, HashSize)...)
					key := BlockKey(0, uint64(i+1))
					batch.Set(key[:], blk, nil)
				}
				if err := db.Apply(batch, pebble.Sync); err != nil {
					b.Fatal(err)
				}
				i += n
			}
			write := b.Elapsed()
			b.StopTimer()
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			it, _ := db.NewIter(nil)
			seen := 0
			for ok := it.First(); ok; ok = it.Next() {
				v := it.Value()
				if layout == "key-per-record" {
					seen++
					continue
				}
				var br blockReader
				if err := br.init(v); err != nil {
					b.Fatal(err)
				}
				for {
					_, _, ok, err := br.next()
					if err != nil {
						b.Fatal(err)
					}
					if !ok {
						break
					}
					seen++
				}
			}
			it.Close()
			if seen != b.N {
				b.Fatalf("scanned %d records of %d", seen, b.N)
			}
			b.ReportMetric(float64(b.N)/write.Seconds(), "write-records/s")
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "scan-records/s")
		}
	}
}

// BenchmarkAppendEncode is the shard goroutine's cost per record:
// encoding and chaining (no Pebble), for the realistic mix.
func BenchmarkAppendEncode(b *testing.B) {
	bb := newBenchBatches(0, 16, 256)
	hasher := newChainHasher()
	var head Hash
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	events := 0
	for i := 0; b.Loop(); i++ {
		cmds, evs, ends := bb.get(i, uint64(i*256+1), 256)
		buf = buf[:0]
		lo := 0
		for k := range cmds {
			start := len(buf)
			buf = AppendRecord(buf, &cmds[k], evs[lo:ends[k]])
			hasher.link(&head, &head, 0, cmds[k].Seq, buf[start:])
			lo = ends[k]
		}
		events += len(evs)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDurable is the whole write path: Append, group commit, sync,
// onDurable; b.N records of the realistic mix from one shard.
func BenchmarkDurable(b *testing.B) {
	j, err := Open(b.TempDir(), Options{Logger: quietLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	a, _ := j.Appender(0, nil)
	bb := newBenchBatches(0, 16, 256)
	b.ResetTimer()
	for i := 0; int(a.Next()) <= b.N; i++ {
		cmds, evs, ends := bb.get(i, a.Next(), min(256, b.N+1-int(a.Next())))
		if err := a.Append(cmds, evs, ends); err != nil {
			b.Fatal(err)
		}
	}
	for a.Durable() < uint64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.ReportMetric(3*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReplayVerify walks a journal of 300k records with Verify
// (decode + chain check) b.N times.
func BenchmarkReplayVerify(b *testing.B) {
	dir := b.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	a, _ := j.Appender(0, nil)
	bb := newBenchBatches(0, 16, 256)
	const n = 300_000
	for i := 0; a.Next() <= n; i++ {
		cmds, evs, ends := bb.get(i, a.Next(), min(256, n+1-int(a.Next())))
		if err := a.Append(cmds, evs, ends); err != nil {
			b.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	rd, err := OpenReader(dir, ReaderOptions{Options{Logger: quietLogger(b)}})
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	events := 0
	b.ResetTimer()
	for b.Loop() {
		if _, err := rd.Verify(0, func(r *Record) error { events += len(r.Events); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSnapshotCommitStall: how long a shard's commits are held while
// a snapshot of FXMATCH_SNAP_BYTES (default 3 MiB, a day of 100,000+
// orders) is stored. Each op is one PutSnapshot on a goroutine of its
// own (the venue's snapshotter) while the shard's goroutine appends a
// one-record batch every 50 µs or so (open loop, as orders arrive); a
// commit's time is from Append to its onDurable (with DurabilityNone
// Append commits inline and calls it before returning; with
// DurabilitySync it includes the group's WAL sync). An op's window runs
// from the PutSnapshot call to settleAfter after it returned, since a
// store may leave work behind it (a queued write, a flush).
// held-p50-µs and held-max-µs are the median and the largest, over the
// ops, of the longest commit in the window; during-p99-µs is over all
// commits in the windows; base-p99-µs and base-max-µs over as many
// windows of commits with no snapshot, taken before; store-ms-p50 is
// PutSnapshot's own time. It turns yield.Boost on as serve does with one
// processor (since 4fa1e04; figures from before are without it).
//
//	go test ./journal -run '^$' -bench SnapshotCommitStall -benchtime 20x -count 5
func BenchmarkSnapshotCommitStall(b *testing.B) {
	for _, d := range []Durability{DurabilityNone, DurabilitySync} {
		b.Run("durability="+d.String(), func(b *testing.B) { benchSnapshotCommitStall(b, d) })
	}
}

func benchSnapshotCommitStall(b *testing.B, d Durability) {
	// As serve runs it: a spare processor for blocking calls when there
	// is one processor (serve --spare-proc auto, yield.Blocking).
	yield.Boost(runtime.GOMAXPROCS(0) == 1)
	defer yield.Boost(false)
	size := 3 << 20
	if s := os.Getenv("FXMATCH_SNAP_BYTES"); s != "" {
		size, _ = strconv.Atoi(s)
	}
	j, err := Open(b.TempDir(), Options{Durability: d, Logger: quietLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	var mu sync.Mutex
	var start, end []time.Time // by seq
	a, err := j.Appender(0, func(first, last uint64, err error) {
		if err != nil {
			panic(err)
		}
		now := time.Now()
		mu.Lock()
		for s := first; s <= last; s++ {
			end[s] = now
		}
		mu.Unlock()
	})
	if err != nil {
		b.Fatal(err)
	}
	r := testRand(b)
	data := randBytes(r, size)
	// appendOne appends a record due at intended and returns its sequence.
	appendOne := func(intended time.Time) uint64 {
		seq := a.Next()
		cmds, events, ends := randBatch(r, seq, 1)
		mu.Lock()
		for len(start) <= int(seq) {
			start, end = append(start, time.Time{}), append(end, time.Time{})
		}
		start[seq] = intended
		mu.Unlock()
		if err := a.Append(cmds, events, ends); err != nil {
			b.Fatal(err)
		}
		return seq
	}
	// The first stores (a new database's first flushes and tables) are
	// not what a day of trading sees.
	for range 3 {
		appendOne(time.Now())
		if err := a.PutSnapshot(a.Next()-1, Hash{}, data); err != nil {
			b.Fatal(err)
		}
	}
	// lat waits for seqs [from, to) to be durable and returns their
	// commit times.
	lat := func(from, to uint64) []time.Duration {
		for a.Durable() < to-1 {
			time.Sleep(50 * time.Microsecond)
		}
		mu.Lock()
		defer mu.Unlock()
		var out []time.Duration
		for s := from; s < to; s++ {
			if end[s].IsZero() {
				b.Fatalf("seq %d durable but not acknowledged", s)
			}
			out = append(out, end[s].Sub(start[s]))
		}
		return out
	}
	const settleAfter = 30 * time.Millisecond
	// window appends a record due every 50 µs (open loop: a record's
	// time counts from when it was due, so a shard kept off the
	// processor is measured too) until stop is closed and settleAfter
	// has passed since, and returns the latencies of what it appended.
	window := func(stop <-chan struct{}) []time.Duration {
		from := a.Next()
		var until time.Time
		due := time.Now()
		for until.IsZero() || due.Before(until) {
			if until.IsZero() {
				select {
				case <-stop:
					until = time.Now().Add(settleAfter)
				default:
				}
			}
			for time.Now().Before(due) {
				// Not Sleep: its wake-ups come up to a millisecond late
				// here, which would count as the journal's. Gosched lets
				// the store's goroutine have a lone processor (-cpu 1).
				runtime.Gosched()
			}
			appendOne(due)
			due = due.Add(50 * time.Microsecond)
		}
		return lat(from, a.Next())
	}
	var heldMax, during, base, store []time.Duration
	for range b.N {
		stop := make(chan struct{})
		close(stop)
		base = append(base, window(stop)...)
	}
	b.ResetTimer()
	for range b.N {
		snapSeq := appendOne(time.Now())
		stop := make(chan struct{})
		var took time.Duration
		go func() {
			t0 := time.Now()
			if err := a.PutSnapshot(snapSeq, Hash{1}, data); err != nil {
				panic(err)
			}
			took = time.Since(t0)
			close(stop)
		}()
		l := window(stop)
		store = append(store, took)
		during = append(during, l...)
		heldMax = append(heldMax, slices.Max(l))
	}
	b.StopTimer()
	for _, s := range [][]time.Duration{heldMax, during, base, store} {
		slices.Sort(s)
	}
	µs := func(d time.Duration) float64 { return float64(d) / 1e3 }
	b.ReportMetric(µs(heldMax[len(heldMax)/2]), "held-p50-µs")
	b.ReportMetric(µs(heldMax[len(heldMax)-1]), "held-max-µs")
	b.ReportMetric(µs(during[len(during)*99/100]), "during-p99-µs")
	b.ReportMetric(µs(base[len(base)*99/100]), "base-p99-µs")
	b.ReportMetric(µs(base[len(base)-1]), "base-max-µs")
	b.ReportMetric(float64(store[len(store)/2])/1e6, "store-ms-p50")
}
