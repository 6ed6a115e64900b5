package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strconv"

	"github.com/cockroachdb/pebble/v2"

	"fxmatch/engine"
)

// Reader reads a journal: a live one (Journal.Reader), a consistent
// point-in-time view of a live one (Journal.SnapshotReader), or a
// directory or checkpoint opened read-only (OpenReader). A Reader may be
// used from many goroutines; each Iter belongs to one.
type Reader struct {
	db pebble.Reader
	// close releases what the reader owns (a read-only DB, a snapshot);
	// nil for Journal.Reader, whose DB the journal owns.
	close func() error
}

// ReaderOptions configures OpenReader.
type ReaderOptions struct {
	// Options supplies the Logger and FS; the writer settings are ignored.
	Options
}

// OpenReader opens the journal in dir read-only: nothing in dir is
// changed (Pebble replays its WAL into memory). dir is a journal no writer
// has open — a stopped venue's data directory, or a checkpoint made with
// Journal.Checkpoint while the venue runs.
func OpenReader(dir string, opts ReaderOptions) (*Reader, error) {
	o := opts.Options
	o.withDefaults()
	po := pebbleOptions(&o, nil)
	po.ErrorIfNotExists = true
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s read-only: %w", dir, err)
	}
	if err := checkFormat(db, false); err != nil {
		db.Close()
		return nil, err
	}
	return &Reader{db: db, close: db.Close}, nil
}

// Close closes a reader from OpenReader or SnapshotReader; for a live
// journal's reader it does nothing. A reader must not be used after
// Close; closing twice is harmless.
func (r *Reader) Close() error {
	if r.close == nil {
		return nil
	}
	c := r.close
	r.close = nil
	return c()
}

// Head is the end of a shard's chain: the last sequence and the chain hash
// after it (0 and GenesisHash for a shard with no records). A regulator
// who wrote a head down can later prove the journal up to it unchanged:
// Verify recomputes it from genesis.
type Head struct {
	Seq  uint64
	Hash Hash
}

func (h Head) String() string { return fmt.Sprintf("seq %d hash %x", h.Seq, h.Hash) }

// shardBounds are the iterator bounds of one shard's keys of a kind.
func shardBounds(prefix byte, shard uint16) (lo, hi []byte) {
	lo = []byte{prefix, byte(shard >> 8), byte(shard)}
	n := uint32(prefix)<<16 | uint32(shard) + 1
	hi = []byte{byte(n >> 16), byte(n >> 8), byte(n)}
	return lo, hi
}

// Head returns the shard's chain head as the last block states it (no
// walk; Verify is what proves it).
func (r *Reader) Head(shard uint16) (Head, error) {
	lo, hi := shardBounds(prefixBlock, shard)
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return Head{}, fmt.Errorf("journal: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return Head{}, fmt.Errorf("journal: %w", err)
		}
		return Head{Hash: GenesisHash}, nil
	}
	_, _, first, ok := parseKey(it.Key())
	val, err := it.ValueAndErr()
	if err != nil {
		return Head{}, fmt.Errorf("journal: %w", err)
	}
	var br blockReader
	if !ok {
		return Head{}, seqErr(ErrCorrupt, shard, 0, "block key %x", it.Key())
	}
	if err := br.init(val); err != nil {
		return Head{}, &SeqError{Shard: shard, Seq: first, Err: err}
	}
	return Head{Seq: first + br.count - 1, Hash: br.head}, nil
}

// Shards lists the shards that have records.
func (r *Reader) Shards() ([]uint16, error) {
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixBlock}, UpperBound: []byte{prefixBlock + 1}})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer it.Close()
	var out []uint16
	for ok := it.First(); ok; {
		_, shard, _, kok := parseKey(it.Key())
		if !kok {
			return out, fmt.Errorf("%w: block key %x", ErrCorrupt, it.Key())
		}
		out = append(out, shard)
		if shard == math.MaxUint16 {
			break
		}
		ok = it.SeekGE([]byte{prefixBlock, byte((shard + 1) >> 8), byte(shard + 1)})
	}
	return out, it.Error()
}

// Record is one decoded record. Events aliases the iterator's buffer and
// is valid until the next call to Next.
type Record struct {
	Shard   uint16
	Command engine.Command // Command.Seq is the record's sequence
	Events  []engine.Event
	Hash    Hash // the chain hash after this record
}

// Records returns an iterator over the shard's records from sequence from
// (1 or 0: from the start). Every record it yields has had its chain link
// checked: from the genesis hash when it starts at the beginning,
// otherwise from the previous-hash that the block holding from states
// (which Verify proves against genesis). Records past the end: Next
// returns false and Err nil.
func (r *Reader) Records(shard uint16, from uint64) *Iter {
	it := &Iter{r: r, shard: shard, from: max(from, 1), hasher: newChainHasher()}
	lo, hi := shardBounds(prefixBlock, shard)
	it.it, it.err = r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if it.err != nil {
		it.err = fmt.Errorf("journal: %w", it.err)
	}
	return it
}

// Iter walks a shard's records in sequence order, checking the chain.
type Iter struct {
	r       *Reader
	shard   uint16
	from    uint64
	it      *pebble.Iterator
	err     error
	started bool
	inBlock bool
	first   bool // the next record is its block's first
	br      blockReader
	keySeq  uint64 // the current block key's sequence
	expect  uint64 // the sequence the next record must have
	prev    Hash   // chain hash before the next record
	last    Head   // the last record yielded or skipped
	rec     Record
	payload []byte
	next    Hash
	hasher  chainHasher
}

// Next advances to the next record. It returns false at the end or on an
// error (Err says which).
func (it *Iter) Next() bool {
	if it.err != nil {
		return false
	}
	for {
		if !it.inBlock {
			if !it.nextBlock() {
				return false
			}
		}
		check, payload, ok, err := it.br.next()
		if err != nil {
			return it.fail(&SeqError{Shard: it.shard, Seq: it.expect, Err: err})
		}
		if !ok {
			// The block's stated head must be the chain as computed.
			if it.br.head != it.prev {
				return it.fail(seqErr(ErrHashMismatch, it.shard, it.expect-1, "block %d's head hash is not the chain's", it.keySeq))
			}
			it.inBlock = false
			continue
		}
		if err := it.checkRecord(check, payload); err != nil {
			return it.fail(err)
		}
		seq := it.expect
		it.expect++
		it.last = Head{Seq: seq, Hash: it.prev}
		if seq < it.from {
			continue
		}
		it.rec.Shard = it.shard
		it.rec.Hash = it.prev
		it.payload = payload
		it.rec.Events, err = DecodeRecord(payload, &it.rec.Command, it.rec.Events[:0])
		if err != nil {
			return it.fail(&SeqError{Shard: it.shard, Seq: seq, Err: err})
		}
		return true
	}
}

// nextBlock positions the iterator at the next block and parses it.
func (it *Iter) nextBlock() bool {
	var ok bool
	fromStart := false
	if !it.started {
		it.started = true
		if it.from > 1 {
			// The block holding from: the last one starting at or before it.
			ok = it.it.SeekLT(BlockKey(it.shard, it.from+1).bytes())
		}
		if !ok {
			ok, fromStart = it.it.First(), true
		}
	} else {
		ok = it.it.Next()
	}
	if !ok {
		if err := it.it.Error(); err != nil {
			it.err = fmt.Errorf("journal: %w", err)
		}
		return false
	}
	_, _, keySeq, kok := parseKey(it.it.Key())
	if !kok {
		return it.fail(seqErr(ErrCorrupt, it.shard, it.expect, "block key %x", it.it.Key()))
	}
	val, err := it.it.ValueAndErr()
	if err != nil {
		it.err = fmt.Errorf("journal: %w", err)
		return false
	}
	if fromStart {
		it.expect, it.prev = 1, GenesisHash
	}
	if err := it.br.init(val); err != nil {
		return it.fail(&SeqError{Shard: it.shard, Seq: max(it.expect, keySeq), Err: err})
	}
	if it.expect == 0 {
		// Started in the middle: take the block's word for where the
		// chain stands (Verify, which starts at genesis, proves it).
		it.expect, it.prev = keySeq, it.br.prev
	}
	it.keySeq = keySeq
	it.inBlock, it.first = true, true
	return true
}

// checkRecord checks the record at the iterator's expected sequence and
// advances the chain (it.prev) past it.
func (it *Iter) checkRecord(check, payload []byte) error {
	seq, sok := recordSeq(payload)
	if sok && seq != it.expect {
		return it.misplaced(seq)
	}
	if it.first {
		it.first = false
		if it.br.prev != it.prev {
			return seqErr(ErrHashMismatch, it.shard, it.expect, "block %d's previous hash is not the chain's", it.keySeq)
		}
		if it.keySeq != it.expect {
			return seqErr(ErrCorrupt, it.shard, it.expect, "the block holding it has key sequence %d", it.keySeq)
		}
	}
	h := &it.next
	it.hasher.link(h, &it.prev, it.shard, it.expect, payload)
	if !bytes.Equal(h[:checkSize], check) {
		return seqErr(ErrHashMismatch, it.shard, it.expect, "record hash %x, stored %x", h[:checkSize], check)
	}
	if !sok {
		return seqErr(ErrCorrupt, it.shard, it.expect, "unreadable sequence")
	}
	it.prev = *h
	return nil
}

// lookahead bounds how many records misplaced scans to tell a deleted
// record from a moved one.
const lookahead = 1 << 16

// misplaced names what is wrong when the record where it.expect belongs
// says it is found instead. It looks at the sequences of the records that
// follow (up to lookahead of them):
//   - found comes again later: this record's sequence field was altered
//     (or a copy inserted) — a hash mismatch here;
//   - it.expect comes later: records were moved or swapped — reordered;
//   - the next record is it.expect+1: this record's sequence field was
//     altered to something absent — a hash mismatch here;
//   - otherwise it.expect is nowhere: missing.
func (it *Iter) misplaced(found uint64) error {
	var seqs []uint64
	r := it.br // a copy: scan the rest of this block without moving the iterator
	for len(seqs) < lookahead {
		_, p, ok, err := r.next()
		if err != nil || !ok {
			break
		}
		if s, ok := recordSeq(p); ok {
			seqs = append(seqs, s)
		}
	}
	if len(seqs) < lookahead {
		clone, err := it.it.Clone(pebble.CloneOptions{})
		if err == nil {
			ok := clone.SeekGE(it.it.Key())
			if ok && bytes.Equal(clone.Key(), it.it.Key()) {
				ok = clone.Next()
			}
			for ; ok && len(seqs) < lookahead; ok = clone.Next() {
				v, err := clone.ValueAndErr()
				var br blockReader
				if err != nil || br.init(v) != nil {
					break
				}
				for len(seqs) < lookahead {
					_, p, ok, err := br.next()
					if err != nil || !ok {
						break
					}
					if s, ok := recordSeq(p); ok {
						seqs = append(seqs, s)
					}
				}
			}
			clone.Close()
		}
	}
	if slices.Contains(seqs, found) {
		return seqErr(ErrHashMismatch, it.shard, it.expect, "record says it is seq %d, which comes later", found)
	}
	if slices.Contains(seqs, it.expect) {
		return seqErr(ErrReordered, it.shard, it.expect, "seq %d is in its place", found)
	}
	if len(seqs) > 0 && seqs[0] == it.expect+1 {
		return seqErr(ErrHashMismatch, it.shard, it.expect, "record says it is seq %d", found)
	}
	return seqErr(ErrMissing, it.shard, it.expect, "the next record present is seq %d", found)
}

func (it *Iter) fail(err error) bool {
	it.err = err
	return false
}

// Record returns the current record (valid until the next call to Next).
func (it *Iter) Record() *Record { return &it.rec }

// Payload returns the current record's encoded payload (valid until the
// next call to Next): a replay that re-executes a command can encode its
// own events with AppendRecord and compare bytes.
func (it *Iter) Payload() []byte { return it.payload }

// Err returns the error that stopped the iteration, nil at a clean end.
func (it *Iter) Err() error { return it.err }

// Head is the chain position after the last record read (yielded or
// skipped on the way to from).
func (it *Iter) Head() Head { return it.last }

// Close releases the iterator.
func (it *Iter) Close() error {
	if it.it == nil {
		return nil
	}
	err := it.it.Close()
	it.it = nil
	return err
}

func (k Key) bytes() []byte { return k[:] }

// Verify walks the shard's whole chain from the genesis hash, decoding
// every record, and returns the head it computed. fn, if not nil, sees
// each record (a replay re-executing the engine compares its events
// here); an error from fn stops the walk and is returned. The first
// broken record is reported as a *SeqError wrapping ErrHashMismatch (a
// changed byte), ErrMissing (a deleted record), ErrReordered (moved or
// swapped records), ErrCorrupt or ErrVersion.
//
// Verify proves the chain consistent up to the head it returns; a journal
// cut short after its last record is consistent too, which is why a head
// written down elsewhere (a regulator's note, a signed daily report) is
// what a returned head should be compared with.
func (r *Reader) Verify(shard uint16, fn func(*Record) error) (Head, error) {
	it := r.Records(shard, 1)
	defer it.Close()
	for it.Next() {
		if fn != nil {
			if err := fn(it.Record()); err != nil {
				return it.Head(), err
			}
		}
	}
	if err := it.Err(); err != nil {
		return it.Head(), err
	}
	h := it.Head()
	if h.Seq == 0 {
		h.Hash = GenesisHash
	}
	return h, nil
}

// SeqAtTime returns the last sequence of the shard whose command was
// stamped at or before t (Unix nanoseconds), 0 if none was: the sequence
// "the book at time t" means. The sequencer never lets time go backwards,
// so this is a binary search by sequence, each probe reading one block
// without decoding its events. It checks no hashes (Verify does).
func (r *Reader) SeqAtTime(shard uint16, t int64) (uint64, error) {
	head, err := r.Head(shard)
	if err != nil {
		return 0, err
	}
	lo, hi := uint64(0), head.Seq // time(lo) <= t (lo 0: before all), time(hi+1) > t
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		tm, err := r.timeOf(shard, mid)
		if err != nil {
			return 0, err
		}
		if tm <= t {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}

// timeOf is the time of the shard's command seq.
func (r *Reader) timeOf(shard uint16, seq uint64) (int64, error) {
	lo, hi := shardBounds(prefixBlock, shard)
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	defer it.Close()
	if !it.SeekLT(BlockKey(shard, seq+1).bytes()) {
		return 0, seqErr(ErrMissing, shard, seq, "no block holds it")
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	var br blockReader
	if err := br.init(v); err != nil {
		return 0, &SeqError{Shard: shard, Seq: seq, Err: err}
	}
	for {
		_, p, ok, err := br.next()
		if err != nil {
			return 0, &SeqError{Shard: shard, Seq: seq, Err: err}
		}
		if !ok {
			return 0, seqErr(ErrMissing, shard, seq, "not in the block that should hold it")
		}
		if s, tm, ok := recordTime(p); ok && s == seq {
			return tm, nil
		}
	}
}

// Snapshot is a stored engine snapshot.
type Snapshot struct {
	Shard     uint16
	Seq       uint64 // the last command applied before it was taken
	StateHash Hash   // the engine's canonical state hash
	Data      []byte // owned by the caller
}

// Snapshots lists the sequence numbers of a shard's snapshots, oldest
// first.
func (r *Reader) Snapshots(shard uint16) ([]uint64, error) {
	lo, hi := shardBounds(prefixSnapshot, shard)
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer it.Close()
	var out []uint64
	for ok := it.First(); ok; ok = it.Next() {
		_, _, seq, _ := parseKey(it.Key())
		out = append(out, seq)
	}
	return out, it.Error()
}

// LatestSnapshot returns the shard's newest snapshot, ErrNotFound if it
// has none.
func (r *Reader) LatestSnapshot(shard uint16) (Snapshot, error) {
	return r.SnapshotAtOrBefore(shard, math.MaxUint64)
}

// SnapshotAtOrBefore returns the newest snapshot taken at or before seq
// (for the book at a past sequence: that snapshot, then replay), or
// ErrNotFound.
func (r *Reader) SnapshotAtOrBefore(shard uint16, seq uint64) (Snapshot, error) {
	lo, hi := shardBounds(prefixSnapshot, shard)
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return Snapshot{}, fmt.Errorf("journal: %w", err)
	}
	defer it.Close()
	var ok bool
	if seq == math.MaxUint64 {
		ok = it.Last()
	} else {
		ok = it.SeekLT(SnapshotKey(shard, seq+1).bytes())
	}
	if !ok {
		if err := it.Error(); err != nil {
			return Snapshot{}, fmt.Errorf("journal: %w", err)
		}
		return Snapshot{}, fmt.Errorf("%w: no snapshot of shard %d at or before seq %d", ErrNotFound, shard, seq)
	}
	_, _, sseq, _ := parseKey(it.Key())
	v, err := it.ValueAndErr()
	if err != nil {
		return Snapshot{}, fmt.Errorf("journal: %w", err)
	}
	s := Snapshot{Shard: shard, Seq: sseq}
	if len(v) < 1+HashSize+4 || v[0] != snapshotVersion {
		return s, seqErr(ErrCorrupt, shard, sseq, "snapshot header")
	}
	copy(s.StateHash[:], v[1:])
	data := v[1+HashSize+4:]
	if crc32.Checksum(data, castagnoli) != binary.LittleEndian.Uint32(v[1+HashSize:]) {
		return s, seqErr(ErrCorrupt, shard, sseq, "snapshot checksum")
	}
	s.Data = bytes.Clone(data)
	return s, nil
}

// Metadata lives under 'M' name. Names are namespaced by their first
// path element; see the package doc for the reserved namespaces.
const maxMetaName = 255

func metaKey(name string) ([]byte, error) {
	if name == "" || len(name) > maxMetaName {
		return nil, fmt.Errorf("journal: metadata name %q must have 1 to %d bytes", name, maxMetaName)
	}
	return append([]byte{prefixMeta}, name...), nil
}

// Meta returns the metadata value stored under name (a copy), or
// ErrNotFound.
func (r *Reader) Meta(name string) ([]byte, error) {
	k, err := metaKey(name)
	if err != nil {
		return nil, err
	}
	v, closer, err := r.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: metadata %q", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// SetMeta stores value under name, synced (it does not go through the
// group commit: metadata is rare and its writer wants to know it is
// durable).
func (j *Journal) SetMeta(name string, value []byte) error {
	if err := j.Err(); err != nil {
		return err
	}
	k, err := metaKey(name)
	if err != nil {
		return err
	}
	return j.guard(func() error { return j.db.Set(k, value, pebble.Sync) })
}

// Metadata names the venue writes and the regulator's tools read. They
// live here, with the journal, so writer and readers cannot drift apart.
const (
	// MetaConfig holds the canonical JSON []engine.Config (one per shard,
	// TradeDate zero) the journal was written under.
	MetaConfig = "config"
)

// MetaGenesisTradeDate names the metadata holding the trade date shard's
// engine was created with (decimal YYYYMMDD): replay from genesis needs it.
func MetaGenesisTradeDate(shard int) string {
	return "shard/" + strconv.Itoa(shard) + "/genesis-trade-date"
}
