package engine

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Snapshots: the engine's whole state as canonical bytes, so that recovery
// is snapshot + replay and two engines in the same logical state — whatever
// slab slots their orders happen to sit in — produce the same bytes and the
// same StateHash. Layout (all integers varints unless noted):
//
//	"FXSNAP" version(1 byte = 1)
//	shard tradeDate nextOrder nextPrio nextExec nextTrade
//	nparty ninstruments
//	for each instrument: refPrice
//	for each (a,b) with a,b in 1..nparty-1: limit[a][b] used[a][b]
//	norders, then per resting order, book by book (instrument order), bids
//	  then asks, best level first, time priority within the level:
//	  id party directed side ordType tif flags price qty leaves cum minQty
//	  maxFloor display valHi valLo expire prio clOrdID account
//	nids, then the ClOrdID index (idIndex) sorted by fingerprint:
//	  fingerprint (8 bytes, big-endian) live(0/1) oid
//
// The configuration is not in the snapshot: Restore takes the same Config
// the engine was built with (instruments and participants must match in
// count; the journal records which configuration a shard ran with).

const snapMagic = "FXSNAP"
const snapVersion = 2

// ErrBadSnapshot is returned by Restore for bytes that are not a snapshot
// of this format or do not fit the configuration.
var ErrBadSnapshot = errors.New("engine: bad snapshot")

// AppendSnapshot appends the engine's state to dst in canonical form.
func (e *Engine) AppendSnapshot(dst []byte) []byte { return e.AppendSnapshotYielding(dst, nil) }

// yieldEvery is how many units of a snapshot's work (an order, an index
// entry per pass) go between two calls of AppendSnapshotYielding's yield:
// tens of microseconds of work.
const yieldEvery = 1 << 12

// AppendSnapshotYielding is AppendSnapshot calling yield (if not nil)
// every few tens of microseconds of its work. A snapshot of a day's
// millions of ClOrdIDs is tens of milliseconds of CPU; a goroutine that
// takes it beside the shards' (the venue's snapshotter) passes
// runtime.Gosched, so that on a processor it shares with a shard the
// shard waits for one slice of this, not for the Go scheduler's 10 ms
// preemption. The bytes are AppendSnapshot's; yield must not touch the
// engine.
func (e *Engine) AppendSnapshotYielding(dst []byte, yield func()) []byte {
	work := 0
	step := func(n int) {
		if work += n; yield != nil && work >= yieldEvery {
			work = 0
			yield()
		}
	}
	u := binary.AppendUvarint
	v := binary.AppendVarint
	dst = append(dst, snapMagic...)
	dst = append(dst, snapVersion)
	dst = u(dst, uint64(e.cfg.Shard))
	dst = u(dst, uint64(e.tradeDate))
	dst = u(dst, e.nextOrder)
	dst = u(dst, e.nextPrio)
	dst = u(dst, e.nextExec)
	dst = u(dst, e.nextTrade)
	dst = u(dst, uint64(e.nparty))
	dst = u(dst, uint64(len(e.books)))
	for i := range e.books {
		dst = v(dst, int64(e.books[i].ref))
	}
	for a := 1; a < e.nparty; a++ {
		for b := 1; b < e.nparty; b++ {
			dst = v(dst, e.limit[a*e.nparty+b])
			dst = v(dst, e.used[a*e.nparty+b])
		}
	}
	dst = u(dst, uint64(e.live))
	for i := range e.books {
		for _, bs := range [2]*bookSide{&e.books[i].bids, &e.books[i].asks} {
			for li := len(bs.levels) - 1; li >= 0; li-- {
				for r := bs.levels[li].head; r != nilSlot; r = e.orders[r].next {
					dst = appendOrder(dst, &e.orders[r])
					step(1)
				}
			}
		}
	}
	// The entries and the sort's scratch space live in one buffer the
	// engine keeps from snapshot to snapshot: fresh memory of this size
	// is page faults, more than the sort itself costs.
	if cap(e.snapEnts) < 2*e.ids.n {
		e.snapEnts = make([]idEnt, 2*e.ids.n+e.ids.n/4)
	}
	ents, scratch := e.snapEnts[:0:e.ids.n], e.snapEnts[e.ids.n:2*e.ids.n]
	for i := 0; i < len(e.ids.ents); i += yieldEvery {
		for _, x := range e.ids.ents[i:min(i+yieldEvery, len(e.ids.ents))] {
			if x.fp != 0 {
				ents = append(ents, x)
			}
		}
		step(yieldEvery)
	}
	ents = sortByFingerprint(ents, scratch, step)
	// Room for every entry at its longest (8 + 1 + 10 bytes), so the
	// loop below never grows dst: the index is most of a snapshot.
	dst = slices.Grow(dst, 10+len(ents)*19)
	dst = u(dst, uint64(len(ents)))
	for _, x := range ents {
		live := uint64(0)
		if x.slot != nilSlot && e.orders[x.slot].live && e.orders[x.slot].id == x.oid {
			live = 1
		}
		dst = binary.BigEndian.AppendUint64(dst, x.fp)
		dst = u(dst, live)
		dst = u(dst, uint64(x.oid))
		step(1)
	}
	return dst
}

// sortByFingerprint sorts index entries by fingerprint (each fingerprint
// is in the index once, so the order is total: the comparison sort it
// replaced gives the same bytes, TestSortByFingerprint) and returns the
// sorted slice: ents or scratch, which must be as long as ents. A
// snapshot sorts the whole day's index, and a day holds millions of
// ClOrdIDs (the venue takes snapshots off the shard's goroutine, but
// their CPU is still taken from a small machine's cores).
// BenchmarkSortByFingerprint, CPU per entry (load 7-12): pdqsort 119-130
// ns at 100,000 entries and 139-180 ns at a million; this LSD radix sort
// over 8-bit digits 19 and 53 ns with its scratch space reused (65 and
// 108 ns when the scratch space is freshly allocated: page faults, which
// is why AppendSnapshot keeps it). Small indexes keep the comparison sort.
//
// step, if not nil, is told of the work done, in entries moved, a few
// thousand at a time (AppendSnapshotYielding's yield).
func sortByFingerprint(ents, scratch []idEnt, step func(int)) []idEnt {
	if len(ents) < 1<<12 {
		slices.SortFunc(ents, func(x, y idEnt) int { return cmp.Compare(x.fp, y.fp) })
		return ents
	}
	const bits, buckets, digits = 8, 1 << 8, 8
	var count [digits][buckets]uint32
	for i := range ents {
		fp := ents[i].fp
		for d := range digits {
			count[d][fp>>(d*bits)&(buckets-1)]++
		}
	}
	src, dst := ents, scratch[:len(ents)]
	for d := range digits {
		c := &count[d]
		shift := uint(d * bits)
		if c[src[0].fp>>shift&(buckets-1)] == uint32(len(src)) {
			continue // every entry has this digit: the pass would not move any
		}
		var sum uint32
		for k := range c {
			c[k], sum = sum, sum+c[k]
		}
		for i := range src {
			k := src[i].fp >> shift & (buckets - 1)
			dst[c[k]] = src[i]
			c[k]++
			if step != nil && i&(yieldEvery-1) == yieldEvery-1 {
				step(yieldEvery)
			}
		}
		src, dst = dst, src
	}
	return src
}

// StateHash is the SHA-256 of the canonical snapshot.
func (e *Engine) StateHash() [32]byte { return sha256.Sum256(e.AppendSnapshot(nil)) }

func appendID(dst []byte, id ID) []byte {
	dst = append(dst, id.n)
	return append(dst, id.b[:id.n]...)
}

func appendOrder(dst []byte, o *order) []byte {
	u := binary.AppendUvarint
	v := binary.AppendVarint
	flags := uint64(0)
	if o.postOnly {
		flags |= 1
	}
	if o.queued {
		flags |= 2
	}
	dst = u(dst, uint64(o.id))
	dst = u(dst, uint64(o.party))
	dst = u(dst, uint64(o.directed))
	dst = u(dst, uint64(o.inst))
	dst = u(dst, uint64(o.side))
	dst = u(dst, uint64(o.ordType))
	dst = u(dst, uint64(o.tif))
	dst = u(dst, flags)
	dst = v(dst, int64(o.price))
	dst = v(dst, int64(o.qty))
	dst = v(dst, int64(o.leaves))
	dst = v(dst, int64(o.cum))
	dst = v(dst, int64(o.minQty))
	dst = v(dst, int64(o.maxFloor))
	dst = v(dst, int64(o.display))
	dst = u(dst, o.valHi)
	dst = u(dst, o.valLo)
	dst = v(dst, o.expire)
	dst = u(dst, o.prio)
	dst = appendID(dst, o.clOrdID)
	return appendID(dst, o.account)
}

type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) u() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated", ErrBadSnapshot)
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *snapReader) v() int64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated", ErrBadSnapshot)
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *snapReader) id() ID {
	var id ID
	if r.err != nil {
		return id
	}
	if len(r.b) < 1 || int(r.b[0]) > MaxIDLen || len(r.b) < 1+int(r.b[0]) {
		r.err = fmt.Errorf("%w: bad identifier", ErrBadSnapshot)
		return id
	}
	id.n = r.b[0]
	copy(id.b[:], r.b[1:1+id.n])
	r.b = r.b[1+id.n:]
	return id
}

// Restore builds an engine from cfg and a snapshot taken of an engine
// built from the same configuration.
func Restore(cfg Config, snap []byte) (*Engine, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(snap, []byte(snapMagic)) || len(snap) < len(snapMagic)+1 {
		return nil, fmt.Errorf("%w: no snapshot header", ErrBadSnapshot)
	}
	if ver := snap[len(snapMagic)]; ver != snapVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadSnapshot, ver, snapVersion)
	}
	r := &snapReader{b: snap[len(snapMagic)+1:]}
	if shard := r.u(); r.err == nil && shard != uint64(cfg.Shard) {
		return nil, fmt.Errorf("%w: snapshot of shard %d, config of shard %d", ErrBadSnapshot, shard, cfg.Shard)
	}
	e.tradeDate = Date(r.u())
	e.nextOrder, e.nextPrio, e.nextExec, e.nextTrade = r.u(), r.u(), r.u(), r.u()
	if np, ni := r.u(), r.u(); r.err == nil && (np != uint64(e.nparty) || ni != uint64(len(e.books))) {
		return nil, fmt.Errorf("%w: %d participants and %d instruments, config has %d and %d", ErrBadSnapshot, np-1, ni, e.nparty-1, len(e.books))
	}
	for i := range e.books {
		e.books[i].ref = Price(r.v())
	}
	for a := 1; a < e.nparty; a++ {
		for b := 1; b < e.nparty; b++ {
			e.limit[a*e.nparty+b] = r.v()
			e.used[a*e.nparty+b] = r.v()
		}
	}
	n := r.u()
	if r.err == nil && n > uint64(cfg.MaxLiveOrders) {
		return nil, fmt.Errorf("%w: %d resting orders, the config allows %d", ErrBadSnapshot, n, cfg.MaxLiveOrders)
	}
	byID := make(map[OrderID]int32, n)
	nextPrio := e.nextPrio
	for i := uint64(0); i < n && r.err == nil; i++ {
		s := e.alloc()
		o := &e.orders[s]
		o.id = OrderID(r.u())
		o.party, o.directed = PartyID(r.u()), PartyID(r.u())
		o.inst = InstrumentID(r.u())
		o.side, o.ordType, o.tif = Side(r.u()), OrdType(r.u()), TIF(r.u())
		flags := r.u()
		o.postOnly, o.queued = flags&1 != 0, flags&2 != 0
		o.price, o.qty, o.leaves, o.cum = Price(r.v()), Qty(r.v()), Qty(r.v()), Qty(r.v())
		o.minQty, o.maxFloor, o.display = Qty(r.v()), Qty(r.v()), Qty(r.v())
		o.valHi, o.valLo = r.u(), r.u()
		o.expire = r.v()
		o.prio = r.u()
		o.clOrdID, o.account = r.id(), r.id()
		if r.err != nil {
			break
		}
		if !e.validParty(o.party) || int(o.inst) >= len(e.books) || (o.side != Buy && o.side != Sell) ||
			o.leaves <= 0 || o.display <= 0 || o.display > o.leaves || o.qty != o.leaves+o.cum {
			return nil, fmt.Errorf("%w: order %d is inconsistent", ErrBadSnapshot, o.id)
		}
		// Orders come in book order, so linking them in turn rebuilds every
		// level's FIFO; link assigns a fresh priority, put the saved one back.
		prio := o.prio
		o.prev, o.next, o.live = nilSlot, nilSlot, true
		e.link(s)
		o.prio = prio
		e.live++
		byID[o.id] = s
		if o.tif == GTD {
			e.pushExpiry(expiry{at: o.expire, oid: o.id, slot: s})
		}
	}
	e.nextPrio = nextPrio
	nids := r.u()
	for i := uint64(0); i < nids && r.err == nil; i++ {
		if len(r.b) < 8 {
			return nil, fmt.Errorf("%w: truncated ClOrdID index", ErrBadSnapshot)
		}
		fp := binary.BigEndian.Uint64(r.b)
		r.b = r.b[8:]
		live := r.u()
		oid := OrderID(r.u())
		slot := nilSlot
		if live == 1 {
			s, ok := byID[oid]
			if !ok {
				return nil, fmt.Errorf("%w: a ClOrdID names order %d, which is not resting", ErrBadSnapshot, oid)
			}
			slot = s
		}
		pos, found := e.ids.find(fp)
		if fp == 0 || found {
			return nil, fmt.Errorf("%w: ClOrdID index entry %d is zero or repeated", ErrBadSnapshot, i)
		}
		e.ids.put(pos, false, fp, oid, slot)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, len(r.b))
	}
	e.touch = e.touch[:0]
	e.setSpotDates()
	return e, nil
}
