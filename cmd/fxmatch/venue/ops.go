package venue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"fxmatch/journal"
)

// What the operators' and regulators' endpoints (gateway: /readyz,
// /metrics, /api/v1/regulator/…) need from a running venue, kept out of
// the pipeline's code.

// Channels counted by OrdersReceived.
const (
	ChannelFIX   = "fix"
	ChannelHTTP  = "http"
	ChannelOther = "other"
)

// orderCounters count the orders and replaces offered through SubmitOrder
// by channel. One atomic add per order, on the submitting goroutine (the
// FIX session's or the HTTP handler's), never on the shard's; each
// counter has its own cache line so the two front ends do not contend.
type orderCounters struct {
	n [3]struct {
		v atomic.Uint64
		_ [56]byte
	}
	blocked atomic.Uint64 // refused by pre-trade scoring
}

func channelIndex(ch string) int {
	switch ch {
	case ChannelFIX:
		return 0
	case ChannelHTTP:
		return 1
	}
	return 2
}

// countOrder counts one order offered through SubmitOrder.
func (v *Venue) countOrder(channel string) { v.orders.n[channelIndex(channel)].v.Add(1) }

// countBlocked counts an order the screener refused with a *RiskBlock.
func (v *Venue) countBlocked(err error) {
	if errors.Is(err, ErrRiskBlocked) {
		v.orders.blocked.Add(1)
	}
}

// OrdersBlocked is how many orders and replaces pre-trade scoring has
// refused since Open (they never reached the engine or the journal).
func (v *Venue) OrdersBlocked() uint64 { return v.orders.blocked.Load() }

// OrdersReceived is how many orders and replaces the channel ("fix",
// "http", anything else counts as "other") has offered through
// SubmitOrder since Open, whether or not they were then accepted.
func (v *Venue) OrdersReceived(channel string) uint64 {
	return v.orders.n[channelIndex(channel)].v.Load()
}

// Running reports whether Run is running and the journal can write: the
// venue takes orders.
func (v *Venue) Running() bool {
	return v.ran.Load() && !v.closed.Load() && v.Err() == nil
}

// Durable is the last durable sequence of shard si.
func (v *Venue) Durable(si int) uint64 { return v.shards[si].app.Durable() }

// AuditView returns a consistent view of the running venue's journal
// (journal.Journal.SnapshotReader) holding only durable records: after
// taking the view it waits, bounded by ctx, until every shard's durable
// sequence has reached the view's head — Pebble shows a group commit
// before its sync completes, and a regulator must not be shown an event
// that a crash could still take back. The wait is at most one group
// commit's sync. The caller must Close the reader (the venue's journal
// cannot close while a view is open).
func (v *Venue) AuditView(ctx context.Context) (*journal.Reader, error) {
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := v.j.SnapshotReader()
	if err != nil {
		return nil, err
	}
	for si := range v.shards {
		head, err := r.Head(uint16(si))
		if err != nil {
			r.Close()
			return nil, err
		}
		for v.Durable(si) < head.Seq {
			if err := v.Err(); err != nil {
				r.Close()
				return nil, err
			}
			select {
			case <-ctx.Done():
				r.Close()
				return nil, fmt.Errorf("venue: shard %d: waiting for seq %d to become durable (durable: %d): %w", si, head.Seq, v.Durable(si), ctx.Err())
			case <-time.After(200 * time.Microsecond):
			}
		}
	}
	return r, nil
}
