package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/engine"
)

// Origin is the storefront's channel for venue.SubmitOrder.
func Origin(source, session string) venue.Origin {
	return venue.Origin{Channel: "http", Source: source, Session: session}
}

// checkTiers validates a listing before any order is sent, so that a bad
// request changes nothing: sizes on the lot grid and within the
// instrument's limits, distinct and increasing, prices on the tick grid,
// and no bid at or above any ask (the broker's own orders would meet).
func checkTiers(in engine.Instrument, tiers []Tier) error {
	if len(tiers) == 0 {
		return invalid("tiers", "empty", "a listing needs at least one tier (DELETE the listing to withdraw it)")
	}
	if len(tiers) > MaxTiers {
		return invalid("tiers", "too-many", "%d tiers; at most %d", len(tiers), MaxTiers)
	}
	maxBid, minAsk := engine.Price(0), engine.Price(0)
	for i, t := range tiers {
		f := func(name string) string { return "tiers[" + strconv.Itoa(i) + "]." + name }
		switch {
		case t.Qty <= 0:
			return invalid(f("qty"), "qty-not-positive", "the size must be positive")
		case t.Qty%in.Lot != 0:
			return invalid(f("qty"), "qty-not-lot", "%d is not a multiple of the lot %d", t.Qty, in.Lot)
		case t.Qty < in.MinQty:
			return invalid(f("qty"), "qty-below-min", "%d is below the minimum %d", t.Qty, in.MinQty)
		case t.Qty > in.MaxQty:
			return invalid(f("qty"), "qty-above-max", "%d is above the maximum %d", t.Qty, in.MaxQty)
		case i > 0 && t.Qty <= tiers[i-1].Qty:
			return invalid(f("qty"), "tiers-not-increasing", "tier sizes must increase (%d after %d)", t.Qty, tiers[i-1].Qty)
		}
		for _, p := range []struct {
			name string
			px   engine.Price
		}{{"bid", t.Bid}, {"ask", t.Ask}} {
			if p.px <= 0 {
				return invalid(f(p.name), "price-not-positive", "the price must be positive")
			}
			if p.px%in.Tick != 0 {
				return invalid(f(p.name), "price-not-tick", "%s is not a multiple of the tick %s", FormatPrice(p.px), FormatPrice(in.Tick))
			}
		}
		if i == 0 || t.Bid > maxBid {
			maxBid = t.Bid
		}
		if i == 0 || t.Ask < minAsk {
			minAsk = t.Ask
		}
		if maxBid >= minAsk {
			return invalid(f("bid"), "crossed", "bid %s is not below ask %s: the listing's own orders would meet", FormatPrice(maxBid), FormatPrice(minAsk))
		}
	}
	return nil
}

// FormatPrice writes a Price as a plain decimal with the digits it needs.
func FormatPrice(p engine.Price) string {
	neg := p < 0
	if neg {
		p = -p
	}
	s := strconv.FormatInt(int64(p)/engine.PriceScale, 10)
	frac := int64(p) % engine.PriceScale
	if frac != 0 {
		f := strconv.FormatInt(frac+engine.PriceScale, 10)[1:]
		for len(f) > 0 && f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += "." + f
	}
	if neg {
		s = "-" + s
	}
	return s
}

// SetListing makes broker's listing on symbol show tiers: each tier side's
// order is kept if it already shows that price and size, replaced if it
// does not, placed if there is none; listing orders of tiers no longer
// listed are cancelled. Each order's outcome is awaited (durable). A
// rejected order stops the update with ErrRejected (the earlier ones
// stand: the listing then shows what the venue accepted).
func (s *Store) SetListing(ctx context.Context, brokerID, symbol string, tiers []Tier, o venue.Origin) (Listing, error) {
	b, inst, err := s.brokerAndSymbol(brokerID, symbol)
	if err != nil {
		return Listing{}, err
	}
	if err := checkTiers(s.v.Instruments()[inst], tiers); err != nil {
		return Listing{}, err
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()

	type want struct {
		key tierKey
		px  engine.Price
	}
	var wants []want
	for _, t := range tiers {
		wants = append(wants, want{tierKey{inst, t.Qty, engine.Buy}, t.Bid}, want{tierKey{inst, t.Qty, engine.Sell}, t.Ask})
	}
	// Withdraw first what is no longer listed, so the remaining orders
	// cannot meet the withdrawn ones on the way.
	s.mu.Lock()
	var cancels []*lorder
	for _, lo := range b.live {
		if lo.key.inst == inst && !slices.ContainsFunc(wants, func(w want) bool { return w.key == lo.key }) {
			c := *lo
			cancels = append(cancels, &c)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(cancels, func(a, b *lorder) int { return int(a.n) - int(b.n) })
	for _, lo := range cancels {
		if err := s.cancel(ctx, b, lo, o); err != nil {
			return Listing{}, err
		}
	}
	// Then, to keep the listing from crossing itself mid-update, move the
	// side that goes away from the other first: asks before bids when
	// prices rise, bids before asks when they fall.
	s.mu.Lock()
	var oldMid, newMid engine.Price
	for _, w := range wants {
		newMid += w.px
		if lo := s.liveAt(b, w.key); lo != nil {
			oldMid += lo.price
		} else {
			oldMid += w.px
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(wants, func(a, b want) int {
		first := engine.Sell
		if newMid < oldMid {
			first = engine.Buy
		}
		switch {
		case a.key.side == b.key.side:
			return 0
		case a.key.side == first:
			return -1
		}
		return 1
	})
	for _, w := range wants {
		s.mu.Lock()
		lo := s.liveAt(b, w.key)
		var cur lorder
		if lo != nil {
			cur = *lo
		}
		s.mu.Unlock()
		if lo != nil && cur.price == w.px && cur.leaves == w.key.qty {
			continue
		}
		if lo != nil {
			ok, err := s.replace(ctx, b, &cur, w.px, o)
			if err != nil {
				return Listing{}, err
			}
			if ok {
				continue
			}
			// Too late: the order was filled or withdrawn meanwhile; list
			// the side afresh.
		}
		if err := s.place(ctx, b, w.key, w.px, o); err != nil {
			return Listing{}, err
		}
	}
	l, err := s.Listing(brokerID, symbol)
	if errors.Is(err, ErrNoListing) {
		// Every order was accepted and at once filled completely.
		return Listing{Broker: b.id, Symbol: symbol, Instrument: inst}, nil
	}
	return l, err
}

// liveAt is the live order of a tier side. Called with s.mu.
func (s *Store) liveAt(b *broker, k tierKey) *lorder {
	if lo := b.latest[k]; lo != nil && lo.state == SideLive {
		return lo
	}
	return nil
}

func (s *Store) nextID(b *broker) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := b.nextN
	b.nextN++
	return n
}

func (s *Store) symbolOf(id engine.InstrumentID) string { return s.v.Instruments()[id].Symbol }

func isAnswer(kinds ...engine.EventKind) func(*engine.Event) bool {
	return func(ev *engine.Event) bool { return slices.Contains(kinds, ev.Kind) }
}

func (s *Store) place(ctx context.Context, b *broker, k tierKey, px engine.Price, o venue.Origin) error {
	clid := ListingClOrdID(s.symbolOf(k.inst), k.qty, k.side, s.nextID(b))
	cmd := &engine.Command{
		Kind: engine.CmdNewOrder, Party: b.party, Instrument: k.inst, Side: k.side,
		OrdType: engine.Limit, TIF: engine.Day, Price: px, Qty: k.qty, ClOrdID: engine.MustID(clid),
	}
	evs, err := s.submit(ctx, cmd, o, isAnswer(engine.EvAccepted, engine.EvRejected))
	if err != nil {
		return err
	}
	if last := evs[len(evs)-1]; last.Kind == engine.EvRejected {
		return rejected(last.Reason, fmt.Sprintf("%s %s %d at %s", k.side, s.symbolOf(k.inst), k.qty, FormatPrice(px)))
	}
	return nil
}

// replace moves a live listing order to px with k.qty left to trade; ok
// is false when the order was no longer live (too late).
func (s *Store) replace(ctx context.Context, b *broker, lo *lorder, px engine.Price, o venue.Origin) (bool, error) {
	clid := ListingClOrdID(s.symbolOf(lo.key.inst), lo.key.qty, lo.key.side, s.nextID(b))
	cmd := &engine.Command{
		Kind: engine.CmdReplace, Party: b.party, Instrument: lo.key.inst, Side: lo.key.side,
		OrdType: engine.Limit, TIF: engine.Day, Price: px,
		// The order keeps what it has filled: leaves become the tier size.
		Qty:     lo.cum + lo.key.qty,
		ClOrdID: engine.MustID(clid), OrigClOrdID: engine.MustID(lo.clOrdID),
	}
	evs, err := s.submit(ctx, cmd, o, isAnswer(engine.EvReplaced, engine.EvCancelRejected))
	if err != nil {
		return false, err
	}
	last := evs[len(evs)-1]
	if last.Kind == engine.EvCancelRejected {
		if last.Reason == engine.ReasonTooLate || last.Reason == engine.ReasonUnknownOrder {
			return false, nil
		}
		return false, rejected(last.Reason, fmt.Sprintf("replace of %s to %s", lo.clOrdID, FormatPrice(px)))
	}
	return true, nil
}

func (s *Store) cancel(ctx context.Context, b *broker, lo *lorder, o venue.Origin) error {
	cmd := &engine.Command{
		Kind: engine.CmdCancel, Party: b.party, Instrument: lo.key.inst, Side: lo.key.side,
		ClOrdID: engine.MustID(cancelClOrdID(s.nextID(b))), OrigClOrdID: engine.MustID(lo.clOrdID),
	}
	evs, err := s.submit(ctx, cmd, o, isAnswer(engine.EvCancelled, engine.EvCancelRejected))
	if err != nil {
		return err
	}
	if last := evs[len(evs)-1]; last.Kind == engine.EvCancelRejected && last.Reason != engine.ReasonTooLate && last.Reason != engine.ReasonUnknownOrder {
		return rejected(last.Reason, "cancel of "+lo.clOrdID)
	}
	return nil
}

// waitFolded waits until broker b's store has folded its events up to
// seq of the instrument's shard, at most foldWait.
func (s *Store) waitFolded(b *broker, inst engine.InstrumentID, seq uint64) {
	si := s.shardOf(inst)
	if si < 0 {
		return
	}
	deadline := time.Now().Add(foldWait)
	for {
		s.mu.Lock()
		done := b.seen != nil && b.seen[si] >= seq
		s.mu.Unlock()
		if done || time.Now().After(deadline) {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// foldWait bounds waitFolded: the broker's events are published with the
// taker's, so this is a scheduling delay, not a venue round trip.
const foldWait = time.Second

func rejected(r engine.Reason, what string) error {
	return &Error{Err: ErrRejected, Reason: r.String(), Detail: what + ": " + r.String()}
}

// DeleteListing withdraws broker's listing on symbol: every live listing
// order of the pair is cancelled.
func (s *Store) DeleteListing(ctx context.Context, brokerID, symbol string, o venue.Origin) error {
	b, inst, err := s.brokerAndSymbol(brokerID, symbol)
	if err != nil {
		return err
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	s.mu.Lock()
	var cancels []*lorder
	for _, lo := range b.live {
		if lo.key.inst == inst {
			c := *lo
			cancels = append(cancels, &c)
		}
	}
	s.mu.Unlock()
	if len(cancels) == 0 {
		return &Error{Err: ErrNoListing, Detail: fmt.Sprintf("%s lists nothing on %s", b.id, symbol)}
	}
	for _, lo := range cancels {
		if err := s.cancel(ctx, b, lo, o); err != nil {
			return err
		}
	}
	return nil
}

// Hit is a taker's order against a listing.
type Hit struct {
	Taker  string
	Broker string
	Symbol string
	Side   engine.Side // the taker's side: Buy takes the listing's ask
	Qty    engine.Qty
	// Price, if set, is the worst price the taker accepts: the hit is
	// refused before it is sent if the listing's price is worse.
	Price engine.Price
}

// HitResult is a hit's outcome.
type HitResult struct {
	ClOrdID string
	// Status is "filled", "partially-filled" or "not-filled".
	Status string
	// Price is the listing price the order was sent at.
	Price  engine.Price
	Filled engine.Qty
	AvgPx  engine.Price
	Fills  []Fill
	// Reason is why the rest did not fill (the engine's cancel reason).
	Reason string
}

// Hit sends a directed IOC order of the taker at the price of the
// broker's smallest tier that covers the size, and waits for its outcome.
func (s *Store) Hit(ctx context.Context, h Hit, o venue.Origin) (HitResult, error) {
	b, inst, err := s.brokerAndSymbol(h.Broker, h.Symbol)
	if err != nil {
		return HitResult{}, err
	}
	taker, ok := s.cfg.PartyID(h.Taker)
	if !ok {
		return HitResult{}, invalid("taker", "unknown-participant", "%q is not a participant", h.Taker)
	}
	if taker == b.party {
		return HitResult{}, invalid("broker", "own-store", "a broker cannot hit its own listing")
	}
	if h.Side != engine.Buy && h.Side != engine.Sell {
		return HitResult{}, invalid("side", "bad-side", "side must be buy or sell")
	}
	if h.Qty <= 0 {
		return HitResult{}, invalid("qty", "qty-not-positive", "the size must be positive")
	}
	// The taker buys from the broker's asks and sells to its bids.
	bs := engine.Sell
	if h.Side == engine.Sell {
		bs = engine.Buy
	}
	s.mu.Lock()
	var px engine.Price
	var tierQty engine.Qty
	var sizes []engine.Qty
	for k, lo := range b.latest {
		if k.inst != inst || k.side != bs || lo.state != SideLive {
			continue
		}
		sizes = append(sizes, k.qty)
		if k.qty >= h.Qty && (tierQty == 0 || k.qty < tierQty) {
			tierQty, px = k.qty, lo.price
		}
	}
	s.mu.Unlock()
	if len(sizes) == 0 {
		return HitResult{}, &Error{Err: ErrNoListing, Detail: fmt.Sprintf("%s shows no %s on %s", b.id, map[engine.Side]string{engine.Buy: "bid", engine.Sell: "ask"}[bs], h.Symbol)}
	}
	if tierQty == 0 {
		return HitResult{}, invalid("qty", "above-listing", "%d is more than the largest tier %s lists (%d)", h.Qty, b.id, slices.Max(sizes))
	}
	if h.Price != 0 && ((h.Side == engine.Buy && px > h.Price) || (h.Side == engine.Sell && px < h.Price)) {
		return HitResult{}, invalid("price", "price-moved", "the listing's price is now %s, worse than your %s", FormatPrice(px), FormatPrice(h.Price))
	}
	clid := "H." + strconv.FormatInt(s.opts.Now().UnixMicro(), 36) + "." + strconv.FormatUint(s.hitSeq.Add(1), 36)
	cmd := &engine.Command{
		Kind: engine.CmdNewOrder, Party: taker, Instrument: inst, Side: h.Side,
		OrdType: engine.Limit, TIF: engine.IOC, Price: px, Qty: h.Qty,
		Directed: b.party, ClOrdID: engine.MustID(clid),
	}
	final := func(ev *engine.Event) bool {
		switch ev.Kind {
		case engine.EvRejected, engine.EvCancelled, engine.EvExpired:
			return true
		case engine.EvFill:
			return ev.LeavesQty == 0
		}
		return false
	}
	evs, err := s.submit(ctx, cmd, o, final)
	if err != nil {
		return HitResult{}, err
	}
	res := HitResult{ClOrdID: clid, Price: px}
	for _, ev := range evs {
		switch ev.Kind {
		case engine.EvRejected:
			return HitResult{}, rejected(ev.Reason, fmt.Sprintf("%s %d %s at %s", h.Side, h.Qty, h.Symbol, FormatPrice(px)))
		case engine.EvFill:
			res.Filled, res.AvgPx = ev.CumQty, ev.AvgPx
			res.Fills = append(res.Fills, Fill{Time: ev.Time, Symbol: h.Symbol, Side: ev.Side, Qty: ev.LastQty, Price: ev.LastPx, ClOrdID: clid, Counterparty: s.partyName(ev.Counterparty)})
		case engine.EvCancelled, engine.EvExpired:
			res.Reason = ev.Reason.String()
		}
	}
	if res.Filled > 0 {
		// The broker's side of the fills comes on its own subscription:
		// wait (briefly) until its store has them, so whoever reads the
		// store after the hit sees the fill.
		s.waitFolded(b, evs[len(evs)-1].Instrument, evs[len(evs)-1].Seq)
	}
	switch {
	case res.Filled == h.Qty:
		res.Status = "filled"
	case res.Filled > 0:
		res.Status = "partially-filled"
	default:
		res.Status = "not-filled"
	}
	return res, nil
}
