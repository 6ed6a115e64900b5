package journal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"fxmatch/engine"
)

// quietLogger keeps expected loud messages out of test output unless -v.
func quietLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// randBatch makes n random records continuing seq, as a shard.Batch lays
// them out.
// randBytes is n random bytes (no compressor finds them easy).
func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randBatch(r *rand.Rand, seq uint64, n int) ([]engine.Command, []engine.Event, []int) {
	cmds := make([]engine.Command, n)
	var events []engine.Event
	ends := make([]int, n)
	for i := range cmds {
		c := randCommand(r)
		c.Seq = seq + uint64(i)
		cmds[i] = c
		for range r.IntN(6) {
			events = append(events, randEvent(r, &c))
		}
		ends[i] = len(events)
	}
	return cmds, events, ends
}

type want struct {
	cmd    engine.Command
	events []engine.Event
}

// collect appends what a batch holds per record.
func collect(w []want, cmds []engine.Command, events []engine.Event, ends []int) []want {
	lo := 0
	for i := range cmds {
		w = append(w, want{cmds[i], append([]engine.Event(nil), events[lo:ends[i]]...)})
		lo = ends[i]
	}
	return w
}

func checkRecords(t *testing.T, r *Reader, shard uint16, from uint64, w []want) {
	t.Helper()
	it := r.Records(shard, from)
	defer it.Close()
	i := int(max(from, 1)) - 1
	for it.Next() {
		rec := it.Record()
		if i >= len(w) {
			t.Fatalf("shard %d: record %d beyond the %d appended", shard, rec.Command.Seq, len(w))
		}
		if rec.Command != w[i].cmd {
			t.Fatalf("shard %d record %d: command\n got %+v\nwant %+v", shard, i+1, rec.Command, w[i].cmd)
		}
		if len(rec.Events) != len(w[i].events) {
			t.Fatalf("shard %d record %d: %d events, want %d", shard, i+1, len(rec.Events), len(w[i].events))
		}
		for k := range rec.Events {
			if rec.Events[k] != w[i].events[k] {
				t.Fatalf("shard %d record %d event %d differs", shard, i+1, k)
			}
		}
		if !bytes.Equal(it.Payload(), AppendRecord(nil, &w[i].cmd, w[i].events)) {
			t.Fatalf("shard %d record %d: payload is not the record's encoding", shard, i+1)
		}
		i++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("shard %d: %v", shard, err)
	}
	if i != len(w) {
		t.Fatalf("shard %d: read up to %d, appended %d", shard, i, len(w))
	}
}

// acks records onDurable calls and checks they come in order.
type acks struct {
	mu   sync.Mutex
	last uint64
	errs []error
	t    testing.TB
}

func (a *acks) fn(first, last uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.errs = append(a.errs, err)
		return
	}
	if first != a.last+1 {
		a.t.Errorf("ack %d-%d after %d", first, last, a.last)
	}
	a.last = last
}

func (a *acks) durable() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// durabilities runs a test under both durabilities: with DurabilityNone
// the appenders commit on their own goroutines instead of through the
// writer (commitInline), and what is written must be the same journal.
func durabilities(t *testing.T, test func(t *testing.T, d Durability)) {
	for _, d := range []Durability{DurabilitySync, DurabilityNone} {
		t.Run(d.String(), func(t *testing.T) { test(t, d) })
	}
}

func TestAppendReadVerifyReopen(t *testing.T) { durabilities(t, testAppendReadVerifyReopen) }

func testAppendReadVerifyReopen(t *testing.T, d Durability) {
	r := testRand(t)
	dir := t.TempDir()
	// Small blocks and commits, so records of one commit span several
	// blocks and Records(from) has block boundaries to find.
	opts := Options{Logger: quietLogger(t), MaxBlockBytes: 4 << 10, MaxCommitBytes: 16 << 10, Durability: d}
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	shards := []uint16{0, 7, 65535}
	w := make(map[uint16][]want)
	ack := make(map[uint16]*acks)
	apps := make(map[uint16]*Appender)
	for _, s := range shards {
		ack[s] = &acks{t: t}
		if apps[s], err = j.Appender(s, ack[s].fn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Appender(0, nil); err == nil {
		t.Fatal("a second appender for shard 0 was allowed")
	}
	for range 300 {
		s := shards[r.IntN(len(shards))]
		a := apps[s]
		cmds, events, ends := randBatch(r, a.Next(), 1+r.IntN(20))
		if err := a.Append(cmds, events, ends); err != nil {
			t.Fatal(err)
		}
		w[s] = collect(w[s], cmds, events, ends)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if got := ack[s].durable(); got != uint64(len(w[s])) {
			t.Fatalf("shard %d: acknowledged up to %d, appended %d", s, got, len(w[s]))
		}
	}

	rd, err := OpenReader(dir, ReaderOptions{Options{Logger: quietLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rd.Shards()
	if err != nil || len(got) != 3 || got[0] != 0 || got[1] != 7 || got[2] != 65535 {
		t.Fatalf("Shards() = %v, %v", got, err)
	}
	heads := make(map[uint16]Head)
	for _, s := range shards {
		checkRecords(t, rd, s, 1, w[s])
		for range 5 {
			from := 1 + uint64(r.IntN(len(w[s])))
			checkRecords(t, rd, s, from, w[s])
		}
		head, err := rd.Verify(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		stated, err := rd.Head(s)
		if err != nil || stated != head || head.Seq != uint64(len(w[s])) {
			t.Fatalf("shard %d: Verify head %v, Head() %v (%v), appended %d", s, head, stated, err, len(w[s]))
		}
		heads[s] = head
	}
	if h, err := rd.Verify(1, nil); err != nil || h.Seq != 0 || h.Hash != GenesisHash {
		t.Fatalf("empty shard: %v %v", h, err)
	}
	rd.Close()

	// Reopen: the appender continues the chain where it stopped.
	j, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := j.Appender(7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Next() != heads[7].Seq+1 || a.Durable() != heads[7].Seq {
		t.Fatalf("reopened appender at %d, head %v", a.Next(), heads[7])
	}
	if err := a.Append(randBatch(r, a.Next()-1, 1)); !errors.Is(err, ErrSequence) {
		t.Fatalf("append of an old sequence: %v, want ErrSequence", err)
	}
	cmds, events, ends := randBatch(r, a.Next(), 5)
	if err := a.Append(cmds, events, ends); err != nil {
		t.Fatal(err)
	}
	w[7] = collect(w[7], cmds, events, ends)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(randBatch(r, a.Next(), 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	rd, err = OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	checkRecords(t, rd, 7, 1, w[7])
	if _, err := rd.Verify(7, nil); err != nil {
		t.Fatal(err)
	}
}

// blockingFS makes WAL syncs wait on a gate, or fail, on demand.
type blockingFS struct {
	gate      atomic.Pointer[chan struct{}] // non-nil: syncs wait for it to close
	waiting   atomic.Int32                  // syncs waiting at the gate
	failSync  atomic.Bool                   // syncs of the WAL fail
	failWrite atomic.Bool                   // writes to the WAL fail
	failed    atomic.Int32
}

func (b *blockingFS) MaybeError(op errorfs.Op) error {
	if !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	fail := false
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		if g := b.gate.Load(); g != nil {
			b.waiting.Add(1)
			<-*g
			b.waiting.Add(-1)
		}
		fail = b.failSync.Load()
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt:
		fail = b.failWrite.Load()
	}
	if fail {
		b.failed.Add(1)
		return errors.New("injected: no space left on device")
	}
	return nil
}

func (b *blockingFS) String() string { return "blockingFS" }

// block holds WAL syncs until the returned function is called (it may
// be called more than once; defer it so a failing test does not leave the
// writer stuck and Close waiting for it).
func (b *blockingFS) block() func() {
	g := make(chan struct{})
	b.gate.Store(&g)
	var once sync.Once
	return func() { once.Do(func() { b.gate.Store(nil); close(g) }) }
}

// awaitSyncHeld waits until the writer is inside a held sync.
func (b *blockingFS) awaitSyncHeld(t *testing.T) {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		if b.waiting.Load() == 0 {
			return errors.New("no sync is held yet")
		}
		return nil
	})
}

func openFaulty(t *testing.T, opts Options) (*Journal, *blockingFS) {
	t.Helper()
	inj := &blockingFS{}
	opts.FS = errorfs.Wrap(vfs.Default, inj)
	if opts.Logger == nil {
		opts.Logger = quietLogger(t)
	}
	j, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return j, inj
}

// checkFor polls cond until it holds or the deadline passes (the
// nats-server habit: no bare sleeps).

// closeAndRead closes j and opens a reader on its directory, closed when
// the test ends.
// openAppender opens a journal in dir and its appender for shard.
func openAppender(t *testing.T, dir string, opts Options, shard uint16) (*Journal, *Appender) {
	t.Helper()
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := j.Appender(shard, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j, a
}

func closeAndRead(t *testing.T, j *Journal, dir string) *Reader {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}
func checkFor(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAckOnlyAfterSync: while the WAL sync is held, nothing is
// acknowledged; once it completes, everything is.
func TestAckOnlyAfterSync(t *testing.T) {
	r := testRand(t)
	j, fs := openFaulty(t, Options{})
	defer j.Close()
	ak := &acks{t: t}
	a, err := j.Appender(0, ak.fn)
	if err != nil {
		t.Fatal(err)
	}
	release := fs.block()
	defer release()
	for range 10 {
		if err := a.Append(randBatch(r, a.Next(), 3)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // give a wrong implementation the chance to ack
	if d := ak.durable(); d != 0 || a.Durable() != 0 {
		t.Fatalf("acknowledged up to %d (%d) while the sync was held", d, a.Durable())
	}
	release()
	checkFor(t, 5*time.Second, func() error {
		if ak.durable() != 30 || a.Durable() != 30 {
			return errors.New("not all acknowledged after the sync")
		}
		return nil
	})
	st := j.Stats()
	if st.Records != 30 || st.Commits > commitsInFlight+1 {
		t.Fatalf("stats %+v: want 30 records in at most %d commits (grouped behind the held sync)", st, commitsInFlight+1)
	}
}

// producer appends one-record batches on its own goroutine until Append
// fails, counting what was accepted. It is how the tests fill the
// pipeline and the queue behind a held sync and then watch the producer
// block.
type producer struct {
	accepted atomic.Int64
	done     chan error
}

func startProducer(a *Appender, r *rand.Rand) *producer {
	p := &producer{done: make(chan error, 1)}
	// Batches are made up front: r is not safe for concurrent use.
	batches := make([][3]any, 64)
	for i := range batches {
		c, e, n := randBatch(r, 0, 1)
		batches[i] = [3]any{c, e, n}
	}
	go func() {
		for i := 0; ; i++ {
			b := batches[i%len(batches)]
			cmds := b[0].([]engine.Command)
			cmds[0].Seq = a.Next()
			if err := a.Append(cmds, b[1].([]engine.Event), b[2].([]int)); err != nil {
				p.done <- err
				return
			}
			if p.accepted.Add(1) == 1<<20 {
				p.done <- errors.New("producer never blocked")
				return
			}
		}
	}()
	return p
}

// awaitBlocked waits until the producer has stopped making progress with
// the writer's queue full: it is blocked in Append.
func (p *producer) awaitBlocked(t *testing.T, j *Journal) {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		n := p.accepted.Load()
		time.Sleep(20 * time.Millisecond)
		j.mu.Lock()
		full := len(j.queue) == j.opts.MaxQueueBatches
		j.mu.Unlock()
		if n != p.accepted.Load() || !full {
			return errors.New("producer still making progress")
		}
		return nil
	})
}

// TestBackPressure: with the sync held, the commits in flight and the
// queue fill, and then Append blocks until the sync completes.
func TestBackPressure(t *testing.T) {
	r := testRand(t)
	j, fs := openFaulty(t, Options{MaxQueueBatches: 2})
	defer j.Close()
	a, err := j.Appender(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	release := fs.block()
	defer release()
	p := startProducer(a, r)
	p.awaitBlocked(t, j)
	if a.Durable() != 0 {
		t.Fatalf("durable up to %d while the sync was held", a.Durable())
	}
	n := p.accepted.Load()
	if n < commitsInFlight+2 {
		t.Fatalf("producer blocked after %d batches; %d commits in flight and a queue of 2 should take more", n, commitsInFlight)
	}
	release()
	checkFor(t, 5*time.Second, func() error {
		if p.accepted.Load() < n+10 {
			return errors.New("producer did not resume")
		}
		return nil
	})
	j.Close()
	if err := <-p.done; !errors.Is(err, ErrClosed) {
		t.Fatalf("producer stopped with %v", err)
	}
}

// TestWriteFailureIsSticky: a failed WAL write or sync reports
// ErrUnavailable to the batches in flight and queued, to producers waiting
// on the queue and to every later call, and nothing after it is
// acknowledged.
func TestWriteFailureIsSticky(t *testing.T) {
	for _, mode := range []string{"sync", "write"} {
		t.Run(mode, func(t *testing.T) {
			r := testRand(t)
			j, fs := openFaulty(t, Options{MaxQueueBatches: 2})
			ak := &acks{t: t}
			a, err := j.Appender(0, ak.fn)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Append(randBatch(r, 1, 5)); err != nil {
				t.Fatal(err)
			}
			checkFor(t, 5*time.Second, func() error {
				if ak.durable() != 5 {
					return errors.New("first batch not durable")
				}
				return nil
			})
			var p *producer
			if mode == "sync" {
				// Hold the sync so batches pile up in flight and in the
				// queue, with the producer blocked behind them; then fail
				// the sync.
				release := fs.block()
				defer release()
				fs.failSync.Store(true)
				p = startProducer(a, r)
				p.awaitBlocked(t, j)
				release()
			} else {
				fs.failWrite.Store(true)
				p = startProducer(a, r)
			}
			err = <-p.done
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no space left") {
				t.Fatalf("producer stopped with %v; want ErrUnavailable with the cause", err)
			}
			n := int(p.accepted.Load())
			checkFor(t, 5*time.Second, func() error {
				ak.mu.Lock()
				defer ak.mu.Unlock()
				if len(ak.errs) != n {
					return fmt.Errorf("%d of %d accepted batches reported lost", len(ak.errs), n)
				}
				return nil
			})
			for _, err := range ak.errs {
				if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no space left") {
					t.Fatalf("onDurable error %v: want ErrUnavailable with the cause", err)
				}
			}
			if ak.durable() != 5 || a.Durable() != 5 {
				t.Fatalf("durable moved to %d after the failure", ak.durable())
			}
			if err := a.Append(randBatch(r, a.Next(), 1)); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("later Append: %v", err)
			}
			if err := a.PutSnapshot(1, Hash{}, nil); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("later PutSnapshot: %v", err)
			}
			if err := j.Err(); !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "journal: unavailable: ") {
				t.Fatalf("Err() = %v", err)
			}
			fs.failSync.Store(false)
			fs.failWrite.Store(false)
			if err := j.Close(); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Close: %v", err)
			}
			if fs.failed.Load() == 0 {
				t.Fatal("the injector never failed anything")
			}
			// What was acknowledged survives; the chain verifies.
			rd, err := OpenReader(j.Dir(), ReaderOptions{Options{Logger: quietLogger(t)}})
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			h, err := rd.Verify(0, nil)
			if err != nil || h.Seq < 5 {
				t.Fatalf("after the failure the journal verifies to %v (%v); want at least the 5 acknowledged", h, err)
			}
			t.Logf("%d batches lost, journal verifies to seq %d", n, h.Seq)
		})
	}
}

func TestDurabilityNoneIsLoud(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	lw := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	j, err := Open(t.TempDir(), Options{Durability: DurabilityNone, Logger: slog.New(slog.NewTextHandler(lw, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "NOT durable") {
		t.Fatalf("durability none was not announced loudly: %q", buf.String())
	}
	if d, err := ParseDurability("none"); err != nil || d != DurabilityNone {
		t.Fatal("ParseDurability(none)")
	}
	if _, err := ParseDurability("fsync"); err == nil {
		t.Fatal("ParseDurability accepted nonsense")
	}
}

// TestDurabilityNoneAcksBeforeAppendReturns: with no sync to wait for,
// Append commits on the caller's goroutine, so the batch is acknowledged
// (and readable) by the time Append returns.
func TestDurabilityNoneAcksBeforeAppendReturns(t *testing.T) {
	r := testRand(t)
	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t), Durability: DurabilityNone})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ak := &acks{t: t}
	a, err := j.Appender(2, ak.fn)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		cmds, events, ends := randBatch(r, a.Next(), 1+r.IntN(5))
		if err := a.Append(cmds, events, ends); err != nil {
			t.Fatal(err)
		}
		last := cmds[len(cmds)-1].Seq
		if ak.durable() != last || a.Durable() != last {
			t.Fatalf("Append of %d..%d returned with %d acknowledged (Durable %d)", cmds[0].Seq, last, ak.durable(), a.Durable())
		}
		if h, err := j.Reader().Head(2); err != nil || h.Seq != last {
			t.Fatalf("head after Append: %v %v, want seq %d", h, err, last)
		}
	}
	if st := j.Stats(); st.Records != a.Durable() || st.Commits != 50 || st.Blocks != 50 {
		t.Fatalf("stats %+v after 50 appends of %d records", st, a.Durable())
	}
}

// TestDurabilityNoneCloseWhileAppending: Close waits for the commits the
// appenders are making on their own goroutines and refuses later ones;
// no Append reaches the closed database (Pebble would panic).
func TestDurabilityNoneCloseWhileAppending(t *testing.T) {
	r := testRand(t)
	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t), Durability: DurabilityNone})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*producer
	for s := range uint16(3) {
		a, err := j.Appender(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, startProducer(a, r))
	}
	checkFor(t, 5*time.Second, func() error {
		for _, p := range ps {
			if p.accepted.Load() < 100 {
				return errors.New("producers not running yet")
			}
		}
		return nil
	})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := <-p.done; !errors.Is(err, ErrClosed) {
			t.Fatalf("producer stopped with %v, want ErrClosed", err)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestSnapshots(t *testing.T) { durabilities(t, testSnapshots) }

func testSnapshots(t *testing.T, d Durability) {
	r := testRand(t)
	dir := t.TempDir()
	j, a := openAppender(t, dir, Options{Logger: quietLogger(t), KeepSnapshots: 2, Durability: d}, 3)
	rd := j.Reader()
	if _, err := rd.LatestSnapshot(3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no snapshot yet: %v", err)
	}
	if err := a.PutSnapshot(1, Hash{}, nil); err == nil {
		t.Fatal("snapshot ahead of the journal accepted")
	}
	datas := make(map[uint64][]byte)
	for i := range 5 {
		if err := a.Append(randBatch(r, a.Next(), 10)); err != nil {
			t.Fatal(err)
		}
		seq := a.Next() - 1
		data := bytes.Repeat([]byte{byte(i)}, 1000*(i+1))
		datas[seq] = data
		if err := a.PutSnapshot(seq, Hash{byte(i)}, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	seqs, err := rd.Snapshots(3)
	if err != nil || len(seqs) != 2 || seqs[0] != 40 || seqs[1] != 50 {
		t.Fatalf("after pruning to 2: %v %v", seqs, err)
	}
	s, err := rd.LatestSnapshot(3)
	if err != nil || s.Seq != 50 || s.StateHash != (Hash{4}) || !bytes.Equal(s.Data, datas[50]) {
		t.Fatalf("latest: seq %d hash %x (%v)", s.Seq, s.StateHash[:1], err)
	}
	s, err = rd.SnapshotAtOrBefore(3, 49)
	if err != nil || s.Seq != 40 || !bytes.Equal(s.Data, datas[40]) {
		t.Fatalf("at or before 49: %d %v", s.Seq, err)
	}
	if _, err := rd.SnapshotAtOrBefore(3, 39); !errors.Is(err, ErrNotFound) {
		t.Fatalf("at or before 39 (pruned): %v", err)
	}
	// The journal itself is never pruned.
	if h, err := rd.Verify(3, nil); err != nil || h.Seq != 50 {
		t.Fatalf("verify after pruning: %v %v", h, err)
	}
	rd.Close()

	// Reopened, the appender prunes the snapshots stored before it too.
	j, err = Open(dir, Options{Logger: quietLogger(t), KeepSnapshots: 2, Durability: d})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = j.Appender(3, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(randBatch(r, a.Next(), 10)); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSnapshot(60, Hash{6}, []byte("sixty")); err != nil {
		t.Fatal(err)
	}
	rd = closeAndRead(t, j, dir)
	if seqs, err := rd.Snapshots(3); err != nil || !slices.Equal(seqs, []uint64{50, 60}) {
		t.Fatalf("after a reopen and one more snapshot: %v %v", seqs, err)
	}
}

// TestSnapshotsFromAnotherGoroutine: the venue's snapshotter calls
// PutSnapshot on its own goroutine while the shard goes on appending. Run
// under -race (as CI does), it fails if PutSnapshot reads what Append
// writes (the next sequence, the inline commit's Pebble batch); and every
// snapshot must land with its records before it, so the journal reopens
// with each snapshot at or before its head.
func TestSnapshotsFromAnotherGoroutine(t *testing.T) {
	durabilities(t, testSnapshotsFromAnotherGoroutine)
}

func testSnapshotsFromAnotherGoroutine(t *testing.T, d Durability) {
	r := testRand(t)
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t), KeepSnapshots: 1000, Durability: d})
	if err != nil {
		t.Fatal(err)
	}
	ack := &acks{t: t}
	a, err := j.Appender(1, ack.fn)
	if err != nil {
		t.Fatal(err)
	}
	appended := make(chan uint64, 8)
	errs := make(chan error, 1)
	var put []uint64
	go func() {
		defer close(errs)
		for seq := range appended {
			data := bytes.Repeat([]byte{byte(seq)}, 500)
			if err := a.PutSnapshot(seq, Hash(sha256.Sum256(data)), data); err != nil {
				errs <- err
				return
			}
			put = append(put, seq)
		}
	}()
	var w []want
	for range 200 {
		cmds, events, ends := randBatch(r, a.Next(), 1+r.IntN(8))
		if err := a.Append(cmds, events, ends); err != nil {
			t.Fatal(err)
		}
		w = collect(w, cmds, events, ends)
		appended <- a.Next() - 1
	}
	close(appended)
	if err := <-errs; err != nil {
		t.Fatalf("PutSnapshot: %v", err)
	}
	rd := closeAndRead(t, j, dir)
	checkRecords(t, rd, 1, 1, w)
	h, err := rd.Verify(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := rd.Snapshots(1)
	if err != nil || !slices.Equal(seqs, put) {
		t.Fatalf("snapshots %v (%v), put %v", seqs, err, put)
	}
	for _, seq := range seqs {
		if seq > h.Seq {
			t.Fatalf("snapshot at %d beyond the head %d", seq, h.Seq)
		}
		s, err := rd.SnapshotAtOrBefore(1, seq)
		if err != nil || s.Seq != seq || !bytes.Equal(s.Data, bytes.Repeat([]byte{byte(seq)}, 500)) {
			t.Fatalf("snapshot %d: %d %v", seq, s.Seq, err)
		}
	}
}

func TestSnapshotCorruptionDetected(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := j.Appender(0, nil)
	r := testRand(t)
	a.Append(randBatch(r, 1, 3))
	a.PutSnapshot(3, Hash{1}, []byte("state of the books"))
	j.Close()
	rewriteValue(t, dir, SnapshotKey(0, 3).bytes(), func(v []byte) []byte { v[len(v)-1] ^= 1; return v })
	rd, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if _, err := rd.LatestSnapshot(0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped snapshot byte: %v", err)
	}
}

func TestMeta(t *testing.T) {
	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Reader().Meta("fix/BANK1/in"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := j.SetMeta("fix/BANK1/in", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if v, err := j.Reader().Meta("fix/BANK1/in"); err != nil || !bytes.Equal(v, []byte{1, 2}) {
		t.Fatal(v, err)
	}
	if err := j.SetMeta("", nil); err == nil {
		t.Fatal("empty name accepted")
	}
}

// TestCheckpointWhileWriting: a checkpoint taken while a producer appends
// opens read-only and verifies; its head is a prefix of the live chain.
func TestCheckpointWhileWriting(t *testing.T) {
	dir := t.TempDir()
	j, a := openAppender(t, filepath.Join(dir, "live"), Options{Logger: quietLogger(t), MaxCommitRecords: 64}, 0)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		s := newSynth(0, 1)
		var cmds []engine.Command
		var events []engine.Event
		var ends []int
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			cmds, events, ends = s.batch(32, cmds, events, ends)
			if err := a.Append(cmds, events, ends); err != nil {
				done <- err
				return
			}
		}
	}()
	checkFor(t, 10*time.Second, func() error {
		if a.Durable() < 1000 {
			return errors.New("not enough written yet")
		}
		return nil
	})
	ck := filepath.Join(dir, "checkpoint")
	if err := j.Checkpoint(ck); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := OpenReader(ck, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	head, err := rd.Verify(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := OpenReader(filepath.Join(dir, "live"), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	it := live.Records(0, head.Seq)
	defer it.Close()
	if !it.Next() || it.Record().Hash != head.Hash {
		t.Fatalf("checkpoint head %v is not on the live chain (%v)", head, it.Err())
	}
	t.Logf("checkpoint at seq %d of %d", head.Seq, a.Next()-1)
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	rewriteValue(t, dir, []byte{prefixFormat}, func([]byte) []byte { return []byte("something else") })
	if _, err := Open(dir, Options{Logger: quietLogger(t)}); !errors.Is(err, ErrVersion) {
		t.Fatalf("open with a foreign marker: %v", err)
	}
}

// TestRecordSizes: records whose frame header is not the usual two-byte
// length (tiny records, and ones past 16 KiB) are framed and chained
// right.
func TestRecordSizes(t *testing.T) {
	r := testRand(t)
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := j.Appender(0, nil)
	long := engine.MustID(strings.Repeat("x", engine.MaxIDLen))
	var w []want
	for _, n := range []int{0, 1, 400, 0, 2000, 3} {
		c := engine.Command{Seq: a.Next(), Time: 1, Kind: engine.CmdMassCancel}
		evs := make([]engine.Event, n)
		for i := range evs {
			evs[i] = randEvent(r, &c)
			evs[i].ClOrdID, evs[i].Account = long, randID(r)
		}
		cmds, ends := []engine.Command{c}, []int{n}
		if err := a.Append(cmds, evs, ends); err != nil {
			t.Fatal(err)
		}
		w = collect(w, cmds, evs, ends)
	}
	rd := closeAndRead(t, j, dir)
	checkRecords(t, rd, 0, 1, w)
	if _, err := rd.Verify(0, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAppendAllocs: once its buffers have grown, Append allocates
// nothing per batch (the shard calls it for every batch).
func TestAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on synchronisation")
	}
	// A short queue, so the segment pool reaches its working size during
	// the warm-up.
	j, err := Open(t.TempDir(), Options{Logger: quietLogger(t), Durability: DurabilityNone, MaxQueueBatches: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	a, _ := j.Appender(0, nil)
	bb := newBenchBatches(0, 4, 64)
	i := 0
	appendOne := func() {
		cmds, evs, ends := bb.get(i, a.Next(), 64)
		if err := a.Append(cmds, evs, ends); err != nil {
			t.Fatal(err)
		}
		i++
	}
	for range 200 {
		appendOne()
	}
	if n := testing.AllocsPerRun(200, appendOne); n > 0.1 {
		t.Fatalf("%.2f allocations per Append", n)
	}
}

func TestSeqAtTime(t *testing.T) {
	dir := makeJournal(t, 1000) // synth: command n at base + 1500·n ns
	rd, err := OpenReader(dir, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	base := newSynth(0, 1).time
	for _, tc := range []struct {
		t    int64
		want uint64
	}{
		{base, 0}, {base + 1499, 0}, {base + 1500, 1}, {base + 1501, 1},
		{base + 1500*437, 437}, {base + 1500*438 - 1, 437}, {base + 1500*1000, 1000}, {base + 1e12, 1000},
	} {
		got, err := rd.SeqAtTime(0, tc.t)
		if err != nil || got != tc.want {
			t.Errorf("SeqAtTime(base+%d) = %d, %v; want %d", tc.t-base, got, err, tc.want)
		}
	}
	if got, err := rd.SeqAtTime(9, base); err != nil || got != 0 {
		t.Errorf("empty shard: %d %v", got, err)
	}
}

// TestOpenReaderOnLiveJournal: a journal a writer has open cannot be
// opened read-only (Pebble's lock); tools read a checkpoint instead.
func TestOpenReaderOnLiveJournal(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if rd, err := OpenReader(dir, ReaderOptions{Options{Logger: quietLogger(t)}}); err == nil {
		rd.Close()
		t.Fatal("opened a live journal read-only")
	}
}

// TestMetaWriteFailure: a failed synced write outside the group commit
// (metadata) makes the whole journal unavailable too.
func TestMetaWriteFailure(t *testing.T) { durabilities(t, testMetaWriteFailure) }

func testMetaWriteFailure(t *testing.T, d Durability) {
	r := testRand(t)
	j, fs := openFaulty(t, Options{Durability: d})
	a, err := j.Appender(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs.failSync.Store(true)
	if err := j.SetMeta("fix/BANK1/in", []byte{1}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("SetMeta on a failing disk: %v", err)
	}
	if err := a.Append(randBatch(r, 1, 1)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append after a failed metadata write: %v", err)
	}
	if err := j.Checkpoint(filepath.Join(t.TempDir(), "ck")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Checkpoint after the failure: %v", err)
	}
	if err := j.Close(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Close: %v", err)
	}
}

// TestPruneSnapshotsOutOfOrder: pruning keeps the newest KeepSnapshots
// by sequence, whatever order they are stored in, and a snapshot stored
// twice counts once.
func TestPruneSnapshotsOutOfOrder(t *testing.T) {
	r := testRand(t)
	dir := t.TempDir()
	j, a := openAppender(t, dir, Options{Logger: quietLogger(t), KeepSnapshots: 2, Durability: DurabilityNone}, 5)
	if err := a.Append(randBatch(r, 1, 30)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		seq  uint64
		want []uint64
	}{
		{10, []uint64{10}},
		{20, []uint64{10, 20}},
		{15, []uint64{15, 20}},
		{20, []uint64{15, 20}},
		{30, []uint64{20, 30}},
	} {
		if err := a.PutSnapshot(c.seq, Hash{byte(c.seq)}, []byte("s")); err != nil {
			t.Fatal(err)
		}
		if seqs, err := j.Reader().Snapshots(5); err != nil || !slices.Equal(seqs, c.want) {
			t.Fatalf("after storing %d: %v (%v), want %v", c.seq, seqs, err, c.want)
		}
	}
	j.Close()
}
