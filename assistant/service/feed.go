package service

import (
	"errors"
	"fmt"

	"fxmatch/engine"
	"fxmatch/engine/hub"
)

// The hub feed (Options.Hub): an assistant in the venue's process takes
// the venue's execution events and trades from the hub, as the gateway's
// feeds do, instead of from fxmatch.exec.> and fxmatch.trades.>. The hub
// carries only durable events, as the bus does, and this feed takes from
// each event exactly what onExec and onTrade take from its JSON on the bus
// (TestHubFeedMatchesBus holds the two together): the same events fold
// into the profiles, the recommender and the brokers' inventories.
//
// What it saves, per event: the bus's JSON encoding is still done for the
// bus's other subscribers, but the NATS server no longer routes a copy to
// the assistant's connection, nats.go no longer parses it, allocates a
// Msg and copies its payload, a delivery goroutine is no longer woken,
// and the assistant no longer decodes it. Most execution events are
// acknowledgements the assistant ignores; here they cost one comparison.

// feedQueue bounds the feed's hub queue, in events (as the bus's: a few
// seconds of the venue's peak). A feed that falls this far behind is cut
// off; it resubscribes and says so (the events in between are not in the
// profiles, as with a slow consumer on NATS).
const feedQueue = 1 << 16

// startFeed subscribes to the hub and starts the feed's goroutine.
func (s *Service) startFeed() error {
	sub, err := s.opts.Hub.SubscribeAll(feedQueue)
	if err != nil {
		return fmt.Errorf("assistant: venue events: %w", err)
	}
	s.feedMu.Lock()
	s.feedSub, s.feedStopped = sub, false
	s.feedMu.Unlock()
	s.feedDone = make(chan struct{})
	go s.feedLoop(sub)
	return nil
}

// stopFeed ends the subscription and waits for the feed's goroutine.
func (s *Service) stopFeed() {
	s.feedMu.Lock()
	sub := s.feedSub
	s.feedStopped, s.feedSub = true, nil
	s.feedMu.Unlock()
	if sub == nil {
		return
	}
	s.opts.Hub.Unsubscribe(sub)
	<-s.feedDone
}

func (s *Service) feedLoop(sub *hub.Sub) {
	defer close(s.feedDone)
	for {
		for b := range sub.C {
			for ev := range sub.Events(b) {
				if e, ok := s.hubEvent(ev); ok {
					s.take(&e)
				}
			}
			b.Release()
		}
		if !errors.Is(sub.Err(), hub.ErrLagged) {
			return // Stop, or the venue's hub closed
		}
		s.log.Error("assistant: fell behind the venue's events and was cut off; the events in between are not in the profiles; resubscribing", "queue", feedQueue)
		ns, err := s.opts.Hub.SubscribeAll(feedQueue)
		if err != nil {
			return
		}
		s.feedMu.Lock()
		if s.feedStopped {
			s.feedMu.Unlock()
			s.opts.Hub.Unsubscribe(ns)
			return
		}
		s.feedSub = ns
		s.feedMu.Unlock()
		sub = ns
	}
}

// hubEvent reads one event of the venue's hub as busExec or busTrade
// reads the bus's document of it: the bus publishes an execution event of
// a known participant on fxmatch.exec.<PARTY> (wire.AppendExecEvent) and
// a trade of a known instrument on fxmatch.trades.<SYM>
// (wire.AppendTrade), and the values below are what decoding those
// documents yields: the time in RFC 3339 keeps every nanosecond, and the
// decimals parse back to the same integers (the wire parsers refuse a
// negative price and a quantity that is not positive).
func (s *Service) hubEvent(ev *engine.Event) (venueEvent, bool) {
	n := s.opts.Names
	switch ev.Kind {
	case engine.EvFill, engine.EvCancelled, engine.EvExpired:
	case engine.EvTrade:
		if int(ev.Instrument) >= n.Instruments() {
			return venueEvent{}, false // the bus has no subject for it
		}
		if ev.LastPx < 0 {
			s.log.Warn("assistant: trade without a price", "symbol", n.Symbol(ev.Instrument), "px", int64(ev.LastPx))
			return venueEvent{}, false
		}
		// busTrade takes an unreadable quantity as 0.
		return venueEvent{kind: vTrade, symbol: n.Symbol(ev.Instrument), px: ev.LastPx, qty: max(ev.LastQty, 0)}, true
	default:
		return venueEvent{}, false // acknowledgements, rejects, replaces, levels: busExec skips them too
	}
	if ev.Party == engine.NoParty || int(ev.Party) > n.Parties() {
		return venueEvent{}, false // the bus publishes no execution event for it
	}
	e := venueEvent{kind: vCancel, participant: n.Party(ev.Party), account: ev.Account.String(),
		clOrdID: ev.ClOrdID.String(), ts: ev.Time}
	if ev.Kind != engine.EvFill {
		return e, true
	}
	if ev.LastQty <= 0 || ev.LastPx < 0 {
		s.log.Warn("assistant: fill without a quantity or price", "participant", e.participant, "last_qty", int64(ev.LastQty), "last_px", int64(ev.LastPx))
		return venueEvent{}, false
	}
	e.kind, e.qty, e.px = vFill, ev.LastQty, ev.LastPx
	e.counterparty, e.symbol = n.Party(ev.Counterparty), n.Symbol(ev.Instrument)
	if ev.Side == engine.Buy || ev.Side == engine.Sell {
		e.side = ev.Side.String()
	}
	return e, true
}
