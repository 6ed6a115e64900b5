package gateway

import (
	"context"
	"errors"
	"time"

	"fxmatch/engine"
	"fxmatch/engine/hub"
)

// Waiting for an outcome. A request (new order, cancel, replace) is
// submitted with a ClOrdID of its own and registers a waiter under it
// first. The participant's feed resolves the waiter when the request's
// outcome arrives (accepted or rejected; cancelled, replaced or
// cancel-rejected) — durable, since the hub only carries durable events.
// An order can fill in the same command it was accepted in, and those
// fills come after the acceptance, so the waiter is answered only once
// every event of that command has been applied: when the feed reads an
// event of a later command of the same shard, or when its queue is empty
// and the venue says it has published that command completely
// (Venue.PublishedSeq).

// waiter is one request waiting for its outcome.
type waiter struct {
	key  string // the request's ClOrdID
	done chan outcome
	// extra is what the events do not carry of a new order, copied into
	// its record when it is accepted.
	extra *orderExtra

	// Set by the feed when the outcome arrives.
	resolved bool
	ev       engine.Event
}

// orderExtra: the order's fields that execution events do not carry.
type orderExtra struct {
	minQty, maxFloor engine.Qty
	postOnly         bool
	directed         engine.PartyID
}

// outcome is what the waiter learns.
type outcome struct {
	ev  engine.Event // the resolving event
	rec orderJSON    // the order after the command ("" ClientOrderID if none)
	ok  bool         // rec is set
}

// errInFlight: a request with the same ClOrdID is already waiting.
var errInFlight = errors.New("gateway: a request with this id is in flight")

// register adds a waiter for ClOrdID key.
func (ps *partyState) register(key string, extra *orderExtra) (*waiter, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, busy := ps.waiters[key]; busy {
		return nil, errInFlight
	}
	w := &waiter{key: key, done: make(chan outcome, 1), extra: extra}
	ps.waiters[key] = w
	return w, nil
}

// unregister removes a waiter that gave up (timeout, submit error).
func (ps *partyState) unregister(w *waiter) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.waiters[w.key] == w {
		delete(ps.waiters, w.key)
	}
}

// await waits for w's outcome until the timeout or ctx ends.
func (s *Server) await(ctx context.Context, ps *partyState, w *waiter) (outcome, error) {
	t := time.NewTimer(s.opts.OrderTimeout)
	defer t.Stop()
	select {
	case o := <-w.done:
		return o, nil
	case <-t.C:
		ps.unregister(w)
		return outcome{}, context.DeadlineExceeded
	case <-ctx.Done():
		ps.unregister(w)
		return outcome{}, ctx.Err()
	case <-s.ctx.Done():
		ps.unregister(w)
		return outcome{}, s.ctx.Err()
	}
}

// resolves reports whether ev is the outcome of a request (by the
// request's ClOrdID).
func resolves(k engine.EventKind) bool {
	switch k {
	case engine.EvAccepted, engine.EvRejected, engine.EvReplaced, engine.EvCancelRejected:
		return true
	case engine.EvCancelled:
		return true // only when a waiter has its ClOrdID: a cancel request
	}
	return false
}

// partyLoop applies one participant's events in order.
func (s *Server) partyLoop(ps *partyState) {
	var idle *time.Timer
	for {
		var (
			b  *hub.Batch
			ok bool
		)
		if len(ps.settling) == 0 {
			b, ok = <-ps.sub.C
		} else {
			// Some waiter's outcome has arrived: answer it once the
			// venue has published its whole command.
			select {
			case b, ok = <-ps.sub.C:
			default:
				s.settleIdle(ps)
				if len(ps.settling) > 0 {
					if idle == nil {
						idle = time.NewTimer(settlePoll)
					} else {
						idle.Reset(settlePoll)
					}
					select {
					case b, ok = <-ps.sub.C:
					case <-idle.C:
						continue
					}
				} else {
					continue
				}
			}
		}
		if !ok {
			if !errors.Is(ps.sub.Err(), hub.ErrLagged) || s.ctx.Err() != nil {
				ps.streams.closeAll("the venue is shutting down")
				return
			}
			ns, ok := s.resubscribe(ps.name, func() (*hub.Sub, error) { return s.v.Hub().SubscribeParty(ps.id, feedQueue) })
			if !ok {
				ps.streams.closeAll("the venue is shutting down")
				return
			}
			if !s.installFeed(&ps.sub, ns) {
				ps.streams.closeAll("the venue is shutting down")
				return
			}
			continue
		}
		for ev := range ps.sub.Events(b) {
			s.applyParty(ps, ev)
		}
		b.Release()
	}
}

// applyParty applies one event: the table, waiters, streams.
func (s *Server) applyParty(ps *partyState, ev *engine.Event) {
	ps.mu.Lock()
	// Waiters whose command is complete: this event is of a later command
	// of the same shard.
	if len(ps.settling) > 0 {
		kept := ps.settling[:0]
		for _, w := range ps.settling {
			if ev.Seq > w.ev.Seq && s.v.ShardOf(ev.Instrument) == s.v.ShardOf(w.ev.Instrument) {
				s.answerLocked(ps, w)
				continue
			}
			kept = append(kept, w)
		}
		clear(ps.settling[len(kept):])
		ps.settling = kept
	}
	if ev.Kind == engine.EvFill {
		if c := ps.credit[ev.Counterparty]; c != nil {
			c.used += s.notional(ev)
		}
	}
	rec := ps.apply(ev)
	if resolves(ev.Kind) {
		if w := ps.waiters[string(ev.ClOrdID.Bytes())]; w != nil {
			delete(ps.waiters, w.key)
			w.resolved, w.ev = true, *ev
			if rec != nil && w.extra != nil && ev.Kind == engine.EvAccepted {
				rec.minQty, rec.maxFloor, rec.postOnly, rec.directed = w.extra.minQty, w.extra.maxFloor, w.extra.postOnly, w.extra.directed
			}
			ps.settling = append(ps.settling, w)
		}
	}
	ps.mu.Unlock()
	if ev.Kind == engine.EvCreditSet {
		s.applyCreditSet(ev)
	}
	if ps.streams.has(chExec) {
		if b, ok := s.names.AppendExecEvent(make([]byte, 0, 512), ev); ok {
			ps.streams.send(chExec, frame("exec", b))
		}
	}
}

// settleIdle answers the settling waiters whose command the venue has
// published completely (the feed's queue being empty, all its events have
// been applied: partyLoop calls it between batches).
func (s *Server) settleIdle(ps *partyState) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	kept := ps.settling[:0]
	for _, w := range ps.settling {
		if s.v.PublishedSeq(w.ev.Instrument) >= w.ev.Seq && len(ps.sub.C) == 0 {
			s.answerLocked(ps, w)
			continue
		}
		kept = append(kept, w)
	}
	clear(ps.settling[len(kept):])
	ps.settling = kept
}

// answerLocked sends a waiter its outcome (ps.mu held).
func (s *Server) answerLocked(ps *partyState, w *waiter) {
	o := outcome{ev: w.ev}
	var r *orderRec
	switch w.ev.Kind {
	case engine.EvAccepted, engine.EvReplaced, engine.EvCancelled:
		r = ps.byOID[w.ev.OrderID]
	case engine.EvRejected:
		if rr := ps.byKey[w.key]; rr != nil && rr.status == statusRejected && rr.cur == w.ev.ClOrdID && rr.oid == 0 {
			r = rr
		}
	}
	if r != nil {
		o.rec, o.ok = s.view(r, w.ev.Seq), true
	}
	w.done <- o
}

// applyCreditSet applies a credit change: the limit Party grants
// Counterparty in one shard.
func (s *Server) applyCreditSet(ev *engine.Event) {
	sh := s.v.ShardOf(ev.Instrument)
	if sh < 0 || int(ev.Party) >= len(s.parties) || int(ev.Counterparty) >= len(s.parties) {
		return
	}
	s.creditMu.Lock()
	s.creditLim[sh][ev.Party][ev.Counterparty] = ev.CreditLimit
	s.creditMu.Unlock()
}
