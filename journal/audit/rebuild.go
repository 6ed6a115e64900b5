package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"fxmatch/engine"
	"fxmatch/journal"
)

// Rebuild rebuilds shard's engine from the journal r reads, as of its last
// record: from the newest snapshot (its bytes hashed and checked against
// its recorded state hash, and the restored engine's state hash checked
// again), or from genesis when there is none, then every later record
// re-executed and its events compared with the journaled ones. cfg is the
// shard's engine configuration with its genesis trade date. It returns
// the engine and the last sequence applied.
//
// It is the one replay of the project: the venue recovers with it
// (cmd/fxmatch/venue), and the regulator's books are built with it, so
// the rules under which a journal is accepted at start and the rules
// under which it is audited cannot drift apart. A difference is a
// *journal.SeqError wrapping ErrReplayMismatch (with the first differing
// field) or ErrSnapshotMismatch, naming the shard and sequence.
func Rebuild(r *journal.Reader, shard uint16, cfg engine.Config) (*engine.Engine, uint64, error) {
	rp, last, err := rebuildTo(r, shard, cfg, toEnd, true, &progress{})
	if err != nil {
		return nil, 0, err
	}
	return rp.eng, last, nil
}

// toEnd asks rebuild for the state after the shard's last record.
const toEnd = math.MaxUint64

// rebuild is rebuildTo for a sequence that must exist: it returns the
// snapshot sequence it started from.
func rebuild(r *journal.Reader, shard uint16, cfg engine.Config, seq uint64, snapshots bool, p *progress) (*replayer, uint64, error) {
	rp, last, err := rebuildTo(r, shard, cfg, seq, snapshots, p)
	if err != nil {
		return nil, 0, err
	}
	if last != seq {
		return nil, 0, &journal.SeqError{Shard: shard, Seq: seq, Err: journal.ErrMissing, Detail: "the journal ends before it"}
	}
	return rp, rp.from, nil
}

// rebuildTo replays shard up to command seq (toEnd: to the last record),
// from the newest snapshot strictly before seq (so that at least command
// seq is replayed and its time known) when snapshots is true. It returns
// the replayer (rp.from is the snapshot it started from, 0 for genesis)
// and the last sequence applied.
func rebuildTo(r *journal.Reader, shard uint16, cfg engine.Config, seq uint64, snapshots bool, p *progress) (*replayer, uint64, error) {
	rp := &replayer{shard: shard}
	if snapshots && seq > 1 {
		snap, err := r.SnapshotAtOrBefore(shard, seq-1)
		switch {
		case err == nil:
			if sha256.Sum256(snap.Data) != snap.StateHash {
				return nil, 0, &journal.SeqError{Shard: shard, Seq: snap.Seq, Err: ErrSnapshotMismatch, Detail: "its bytes do not hash to its recorded state hash"}
			}
			eng, err := engine.Restore(cfg, snap.Data)
			if err != nil {
				return nil, 0, &journal.SeqError{Shard: shard, Seq: snap.Seq, Err: ErrSnapshotMismatch, Detail: err.Error()}
			}
			if eng.StateHash() != snap.StateHash {
				return nil, 0, &journal.SeqError{Shard: shard, Seq: snap.Seq, Err: ErrSnapshotMismatch, Detail: "the engine restored from it has another state hash"}
			}
			rp.eng, rp.from = eng, snap.Seq
		case errors.Is(err, journal.ErrNotFound):
		default:
			return nil, 0, err
		}
	}
	if rp.eng == nil {
		eng, err := engine.New(cfg)
		if err != nil {
			return nil, 0, fmt.Errorf("audit: shard %d: %w", shard, err)
		}
		rp.eng = eng
	}
	last := rp.from
	it := r.Records(shard, rp.from+1)
	defer it.Close()
	for last != seq && it.Next() {
		rec := it.Record()
		if err := rp.apply(rec); err != nil {
			return nil, 0, err
		}
		if err := rp.compare(rec); err != nil {
			return nil, 0, err
		}
		last = rec.Command.Seq
		if err := p.step(); err != nil {
			return nil, 0, err
		}
	}
	if err := it.Err(); err != nil {
		return nil, 0, err
	}
	p.end()
	return rp, last, nil
}
