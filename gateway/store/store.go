// Package store runs the brokers' flagship stores: the two-way listings a
// broker publishes in the storefront, with size tiers, and the buy side's
// hits on them.
//
// # What a listing is
//
// A listing is a broker's quote on one pair: tiers of size, each with a
// bid and an ask. It has no existence of its own beside the book: each
// tier side is one of the broker's resting limit orders (Day), whose
// ClOrdID says what it is part of,
//
//	L.<SYM>.<tier qty>.<B|S>.<n>      e.g. L.USDCNY.5000000.B.17
//
// with SYM the pair's code (USD/CNY → USDCNY) and n a per-broker counter.
// Updating a listing replaces, places or cancels those orders through the
// venue's front door (venue.SubmitOrder, channel "http"), so they are
// credit-screened, scored and journaled like any other order.
//
// # State, and why there is no store database
//
// Everything the store shows is a fold over the broker's execution events:
// which listing orders are live, at what price and size, which tier sides
// were filled, the broker's position and cash per pair from its fills. At
// Open the fold runs over the whole journal (every shard from genesis,
// reading records, not re-executing them); afterwards over the hub's
// durable events. So the store's metadata is re-derived from the orders'
// ClOrdIDs, never persisted separately, and cannot disagree with the
// book: a restart shows exactly what was shown before it. The rules that
// make that hold:
//
//   - a tier is shown while at least one of its sides is a live order; a
//     side whose order was filled completely shows as filled; a tier with
//     neither side live is gone (both sides were hit, or the broker
//     withdrew it, or the Day orders expired at the roll);
//   - for each (pair, tier qty, side) only the order with the highest n
//     counts, so a re-listed side supersedes the filled one;
//   - the counter continues from the highest n in the journal, so a
//     ClOrdID is never reused within a trading day.
//
// A broker's own FIX orders with an L. ClOrdID are listing orders too: the
// ClOrdID is the only metadata there is.
//
// Position and P&L count every fill of the broker (listing or not), marked
// to the mid of the venue's book (or the last trade when one side is
// empty), in the pair's term currency.
//
// # Hits
//
// A hit is a directed IOC order of the taker (engine Command.Directed =
// the broker) at the price of the smallest tier that covers the size: it
// can only trade with the broker's orders, still subject to credit, the
// pre-trade score and every order rule. The store waits for the order's
// durable outcome and reports the fills.
//
// Lock order: Store.mu guards the fold and the waiters; a broker's opMu
// serialises its listing updates and is taken before Store.mu, never while
// holding it.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub"
)

// Errors, matched with errors.Is; the *Error carrying them says more.
var (
	ErrUnknownBroker = errors.New("store: no such broker")
	ErrUnknownSymbol = errors.New("store: unknown symbol")
	ErrNoListing     = errors.New("store: the broker has no listing on that pair")
	ErrInvalid       = errors.New("store: invalid request")
	ErrRejected      = errors.New("store: the venue rejected the order")
	ErrTimeout       = errors.New("store: no answer from the venue in time")
	ErrClosed        = errors.New("store: closed")
)

// Error is a store failure with what a client needs to fix it: the field
// and the rule (Reason, a stable kebab-case word; for ErrRejected the
// engine's reason name).
type Error struct {
	Err    error
	Field  string
	Reason string
	Detail string
}

func (e *Error) Error() string {
	s := e.Err.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(field, reason, format string, args ...any) error {
	return &Error{Err: ErrInvalid, Field: field, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// MaxTiers bounds a listing's tiers (and so the orders one update sends).
const MaxTiers = 8

// fillsKept is how many recent fills a broker's store remembers for its
// view; older ones still count in the position.
const fillsKept = 50

// Options configures Open.
type Options struct {
	Logger *slog.Logger
	// Timeout bounds the wait for the venue's answer to one order (default
	// 5 s): the answer comes after the journal's sync.
	Timeout time.Duration
	// Now is the clock for hit ClOrdIDs (nil: time.Now).
	Now func() time.Time
	// SubQueue bounds each hub subscription's queue (default 16384). A
	// store that falls further behind is cut off by the hub and refolds
	// from the journal.
	SubQueue int
}

// Store is every broker's store on one venue.
type Store struct {
	v    *venue.Venue
	cfg  *config.Config
	log  *slog.Logger
	opts Options

	mu      sync.Mutex
	brokers map[engine.PartyID]*broker
	byID    map[string]*broker
	// subs: one hub subscription per participant the store listens to
	// (every broker from the start; a taker from its first hit).
	subs    map[engine.PartyID]*hub.Sub
	waiters map[waitKey]*waiter
	closed  bool

	hitSeq  atomic.Uint64
	resyncs atomic.Int64
	wg      sync.WaitGroup
	stop    chan struct{}
}

type waitKey struct {
	party engine.PartyID
	clid  string
}

// waiter collects the events of one request until its outcome is known.
type waiter struct {
	events []engine.Event
	// lastExec is the ExecID of the last event taken: after a resync the
	// journal may hand over again what the subscription already did.
	lastExec uint64
	done     chan struct{}
	final    func(ev *engine.Event) bool
	ended    bool
}

// broker is one broker's store: the fold of its execution events.
type broker struct {
	id    string
	party engine.PartyID
	opMu  sync.Mutex // serialises listing updates
	// live are the live listing orders by OrderID; latest the newest order
	// of each (pair, tier, side), live or not.
	live   map[engine.OrderID]*lorder
	latest map[tierKey]*lorder
	pos    map[engine.InstrumentID]*position
	fills  []Fill // the last fillsKept, oldest first
	nextN  uint64
	// updated is the time of the last event that changed a listing, per
	// instrument (Unix ns).
	updated map[engine.InstrumentID]int64
	// seen is the sequence of the last event folded, per shard.
	seen []uint64
}

type tierKey struct {
	inst engine.InstrumentID
	qty  engine.Qty
	side engine.Side
}

// lorder is a listing order as the fold knows it.
type lorder struct {
	key      tierKey
	n        uint64
	orderID  engine.OrderID
	clOrdID  string
	price    engine.Price
	orderQty engine.Qty
	leaves   engine.Qty
	cum      engine.Qty
	state    SideState
	time     int64
}

type position struct {
	qty    int64           // base currency, long positive
	cash   decimal.Decimal // term currency
	bought engine.Qty
	sold   engine.Qty
}

// SideState is what became of a tier side's order.
type SideState string

const (
	SideLive   SideState = "live"
	SideFilled SideState = "filled"
	SideGone   SideState = "gone"
)

// Tier is a listing tier as a broker sets it.
type Tier struct {
	Qty engine.Qty
	Bid engine.Price
	Ask engine.Price
}

// Side is one side of a shown tier.
type Side struct {
	State    SideState
	Price    engine.Price
	Leaves   engine.Qty // what can still be hit
	Cum      engine.Qty // filled so far
	ClOrdID  string
	OrderID  engine.OrderID
	Modified int64 // Unix ns of its last event
}

// TierView is a tier as shown: either side may be nil (never listed, or
// withdrawn).
type TierView struct {
	Qty engine.Qty
	Bid *Side
	Ask *Side
}

// Listing is one pair of a broker's store.
type Listing struct {
	Broker     string
	Symbol     string
	Instrument engine.InstrumentID
	Tiers      []TierView // by increasing size
	Updated    int64      // Unix ns of the last change
}

// Fill is one of the broker's fills.
type Fill struct {
	Time         int64
	Symbol       string
	Side         engine.Side
	Qty          engine.Qty
	Price        engine.Price
	ClOrdID      string
	Counterparty string
	Listing      bool // a listing order's fill
}

// Position is the broker's position in one pair, marked to market.
type Position struct {
	Symbol string
	Qty    int64           // base currency, long positive
	Cash   decimal.Decimal // term currency
	Bought engine.Qty
	Sold   engine.Qty
	// Mark is the price the position is valued at and MarkSource where it
	// came from ("mid", "last" or "reference").
	Mark       engine.Price
	MarkSource string
	// PnL is Cash + Qty × Mark, in the term currency (Currency).
	PnL      decimal.Decimal
	Currency string
}

// View is a store as its broker sees it: listings, positions and fills.
// Others see only Listings (Private is false and the rest empty).
type View struct {
	Broker    string
	Listings  []Listing
	Private   bool
	Positions []Position
	Fills     []Fill
}

// Open builds the stores of every broker of the venue's configuration
// from its journal and follows the venue's events from then on. It may be
// called before or after the venue runs.
func Open(v *venue.Venue, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SubQueue <= 0 {
		opts.SubQueue = subQueue
	}
	s := &Store{
		v: v, cfg: v.Config(), log: opts.Logger, opts: opts,
		brokers: map[engine.PartyID]*broker{}, byID: map[string]*broker{},
		subs: map[engine.PartyID]*hub.Sub{}, waiters: map[waitKey]*waiter{},
		stop: make(chan struct{}),
	}
	for i := range s.cfg.Participants {
		p := &s.cfg.Participants[i]
		if p.Role != config.RoleBroker {
			continue
		}
		b := &broker{id: p.ID, party: engine.PartyID(i + 1)}
		b.reset()
		s.brokers[b.party] = b
		s.byID[p.ID] = b
	}
	// Subscribe first, then read the journal: every event is then either
	// in what was read (seq <= the shard's last read seq, skipped on the
	// subscription) or on the subscription.
	subs := map[engine.PartyID]*hub.Sub{}
	for p := range s.brokers {
		sub, err := v.Hub().SubscribeParty(p, s.opts.SubQueue)
		if err != nil {
			return nil, fmt.Errorf("store: subscribe %s: %w", s.brokers[p].id, err)
		}
		subs[p] = sub
	}
	read, err := s.scan(s.brokers, engine.NoParty)
	if err != nil {
		for _, sub := range subs {
			v.Hub().Unsubscribe(sub)
		}
		return nil, err
	}
	s.mu.Lock()
	for p, sub := range subs {
		s.subs[p] = sub
		s.follow(p, sub, read)
	}
	s.mu.Unlock()
	return s, nil
}

// subQueue is each subscription's queue: deep enough for bursts of a busy
// participant; a subscriber that still falls behind is cut off by the hub
// and the store resynchronises from the journal (see follow).
const subQueue = 1 << 14

func (b *broker) reset() {
	b.live = map[engine.OrderID]*lorder{}
	b.latest = map[tierKey]*lorder{}
	b.pos = map[engine.InstrumentID]*position{}
	b.fills = nil
	b.nextN = 1
	b.updated = map[engine.InstrumentID]int64{}
	b.seen = nil
}

// scan folds the brokers' events from the journal, all shards from
// genesis, into fresh state, and returns the last sequence read per shard.
// Events of participant deliver (NoParty: none) also go to the waiters of
// its requests: after a lost subscription, an answer may be only in the
// journal.
func (s *Store) scan(brokers map[engine.PartyID]*broker, deliver engine.PartyID) ([]uint64, error) {
	r := s.v.Journal().Reader()
	read := make([]uint64, len(s.cfg.Shards))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range brokers {
		b.reset()
	}
	// One event buffer for the whole scan: a waiter's final func sees its
	// address, so a per-event variable would escape and cost an
	// allocation per event.
	var ev engine.Event
	for si := range s.cfg.Shards {
		// The journal numbers instruments per shard; the store uses the
		// venue's global numbering.
		global := make([]engine.InstrumentID, len(s.cfg.Shards[si].Instruments))
		for li, sym := range s.cfg.Shards[si].Instruments {
			global[li], _ = s.v.Instrument(sym)
		}
		it := r.Records(uint16(si), 1)
		for it.Next() {
			rec := it.Record()
			for i := range rec.Events {
				// Look before copying: most events are other participants'.
				pe := &rec.Events[i]
				b := brokers[pe.Party]
				if (b == nil && pe.Party != deliver) || pe.Party == engine.NoParty || !hub.IsExecution(pe.Kind) {
					continue
				}
				ev = *pe
				if int(ev.Instrument) < len(global) {
					ev.Instrument = global[ev.Instrument]
				}
				if b != nil {
					s.fold(b, &ev)
				}
				if ev.Party == deliver {
					s.deliver(deliver, &ev)
				}
			}
			read[si] = rec.Command.Seq
		}
		err := it.Err()
		it.Close()
		if err != nil {
			return nil, fmt.Errorf("store: reading the journal (shard %d): %w", si, err)
		}
	}
	return read, nil
}

// foldBatch folds one hub batch of participant p's subscription under
// one hold of the lock and releases it. A function of its own: inside
// follow's closure the range over sub.Events did not inline, and its
// loop closure and state were allocated for every batch.
func (s *Store) foldBatch(p engine.PartyID, sub *hub.Sub, batch *hub.Batch, read []uint64) {
	s.mu.Lock()
	b := s.brokers[p]
	for ev := range sub.Events(batch) {
		s.followEvent(b, p, ev, read)
	}
	s.mu.Unlock()
	batch.Release()
}

// followEvent folds one event of participant p's subscription into its
// broker's store (b, nil if p is none) and hands it to p's waiters,
// unless the journal's read (seq <= read[shard]) already had it. s.mu is
// held.
func (s *Store) followEvent(b *broker, p engine.PartyID, ev *engine.Event, read []uint64) {
	if read != nil {
		if si := s.shardOf(ev.Instrument); si >= 0 && ev.Seq <= read[si] {
			return
		}
	}
	if b != nil {
		s.fold(b, ev)
	}
	s.deliver(p, ev)
}

// follow consumes a participant's subscription: events already read from
// the journal (seq <= read[shard]) are skipped. If the hub cuts the
// subscription off for lagging, the store refolds from the journal.
func (s *Store) follow(p engine.PartyID, sub *hub.Sub, read []uint64) {
	s.wg.Go(func() {
		for {
			// A hub batch is folded under one hold of the lock. The
			// events are the hub's shared batch, read in place: fold and
			// the waiters' final funcs only read them, and the waiters
			// keep copies.
			for batch := range sub.C {
				s.foldBatch(p, sub, batch, read)
			}
			if !errors.Is(sub.Err(), hub.ErrLagged) {
				return
			}
			select {
			case <-s.stop:
				return
			default:
			}
			s.log.Warn("store: fell behind the venue's events; resynchronising from the journal", "participant", s.cfg.Participants[p-1].ID)
			nsub, err := s.v.Hub().SubscribeParty(p, s.opts.SubQueue)
			if err != nil {
				s.log.Error("store: resubscribe failed; the store stops following this participant", "participant", s.cfg.Participants[p-1].ID, "err", err)
				return
			}
			s.mu.Lock()
			if s.closed {
				// Close has already unsubscribed what it knew of.
				s.mu.Unlock()
				s.v.Hub().Unsubscribe(nsub)
				return
			}
			s.subs[p] = nsub
			s.mu.Unlock()
			sub = nsub
			// What the lost queue held is in the journal: refold the
			// broker's store from it, and hand the waiters their answers.
			var fold map[engine.PartyID]*broker
			if b := s.brokers[p]; b != nil {
				fold = map[engine.PartyID]*broker{p: b}
			}
			r, err := s.scan(fold, p)
			if err != nil {
				s.log.Error("store: resynchronising failed", "participant", s.cfg.Participants[p-1].ID, "err", err)
				return
			}
			read = r
			s.resyncs.Add(1)
		}
	})
}

func (s *Store) shardOf(id engine.InstrumentID) int {
	ins := s.v.Instruments()
	if int(id) >= len(ins) {
		return -1
	}
	si, ok := s.cfg.ShardOf(ins[id].Symbol)
	if !ok {
		return -1
	}
	return si
}

// Resyncs counts the times the store fell behind the venue's events and
// refolded a broker from the journal.
func (s *Store) Resyncs() int64 { return s.resyncs.Load() }

// Close stops following the venue. Pending requests end with ErrClosed.
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	subs := s.subs
	s.subs = map[engine.PartyID]*hub.Sub{}
	for k, w := range s.waiters {
		w.end()
		delete(s.waiters, k)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		s.v.Hub().Unsubscribe(sub)
	}
	s.wg.Wait()
}

// ---- the fold ----

// ListingClOrdID is the ClOrdID of a listing order.
func ListingClOrdID(symbol string, qty engine.Qty, side engine.Side, n uint64) string {
	sd := "B"
	if side == engine.Sell {
		sd = "S"
	}
	return "L." + strings.ReplaceAll(symbol, "/", "") + "." + strconv.FormatInt(int64(qty), 10) + "." + sd + "." + strconv.FormatUint(n, 10)
}

// cancelClOrdID is the ClOrdID of the cancel request of a listing order
// (it becomes the order's ClOrdID as it dies).
func cancelClOrdID(n uint64) string { return "LC." + strconv.FormatUint(n, 10) }

// parseListingID reads an L. ClOrdID; ok is false for anything else.
func (s *Store) parseListingID(id string) (k tierKey, n uint64, ok bool) {
	parts := strings.Split(id, ".")
	if len(parts) != 5 || parts[0] != "L" {
		return k, 0, false
	}
	inst, found := s.instrumentByCode(parts[1])
	if !found {
		return k, 0, false
	}
	q, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || q <= 0 {
		return k, 0, false
	}
	var side engine.Side
	switch parts[3] {
	case "B":
		side = engine.Buy
	case "S":
		side = engine.Sell
	default:
		return k, 0, false
	}
	n, err = strconv.ParseUint(parts[4], 10, 64)
	if err != nil {
		return k, 0, false
	}
	return tierKey{inst: inst, qty: engine.Qty(q), side: side}, n, true
}

// counterOf is the n of any ClOrdID the store makes (L. or LC.).
func counterOf(id string) (uint64, bool) {
	switch {
	case strings.HasPrefix(id, "LC."):
		n, err := strconv.ParseUint(id[3:], 10, 64)
		return n, err == nil
	case strings.HasPrefix(id, "L."):
		i := strings.LastIndexByte(id, '.')
		n, err := strconv.ParseUint(id[i+1:], 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (s *Store) instrumentByCode(code string) (engine.InstrumentID, bool) {
	for i, in := range s.v.Instruments() {
		if strings.ReplaceAll(in.Symbol, "/", "") == code {
			return engine.InstrumentID(i), true
		}
	}
	return 0, false
}

// fold applies one of broker b's execution events (global instrument id).
// Called with s.mu held.
func (s *Store) fold(b *broker, ev *engine.Event) {
	if si := s.shardOf(ev.Instrument); si >= 0 {
		if b.seen == nil {
			b.seen = make([]uint64, len(s.cfg.Shards))
		}
		b.seen[si] = max(b.seen[si], ev.Seq)
	}
	// Only the store's own ids ("L." listings, "LC." its cancels) are
	// parsed, and another order's id is made a string only where it is
	// kept (a fill, an order the store follows): most of a broker's flow
	// may be its own FIX orders, and under bench fix making and splitting
	// each of their ids was most of the store's work.
	var clid string
	if id := ev.ClOrdID.Bytes(); len(id) > 0 && id[0] == 'L' {
		clid = ev.ClOrdID.String()
		if n, ok := counterOf(clid); ok && n >= b.nextN {
			b.nextN = n + 1
		}
	}
	if ev.Kind == engine.EvFill {
		if clid == "" {
			clid = ev.ClOrdID.String()
		}
		s.foldFill(b, ev, clid)
	}
	o := b.live[ev.OrderID]
	if o == nil {
		if ev.Kind != engine.EvAccepted || clid == "" {
			return // not a listing's id (they start "L.")
		}
		k, n, ok := s.parseListingID(clid)
		if !ok || k.inst != ev.Instrument || k.side != ev.Side {
			return
		}
		o = &lorder{key: k, n: n, orderID: ev.OrderID, state: SideLive}
		b.live[ev.OrderID] = o
		if cur := b.latest[k]; cur == nil || cur.n < n {
			b.latest[k] = o
		}
	}
	if clid == "" {
		clid = ev.ClOrdID.String()
	}
	o.clOrdID = clid
	o.price, o.orderQty, o.leaves, o.cum, o.time = ev.Price, ev.OrderQty, ev.LeavesQty, ev.CumQty, ev.Time
	b.updated[o.key.inst] = ev.Time
	switch ev.Kind {
	case engine.EvReplaced:
		k, n, ok := s.parseListingID(clid)
		if !ok {
			// Replaced by something that is no listing order any more.
			o.state = SideGone
			delete(b.live, ev.OrderID)
			return
		}
		if k != o.key || n != o.n {
			if b.latest[o.key] == o {
				// The old key's side is no longer listed by this order.
				o2 := *o
				o2.state = SideGone
				b.latest[o.key] = &o2
			}
			o.key, o.n = k, n
			if cur := b.latest[k]; cur == nil || cur.n < n {
				b.latest[k] = o
			}
		}
		if o.leaves == 0 {
			o.state = SideFilled
			delete(b.live, ev.OrderID)
		}
	case engine.EvFill:
		if ev.LeavesQty == 0 {
			o.state = SideFilled
			delete(b.live, ev.OrderID)
		}
	case engine.EvCancelled, engine.EvExpired, engine.EvRejected:
		o.state = SideGone
		delete(b.live, ev.OrderID)
	}
}

func (s *Store) foldFill(b *broker, ev *engine.Event, clid string) {
	p := b.pos[ev.Instrument]
	if p == nil {
		p = &position{}
		b.pos[ev.Instrument] = p
	}
	notional := decimal.New(int64(ev.LastQty), 0).Mul(decimal.New(int64(ev.LastPx), -engine.PriceDecimals))
	if ev.Side == engine.Buy {
		p.qty += int64(ev.LastQty)
		p.bought += ev.LastQty
		p.cash = p.cash.Sub(notional)
	} else {
		p.qty -= int64(ev.LastQty)
		p.sold += ev.LastQty
		p.cash = p.cash.Add(notional)
	}
	f := Fill{
		Time: ev.Time, Side: ev.Side, Qty: ev.LastQty, Price: ev.LastPx, ClOrdID: clid,
		Counterparty: s.partyName(ev.Counterparty), Listing: strings.HasPrefix(clid, "L."),
	}
	if ins := s.v.Instruments(); int(ev.Instrument) < len(ins) {
		f.Symbol = ins[ev.Instrument].Symbol
	}
	if len(b.fills) == fillsKept {
		copy(b.fills, b.fills[1:])
		b.fills = b.fills[:fillsKept-1]
	}
	b.fills = append(b.fills, f)
}

func (s *Store) partyName(p engine.PartyID) string {
	if p == engine.NoParty || int(p) > len(s.cfg.Participants) {
		return ""
	}
	return s.cfg.Participants[p-1].ID
}

// ---- waiting for outcomes ----

// deliver hands an event to the waiter of its request. Called with s.mu.
func (s *Store) deliver(p engine.PartyID, ev *engine.Event) {
	if len(s.waiters) == 0 {
		return
	}
	w := s.waiters[waitKey{p, ev.ClOrdID.String()}]
	if w == nil || w.ended {
		return
	}
	if ev.ExecID <= w.lastExec {
		return
	}
	w.lastExec = ev.ExecID
	w.events = append(w.events, *ev)
	if w.final(ev) {
		w.end()
	}
}

func (w *waiter) end() {
	if !w.ended {
		w.ended = true
		close(w.done)
	}
}

// submit offers one command and waits for its outcome: the events of its
// ClOrdID up to the one final says ends it.
func (s *Store) submit(ctx context.Context, cmd *engine.Command, o venue.Origin, final func(*engine.Event) bool) ([]engine.Event, error) {
	key := waitKey{cmd.Party, cmd.ClOrdID.String()}
	w := &waiter{done: make(chan struct{}), final: final}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if err := s.ensureSub(cmd.Party); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.waiters[key] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.waiters[key] == w {
			delete(s.waiters, key)
		}
		s.mu.Unlock()
	}()
	var err error
	if cmd.Kind == engine.CmdNewOrder || cmd.Kind == engine.CmdReplace {
		err = s.v.SubmitOrder(ctx, cmd, o)
	} else {
		err = s.v.Submit(cmd)
	}
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(s.opts.Timeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		return nil, &Error{Err: ErrTimeout, Detail: fmt.Sprintf("order %s: no outcome within %v", key.clid, s.opts.Timeout)}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	evs := w.events
	closed := s.closed
	s.mu.Unlock()
	if closed && (len(evs) == 0 || !final(&evs[len(evs)-1])) {
		return nil, ErrClosed
	}
	return evs, nil
}

// ensureSub subscribes to a participant's events if the store does not
// yet. Called with s.mu.
func (s *Store) ensureSub(p engine.PartyID) error {
	if s.subs[p] != nil {
		return nil
	}
	sub, err := s.v.Hub().SubscribeParty(p, s.opts.SubQueue)
	if err != nil {
		return fmt.Errorf("store: subscribe: %w", err)
	}
	s.subs[p] = sub
	s.follow(p, sub, nil)
	return nil
}

// ---- reading ----

// Brokers are the IDs of the brokers with a store, in configuration order.
func (s *Store) Brokers() []string {
	var out []string
	for i := range s.cfg.Participants {
		if s.byID[s.cfg.Participants[i].ID] != nil {
			out = append(out, s.cfg.Participants[i].ID)
		}
	}
	return out
}

// Get is a broker's store; private adds its positions and fills (the
// broker itself, and only it, should see them).
func (s *Store) Get(brokerID string, private bool) (View, error) {
	b := s.byID[brokerID]
	if b == nil {
		return View{}, &Error{Err: ErrUnknownBroker, Field: "broker", Detail: fmt.Sprintf("%q is not a broker with a store", brokerID)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	view := View{Broker: b.id, Private: private}
	for i := range s.v.Instruments() {
		if l, ok := s.listingLocked(b, engine.InstrumentID(i)); ok {
			view.Listings = append(view.Listings, l)
		}
	}
	if private {
		for i, in := range s.v.Instruments() {
			p := b.pos[engine.InstrumentID(i)]
			if p == nil {
				continue
			}
			view.Positions = append(view.Positions, s.markLocked(engine.InstrumentID(i), in, p))
		}
		view.Fills = slices.Clone(b.fills)
		slices.Reverse(view.Fills) // newest first
	}
	return view, nil
}

// Listing is one listing of a broker's store.
func (s *Store) Listing(brokerID, symbol string) (Listing, error) {
	b, inst, err := s.brokerAndSymbol(brokerID, symbol)
	if err != nil {
		return Listing{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.listingLocked(b, inst)
	if !ok {
		return Listing{}, &Error{Err: ErrNoListing, Detail: fmt.Sprintf("%s lists nothing on %s", b.id, symbol)}
	}
	return l, nil
}

func (s *Store) brokerAndSymbol(brokerID, symbol string) (*broker, engine.InstrumentID, error) {
	b := s.byID[brokerID]
	if b == nil {
		return nil, 0, &Error{Err: ErrUnknownBroker, Field: "broker", Detail: fmt.Sprintf("%q is not a broker with a store", brokerID)}
	}
	inst, ok := s.v.Instrument(symbol)
	if !ok {
		return nil, 0, &Error{Err: ErrUnknownSymbol, Field: "symbol", Detail: fmt.Sprintf("%q is not listed on this venue", symbol)}
	}
	return b, inst, nil
}

func (s *Store) listingLocked(b *broker, inst engine.InstrumentID) (Listing, bool) {
	tiers := map[engine.Qty]*TierView{}
	live := false
	for k, o := range b.latest {
		if k.inst != inst {
			continue
		}
		tv := tiers[k.qty]
		if tv == nil {
			tv = &TierView{Qty: k.qty}
			tiers[k.qty] = tv
		}
		sd := &Side{State: o.state, Price: o.price, Leaves: o.leaves, Cum: o.cum, ClOrdID: o.clOrdID, OrderID: o.orderID, Modified: o.time}
		if o.state == SideGone {
			sd = nil
		}
		if o.state == SideLive {
			live = true
		}
		if k.side == engine.Buy {
			tv.Bid = sd
		} else {
			tv.Ask = sd
		}
	}
	if !live {
		return Listing{}, false
	}
	l := Listing{Broker: b.id, Symbol: s.v.Instruments()[inst].Symbol, Instrument: inst, Updated: b.updated[inst]}
	for _, tv := range tiers {
		// A tier is shown while one of its sides is live.
		if (tv.Bid != nil && tv.Bid.State == SideLive) || (tv.Ask != nil && tv.Ask.State == SideLive) {
			l.Tiers = append(l.Tiers, *tv)
		}
	}
	slices.SortFunc(l.Tiers, func(a, b TierView) int { return int(a.Qty - b.Qty) })
	return l, true
}

// markLocked values a position at the venue's mid.
func (s *Store) markLocked(id engine.InstrumentID, in engine.Instrument, p *position) Position {
	pos := Position{Symbol: in.Symbol, Qty: p.qty, Cash: p.cash, Bought: p.bought, Sold: p.sold, Currency: in.Term}
	if bk := s.v.Book(id); bk != nil {
		bid, okb := bk.BestBid()
		ask, oka := bk.BestAsk()
		switch {
		case okb && oka:
			// The mid rounded down to the price unit: exact enough for a
			// mark, and deterministic.
			pos.Mark, pos.MarkSource = (bid.Price+ask.Price)/2, "mid"
		case bk.LastTrade.TradeID != 0:
			pos.Mark, pos.MarkSource = bk.LastTrade.Price, "last"
		default:
			pos.Mark, pos.MarkSource = bk.RefPrice, "reference"
		}
	}
	pos.PnL = p.cash.Add(decimal.New(p.qty, 0).Mul(decimal.New(int64(pos.Mark), -engine.PriceDecimals)))
	return pos
}
