package engine

import (
	"encoding/binary"
	"math/bits"
)

// idIndex maps a participant's ClOrdIDs of the trading day to their
// orders. It answers two questions on every new order, cancel and replace:
// "has this participant used this ClOrdID today?" and "which live order
// does this ClOrdID name?".
//
// Why not a Go map keyed by (party, ClOrdID): the key is 50 bytes, every
// lookup hashes and compares all of it, and a day's index outgrows the CPU
// caches, so each of the two or three lookups per command was a cache miss
// (57% of Apply's time in the engine benchmark). Here an entry is 24 bytes
// keyed by a 64-bit fingerprint of (party, ClOrdID), in one open-addressed
// table with linear probing, and a new order's duplicate check and its
// insertion share one probe sequence.
//
// Exactness: an entry that names a live order is checked against that
// order's own party and ClOrdID, so cancels and replaces never reach the
// wrong order. An entry of a gone order (or of a cancel request) keeps only
// the fingerprint, so a new ClOrdID whose fingerprint equals that of
// another ClOrdID the participant used earlier the same day is reported as
// a duplicate. The fingerprint is a fixed, seedless hash (determinism:
// replay must decide the same way), so for a participant using n ClOrdIDs
// in a day the chance that any of them is wrongly refused is about
// n²/2^65 — under 3·10^-6 for n = 10 million — and only the participant's
// own ClOrdIDs can collide with each other.
type idIndex struct {
	ents []idEnt // length a power of two, at most 3/4 full
	n    int
}

type idEnt struct {
	fp   uint64 // 0: empty
	oid  OrderID
	slot int32 // the order's slot while it may be live; nilSlot once gone
}

func newIDIndex(capacity int) idIndex {
	size := 1024
	for size*3/4 < capacity {
		size <<= 1
	}
	return idIndex{ents: make([]idEnt, size)}
}

// fingerprint hashes (party, ClOrdID) to a non-zero 64-bit value: a
// multiply-xorshift over 8-byte words with a murmur3 finalizer. Fixed
// constants, no seed.
func fingerprint(p PartyID, id *ID) uint64 {
	const m = 0x9E3779B97F4A7C15
	// Party and length get a round of their own before any byte of the
	// ClOrdID, so they cannot cancel against it.
	h := (uint64(p)<<8 | uint64(id.n)) ^ 0x2545F4914F6CDD1D
	h *= m
	h ^= h >> 29
	b := id.b[:id.n]
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * m
		h ^= h >> 29
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	h = (h ^ tail) * m
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	if h == 0 {
		h = 1
	}
	return h
}

// find returns the position of fp, or of the empty entry where it would
// go, and whether it is there.
func (x *idIndex) find(fp uint64) (int, bool) {
	mask := len(x.ents) - 1
	i := x.home(fp)
	for {
		e := &x.ents[i]
		if e.fp == fp {
			return i, true
		}
		if e.fp == 0 {
			return i, false
		}
		i = (i + 1) & mask
	}
}

// home is where fp's probe sequence starts.
func (x *idIndex) home(fp uint64) int {
	return int(bits.RotateLeft64(fp, 17)) & (len(x.ents) - 1)
}

// put sets the entry for fp (at pos from find, if known to be current).
func (x *idIndex) put(pos int, found bool, fp uint64, oid OrderID, slot int32) {
	if found {
		x.ents[pos] = idEnt{fp: fp, oid: oid, slot: slot}
		return
	}
	if (x.n+1)*4 > len(x.ents)*3 {
		x.grow()
		pos, _ = x.find(fp)
	}
	x.ents[pos] = idEnt{fp: fp, oid: oid, slot: slot}
	x.n++
}

// grow doubles the table (allocates: size ExpectedOrdersPerDay so that a
// normal day never grows it).
func (x *idIndex) grow() {
	old := x.ents
	x.ents = make([]idEnt, 2*len(old))
	for _, e := range old {
		if e.fp != 0 {
			i, _ := x.find(e.fp)
			x.ents[i] = e
		}
	}
}

// reset empties the table, keeping its size.
func (x *idIndex) reset() {
	clear(x.ents)
	x.n = 0
}
