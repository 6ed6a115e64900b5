package shard

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"fxmatch/engine"
)

// Ring is the in-process Input: a bounded multi-producer single-consumer
// ring with no locks on the hot path.
//
// It is Dmitry Vyukov's bounded queue. Every slot carries a sequence
// number that says whose turn it is:
//
//	slot.seq == pos        the slot is free for the producer claiming pos
//	slot.seq == pos+1      the producer of pos has written it: the consumer may take it
//	slot.seq == pos+cap    the consumer has taken it: free for the producer of pos+cap
//
// A producer claims position pos by compare-and-swap on the shared tail
// cursor, copies its command into slot pos&mask and then publishes it by
// storing seq = pos+1. A failed CAS means another producer won that
// position, so the system as a whole always makes progress (lock-free).
// The consumer owns the head cursor alone (no atomics on it): it takes
// slot head while its seq says "written", then frees it for the next lap
// by storing seq = head+cap. Producers never wait for the consumer: a slot
// still holding last lap's command means the ring is full, and Offer says
// ErrBusy. The one wait in the design is the consumer's: a producer that
// has claimed a position but not yet published it (preempted between the
// CAS and the store) holds up delivery of the positions after it until it
// is scheduled again; Poll treats that as "empty" and spins or parks.
//
// Close sets the top bit of the tail cursor. That makes every later CAS on
// the old tail value fail, so after Close no position can be claimed, and
// the consumer knows exactly which positions were claimed before it: it
// delivers all of them, then reports ErrClosed. That is how "Offer
// returned nil" and "delivered" stay the same thing across Close.
//
// Layout: the producers' cursor, the parking flag and the consumer's state
// each sit on their own pair of cache lines (a pair, because x86 prefetches
// adjacent lines), so producers hammering the tail do not invalidate the
// line the consumer reads its head from. Slots are padded to whole cache
// lines so a producer writing slot i does not share a line with the
// consumer reading slot i-1.
type Ring struct {
	_ [padSize]byte
	// tail is the next position producers will claim, with closedBit set
	// once the ring is closed.
	tail atomic.Uint64
	_    [padSize - 8]byte
	// parked is 1 while the consumer has announced that it is going to
	// sleep on notify (see Poll). Producers read it after every publish;
	// the consumer writes it only around parking, so the line stays shared
	// and cheap to read.
	parked atomic.Uint32
	_      [padSize - 4]byte
	// Consumer-only state.
	head uint64
	st   stamper
	spin time.Duration
	_    [padSize]byte
	// Read-only after NewRing.
	mask   uint64
	slots  []slot
	notify chan struct{} // 1-buffered wake-up token
}

const (
	cacheLine = 64
	padSize   = 2 * cacheLine
	// closedBit marks a closed ring in the tail cursor. Positions never get
	// near it (2^63 commands at a billion a second take 292 years).
	closedBit = uint64(1) << 63
	// Poll checks an empty ring this many times in a tight loop before it
	// starts looking at the clock: a producer on another core usually
	// publishes within a few hundred nanoseconds under load.
	spinChecks = 64
	// DefaultSpin is how long Poll keeps looking at an empty ring
	// (yielding the processor between looks) before it parks. Waking a
	// parked consumer costs a futex wake-up, microseconds on bare metal and
	// far more on a virtual machine whose idle vCPU has halted; spinning
	// this long means a consumer under steady traffic (more than one
	// command per 50µs) rarely pays it, and an idle one burns at most this
	// much CPU before it sleeps.
	DefaultSpin = 50 * time.Microsecond
)

type slot struct {
	seq atomic.Uint64
	cmd engine.Command
	_   [(cacheLine - (8+unsafe.Sizeof(engine.Command{}))%cacheLine) % cacheLine]byte
}

// NewRing builds a ring of c.Capacity slots (a power of two).
func NewRing(c InputConfig) (*Ring, error) {
	if err := c.check(true); err != nil {
		return nil, err
	}
	spin := c.Spin
	if spin == 0 {
		spin = DefaultSpin
	}
	r := &Ring{
		st:     newStamper(c),
		spin:   spin,
		mask:   uint64(c.Capacity - 1),
		slots:  make([]slot, c.Capacity),
		notify: make(chan struct{}, 1),
	}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r, nil
}

// Cap is the number of slots.
func (r *Ring) Cap() int { return len(r.slots) }

// Offer implements Input: it copies *cmd into the ring without blocking or
// allocating.
func (r *Ring) Offer(cmd *engine.Command) error {
	pos := r.tail.Load()
	for {
		if pos&closedBit != 0 {
			return ErrClosed
		}
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - pos); {
		case d == 0: // free for pos: try to claim it
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.cmd = *cmd
				s.seq.Store(pos + 1) // publish
				// The store above and this load pair with the consumer's
				// store of parked and its re-check of the head slot: see
				// Poll. Both are sequentially consistent, so at least one
				// side sees the other's write and no wake-up is lost.
				if r.parked.Load() != 0 {
					r.wake()
				}
				return nil
			}
			pos = r.tail.Load()
		case d < 0: // last lap's command is still in the slot: full
			return ErrBusy
		default: // another producer claimed pos first
			pos = r.tail.Load()
		}
	}
}

// wake hands the consumer its token. Only the producer that flips parked
// from 1 to 0 sends, so a burst of producers costs one channel operation;
// the buffer of one means the send never blocks and a token sent before
// the consumer reaches its receive is kept for it.
func (r *Ring) wake() {
	if r.parked.CompareAndSwap(1, 0) {
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
}

// Poll implements Input. Only one goroutine may call it.
//
// Blocking: Poll first re-checks the ring in a tight loop, then, for up
// to the configured spin time, while yielding the processor, and only then
// parks on the notify channel. Parking without losing a wake-up is the
// subtle part. The consumer (C) and a producer (P) each do a store then a
// load, on different words:
//
//	C: parked = 1;      then load head slot's seq (is it published?)
//	P: slot.seq = pos+1; then load parked (is the consumer asleep?)
//
// Go's atomics are sequentially consistent, so the two stores are ordered
// one before the other, and whichever goroutine stored second is
// guaranteed to see the first one's store. If C stored first, P sees
// parked == 1 and sends a token; if P stored first, C's re-check sees the
// command and C does not sleep. The bad interleaving, C checking "empty",
// then P publishing and seeing parked == 0, then C sleeping forever, needs
// C's re-check to come before its own announcement, which is why the
// announcement comes first. A token can also be left over (P sent it but C
// had already found the command in its re-check); the next park then
// returns at once and Poll simply checks again: spurious wake-ups are
// harmless, lost ones are not possible. Close always leaves a token, so a
// parked consumer also sees the close.
func (r *Ring) Poll(dst []engine.Command) (int, error) {
	if len(dst) == 0 {
		panic("shard: Ring.Poll with an empty destination")
	}
	checks := 0
	var spinStart time.Time
	for {
		if n := r.drain(dst); n > 0 {
			r.st.stamp(dst[:n])
			return n, nil
		}
		if t := r.tail.Load(); t&closedBit != 0 && t&^closedBit == r.head {
			// Closed, and every claimed position has been delivered.
			return 0, ErrClosed
		}
		if checks++; checks < spinChecks {
			continue
		}
		if r.spin > 0 {
			// The wall clock, not the injected one: a fake clock in a test
			// does not move while Poll waits.
			if checks == spinChecks {
				spinStart = time.Now()
			}
			if time.Since(spinStart) < r.spin {
				runtime.Gosched()
				continue
			}
		}
		r.parked.Store(1)
		if r.published() || r.tail.Load()&closedBit != 0 {
			r.parked.Store(0)
			checks = 0
			continue
		}
		<-r.notify
		r.parked.Store(0)
		checks = 0
	}
}

// published reports whether the head slot holds a published command.
func (r *Ring) published() bool {
	return r.slots[r.head&r.mask].seq.Load() == r.head+1
}

// drain copies published commands from the head into dst, then frees
// their slots for the producers. Freeing after the whole batch is copied,
// rather than slot by slot, matters when the ring is full: producers
// waiting for room would otherwise write slot k while the consumer reads
// slot k+1, and the cache lines between them would bounce between the
// two cores for every command (measured: half the throughput of a full
// ring). Freed together, the producers refill while the consumer is busy
// applying the batch, on lines it is not touching.
func (r *Ring) drain(dst []engine.Command) int {
	pos, n := r.head, 0
	for n < len(dst) {
		s := &r.slots[pos&r.mask]
		if s.seq.Load() != pos+1 {
			break
		}
		dst[n] = s.cmd
		pos++
		n++
	}
	for p := r.head; p != pos; p++ {
		r.slots[p&r.mask].seq.Store(p + r.mask + 1)
	}
	r.head = pos
	return n
}

// Close implements Input.
func (r *Ring) Close() error {
	r.tail.Or(closedBit)
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}
