package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"fxmatch/assistant/chat"
	"fxmatch/assistant/quotes"
	"fxmatch/engine"
	"fxmatch/gateway/bus"
	"fxmatch/gateway/wire"
)

func parseQty(s string) (engine.Qty, error) {
	q, err := wire.ParseQty(s)
	if err == nil && q <= 0 {
		err = fmt.Errorf("%w %q: not positive", wire.ErrBadQty, s)
	}
	return q, err
}

func (s *Service) levels(in []wire.Level) ([]quotes.Level, error) {
	out := make([]quotes.Level, 0, len(in))
	for _, l := range in {
		p, err := wire.ParsePrice(l.Px)
		if err != nil {
			return nil, err
		}
		q, err := parseQty(l.Qty)
		if err != nil {
			return nil, err
		}
		out = append(out, quotes.Level{Price: p, Qty: q})
	}
	return out, nil
}

// onBook takes an L2 book: the chat's answers and the recommender's fair
// value come from it, and its pair's quotes are due for publishing.
func (s *Service) onBook(m *nats.Msg) {
	var b wire.Book
	if err := json.Unmarshal(m.Data, &b); err != nil {
		s.log.Warn("assistant: unreadable book", "subject", m.Subject, "err", err)
		return
	}
	s.takeBookDoc(&b, m.Subject)
}

// TakeBookDoc takes a book as the bus publishes it on fxmatch.md.<SYM>:
// the in-process assistant (Options.BooksInProcess) is handed each one by
// the bus (bus.Bus.SetBookSink).
func (s *Service) TakeBookDoc(b *wire.Book) { s.takeBookDoc(b, "") }

func (s *Service) takeBookDoc(b *wire.Book, subject string) {
	if err := s.TakeBook(b.Symbol, b.Bids, b.Asks, b.Time); err != nil {
		s.log.Warn("assistant: book not taken", "subject", subject, "symbol", b.Symbol, "err", err)
	}
}

// TakeBook takes an L2 book of symbol, best levels first, as the bus
// carries it.
func (s *Service) TakeBook(symbol string, bids, asks []wire.Level, at string) error {
	if _, ok := s.insts[symbol]; !ok {
		return fmt.Errorf("unknown symbol %q", symbol)
	}
	qb, err := s.levels(bids)
	if err != nil {
		return err
	}
	qa, err := s.levels(asks)
	if err != nil {
		return err
	}
	now := s.opts.Clock()
	s.quoteMu.Lock()
	defer s.quoteMu.Unlock()
	st := s.books[symbol]
	if st == nil {
		st = &bookState{}
		s.books[symbol] = st
	}
	st.view = wire.Book{Symbol: symbol, Bids: append([]wire.Level(nil), bids...), Asks: append([]wire.Level(nil), asks...), Time: at}
	st.bid, st.ask = 0, 0
	if len(qb) > 0 {
		st.bid = qb[0].Price
	}
	if len(qa) > 0 {
		st.ask = qa[0].Price
	}
	// The recommender's clock is the assistant's: book times from the bus
	// are the venue's, and two clocks in one estimator would disagree.
	if err := s.rec.OnBook(quotes.Book{Symbol: symbol, Time: now.UnixNano(), Bids: qb, Asks: qa}); err != nil {
		return err
	}
	s.dirty[symbol] = true
	return nil
}

func (s *Service) onTrade(m *nats.Msg) {
	if e, ok := s.busTrade(m); ok {
		s.take(&e)
	}
}

// busTrade reads a trade from the bus.
func (s *Service) busTrade(m *nats.Msg) (venueEvent, bool) {
	var t wire.Trade
	if err := json.Unmarshal(m.Data, &t); err != nil {
		s.log.Warn("assistant: unreadable trade", "subject", m.Subject, "err", err)
		return venueEvent{}, false
	}
	p, err := wire.ParsePrice(t.Px)
	if err != nil {
		s.log.Warn("assistant: trade without a price", "subject", m.Subject, "px", t.Px)
		return venueEvent{}, false
	}
	q, _ := parseQty(t.Qty)
	return venueEvent{kind: vTrade, symbol: t.Symbol, px: p, qty: q}, true
}

// takeTrade moves symbol's recommender and last price (from the bus or the
// hub feed).
func (s *Service) takeTrade(symbol string, p engine.Price, q engine.Qty) {
	s.quoteMu.Lock()
	defer s.quoteMu.Unlock()
	if err := s.rec.OnTrade(quotes.Trade{Symbol: symbol, Time: s.opts.Clock().UnixNano(), Price: p, Qty: q}); err != nil {
		return // a pair this assistant was not configured with
	}
	if st := s.books[symbol]; st != nil {
		st.last = p
	} else {
		s.books[symbol] = &bookState{last: p, view: wire.Book{Symbol: symbol}}
	}
	s.dirty[symbol] = true
}

// ---- quotes ----

// publishLoop publishes each broker's quotes for the pairs whose market
// moved, at most once per QuoteInterval per broker and pair: the last
// move within an interval is published at its end, never lost.
func (s *Service) publishLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.QuoteInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.publishDue()
		}
	}
}

func (s *Service) publishDue() {
	now := s.opts.Clock()
	var msgs []struct {
		subject string
		data    []byte
	}
	s.quoteMu.Lock()
	for sym, d := range s.dirty {
		if !d {
			continue
		}
		pending := false
		for _, b := range s.opts.Brokers {
			k := pubKey{b, sym}
			if now.Sub(s.lastPub[k]) < s.opts.QuoteInterval {
				pending = true
				continue
			}
			q, err := s.quotesLocked(b, sym, now)
			if err != nil {
				continue // no two-sided book yet
			}
			data, _ := json.Marshal(q)
			msgs = append(msgs, struct {
				subject string
				data    []byte
			}{bus.QuoteSubject(b, wire.SymbolCode(sym)), data})
			s.lastPub[k] = now
		}
		s.dirty[sym] = pending
	}
	s.quoteMu.Unlock()
	for _, m := range msgs {
		if err := s.nc.Publish(m.subject, m.data); err != nil {
			s.log.Warn("assistant: quotes not published", "subject", m.subject, "err", err)
		}
	}
}

// Quotes is broker's recommendation for every size tier of symbol now.
func (s *Service) Quotes(broker, symbol string) (Quotes, error) {
	s.quoteMu.Lock()
	defer s.quoteMu.Unlock()
	return s.quotesLocked(broker, symbol, s.opts.Clock())
}

func (s *Service) quotesLocked(broker, symbol string, now time.Time) (Quotes, error) {
	in, ok := s.insts[symbol]
	if !ok {
		return Quotes{}, quotes.ErrUnknownSymbol
	}
	d := engine.TickDecimals(in.Tick)
	out := Quotes{Broker: broker, Symbol: symbol, Time: now.UTC().Format(tsFormat)}
	for i, size := range s.tiers[symbol] {
		var q quotes.Quote
		var err error
		if i == 0 {
			q, err = s.rec.Recommend(broker, symbol, size)
			out.Rationale = q.Rationale
		} else {
			q, err = s.rec.Prices(broker, symbol, size)
		}
		if err != nil {
			return Quotes{}, err
		}
		out.Tiers = append(out.Tiers, QuoteTier{
			Qty: strconv.FormatInt(int64(size), 10),
			Bid: engine.FormatPrice(q.Bid, d), Ask: engine.FormatPrice(q.Ask, d),
		})
	}
	return out, nil
}

// ---- recommend ----

func (s *Service) handleRecommend(req micro.Request) {
	var rr RecommendRequest
	if err := json.Unmarshal(req.Data(), &rr); err != nil {
		req.Error(CodeBadRequest, "recommend: the body is not a recommend request: "+err.Error(), nil)
		return
	}
	// A participant asking on the bus (its reply subject is in its own
	// inbox) gets its own recommendations only: they are skewed by its
	// inventory, which is nobody else's business. The gateway and the
	// venue ask from their own inboxes, on behalf of a principal they
	// authenticated.
	if who, ok := bus.RequesterOf(req.Reply(), s.isParty); ok && who != rr.Broker {
		req.Error(CodeForbidden, fmt.Sprintf("recommend: %s may ask for its own recommendations only, not %s's", who, rr.Broker), nil)
		return
	}
	rec, code, err := s.Recommend(&rr)
	if err != nil {
		req.Error(code, "recommend: "+err.Error(), nil)
		return
	}
	req.RespondJSON(rec)
}

// Recommend answers a recommend request; on error the code is the
// endpoint's error code.
func (s *Service) Recommend(rr *RecommendRequest) (Recommendation, string, error) {
	if rr.Broker == "" {
		return Recommendation{}, CodeBadRequest, errors.New("broker is missing")
	}
	in, ok := s.insts[rr.Symbol]
	if !ok {
		return Recommendation{}, CodeBadRequest, fmt.Errorf("symbol %q is not traded here (want one of %s)", rr.Symbol, s.symbols())
	}
	qty, err := parseQty(string(rr.Qty))
	if err != nil {
		return Recommendation{}, CodeBadRequest, fmt.Errorf("qty: %w", err)
	}
	if qty%in.Lot != 0 {
		return Recommendation{}, CodeBadRequest, fmt.Errorf("qty %d is not a multiple of the lot %d", qty, in.Lot)
	}
	now := s.opts.Clock()
	s.quoteMu.Lock()
	q, err := s.rec.Recommend(rr.Broker, rr.Symbol, qty)
	s.quoteMu.Unlock()
	switch {
	case errors.Is(err, quotes.ErrNoBook):
		return Recommendation{}, CodeNotFound, fmt.Errorf("no two-sided book for %s yet: nothing to price from", rr.Symbol)
	case errors.Is(err, quotes.ErrTooManyBrokers):
		return Recommendation{}, CodeBadRequest, fmt.Errorf("broker %q: %w", rr.Broker, err)
	case err != nil:
		return Recommendation{}, CodeInternal, err
	}
	d := engine.TickDecimals(in.Tick)
	return Recommendation{
		Broker: rr.Broker, Symbol: rr.Symbol, Qty: strconv.FormatInt(int64(qty), 10),
		Bid: engine.FormatPrice(q.Bid, d), Ask: engine.FormatPrice(q.Ask, d),
		Fair:      strconv.FormatFloat(q.Fair, 'f', d+1, 64),
		Inventory: strconv.FormatInt(q.Inventory, 10),
		Rationale: q.Rationale, Time: now.UTC().Format(tsFormat),
	}, "", nil
}

func (s *Service) symbols() string {
	out := make([]string, 0, len(s.opts.Instruments))
	for _, in := range s.opts.Instruments {
		out = append(out, in.Symbol)
	}
	return strings.Join(out, ", ")
}

// ---- chat ----

func (s *Service) handleChat(req micro.Request) {
	var cr ChatRequest
	if err := json.Unmarshal(req.Data(), &cr); err != nil {
		req.Error(CodeBadRequest, "chat: the body is not a chat request: "+err.Error(), nil)
		return
	}
	req.RespondJSON(s.Chat(cr.Text))
}

// chatDepth is how many levels a "depth" question shows by default.
const chatDepth = 5

// Chat parses a message against the venue's instruments (reference prices
// moved to the last trades) and answers a market-data question from the
// books the assistant holds. It never sends an order.
func (s *Service) Chat(text string) ChatResponse {
	s.quoteMu.Lock()
	defer s.quoteMu.Unlock()
	insts := make([]engine.Instrument, len(s.opts.Instruments))
	copy(insts, s.opts.Instruments)
	for i := range insts {
		if b := s.books[insts[i].Symbol]; b != nil && b.last > 0 {
			insts[i].RefPrice = b.last
		}
	}
	p := chat.Parser{Instruments: insts}
	out := ChatResponse{Result: p.Parse(text)}
	if out.Kind != chat.KindQuestion || out.Question == nil {
		return out
	}
	q := out.Question
	b := s.books[q.Symbol]
	zh := out.Lang == "zh"
	if b == nil || (len(b.view.Bids) == 0 && len(b.view.Asks) == 0) {
		out.Answer = fmt.Sprintf("No orders in %s right now.", q.Symbol)
		if zh {
			out.Answer = fmt.Sprintf("%s 目前没有挂单。", q.Symbol)
		}
		return out
	}
	top := func(side []wire.Level, name, nameZh string) string {
		if len(side) == 0 {
			if zh {
				return fmt.Sprintf("%s %s：无", q.Symbol, nameZh)
			}
			return fmt.Sprintf("%s %s: none", q.Symbol, name)
		}
		if zh {
			return fmt.Sprintf("%s %s %s，数量 %s", q.Symbol, nameZh, side[0].Px, groupDigits(side[0].Qty))
		}
		return fmt.Sprintf("%s %s %s for %s", q.Symbol, name, side[0].Px, groupDigits(side[0].Qty))
	}
	switch q.Kind {
	case chat.BestBid:
		out.Answer = top(b.view.Bids, "best bid", "最优买价")
		out.Book = &wire.Book{Symbol: q.Symbol, Bids: first(b.view.Bids, 1), Asks: []wire.Level{}, Time: b.view.Time}
	case chat.BestOffer:
		out.Answer = top(b.view.Asks, "best offer", "最优卖价")
		out.Book = &wire.Book{Symbol: q.Symbol, Bids: []wire.Level{}, Asks: first(b.view.Asks, 1), Time: b.view.Time}
	case chat.Top:
		out.Answer = top(b.view.Bids, "best bid", "最优买价") + "; " + top(b.view.Asks, "best offer", "最优卖价")
		out.Book = &wire.Book{Symbol: q.Symbol, Bids: first(b.view.Bids, 1), Asks: first(b.view.Asks, 1), Time: b.view.Time}
	case chat.Depth:
		n := q.Levels
		if n == 0 {
			n = chatDepth
		}
		out.Book = &wire.Book{Symbol: q.Symbol, Bids: first(b.view.Bids, n), Asks: first(b.view.Asks, n), Time: b.view.Time}
		out.Answer = fmt.Sprintf("%s depth: %d bid and %d offer levels", q.Symbol, len(out.Book.Bids), len(out.Book.Asks))
		if zh {
			out.Answer = fmt.Sprintf("%s 深度：买方 %d 档，卖方 %d 档", q.Symbol, len(out.Book.Bids), len(out.Book.Asks))
		}
	}
	return out
}

func first(l []wire.Level, n int) []wire.Level {
	if len(l) > n {
		l = l[:n]
	}
	return append([]wire.Level{}, l...)
}

// groupDigits writes 5000000 as 5,000,000.
func groupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
