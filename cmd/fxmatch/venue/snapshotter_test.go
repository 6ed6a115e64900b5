package venue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/journal"
)

// twoShards is the demo configuration split over two shards: USD/CNY
// alone on shard 1, the rest on shard 0.
func twoShards(durability string) *config.Config {
	cfg := config.Demo()
	cfg.Venue.Durability = durability
	cfg.Shards = []config.Shard{{Instruments: []string{"EUR/USD", "USD/JPY", "EUR/CNY"}}, {Instruments: []string{"USD/CNY"}}}
	return cfg
}

// submit offers a command, retrying while the shard's ring is full.
func submit(t *testing.T, v *Venue, c *engine.Command) {
	t.Helper()
	for {
		err := v.Submit(c)
		if err == nil {
			return
		}
		if err != ErrBusy {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// trade offers n commands to USD/CNY and EUR/USD (so both shards): resting
// orders either side of the touch, every fifth crossing, every third
// command a cancel of an earlier order, and every 97th a cancel of all of
// BANKA's orders (on every shard).
func trade(t *testing.T, v *Venue, n int) {
	cfg := v.Config()
	a, b := party(t, cfg, "BANKA"), party(t, cfg, "BANKB")
	usdcny, _ := v.Instrument("USD/CNY")
	eurusd, _ := v.Instrument("EUR/USD")
	for i := range n {
		inst, px := usdcny, engine.Price(710_000_000)
		if i%2 == 1 {
			inst, px = eurusd, 108_000_000
		}
		p, side, off := a, engine.Buy, engine.Price(-10_000*int64(1+i%7))
		if i%4 >= 2 {
			p, side, off = b, engine.Sell, -off
		}
		if i%5 == 0 {
			off = -off // crosses
		}
		c := order(p, inst, "o"+strconv.Itoa(i), side, engine.Qty(100_000*(1+i%3)), px+off)
		switch {
		case i%97 == 96:
			c = &engine.Command{Kind: engine.CmdMassCancel, Party: a, Scope: engine.MassAll, ClOrdID: engine.MustID("m" + strconv.Itoa(i))}
		case i%3 == 2 && i >= 4:
			c = &engine.Command{Kind: engine.CmdCancel, Party: p, Instrument: inst, Side: side,
				ClOrdID: engine.MustID("x" + strconv.Itoa(i)), OrigClOrdID: engine.MustID("o" + strconv.Itoa(i-4))}
		}
		submit(t, v, c)
	}
}

// replayTo rebuilds shard si's engine from genesis through the journal's
// records up to seq, with no snapshot: what the primary engine was after
// command seq.
func replayTo(t *testing.T, cfg *config.Config, r *journal.Reader, si int, seq uint64) *engine.Engine {
	t.Helper()
	ec, err := engineConfig(cfg, r, si, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ec)
	if err != nil {
		t.Fatal(err)
	}
	it := r.Records(uint16(si), 1)
	defer it.Close()
	var events []engine.Event
	for it.Next() {
		rec := it.Record()
		if rec.Command.Seq > seq {
			break
		}
		events = eng.Apply(&rec.Command, events[:0])
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestSnapshotsAreThePrimarysState: the snapshots the shadow engines
// store — in a goroutine or in a snapshot process — are, byte for byte,
// what the primary engine's AppendSnapshot gave after the same command
// (the primary's state at S is the journal replayed from genesis to S);
// after the run each in-process shadow is in its primary's state; and the
// venue recovers from those snapshots.
func TestSnapshotsAreThePrimarysState(t *testing.T) {
	for _, mode := range []string{"inline", "process"} {
		for _, d := range []string{config.DurabilitySync, config.DurabilityNone} {
			t.Run(mode+"/"+d, func(t *testing.T) { testSnapshotsAreThePrimarysState(t, mode == "process", d) })
		}
	}
}

func testSnapshotsAreThePrimarysState(t *testing.T, process bool, d string) {
	dir := t.TempDir()
	cfg := twoShards(d)
	r := startWith(t, Options{Config: cfg, DataDir: dir, SnapshotEvery: 13, SnapshotProcess: process})
	trade(t, r.v, 600)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	var primary [2][32]byte
	for si, sr := range r.v.shards {
		primary[si] = sr.eng.StateHash()
		if process {
			if sr.snap.eng != nil {
				t.Errorf("shard %d: a shadow engine in the venue's process", si)
			}
		} else if got := sr.snap.eng.StateHash(); got != primary[si] {
			t.Errorf("shard %d: shadow state hash %x, primary %x", si, got[:4], primary[si][:4])
		}
		st := r.v.SnapshotStats(si)
		if st.Taken == 0 || st.Applied != sr.app.Durable() {
			t.Errorf("shard %d: %+v, durable %d", si, st, sr.app.Durable())
		}
	}

	jr, err := journal.OpenReader(dir+"/journal", journal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for si := range r.v.shards {
		seqs, err := jr.Snapshots(uint16(si))
		if err != nil || len(seqs) == 0 {
			t.Fatalf("shard %d: snapshots %v %v", si, seqs, err)
		}
		for _, seq := range seqs {
			s, err := jr.SnapshotAtOrBefore(uint16(si), seq)
			if err != nil {
				t.Fatal(err)
			}
			want := replayTo(t, cfg, jr, si, seq).AppendSnapshot(nil)
			if !bytes.Equal(s.Data, want) {
				t.Errorf("shard %d: snapshot at seq %d (%d bytes) is not the primary's state then (%d bytes)", si, seq, len(s.Data), len(want))
			}
			if s.StateHash != sha256.Sum256(want) {
				t.Errorf("shard %d: snapshot at seq %d: state hash differs", si, seq)
			}
		}
	}
	jr.Close()

	// Recovery starts from the newest snapshot and reaches the
	// primary's state.
	recoversTo(t, cfg, dir, primary[:])
}

// recoversTo opens a venue on dir (not run) and checks that each shard
// recovered to primary[shard], a state hash.
func recoversTo(t *testing.T, cfg *config.Config, dir string, primary [][32]byte) {
	t.Helper()
	v, err := Open(Options{Config: cfg, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer v.j.Close()
	for si, sr := range v.shards {
		if got := sr.eng.StateHash(); got != primary[si] {
			t.Errorf("shard %d recovered in state %x, was %x", si, got[:4], primary[si][:4])
		}
	}
}

// TestShardMatchesWhileASnapshotIsTaken: with the snapshotter stopped in
// the middle of a snapshot, the shard goes on matching, journaling and
// acknowledging; the snapshot is stored once the snapshotter resumes.
func TestShardMatchesWhileASnapshotIsTaken(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Demo()
	v, err := Open(Options{Config: cfg, DataDir: dir, SnapshotEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	inSnapshot := make(chan uint64, 1)
	resume := make(chan struct{})
	var resumeOnce sync.Once
	release := func() { resumeOnce.Do(func() { close(resume) }) }
	first := true
	v.shards[0].snap.hookBeforeSnapshot = func(seq uint64) {
		if first {
			first = false
			inSnapshot <- seq
			<-resume
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		release() // else Run's stop would wait for the snapshotter forever
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	a := party(t, cfg, "BANKA")
	usdcny, _ := v.Instrument("USD/CNY")
	sub := reader(v.Hub().SubscribeParty(a, 4096))
	for i := range 1000 {
		submit(t, v, order(a, usdcny, "r"+strconv.Itoa(i), engine.Sell, 100_000, 710_000_000+10_000*engine.Price(i%50)))
		ev, err := sub.Next(5 * time.Second)
		if err != nil || ev.Kind != engine.EvAccepted {
			t.Fatalf("order %d: %+v %v (snapshotter %+v)", i, ev, err, v.SnapshotStats(0))
		}
		if i == 100 {
			select {
			case <-inSnapshot:
			case <-time.After(5 * time.Second):
				t.Fatal("no snapshot begun after 100 orders with SnapshotEvery 100")
			}
		}
	}
	if st := v.SnapshotStats(0); st.Taken != 0 || st.Waits != 0 {
		t.Fatalf("while the snapshotter is stopped: %+v", st)
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	// Orders one at a time, a snapshot every 100: ten of them.
	for st := v.SnapshotStats(0); st.Taken < 10; st = v.SnapshotStats(0) {
		if time.Now().After(deadline) {
			t.Fatalf("snapshotter resumed, still at %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// idleSnapshotter opens the demo venue (durability none, no snapshot
// ever due) without running it, and returns shard 0's snapshotter, whose
// goroutine the test starts itself. The journal closes at the test's end.
func idleSnapshotter(t *testing.T) (*config.Config, *Venue, *snapshotter) {
	t.Helper()
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	v, err := Open(Options{Config: cfg, DataDir: t.TempDir(), SnapshotEvery: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.j.Close() })
	return cfg, v, v.shards[0].snap
}

// TestSnapshotterBackPressure: a snapshotter that does not keep up makes
// the shard wait once its queue is full — it never drops a command — and
// counts the waits.
func TestSnapshotterBackPressure(t *testing.T) {
	cfg, v, s := idleSnapshotter(t)
	sr := v.shards[0]
	blocked := make(chan struct{})
	s.hookBeforeSnapshot = func(uint64) { <-blocked }
	go s.run()

	// The shard's side, as Deliver does it: apply, journal, hand over.
	var events []engine.Event
	ends := make([]int, 1)
	a := party(t, cfg, "BANKA")
	usdcny, _ := v.Instrument("USD/CNY")
	t0 := time.Now().UnixNano()
	deliver := func(seq uint64, snapAt uint64) {
		c := *order(a, v.where[usdcny].local, "c"+strconv.FormatUint(seq, 10), engine.Buy, 100_000, 700_000_000)
		c.Seq, c.Time = seq, t0+int64(seq)
		events = sr.eng.Apply(&c, events[:0])
		ends[0] = len(events)
		if err := sr.app.Append([]engine.Command{c}, events, ends); err != nil {
			t.Fatal(err)
		}
		s.add([]engine.Command{c}, snapAt, sr.eng.Progress())
	}
	deliver(1, 1) // the snapshotter stops in this snapshot, holding its chunk
	// The other chunks fill; the last stays with the shard until a
	// command needs room.
	const room = 1 + (snapChunks-1)*snapChunkCommands
	for seq := uint64(2); seq <= room; seq++ {
		deliver(seq, 0)
	}
	if st := s.Stats(); st.Waits != 0 {
		t.Fatalf("waited with room in the queue: %+v", st)
	}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		for seq := uint64(room + 1); seq <= room+snapChunkCommands+1; seq++ {
			deliver(seq, 0)
		}
	}()
	select {
	case <-waited:
		t.Fatal("the shard went on with the snapshotter's queue full")
	case <-time.After(50 * time.Millisecond):
	}
	close(blocked)
	<-waited
	s.stop()
	st := s.Stats()
	if st.Waits == 0 || st.Taken != 1 || st.Applied != room+snapChunkCommands+1 {
		t.Fatalf("after the queue filled: %+v", st)
	}
	if s.eng.StateHash() != sr.eng.StateHash() {
		t.Fatal("the shadow lost a command under back-pressure")
	}
}

// TestDivergedShadowStoresNoSnapshot: a shadow engine that has gone apart
// from the primary (here: given another command than the primary
// applied) stores no snapshot, then or later, and says so.
func TestDivergedShadowStoresNoSnapshot(t *testing.T) {
	cfg, v, s := idleSnapshotter(t)
	sr := v.shards[0]
	go s.run()
	a := party(t, cfg, "BANKA")
	usdcny, _ := v.Instrument("USD/CNY")
	t0 := time.Now().UnixNano()
	var events []engine.Event
	for seq := uint64(1); seq <= 3; seq++ {
		c := *order(a, v.where[usdcny].local, "d"+strconv.FormatUint(seq, 10), engine.Sell, 100_000, 710_000_000)
		c.Seq, c.Time = seq, t0+int64(seq)
		events = sr.eng.Apply(&c, events[:0])
		if err := sr.app.Append([]engine.Command{c}, events, []int{len(events)}); err != nil {
			t.Fatal(err)
		}
		shadow := c
		if seq == 2 {
			shadow.Qty = 0 // rejected by the shadow, resting on the primary
		}
		s.add([]engine.Command{shadow}, seq, sr.eng.Progress())
	}
	s.stop()
	st := s.Stats()
	if !st.Diverged || st.Taken != 1 || st.LastSeq != 1 {
		t.Fatalf("after diverging at seq 2: %+v", st)
	}
	seqs, err := v.j.Reader().Snapshots(0)
	if err != nil || !slices.Equal(seqs, []uint64{1}) {
		t.Fatalf("snapshots stored: %v %v, want [1]", seqs, err)
	}
}

// TestHashYielding: the snapshotter's piecewise hash is SHA-256 of the
// whole, at every boundary of its pieces.
func TestHashYielding(t *testing.T) {
	b := make([]byte, 3*snapHashPiece+5)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	for _, n := range []int{0, 1, snapHashPiece - 1, snapHashPiece, snapHashPiece + 1, 2 * snapHashPiece, len(b)} {
		if got, want := hashYielding(b[:n], func() {}), journal.Hash(sha256.Sum256(b[:n])); got != want {
			t.Errorf("%d bytes: %x, want %x", n, got, want)
		}
	}
}
