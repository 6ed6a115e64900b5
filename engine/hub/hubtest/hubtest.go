// Package hubtest reads a hub subscription one event at a time, with a
// timeout: what tests want, where the venue's consumers read whole
// batches.
package hubtest

import (
	"errors"
	"time"

	"fxmatch/engine"
	"fxmatch/engine/hub"
)

// ErrTimeout: no event arrived in time.
var ErrTimeout = errors.New("hubtest: no event in time")

// Reader reads Sub's events in order. Not safe for concurrent use.
type Reader struct {
	Sub  *hub.Sub
	left []engine.Event // of the last batch, not yet returned
}

// New reads s.
func New(s *hub.Sub) *Reader { return &Reader{Sub: s} }

// Next returns the next event the subscription wants, waiting up to
// timeout for it; the error is ErrTimeout, or why the subscription was
// closed.
func (r *Reader) Next(timeout time.Duration) (engine.Event, error) {
	var t *time.Timer
	for len(r.left) == 0 {
		if t == nil {
			t = time.NewTimer(timeout)
			defer t.Stop()
		}
		select {
		case b, ok := <-r.Sub.C:
			if !ok {
				return engine.Event{}, r.Sub.Err()
			}
			for ev := range r.Sub.Events(b) {
				r.left = append(r.left, *ev)
			}
			b.Release()
		case <-t.C:
			return engine.Event{}, ErrTimeout
		}
	}
	ev := r.left[0]
	r.left = r.left[1:]
	return ev, nil
}
