package service

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"fxmatch/assistant/fraud"
	"fxmatch/assistant/quotes"
	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/gateway/bus"
	"fxmatch/gateway/wire"
)

// Options configures New.
type Options struct {
	// Conn is the assistant's NATS connection (the `assistant` user): it
	// may subscribe to fxmatch.md.>, fxmatch.trades.>, fxmatch.exec.> and
	// publish fxmatch.quotes.>.
	Conn *nats.Conn
	// Instruments are the venue's instruments (symbols, ticks, lots,
	// reference prices).
	Instruments []engine.Instrument
	// Brokers are the participants with role broker: quotes are published
	// for each of them, for each instrument.
	Brokers []string
	// Participants are every participant's CompID: a request whose reply
	// subject is in one's inbox (bus.RequesterOf) comes from it.
	Participants []string
	// Fraud configures the scorer (zero: the defaults).
	Fraud fraud.Config
	// QuoteParams overrides the recommender's model per symbol; a symbol
	// without an entry gets quotes.DefaultParams.
	QuoteParams map[string]quotes.Params
	// QuoteInterval is the least time between two publications of one
	// broker's quotes for one pair (default 250ms: at most 4 a second).
	QuoteInterval time.Duration
	// Clock is the time of orders that carry none, of market data and of
	// published payloads (nil: the wall clock).
	Clock  func() time.Time
	Logger *slog.Logger
	// Version is the micro service's version (default "1.0.0").
	Version string
	// Hub, with Names, feeds an assistant that runs in the venue's
	// process straight from the venue's hub: the execution events and
	// trades it would read on fxmatch.exec.> and fxmatch.trades.> (the
	// same durable events the bus publishes there, taken the same way:
	// TestHubFeedMatchesBus), without the JSON encoding, the NATS
	// server's routing, nats.go's copy of each message and the decoding
	// in between. Under `fxmatch bench fix` that chain carried every
	// order's acknowledgement to an assistant that ignores it and was
	// about a fifth of the venue's CPU. Books come over NATS
	// (fxmatch.md.>: the bus's coalesced books) unless BooksInProcess;
	// the endpoints' requests always do. nil: a standalone assistant.
	Hub   *hub.Hub
	Names *wire.Names
	// BooksInProcess: the caller hands the assistant every book the bus
	// publishes (TakeBookDoc from bus.Bus.SetBookSink, in the venue's
	// process), so it does not subscribe to fxmatch.md.>. The same
	// documents, without a NATS round and a JSON decoding per book.
	BooksInProcess bool
}

// Service is the assistant: the fraud scorer, the quote recommender and
// the chat parser behind a NATS micro service, fed from the bus.
//
// Concurrency: the endpoints' handlers and the subscriptions run on
// nats.go's delivery goroutines (one per subscription). The scorer is a
// single-owner state machine, so scoring requests and execution events
// take scoreMu in turn; market data, trades, fills and recommendations
// take quoteMu. The two are never held together.
type Service struct {
	opts Options
	nc   *nats.Conn
	log  *slog.Logger

	scoreMu sync.Mutex
	scorer  *fraud.Scorer
	ev      fraud.Event
	out     []byte

	quoteMu sync.Mutex
	rec     *quotes.Recommender
	insts   map[string]engine.Instrument
	books   map[string]*bookState
	lastPub map[pubKey]time.Time
	dirty   map[string]bool
	tiers   map[string][]engine.Qty

	svc  micro.Service
	subs []*nats.Subscription
	stop chan struct{}
	done chan struct{}

	// The hub feed (Options.Hub): feedMu guards feedSub and feedStopped
	// against the feed's resubscription after a lag.
	feedMu      sync.Mutex
	feedSub     *hub.Sub
	feedStopped bool
	feedDone    chan struct{}
}

type pubKey struct{ broker, symbol string }

// bookState is the last book of a pair the assistant saw on the bus.
type bookState struct {
	view wire.Book
	bid  engine.Price
	ask  engine.Price
	last engine.Price // last trade, 0 before any
}

// New builds the assistant's state. Call Rebuild (optional) and then
// Start.
func New(opts Options) (*Service, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QuoteInterval == 0 {
		opts.QuoteInterval = 250 * time.Millisecond
	}
	if opts.Version == "" {
		opts.Version = "1.0.0"
	}
	if opts.Hub != nil && opts.Names == nil {
		return nil, errors.New("assistant: a hub feed needs the venue's names (Options.Names)")
	}
	sc, err := fraud.New(opts.Fraud)
	if err != nil {
		return nil, err
	}
	qc := quotes.Config{MaxBrokers: max(len(opts.Brokers), 1) * 4}
	s := &Service{
		opts: opts, nc: opts.Conn, log: opts.Logger, scorer: sc,
		insts: map[string]engine.Instrument{}, books: map[string]*bookState{},
		lastPub: map[pubKey]time.Time{}, dirty: map[string]bool{}, tiers: map[string][]engine.Qty{},
	}
	for _, in := range opts.Instruments {
		p, ok := opts.QuoteParams[in.Symbol]
		if !ok {
			p = quotes.DefaultParams(in)
		}
		qc.Instruments = append(qc.Instruments, quotes.Instrument{Instrument: in, Params: p})
		s.insts[in.Symbol] = in
		for _, t := range p.Tiers {
			s.tiers[in.Symbol] = append(s.tiers[in.Symbol], t.Size)
		}
	}
	if s.rec, err = quotes.New(qc); err != nil {
		return nil, err
	}
	return s, nil
}

// SetConn sets the NATS connection, for a caller that rebuilds the state
// before it connects. Call it before Start.
func (s *Service) SetConn(nc *nats.Conn) { s.nc = nc; s.opts.Conn = nc }

// Start registers the micro service and subscribes to the bus.
func (s *Service) Start() error {
	if s.nc == nil {
		return errors.New("assistant: no NATS connection")
	}
	svc, err := micro.AddService(s.nc, micro.Config{
		Name:        bus.AssistantService,
		Version:     s.opts.Version,
		Description: "fxmatch trading assistant: pre-trade fraud scoring, quote recommendations, chat orders",
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			s.log.Warn("assistant: service error", "subject", e.Subject, "err", e.Description)
		},
	})
	if err != nil {
		return fmt.Errorf("assistant: %w", err)
	}
	s.svc = svc
	for _, ep := range []struct {
		name, subject string
		h             micro.HandlerFunc
	}{
		{"score", bus.AssistantScore, s.handleScore},
		{"recommend", bus.AssistantRecommend, s.handleRecommend},
		{"chat", bus.AssistantChat, s.handleChat},
	} {
		if err := svc.AddEndpoint(ep.name, ep.h, micro.WithEndpointSubject(ep.subject)); err != nil {
			svc.Stop()
			return fmt.Errorf("assistant: endpoint %s: %w", ep.subject, err)
		}
	}
	var subs []struct {
		subject string
		h       nats.MsgHandler
	}
	if !s.opts.BooksInProcess {
		subs = append(subs, struct {
			subject string
			h       nats.MsgHandler
		}{bus.MDAll, s.onBook})
	}
	if s.opts.Hub == nil {
		subs = append(subs, struct {
			subject string
			h       nats.MsgHandler
		}{bus.TradesAll, s.onTrade}, struct {
			subject string
			h       nats.MsgHandler
		}{bus.ExecAll, s.onExec})
	} else if err := s.startFeed(); err != nil {
		s.Stop()
		return err
	}
	for _, sub := range subs {
		ns, err := s.nc.Subscribe(sub.subject, sub.h)
		if err != nil {
			s.Stop()
			return fmt.Errorf("assistant: subscribe %s: %w", sub.subject, err)
		}
		// Market data and execution events come in bursts; a slow
		// consumer would lose fills, so the pending limits are generous
		// (messages are small).
		ns.SetPendingLimits(1<<20, 256<<20)
		s.subs = append(s.subs, ns)
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.publishLoop()
	// Once Start returns, the server has the endpoints' subscriptions: a
	// venue that starts taking orders next finds the assistant. (A
	// connection still trying to reach its server subscribes when it
	// gets there.)
	if !s.nc.IsConnected() {
		return nil
	}
	if err := s.nc.Flush(); err != nil {
		s.Stop()
		return fmt.Errorf("assistant: %w", err)
	}
	return nil
}

// Stop unsubscribes and stops the micro service. The connection is the
// caller's.
func (s *Service) Stop() {
	for _, sub := range s.subs {
		sub.Unsubscribe()
	}
	s.subs = nil
	s.stopFeed()
	if s.svc != nil {
		s.svc.Stop()
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
}

// accountKey is the profile an order belongs to: the participant, or the
// participant and the FIX Account when the order names one. Fills and
// cancels from the bus carry both, so they find the same profile.
func accountKey(participant, account string) string {
	if account == "" {
		return participant
	}
	return participant + "/" + account
}

// ---- score ----

func (s *Service) handleScore(req micro.Request) {
	s.scoreMu.Lock()
	defer s.scoreMu.Unlock()
	out, err := s.scoreLocked(req.Data())
	if err != nil {
		req.Error(CodeBadRequest, err.Error(), nil)
		return
	}
	req.Respond(out)
}

// scoreLocked is the score endpoint's work on one request body: decode,
// check, score, encode. The answer aliases s.out, valid until the next
// call; scoreMu is held.
func (s *Service) scoreLocked(data []byte) ([]byte, error) {
	var sr ScoreRequest
	if err := decodeScoreRequest(data, &sr); err != nil {
		return nil, errors.New("score: the body is not a score request: " + err.Error())
	}
	if err := s.orderEvent(&sr, &s.ev); err != nil {
		return nil, errors.New("score: " + err.Error())
	}
	r := s.scoreEvent(&sr, &s.ev)
	s.out = r.AppendJSON(s.out[:0], sr.ClOrdID)
	return s.out, nil
}

// Score scores one request in-process, exactly as the endpoint does (the
// benchmark of the scorer's share of the deadline, and callers in the same
// process that want no bus).
func (s *Service) Score(sr *ScoreRequest) (ScoreResponse, error) {
	s.scoreMu.Lock()
	defer s.scoreMu.Unlock()
	if err := s.orderEvent(sr, &s.ev); err != nil {
		return ScoreResponse{}, fmt.Errorf("score: %w", err)
	}
	r := s.scoreEvent(sr, &s.ev)
	out := ScoreResponse{OrderID: sr.ClOrdID, Score: r.Score, Action: r.Action.String()}
	for i := 0; i < r.NReasons; i++ {
		out.Reasons = append(out.Reasons, r.Reasons[i].String())
	}
	return out, nil
}

func (s *Service) scoreEvent(sr *ScoreRequest, ev *fraud.Event) fraud.Result {
	if sr.Preview {
		return s.scorer.Preview(ev)
	}
	if sr.OrigClOrdID != "" {
		// A replace: the order it replaces is pulled, and the new terms
		// are scored as an order of their own.
		c := fraud.Event{TS: ev.TS, Kind: fraud.KindCancel, Participant: ev.Participant, Account: ev.Account, OrderID: sr.OrigClOrdID}
		s.scorer.Score(&c)
	}
	return s.scorer.Score(ev)
}

// orderEvent checks a score request and turns it into the scorer's event.
// Every refusal names the field and the value.
func (s *Service) orderEvent(sr *ScoreRequest, ev *fraud.Event) error {
	switch {
	case sr.Participant == "":
		return errors.New("participant is missing")
	case sr.ClOrdID == "":
		return errors.New("cl_ord_id is missing")
	case sr.Symbol == "":
		return errors.New("symbol is missing")
	}
	*ev = fraud.Event{
		Kind: fraud.KindOrder, Participant: sr.Participant, Account: accountKey(sr.Participant, sr.Account),
		Source: sr.Source, OrderID: sr.ClOrdID, Symbol: sr.Symbol,
	}
	switch sr.Side {
	case "buy":
		ev.Side = fraud.SideBuy
	case "sell":
		ev.Side = fraud.SideSell
	default:
		return fmt.Errorf("side %q is not buy or sell", sr.Side)
	}
	switch sr.OrdType {
	case "limit", "":
		ev.OrdType = fraud.OrdLimit
	case "market":
		ev.OrdType = fraud.OrdMarket
	default:
		return fmt.Errorf("ord_type %q is not limit or market", sr.OrdType)
	}
	switch sr.TIF {
	case "day", "":
		ev.TIF = fraud.TIFDay
	case "gtc":
		ev.TIF = fraud.TIFGTC
	case "ioc":
		ev.TIF = fraud.TIFIOC
	case "fok":
		ev.TIF = fraud.TIFFOK
	case "gtd":
		ev.TIF = fraud.TIFGTD
	default:
		return fmt.Errorf("tif %q is not day, gtc, ioc, fok or gtd", sr.TIF)
	}
	var err error
	if ev.Qty, err = sr.Qty.Float(); err != nil || ev.Qty <= 0 {
		return fmt.Errorf("qty %q is not a positive decimal", string(sr.Qty))
	}
	if ev.Price, err = sr.Price.Float(); err != nil || ev.Price < 0 {
		return fmt.Errorf("price %q is not a positive decimal", string(sr.Price))
	}
	if ev.OrdType == fraud.OrdLimit && ev.Price == 0 {
		return errors.New("price is missing on a limit order")
	}
	if ev.Mid, err = sr.Mid.Float(); err != nil || ev.Mid < 0 {
		return fmt.Errorf("mid %q is not a positive decimal", string(sr.Mid))
	}
	if ev.Mid == 0 {
		ev.Mid = s.midOf(sr.Symbol)
	}
	if sr.Time == "" {
		ev.TS = s.opts.Clock().UnixMicro()
	} else {
		t, err := time.Parse(time.RFC3339Nano, sr.Time)
		if err != nil {
			return fmt.Errorf("time %q is not RFC 3339", sr.Time)
		}
		ev.TS = t.UnixMicro()
	}
	return nil
}

// midOf is the mid of the last book seen on the bus, for a request that
// carries none (0 if there is no two-sided book).
func (s *Service) midOf(sym string) float64 {
	s.quoteMu.Lock()
	defer s.quoteMu.Unlock()
	b := s.books[sym]
	if b == nil || b.bid == 0 || b.ask == 0 {
		return 0
	}
	return float64(b.bid+b.ask) / 2 / engine.PriceScale
}

// Accounts is the number of fraud profiles held.
func (s *Service) Accounts() int {
	s.scoreMu.Lock()
	defer s.scoreMu.Unlock()
	return s.scorer.Accounts()
}

// feed folds a non-order event (fill, cancel) into the scorer.
func (s *Service) feed(ev *fraud.Event) {
	s.scoreMu.Lock()
	s.scorer.Score(ev)
	s.scoreMu.Unlock()
}

// ---- execution events ----

// onExec takes one participant's execution event: fills and cancels feed
// the fraud profiles, a broker's fills its inventory.
// execIgnored are the execution events the profiles do not use. They are
// most of the venue's events (every order's acknowledgement), and onExec
// runs for each, so they are recognised by their bytes and not decoded.
// The pattern cannot occur inside a JSON string value (its quotes would
// be escaped); an encoder that puts spaces around the colon only makes
// them take the decoding path.
var execIgnored = [][]byte{
	[]byte(`"type":"` + wire.ExecAccepted + `"`),
	[]byte(`"type":"` + wire.ExecRejected + `"`),
	[]byte(`"type":"` + wire.ExecReplaced + `"`),
	[]byte(`"type":"` + wire.ExecCancelRejected + `"`),
	[]byte(`"type":"` + wire.ExecMassCancel + `"`),
}

func (s *Service) onExec(m *nats.Msg) {
	if e, ok := s.busExec(m); ok {
		s.take(&e)
	}
}

// venueEvent is what the assistant takes from one of the venue's events,
// whether it came as a document on the bus (busExec, busTrade) or from the
// venue's hub (hubEvent).
type venueEvent struct {
	kind                                                      venueKind
	participant, account, clOrdID, counterparty, symbol, side string
	ts                                                        int64 // Unix nanoseconds (fills and cancels)
	qty                                                       engine.Qty
	px                                                        engine.Price
}

type venueKind uint8

const (
	vFill   venueKind = iota + 1 // an order of participant filled
	vCancel                      // an order of participant ended unfilled (cancelled, expired)
	vTrade                       // a public trade of symbol
)

// busExec reads an execution event from the bus: fills, cancels and
// expiries (ok), or nothing the assistant uses.
func (s *Service) busExec(m *nats.Msg) (venueEvent, bool) {
	if execIgnoredType(m.Data) {
		return venueEvent{}, false
	}
	var x wire.ExecEvent
	if err := decodeExecEvent(m.Data, &x); err != nil {
		s.log.Warn("assistant: unreadable execution event", "subject", m.Subject, "err", err)
		return venueEvent{}, false
	}
	if x.Participant == "" {
		x.Participant = strings.TrimPrefix(m.Subject, bus.ExecSubject(""))
	}
	e := venueEvent{participant: x.Participant, account: x.Account, clOrdID: x.ClOrdID}
	if t, err := time.Parse(time.RFC3339Nano, x.Time); err == nil {
		e.ts = t.UnixNano()
	} else {
		e.ts = s.opts.Clock().UnixNano()
	}
	switch x.Type {
	case wire.ExecFill:
		q, err1 := parseQty(x.LastQty)
		p, err2 := wire.ParsePrice(x.LastPx)
		if err1 != nil || err2 != nil {
			s.log.Warn("assistant: fill without a quantity or price", "subject", m.Subject, "last_qty", x.LastQty, "last_px", x.LastPx)
			return venueEvent{}, false
		}
		e.kind, e.qty, e.px = vFill, q, p
		e.counterparty, e.symbol, e.side = x.Counterparty, x.Symbol, x.Side
	case wire.ExecCancelled, wire.ExecExpired:
		e.kind = vCancel
	default:
		return venueEvent{}, false
	}
	return e, true
}

// take folds one venue event into the profiles (fills, cancels), a
// broker's inventory (its fills) and the recommender (trades).
func (s *Service) take(e *venueEvent) {
	switch e.kind {
	case vFill:
		ev := fraud.Event{TS: time.Unix(0, e.ts).UnixMicro(), Kind: fraud.KindFill, Participant: e.participant,
			Account: accountKey(e.participant, e.account), OrderID: e.clOrdID,
			Qty: float64(e.qty), Price: float64(e.px) / engine.PriceScale}
		if e.counterparty != "" {
			ev.Counterparty = accountKey(e.counterparty, "")
		}
		s.feed(&ev)
		s.brokerFill(e.participant, e.symbol, e.side, time.Unix(0, e.ts), e.qty, e.px)
	case vCancel:
		ev := fraud.Event{TS: time.Unix(0, e.ts).UnixMicro(), Kind: fraud.KindCancel, Participant: e.participant,
			Account: accountKey(e.participant, e.account), OrderID: e.clOrdID}
		s.feed(&ev)
	case vTrade:
		s.takeTrade(e.symbol, e.px, e.qty)
	}
}

// execIgnoredType reports whether an event is one execIgnored names. The
// venue writes "type" first, so its type is read at the start; a body in
// another shape is searched for the patterns.
func execIgnoredType(data []byte) bool {
	const head = `{"type":"`
	if rest, ok := bytes.CutPrefix(data, []byte(head)); ok {
		if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			switch string(rest[:end]) {
			case wire.ExecAccepted, wire.ExecRejected, wire.ExecReplaced, wire.ExecCancelRejected, wire.ExecMassCancel:
				return true
			}
			return false
		}
	}
	for _, pat := range execIgnored {
		if bytes.Contains(data, pat) {
			return true
		}
	}
	return false
}

func (s *Service) isParty(p string) bool {
	for _, q := range s.opts.Participants {
		if q == p {
			return true
		}
	}
	return false
}

func (s *Service) isBroker(p string) bool {
	for _, b := range s.opts.Brokers {
		if b == p {
			return true
		}
	}
	return false
}

// brokerFill moves a broker's inventory.
func (s *Service) brokerFill(broker, symbol, side string, ts time.Time, q engine.Qty, p engine.Price) {
	if !s.isBroker(broker) {
		return
	}
	f := quotes.Fill{Broker: broker, Symbol: symbol, Time: ts.UnixNano(), Price: p, Qty: q}
	switch side {
	case "buy":
		f.Side = engine.Buy
	case "sell":
		f.Side = engine.Sell
	default:
		return
	}
	s.quoteMu.Lock()
	err := s.rec.OnFill(f)
	s.dirty[symbol] = true
	s.quoteMu.Unlock()
	if err != nil {
		s.log.Warn("assistant: broker fill not taken", "broker", broker, "symbol", symbol, "err", err)
	}
}
