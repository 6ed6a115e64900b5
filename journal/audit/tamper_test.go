package audit_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"fxmatch/engine"
	"fxmatch/journal"
	"fxmatch/journal/audit"
	"fxmatch/journal/audit/audittest"
)

// link is the journal's chain link (package journal's doc, "Hash chain").
func link(prev journal.Hash, shard uint16, seq uint64, payload []byte) journal.Hash {
	k := journal.RecordKey(shard, seq)
	h := sha256.New()
	h.Write(prev[:])
	h.Write(k[:])
	h.Write(payload)
	var out journal.Hash
	h.Sum(out[:0])
	return out
}

func verify(t *testing.T, dir string) *audit.Report {
	t.Helper()
	j, err := audit.Open(dir, audit.Options{Logger: quiet()})
	if err != nil {
		t.Fatalf("audit.Open: %v", err)
	}
	defer j.Close()
	rep, err := j.Verify()
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func editBlocks(shard uint16, fn func(t *testing.T, blocks []rawBlock) []rawBlock) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		storeBlocks(t, dir, shard, fn(t, loadBlocks(t, dir, shard)))
	}
}

func flipByte(shard uint16, seq uint64) func(*testing.T, string) {
	return editBlocks(shard, func(t *testing.T, bs []rawBlock) []rawBlock {
		bi, ri := locate(t, bs, seq)
		p := bs[bi].recs[ri].payload
		p[len(p)*2/3] ^= 0x08
		return bs
	})
}

func deleteRecord(shard uint16, seq uint64) func(*testing.T, string) {
	return editBlocks(shard, func(t *testing.T, bs []rawBlock) []rawBlock {
		bi, ri := locate(t, bs, seq)
		bs[bi].recs = slices.Delete(bs[bi].recs, ri, ri+1)
		if len(bs[bi].recs) == 0 {
			bs = slices.Delete(bs, bi, bi+1)
		}
		return bs
	})
}

func swapRecords(shard uint16, a, b uint64) func(*testing.T, string) {
	return editBlocks(shard, func(t *testing.T, bs []rawBlock) []rawBlock {
		ab, ar := locate(t, bs, a)
		bb, br := locate(t, bs, b)
		bs[ab].recs[ar], bs[bb].recs[br] = bs[bb].recs[br], bs[ab].recs[ar]
		return bs
	})
}

// cutFrom deletes every record from seq on.
func cutFrom(shard uint16, seq uint64) func(*testing.T, string) {
	return editBlocks(shard, func(t *testing.T, bs []rawBlock) []rawBlock {
		bi, ri := locate(t, bs, seq)
		bs[bi].recs = bs[bi].recs[:ri]
		bs = bs[:bi+1]
		if ri == 0 {
			bs = bs[:bi]
		}
		if len(bs) > 0 {
			last := &bs[len(bs)-1]
			h := last.prev
			for i, r := range last.recs {
				h = link(h, shard, last.first+uint64(i), r.payload)
			}
			last.head = h
		}
		return bs
	})
}

// forgeFill changes the quantity of the first fill of record seq (both
// sides and the print) and recomputes the whole chain after it: the
// journal's own checks pass, only the replay can tell.
func forgeFill(shard uint16, seq uint64) func(*testing.T, string) {
	return editBlocks(shard, func(t *testing.T, bs []rawBlock) []rawBlock {
		bi, ri := locate(t, bs, seq)
		var cmd engine.Command
		evs, err := journal.DecodeRecord(bs[bi].recs[ri].payload, &cmd, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range evs {
			if evs[i].Kind == engine.EvFill || evs[i].Kind == engine.EvTrade {
				evs[i].LastQty -= 100_000
				n++
			}
		}
		if n != 3 {
			t.Fatalf("record %d has %d fill and trade events, want one match", seq, n)
		}
		bs[bi].recs[ri].payload = journal.AppendRecord(nil, &cmd, evs)
		rechain(shard, bs)
		return bs
	})
}

// backdate moves record seq's command (and its events) to a millisecond
// before the previous record and recomputes the chain: a history whose
// clock runs backwards, which the sequencer never writes.
func backdate(shard uint16, seq uint64) func(*testing.T, string) {
	return editBlocks(shard, func(t *testing.T, bs []rawBlock) []rawBlock {
		pb, pr := locate(t, bs, seq-1)
		var prev engine.Command
		if _, err := journal.DecodeRecord(bs[pb].recs[pr].payload, &prev, nil); err != nil {
			t.Fatal(err)
		}
		bi, ri := locate(t, bs, seq)
		var cmd engine.Command
		evs, err := journal.DecodeRecord(bs[bi].recs[ri].payload, &cmd, nil)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Time = prev.Time - 1e6
		for i := range evs {
			evs[i].Time = cmd.Time
		}
		bs[bi].recs[ri].payload = journal.AppendRecord(nil, &cmd, evs)
		rechain(shard, bs)
		return bs
	})
}

// moveSnapshot stores the snapshot taken after from under the key of the
// one taken after to: a well-formed snapshot of another moment.
func moveSnapshot(shard uint16, from, to uint64) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		withDB(t, dir, func(db *pebble.DB) {
			kf, kt := journal.SnapshotKey(shard, from), journal.SnapshotKey(shard, to)
			v, c, err := db.Get(kf[:])
			if err != nil {
				t.Fatal(err)
			}
			v = slices.Clone(v)
			c.Close()
			if err := db.Set(kt[:], v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// reforgeSnapshot changes one byte of a snapshot's state and recomputes
// its checksum and state hash.
func reforgeSnapshot(shard uint16, seq uint64) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		withDB(t, dir, func(db *pebble.DB) {
			k := journal.SnapshotKey(shard, seq)
			v, c, err := db.Get(k[:])
			if err != nil {
				t.Fatal(err)
			}
			v = slices.Clone(v)
			c.Close()
			data := v[1+journal.HashSize+4:]
			// The trade date, a varint early in the state: one day later.
			i := len("FXSNAP") + 1 + 1
			data[i]++
			h := sha256.Sum256(data)
			copy(v[1:], h[:])
			binary.LittleEndian.PutUint32(v[1+journal.HashSize:], crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
			if err := db.Set(k[:], v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func snapshots(t *testing.T, dir string, shard uint16) []uint64 {
	t.Helper()
	rd, err := journal.OpenReader(dir, journal.ReaderOptions{Options: journal.Options{Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	s, err := rd.Snapshots(shard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTamper changes a copy of the scenario's journal in each way someone
// with write access could, and demands that Verify names the change and
// the first shard and sequence it affects, and finds the other shard
// intact.
func TestTamper(t *testing.T) {
	res := scenario(t)
	orig := res.JournalDir
	intact := verify(t, orig)
	if err := intact.Err(); err != nil {
		t.Fatal(err)
	}
	snaps := snapshots(t, orig, 0)
	if len(snaps) < 2 {
		t.Fatalf("shard 0 has snapshots %v; the test needs two", snaps)
	}
	// The record of the match between c1 and k1 (a fill on day 1).
	var c1 uint64
	for _, st := range res.Steps {
		if strings.HasPrefix(st.Name, "c1 ") {
			c1 = st.Heads[0]
		}
	}
	cases := []struct {
		name   string
		shard  uint16
		tamper func(*testing.T, string)
		want   error
		seq    uint64
	}{
		{"flip a byte of a record", 0, flipByte(0, 9), journal.ErrHashMismatch, 9},
		{"flip a byte of a record of shard 1", 1, flipByte(1, 3), journal.ErrHashMismatch, 3},
		{"flip a byte of the first record", 0, flipByte(0, 1), journal.ErrHashMismatch, 1},
		{"delete a record", 0, deleteRecord(0, 11), journal.ErrMissing, 11},
		{"delete the first record", 1, deleteRecord(1, 1), journal.ErrMissing, 1},
		{"swap two adjacent records", 0, swapRecords(0, 12, 13), journal.ErrReordered, 12},
		{"swap two records far apart", 0, swapRecords(0, 5, 18), journal.ErrReordered, 5},
		{"doctor a fill and recompute the chain", 0, forgeFill(0, c1), audit.ErrReplayMismatch, c1},
		{"backdate a command and recompute the chain", 0, backdate(0, 10), audit.ErrReplayMismatch, 10},
		{"store a snapshot under another sequence", 0, moveSnapshot(0, snaps[0], snaps[1]), audit.ErrSnapshotMismatch, snaps[1]},
		{"change a snapshot and recompute its hashes", 0, reforgeSnapshot(0, snaps[0]), audit.ErrSnapshotMismatch, snaps[0]},
		{"cut records off the end before a snapshot", 0, cutFrom(0, snaps[1]), journal.ErrMissing, snaps[1]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, orig)
			tc.tamper(t, dir)
			rep := verify(t, dir)
			err := rep.Err()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v; want %v", err, tc.want)
			}
			shard, seq, ok := journal.BadSeq(err)
			if !ok || shard != tc.shard || seq != tc.seq {
				t.Fatalf("Verify named shard %d seq %d (%v); want shard %d seq %d", shard, seq, err, tc.shard, tc.seq)
			}
			for _, s := range rep.Shards {
				if s.Shard != tc.shard && (s.Err != nil || s.Head != intact.Shards[s.Shard].Head) {
					t.Errorf("untouched shard %d: %v, head %v", s.Shard, s.Err, s.Head)
				}
				if s.Shard == tc.shard && s.Head.Seq >= tc.seq {
					t.Errorf("shard %d verified up to seq %d, past the break at %d", s.Shard, s.Head.Seq, tc.seq)
				}
			}
			t.Logf("%v", err)
		})
	}

	// What no check inside the journal can see: a forger who re-executes
	// history consistently, or cuts the end off where no snapshot follows.
	// Verify then reports another head, which is why it prints the head: a
	// head noted earlier (or published) is what exposes it.
	t.Run("cut the last record", func(t *testing.T) {
		dir := copyDir(t, orig)
		head := intact.Shards[1].Head.Seq
		cutFrom(1, head)(t, dir)
		rep := verify(t, dir)
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		if h := rep.Shards[1].Head; h.Seq != head-1 || h.Hash == intact.Shards[1].Head.Hash {
			t.Fatalf("head after the cut %v; before %v", h, intact.Shards[1].Head)
		}
	})
}

// writeJournal writes a journal with the journal API directly, as the
// venue would — configuration, genesis date, commands with the events a
// real engine produced, snapshots — except that doctor may change a
// record's events and snapshotState may change what a snapshot holds.
func writeJournal(t *testing.T, doctor func(seq uint64, evs []engine.Event), snapshotAt map[uint64]uint64) string {
	t.Helper()
	cfg := audittest.Config()
	var ecs []engine.Config
	for si := range cfg.Shards {
		ec, err := cfg.EngineConfig(si, 20000103)
		if err != nil {
			t.Fatal(err)
		}
		ec.TradeDate = 0
		ecs = append(ecs, ec)
	}
	canon, err := json.Marshal(ecs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	const genesis = 20260303
	if err := j.SetMeta("config", canon); err != nil {
		t.Fatal(err)
	}
	if err := j.SetMeta("shard/0/genesis-trade-date", []byte(strconv.Itoa(genesis))); err != nil {
		t.Fatal(err)
	}
	ec := ecs[0]
	ec.TradeDate = genesis
	eng, err := engine.New(ec)
	if err != nil {
		t.Fatal(err)
	}
	app, err := j.Appender(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := cfg.PartyID("BANKA")
	b, _ := cfg.PartyID("BANKB")
	states := map[uint64][]byte{}
	t0 := audittest.Start.UnixNano()
	for i := range 8 {
		seq := uint64(i + 1)
		cmd := engine.Command{Seq: seq, Time: t0 + int64(i)*1000, Kind: engine.CmdNewOrder, Instrument: 0,
			OrdType: engine.Limit, TIF: engine.GTC, Qty: 1_000_000, Price: 710_000_000 + engine.Price(i%3)*10_000,
			ClOrdID: engine.MustID("o" + strconv.Itoa(i))}
		cmd.Party, cmd.Side = a, engine.Sell
		if i%2 == 1 {
			cmd.Party, cmd.Side, cmd.Price = b, engine.Buy, 710_030_000
		}
		evs := eng.Apply(&cmd, nil)
		states[seq] = eng.AppendSnapshot(nil)
		if doctor != nil {
			doctor(seq, evs)
		}
		if err := app.Append([]engine.Command{cmd}, evs, []int{len(evs)}); err != nil {
			t.Fatal(err)
		}
		if from, ok := snapshotAt[seq]; ok {
			st := states[from]
			if err := app.PutSnapshot(seq, journal.Hash(sha256.Sum256(st)), st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReplayMismatch: a journal whose chain is perfect but whose recorded
// events are not what the engine produces from its commands — written
// through the journal API, as a faulty or dishonest writer would.
func TestReplayMismatch(t *testing.T) {
	good := writeJournal(t, nil, map[uint64]uint64{3: 3, 6: 6})
	if err := verify(t, good).Err(); err != nil {
		t.Fatalf("the undoctored journal: %v", err)
	}
	bad := writeJournal(t, func(seq uint64, evs []engine.Event) {
		if seq == 4 {
			for i := range evs {
				if evs[i].Kind == engine.EvFill && evs[i].Aggressor {
					evs[i].LastPx += 100 // the aggressor's fill at a better price than the print
				}
			}
		}
	}, nil)
	rep := verify(t, bad)
	err := rep.Err()
	if !errors.Is(err, audit.ErrReplayMismatch) {
		t.Fatalf("Verify: %v", err)
	}
	if shard, seq, _ := journal.BadSeq(err); shard != 0 || seq != 4 || !strings.Contains(err.Error(), "LastPx") {
		t.Fatalf("Verify named shard %d seq %d: %v", shard, seq, err)
	}
	if rep.Shards[0].Head.Seq != 3 {
		t.Errorf("verified up to seq %d, want 3", rep.Shards[0].Head.Seq)
	}
	// A book is never shown from a journal that does not replay.
	j := open(t, bad)
	if _, err := j.BookAtSeq("USD/CNY", 3); err != nil {
		t.Errorf("book before the doctored record: %v", err)
	}
	if _, err := j.BookAtSeq("USD/CNY", 5); !errors.Is(err, audit.ErrReplayMismatch) {
		t.Errorf("book after the doctored record: %v", err)
	}
}

// TestSnapshotMismatch: a snapshot written through the journal API that is
// not the state after its sequence (here: the state of an earlier one,
// with its own correct hash).
func TestSnapshotMismatch(t *testing.T) {
	dir := writeJournal(t, nil, map[uint64]uint64{3: 3, 6: 5})
	err := verify(t, dir).Err()
	if !errors.Is(err, audit.ErrSnapshotMismatch) {
		t.Fatalf("Verify: %v", err)
	}
	if shard, seq, _ := journal.BadSeq(err); shard != 0 || seq != 6 {
		t.Fatalf("Verify named shard %d seq %d: %v", shard, seq, err)
	}
}
