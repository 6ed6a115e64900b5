package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"fxmatch/engine"
	"fxmatch/journal"
)

// ShardReport is what Verify found in one shard.
type ShardReport struct {
	Shard   uint16
	Symbols []string
	// Head is the chain head Verify computed from genesis: after the
	// shard's last record when it is intact, after the last record that
	// passed every check when it is not.
	Head journal.Head
	// Records re-executed and matched, and the events they reproduced.
	Records, Events uint64
	// Snapshots are the sequences of the stored snapshots that were
	// compared with the replayed state.
	Snapshots []uint64
	// Err is the first break (a *journal.SeqError naming the sequence), or
	// nil.
	Err error
	// Stopped: Options.Context ended before this shard was verified to
	// its end; Head is then the last record proven (genesis for a shard
	// not reached), and nothing is known about the records after it.
	Stopped bool
}

// Report is Verify's finding for the whole journal.
type Report struct {
	Shards []ShardReport
}

// Complete reports whether every shard was verified to its end (no
// shard Stopped).
func (r *Report) Complete() bool {
	for i := range r.Shards {
		if r.Shards[i].Stopped {
			return false
		}
	}
	return true
}

// Err is the first shard's break, nil if every shard is intact.
func (r *Report) Err() error {
	for i := range r.Shards {
		if r.Shards[i].Err != nil {
			return r.Shards[i].Err
		}
	}
	return nil
}

// Verify proves the journal, shard by shard, from genesis:
//
//   - the hash chain: every record's link, every block's stated hashes,
//     no record missing, moved or altered (journal's checks);
//   - the replay: a fresh engine built from the journal's configuration
//     and genesis trade date re-executes every command, and the record it
//     would write — command and events, encoded — must equal the journaled
//     record byte for byte; command times must never go backwards;
//   - the snapshots: each stored snapshot must be, byte for byte, the
//     replayed engine's state at its sequence, and hash to its recorded
//     state hash; a snapshot after the shard's last record means records
//     were cut off the end.
//
// A broken shard does not stop the others. The returned error is for
// failures to verify at all (an unreadable directory); breaks are in the
// report (Report.Err). When Options.Context ends first, Verify returns the
// report so far — the shards proven, the shard it was in and those not
// reached marked Stopped — with an error wrapping ErrStopped.
func (j *Journal) Verify() (*Report, error) {
	_, _, total := j.allShards()
	p := j.progress(total)
	rep := &Report{}
	for si := range j.shards {
		sr, err := j.verifyShard(uint16(si), p)
		if errors.Is(err, ErrStopped) {
			sr.Stopped = true
			rep.Shards = append(rep.Shards, sr)
			for sj := si + 1; sj < len(j.shards); sj++ {
				rep.Shards = append(rep.Shards, ShardReport{Shard: uint16(sj), Symbols: j.ShardInfo(sj).Symbols,
					Head: journal.Head{Hash: journal.GenesisHash}, Stopped: true})
			}
			return rep, err
		}
		if err != nil {
			return nil, err
		}
		rep.Shards = append(rep.Shards, sr)
	}
	p.end()
	return rep, nil
}

func (j *Journal) verifyShard(shard uint16, p *progress) (ShardReport, error) {
	sh := &j.shards[shard]
	sr := ShardReport{Shard: shard, Symbols: j.ShardInfo(int(shard)).Symbols, Head: journal.Head{Hash: journal.GenesisHash}}
	snaps, err := j.r.Snapshots(shard)
	if err != nil {
		return sr, err
	}
	eng, err := engine.New(sh.cfg)
	if err != nil {
		return sr, fmt.Errorf("audit: shard %d: %w", shard, err)
	}
	rp := &replayer{shard: shard, eng: eng}
	var enc, state []byte
	next := 0 // the first snapshot not yet compared
	it := j.r.Records(shard, 1)
	defer it.Close()
	for it.Next() {
		rec := it.Record()
		seq := rec.Command.Seq
		if err := rp.apply(rec); err != nil {
			sr.Err = err
			return sr, nil
		}
		enc = journal.AppendRecord(enc[:0], &rec.Command, rp.out)
		if !bytes.Equal(enc, it.Payload()) {
			d := diffEvents(rec.Events, rp.out)
			if d == "" {
				d = "the record's bytes are not the encoding of its own command and events"
			}
			sr.Err = &journal.SeqError{Shard: shard, Seq: seq, Err: ErrReplayMismatch, Detail: d}
			return sr, nil
		}
		for ; next < len(snaps) && snaps[next] <= seq; next++ {
			if snaps[next] < seq {
				// Only a snapshot "after seq 0" can be passed over.
				sr.Err = &journal.SeqError{Shard: shard, Seq: snaps[next], Err: ErrSnapshotMismatch, Detail: "a snapshot at a sequence no record has"}
				return sr, nil
			}
			state = eng.AppendSnapshot(state[:0])
			if err := checkSnapshot(j.r, shard, seq, state); err != nil {
				sr.Err = err
				return sr, nil
			}
			sr.Snapshots = append(sr.Snapshots, seq)
		}
		sr.Records++
		sr.Events += uint64(len(rec.Events))
		sr.Head = journal.Head{Seq: seq, Hash: rec.Hash}
		if err := p.step(); err != nil {
			return sr, err
		}
	}
	if err := it.Err(); err != nil {
		if _, _, ok := journal.BadSeq(err); !ok {
			return sr, err
		}
		sr.Err = err
		return sr, nil
	}
	if next < len(snaps) {
		sr.Err = &journal.SeqError{Shard: shard, Seq: sr.Head.Seq + 1, Err: journal.ErrMissing,
			Detail: fmt.Sprintf("the journal ends at seq %d but has a snapshot taken after seq %d: records were cut off its end", sr.Head.Seq, snaps[len(snaps)-1])}
	}
	return sr, nil
}

// checkSnapshot compares the stored snapshot after seq with the replayed
// state.
func checkSnapshot(r *journal.Reader, shard uint16, seq uint64, state []byte) error {
	snap, err := r.SnapshotAtOrBefore(shard, seq)
	if err != nil {
		return err
	}
	replayed := sha256.Sum256(state)
	switch {
	case snap.Seq != seq:
		return &journal.SeqError{Shard: shard, Seq: seq, Err: ErrSnapshotMismatch, Detail: "the snapshot listed here cannot be read"}
	case journal.Hash(replayed) != snap.StateHash:
		return &journal.SeqError{Shard: shard, Seq: seq, Err: ErrSnapshotMismatch,
			Detail: fmt.Sprintf("the replayed state hash is %x, the snapshot records %x", replayed, snap.StateHash)}
	case !bytes.Equal(state, snap.Data):
		return &journal.SeqError{Shard: shard, Seq: seq, Err: ErrSnapshotMismatch, Detail: "the snapshot's bytes differ from the replayed state (its recorded state hash matches)"}
	}
	return nil
}
