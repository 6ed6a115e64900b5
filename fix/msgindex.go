package fix

// msgIndex is where the session store finds each kept message: MsgSeqNum
// → its bytes' place in the session file. The venue numbers what it sends
// consecutively, so the kept numbers are a dense window, and a ring of
// slots from the lowest kept number does what a map did for a fraction of
// the cost: set and get are an index, forgetting the oldest messages
// moves the ring's head, and nothing is allocated once the ring has grown
// to the window (a power of two, 4 MiB for the default 200,000 messages).
// The map was walked whole to forget (200,000 entries every 4096
// messages: ~1 µs a message amortised) and rebuilt by every compaction
// (there is none now: see "Segments" in store.go).
//
// Gaps (a sender number moved past messages never stored) are empty
// slots. The window never spans more than spanMax numbers: a message
// further than that from the kept ones starts the window anew, since what
// it leaves behind is more than MessagesMax behind and would be forgotten
// anyway.
type msgIndex struct {
	ring  []msgLoc // len is a power of two (or 0); n == 0: not kept
	head  int      // ring index of base
	base  int      // MsgSeqNum of the first slot
	n     int      // slots in use: base .. base+n-1
	count int      // kept messages
	bytes int64    // their bytes
	// reserve is the slots the ring is given at once when it is first
	// made: the window a busy session reaches (the store's MessagesMax
	// plus a prune's worth). Growing by doubling copied the ring and
	// touched a fresh array each time, up to 4 MiB at once on the pump's
	// goroutine: runtime traces of bench fix (1 session, 10k/s) showed
	// the exec pump in slices of 1-4 ms ending in the store's write, as
	// the index doubled through 32Ki, 64Ki and 128Ki slots. Reserved, the
	// array's pages are touched one at a time as the window first fills
	// (a fresh allocation this size is untouched zero pages), and it is
	// never copied. 0: grow from 64.
	reserve int
}

type msgLoc struct {
	off int64
	n   int32
}

func (x *msgIndex) slot(seq int) *msgLoc {
	return &x.ring[(x.head+seq-x.base)&(len(x.ring)-1)]
}

// set records where message seq is (replacing what was recorded for it).
// spanMax bounds the window: see msgIndex.
func (x *msgIndex) set(seq int, loc msgLoc, spanMax int) {
	if x.count == 0 || seq < x.base && x.base+x.n-seq > spanMax {
		x.reset()
	}
	x.dropBelow(seq - spanMax + 1)
	if x.n == 0 {
		x.base = seq
	}
	if seq < x.base {
		// Below the window (a sender number set back without a reset):
		// the window grows at the front.
		k := x.base - seq
		x.grow(k + x.n)
		x.head = (x.head - k) & (len(x.ring) - 1)
		x.n += k
		x.base = seq
		for i := range k {
			*x.slot(seq + i) = msgLoc{}
		}
	}
	if seq >= x.base+x.n {
		x.grow(seq - x.base + 1)
		for ; x.n <= seq-x.base; x.n++ {
			*x.slot(x.base + x.n) = msgLoc{}
		}
	}
	s := x.slot(seq)
	if s.n > 0 {
		x.count--
		x.bytes -= int64(s.n)
	}
	*s = loc
	if loc.n > 0 {
		x.count++
		x.bytes += int64(loc.n)
	}
}

// grow makes room for n slots, keeping the ones in use in order.
func (x *msgIndex) grow(n int) {
	if n <= len(x.ring) {
		return
	}
	size := max(64, len(x.ring))
	if len(x.ring) == 0 {
		size = max(size, x.reserve)
	}
	for size < n {
		size *= 2
	}
	ring := make([]msgLoc, size)
	for i := range x.n {
		ring[i] = x.ring[(x.head+i)&(len(x.ring)-1)]
	}
	x.ring, x.head = ring, 0
}

func (x *msgIndex) get(seq int) (msgLoc, bool) {
	if seq < x.base || seq >= x.base+x.n {
		return msgLoc{}, false
	}
	l := *x.slot(seq)
	return l, l.n > 0
}

// dropBelow forgets the messages numbered below lo.
func (x *msgIndex) dropBelow(lo int) {
	k := lo - x.base
	if k <= 0 || x.n == 0 {
		return
	}
	if k >= x.n {
		x.reset()
		return
	}
	for seq := x.base; seq < lo; seq++ {
		if s := x.slot(seq); s.n > 0 {
			x.count--
			x.bytes -= int64(s.n)
		}
	}
	x.head = (x.head + k) & (len(x.ring) - 1)
	x.base, x.n = lo, x.n-k
}

// reset forgets everything (the ring is kept for reuse).
func (x *msgIndex) reset() {
	x.head, x.base, x.n, x.count, x.bytes = 0, 0, 0, 0, 0
}

// end is the number after the highest slot.
func (x *msgIndex) end() int { return x.base + x.n }

// each calls fn for the kept messages begin..end (inclusive), in order,
// until fn returns false.
func (x *msgIndex) each(begin, end int, fn func(seq int, loc msgLoc) bool) {
	lo, hi := max(begin, x.base), min(end, x.base+x.n-1)
	for seq := lo; seq <= hi; seq++ {
		if l := *x.slot(seq); l.n > 0 && !fn(seq, l) {
			return
		}
	}
}
