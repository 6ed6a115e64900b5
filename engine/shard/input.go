package shard

import (
	"errors"
	"fmt"
	"time"

	"fxmatch/engine"
)

// Input is the sequenced input log of one shard: the only way commands
// reach the engine. Two implementations exist in process (Ring, the
// lock-free ring the venue uses, and ChanInput, a buffered channel kept as
// the baseline the benchmark compares the ring with); when one machine is
// not enough, a NATS JetStream stream per shard becomes a third (see
// DESIGN.md, "Scale beyond one machine"). Everything below is the contract
// all of them keep; the shard relies on nothing else.
//
// Producers (any number of goroutines: gateways, the shard's own timer)
// call Offer. Offer copies *cmd and does not retain the pointer. It never
// blocks: when the input is full it returns ErrBusy at once and the
// command is not taken, so memory stays bounded whatever the producers do
// and back-pressure reaches the client as a "busy" reject
// (engine.ReasonBusy) instead of as unbounded queueing delay. ErrBusy is
// transient: the same command may be offered again later. After Close,
// Offer returns ErrClosed. A nil error means the command will be delivered
// to the consumer exactly once, even if Close follows at once.
//
// One consumer (the shard's goroutine) calls Poll. Poll fills dst[:n] with
// up to len(dst) commands, blocking until at least one is there, so n >= 1
// whenever err is nil. Once the input is closed and every accepted command
// has been delivered, Poll returns 0, ErrClosed, and keeps doing so. An
// implementation that can fail otherwise (a JetStream consumer losing its
// server) returns its own error wrapped so errors.Is still matches its
// cause. Blocking must not burn a core while idle: an implementation may
// spin briefly but then parks.
//
// The commands Poll returns are sequenced: the input, not the producer,
// sets Seq and Time, at the point where their order is decided. Seq is
// strictly increasing by exactly one from one command to the next across
// Polls, starting at the NextSeq the input was built with (recovery builds
// the input with the journal's last sequence plus one, so numbering
// continues where it stopped). Time is Unix nanoseconds read from the
// input's injected clock and never decreases (a clock that steps back is
// held at the last value handed out). Whatever Seq and Time the producer
// left in the command are overwritten. Commands offered by one goroutine
// come out in the order it offered them; commands of different
// goroutines interleave in the order the input decided.
//
// For the in-process ring the order is decided when the single consumer
// takes the commands, so the consumer stamps them (one clock read per
// Poll). A JetStream input would carry the stream's own sequence (offset
// so that it continues the journal's) and the timestamp of the stream's
// leader, so a hot standby reading the same stream applies identical
// commands and holds identical books.
type Input interface {
	// Offer hands a command to the input without blocking. It returns nil
	// (the command will be delivered), ErrBusy (full: not taken, try again
	// later) or ErrClosed. Safe for concurrent use by many goroutines.
	Offer(cmd *engine.Command) error
	// Poll takes up to len(dst) sequenced commands into dst, blocking until
	// there is at least one. Only one goroutine may call Poll.
	Poll(dst []engine.Command) (n int, err error)
	// Close stops accepting commands. Commands accepted before are still
	// delivered; then Poll returns ErrClosed. Close may be called from any
	// goroutine, more than once.
	Close() error
}

var (
	// ErrBusy is Offer's answer when the input is full.
	ErrBusy = errors.New("shard: busy")
	// ErrClosed is Offer's answer after Close, and Poll's once a closed
	// input is drained.
	ErrClosed = errors.New("shard: closed")
)

// InputConfig configures the in-process inputs.
type InputConfig struct {
	// Capacity is how many commands may wait. Ring needs a power of two.
	Capacity int
	// NextSeq is the Seq of the first command Poll will return: 1 for a new
	// venue, the journal's last sequence plus one after recovery.
	NextSeq uint64
	// Clock returns Unix nanoseconds; nil means the wall clock. Tests
	// inject a fake clock; the shard must be given the same one.
	Clock func() int64
	// Spin is how long the ring's Poll keeps checking an empty ring before
	// it parks (0: DefaultSpin; negative: park after a few dozen checks,
	// without looking at the clock). The channel input
	// always parks at once, as a blocking receive does.
	Spin time.Duration
}

// WallClock is the default clock: the wall clock in Unix nanoseconds.
func WallClock() int64 { return time.Now().UnixNano() }

func (c *InputConfig) check(pow2 bool) error {
	if c.Capacity <= 0 || c.Capacity > 1<<30 {
		return fmt.Errorf("shard: input capacity %d must be between 1 and 2^30", c.Capacity)
	}
	if pow2 && c.Capacity&(c.Capacity-1) != 0 {
		return fmt.Errorf("shard: ring capacity %d is not a power of two", c.Capacity)
	}
	if c.NextSeq == 0 {
		return fmt.Errorf("shard: input NextSeq must be at least 1 (sequence 0 means none)")
	}
	return nil
}

// stamper is the consumer-side sequencer shared by the in-process inputs:
// it owns the next sequence number and the last time handed out. Only the
// consumer goroutine touches it.
type stamper struct {
	next  uint64
	last  int64
	clock func() int64
}

func newStamper(c InputConfig) stamper {
	clock := c.Clock
	if clock == nil {
		clock = WallClock
	}
	return stamper{next: c.NextSeq, clock: clock}
}

// stamp sequences cmds: consecutive Seqs from s.next, and one Time for the
// whole batch, clamped so it never goes below a time handed out before.
func (s *stamper) stamp(cmds []engine.Command) {
	now := s.clock()
	if now < s.last {
		now = s.last
	}
	s.last = now
	for i := range cmds {
		cmds[i].Seq = s.next
		cmds[i].Time = now
		s.next++
	}
}
