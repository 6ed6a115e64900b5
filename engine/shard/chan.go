package shard

import (
	"sync"

	"fxmatch/engine"
)

// ChanInput is the Input built the obvious Go way, on a buffered channel.
// The venue uses Ring; ChanInput is kept as the baseline the benchmark
// measures the ring against, and as a second implementation that the
// contract tests run on.
//
// Closing a channel that producers may still send on would panic, so Offer
// holds a read lock around its send and Close takes the write lock before
// closing: that is also what makes "Offer returned nil" imply "delivered"
// across Close. The read lock is one atomic add on a shared word, about
// what the ring's CAS costs, plus the channel's own internal lock.
type ChanInput struct {
	mu     sync.RWMutex
	closed bool
	ch     chan engine.Command
	st     stamper // consumer only
}

// NewChanInput builds a channel input of c.Capacity commands.
func NewChanInput(c InputConfig) (*ChanInput, error) {
	if err := c.check(false); err != nil {
		return nil, err
	}
	return &ChanInput{ch: make(chan engine.Command, c.Capacity), st: newStamper(c)}, nil
}

// Offer implements Input.
func (c *ChanInput) Offer(cmd *engine.Command) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	select {
	case c.ch <- *cmd:
		return nil
	default:
		return ErrBusy
	}
}

// Poll implements Input: it blocks on the channel for the first command,
// then takes what else is already there, up to len(dst).
func (c *ChanInput) Poll(dst []engine.Command) (int, error) {
	if len(dst) == 0 {
		panic("shard: ChanInput.Poll with an empty destination")
	}
	var ok bool
	if dst[0], ok = <-c.ch; !ok {
		return 0, ErrClosed
	}
	n := 1
more:
	for n < len(dst) {
		select {
		case dst[n], ok = <-c.ch:
			if !ok {
				break more
			}
			n++
		default:
			break more
		}
	}
	c.st.stamp(dst[:n])
	return n, nil
}

// Close implements Input.
func (c *ChanInput) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.ch)
	}
	return nil
}
