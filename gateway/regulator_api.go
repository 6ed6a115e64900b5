package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/wire"
	"fxmatch/journal"
	"fxmatch/journal/audit"
)

// The regulator's API: the same questions as `fxmatch replay` (package
// journal/audit), asked of the LIVE venue.
//
// How a running venue's journal is read: the venue holds its Pebble
// database open and locked, so audit.Open cannot open it, and copying it
// (a checkpoint) per query would cost a WAL copy each time. Instead each
// query takes a consistent point-in-time view of the open database
// (venue.AuditView: a Pebble snapshot, after waiting — at most one group
// commit's sync — until everything in it is durable) and runs journal/audit
// over it (audit.FromReader). The writer never waits for a view; matching
// and the journal go on while the query replays.
//
// What a query costs the venue: CPU only. A book replays from the newest
// snapshot before the moment; an order's life and trades scan the
// records; verify replays every record from genesis — about a million
// records a second on one core, so a long journal takes a while. So:
// only one regulator query runs at a time (another waits up to
// regulatorWait, then gets 503 with Retry-After), and each is bounded by
// its ?timeout= (default per route, at most regulatorMaxTimeout); a query
// that runs out of time is stopped within a few thousand records and
// answers 504 — except verify, which answers what it proved so far with
// "complete": false.
//
// Every answer says which view it read: "view_heads" holds each shard's
// last sequence in the view.

// regulatorWait is how long a query waits for the running one (a
// variable for the tests).
var regulatorWait = 5 * time.Second

const (
	regulatorMaxTimeout = 10 * time.Minute
	// maxTradesPerQuery bounds one trades answer; "truncated" says so.
	maxTradesPerQuery = 1_000_000
)

func (s *Server) routesRegulator() {
	s.authed("GET /api/v1/regulator/book/{sym}", s.regulator(30*time.Second, s.getRegBook))
	s.authed("GET /api/v1/regulator/orders/{clordid}", s.regulator(60*time.Second, s.getRegOrders))
	s.authed("GET /api/v1/regulator/trades/{sym}", s.regulator(60*time.Second, s.getRegTrades))
	s.authed("GET /api/v1/regulator/verify", s.regulator(2*time.Minute, s.getRegVerify))
}

// regQuery is one regulator query's view of the journal.
type regQuery struct {
	j       *audit.Journal
	heads   []uint64 // each shard's last sequence in the view
	ctx     context.Context
	timeout time.Duration
}

// regulator wraps a regulator handler: role check (403 for everyone
// else), the ?timeout= bound, the one-at-a-time slot, the view.
func (s *Server) regulator(defTimeout time.Duration, h func(w http.ResponseWriter, r *http.Request, q *regQuery)) func(http.ResponseWriter, *http.Request, *Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) {
		if p.Role != config.RoleRegulator {
			writeProblem(w, r, forbidden("the regulator's API is for participants with the regulator role; "+p.ID+" is a "+p.Role))
			return
		}
		timeout := defTimeout
		if t := r.URL.Query().Get("timeout"); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil || d <= 0 || d > regulatorMaxTimeout {
				writeProblem(w, r, badRequest("timeout", fmt.Sprintf("timeout %q must be a duration from 1ms to %s, e.g. 90s", t, regulatorMaxTimeout)))
				return
			}
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		wait := time.NewTimer(regulatorWait)
		defer wait.Stop()
		select {
		case s.ops.regSlot <- struct{}{}:
			defer func() { <-s.ops.regSlot }()
		case <-wait.C:
			s.ops.regBusy.Add(1)
			w.Header().Set("Retry-After", "5")
			writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "regulator-busy", "Another regulator query is running",
				"regulator queries replay the journal and run one at a time; retry shortly"))
			return
		case <-ctx.Done():
			writeProblem(w, r, regTimeout(ctx, timeout, "waiting for another regulator query to finish"))
			return
		}
		view, err := s.v.AuditView(ctx)
		if err != nil {
			if ctx.Err() != nil {
				writeProblem(w, r, regTimeout(ctx, timeout, "waiting for the journal's view to become durable"))
				return
			}
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "journal-unavailable", "The journal cannot be read now", err.Error()))
			return
		}
		j, err := audit.FromReader(view, audit.Options{Logger: s.log, Context: ctx})
		if err != nil {
			view.Close()
			writeProblem(w, r, newProblem(http.StatusInternalServerError, "journal-unreadable", "The journal cannot be audited", err.Error()))
			return
		}
		defer j.Close()
		q := &regQuery{j: j, ctx: ctx, timeout: timeout}
		for si := range j.Shards() {
			q.heads = append(q.heads, j.ShardInfo(si).Head.Seq)
		}
		h(w, r, q)
	}
}

func regTimeout(ctx context.Context, timeout time.Duration, doing string) Problem {
	pr := newProblem(http.StatusGatewayTimeout, "regulator-timeout", "The regulator query ran out of time",
		fmt.Sprintf("stopped after %s while %s; ask again with a longer ?timeout= (at most %s)", timeout, doing, regulatorMaxTimeout))
	if errors.Is(ctx.Err(), context.Canceled) {
		pr.Detail = "the request was cancelled while " + doing
	}
	return pr
}

// problem maps an audit error to a problem.
func (q *regQuery) problem(err error, field string) Problem {
	switch {
	case errors.Is(err, audit.ErrStopped):
		return regTimeout(q.ctx, q.timeout, "replaying the journal")
	case errors.Is(err, audit.ErrNotFound):
		return notFound(strings.TrimPrefix(err.Error(), "audit: "))
	case errors.Is(err, audit.ErrUnknownParticipant), errors.Is(err, audit.ErrUnknownSymbol), errors.Is(err, audit.ErrBeyondHead):
		return badRequest(field, strings.TrimPrefix(err.Error(), "audit: "))
	}
	pr := newProblem(http.StatusInternalServerError, "journal-broken", "The journal does not replay", err.Error())
	if shard, seq, ok := journal.BadSeq(err); ok {
		pr.Extra = map[string]any{"shard": shard, "seq": seq}
	}
	return pr
}

// ---- book ----

type regLevel struct {
	Price  string `json:"price"`
	Qty    string `json:"qty"`
	Orders int    `json:"orders"`
}

type regBookOrder struct {
	Rank          int     `json:"rank"`
	Price         *string `json:"price"`
	Participant   string  `json:"participant"`
	OrderID       uint64  `json:"order_id"`
	ClientOrderID string  `json:"client_order_id"`
	Side          string  `json:"side"`
	Type          string  `json:"type"`
	TIF           string  `json:"tif"`
	OrderQty      string  `json:"qty"`
	LeavesQty     string  `json:"leaves_qty"`
	DisplayedQty  string  `json:"displayed_qty"`
	CumQty        string  `json:"cum_qty"`
	Account       *string `json:"account"`
	ExpireTime    *string `json:"expire_time"`
}

type regBook struct {
	Symbol       string     `json:"symbol"`
	Shard        uint16     `json:"shard"`
	Seq          uint64     `json:"seq"`
	Time         *string    `json:"time"`
	At           *string    `json:"at"`
	TradeDate    string     `json:"trade_date"`
	FromSnapshot uint64     `json:"from_snapshot"`
	ViewHeads    []uint64   `json:"view_heads"`
	Bids         []regLevel `json:"bids"`
	Asks         []regLevel `json:"asks"`
	Orders       struct {
		Bids []regBookOrder `json:"bids"`
		Asks []regBookOrder `json:"asks"`
	} `json:"orders"`
}

// getRegBook: the book (L2 and every resting order, L3) of a pair at
// ?at=RFC3339 (after the last command at or before it), or after
// ?seq=N of the pair's shard, or — with neither — as of the view.
func (s *Server) getRegBook(w http.ResponseWriter, r *http.Request, q *regQuery) {
	id, ok := s.symbolParam(w, r)
	if !ok {
		return
	}
	sym := s.v.Instruments()[id].Symbol
	at, seq := r.URL.Query().Get("at"), r.URL.Query().Get("seq")
	var b *audit.Book
	var err error
	field := "at"
	switch {
	case at != "" && seq != "":
		writeProblem(w, r, badRequest("seq", "give at or seq, not both"))
		return
	case at != "":
		t, perr := time.Parse(time.RFC3339Nano, at)
		if perr != nil {
			writeProblem(w, r, badRequest("at", fmt.Sprintf("at %q is not an RFC 3339 time such as 2026-03-03T14:30:00Z", at)))
			return
		}
		b, err = q.j.BookAtTime(sym, t)
	case seq != "":
		n, perr := strconv.ParseUint(seq, 10, 64)
		if perr != nil {
			writeProblem(w, r, badRequest("seq", fmt.Sprintf("seq %q is not a sequence number", seq)))
			return
		}
		field = "seq"
		b, err = q.j.BookAtSeq(sym, n)
	default:
		shard, _ := s.cfg.ShardOf(sym)
		b, err = q.j.BookAtSeq(sym, q.heads[shard])
	}
	if err != nil {
		writeProblem(w, r, q.problem(err, field))
		return
	}
	out := regBook{Symbol: b.Symbol, Shard: b.Shard, Seq: b.Seq, Time: optTime(b.Time), At: optTime(b.At),
		TradeDate: audit.FormatDate(b.TradeDate), FromSnapshot: b.FromSnapshot, ViewHeads: q.heads,
		Bids: regLevels(b.Bids, b.Decimals), Asks: regLevels(b.Asks, b.Decimals)}
	out.Orders.Bids = regOrders(b.BidOrders, b.Decimals)
	out.Orders.Asks = regOrders(b.AskOrders, b.Decimals)
	writeJSON(w, http.StatusOK, out)
}

func regLevels(ls []engine.Level, dec int) []regLevel {
	out := make([]regLevel, 0, len(ls))
	for _, l := range ls {
		out = append(out, regLevel{wire.FormatPrice(l.Price, dec), wire.FormatQty(l.Qty), int(l.Count)})
	}
	return out
}

func regOrders(os []audit.BookOrder, dec int) []regBookOrder {
	out := make([]regBookOrder, 0, len(os))
	for _, o := range os {
		out = append(out, regBookOrder{
			Rank: o.Rank, Price: optPrice(o.Price, dec), Participant: o.Participant, OrderID: uint64(o.OrderID),
			ClientOrderID: o.ClOrdID.String(), Side: o.Side.String(), Type: o.OrdType.String(), TIF: o.TIF.String(),
			OrderQty: wire.FormatQty(o.OrderQty), LeavesQty: wire.FormatQty(o.LeavesQty),
			DisplayedQty: wire.FormatQty(o.Displayed), CumQty: wire.FormatQty(o.CumQty),
			Account: optString(o.Account.String()), ExpireTime: optTime(o.ExpireTime),
		})
	}
	return out
}

func optTime(ns int64) *string {
	if ns == 0 {
		return nil
	}
	t := audit.FormatTime(ns)
	return &t
}

func optPrice(p engine.Price, dec int) *string {
	if p == 0 {
		return nil
	}
	s := wire.FormatPrice(p, dec)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ---- an order's life ----

type regEvent struct {
	Event             string  `json:"event"`
	Time              string  `json:"time"`
	Seq               uint64  `json:"seq"`
	ExecID            uint64  `json:"exec_id"`
	ClientOrderID     *string `json:"client_order_id"`
	OrigClientOrderID *string `json:"orig_client_order_id"`
	Price             *string `json:"price"`
	Qty               string  `json:"qty"`
	LeavesQty         string  `json:"leaves_qty"`
	CumQty            string  `json:"cum_qty"`
	Reason            *string `json:"reason"`
	TradeDate         string  `json:"trade_date"`
	// Fills only.
	LastQty      *string `json:"last_qty,omitempty"`
	LastPx       *string `json:"last_px,omitempty"`
	TradeID      uint64  `json:"trade_id,omitempty"`
	Counterparty *string `json:"counterparty,omitempty"`
	Aggressor    *bool   `json:"aggressor,omitempty"`
	ValueDate    string  `json:"value_date,omitempty"`
	// GTD orders.
	ExpireTime *string `json:"expire_time,omitempty"`
	Account    *string `json:"account,omitempty"`
}

type regOrder struct {
	OrderID     *uint64    `json:"order_id"`
	Shard       uint16     `json:"shard"`
	Symbol      *string    `json:"symbol"`
	Participant string     `json:"participant"`
	Side        string     `json:"side"`
	Type        string     `json:"type"`
	TIF         string     `json:"tif"`
	Events      []regEvent `json:"events"`
}

// getRegOrders: the whole life of every order ?party= ever named
// {clordid} (ClOrdIDs are unique per trading day only, and an order is
// found by any ClOrdID it carried through replaces), every event with its
// microsecond time and sequence.
func (s *Server) getRegOrders(w http.ResponseWriter, r *http.Request, q *regQuery) {
	party := r.URL.Query().Get("party")
	if party == "" {
		writeProblem(w, r, badRequest("party", "party is required: the participant ID whose ClOrdID this is (e.g. ?party=BANKA)"))
		return
	}
	clordid := r.PathValue("clordid")
	lives, err := q.j.OrdersByClOrdID(party, clordid)
	if err != nil {
		writeProblem(w, r, q.problem(err, "party"))
		return
	}
	out := struct {
		Party         string     `json:"party"`
		ClientOrderID string     `json:"client_order_id"`
		ViewHeads     []uint64   `json:"view_heads"`
		Orders        []regOrder `json:"orders"`
	}{Party: party, ClientOrderID: clordid, ViewHeads: q.heads, Orders: []regOrder{}}
	for _, l := range lives {
		o := regOrder{Shard: l.Shard, Symbol: optString(l.Symbol), Participant: l.Participant,
			Side: l.Side.String(), Type: l.OrdType.String(), TIF: l.TIF.String(), Events: []regEvent{}}
		if l.OrderID != 0 {
			id := uint64(l.OrderID)
			o.OrderID = &id
		}
		for k := range l.Events {
			o.Events = append(o.Events, regEventOf(&l.Events[k]))
		}
		out.Orders = append(out.Orders, o)
	}
	writeJSON(w, http.StatusOK, out)
}

func regEventOf(ev *audit.Event) regEvent {
	e := regEvent{
		Event: ev.Kind.String(), Time: audit.FormatTime(ev.Time), Seq: ev.Seq, ExecID: ev.ExecID,
		ClientOrderID: optString(ev.ClOrdID.String()), OrigClientOrderID: optString(ev.OrigClOrdID.String()),
		Price: optPrice(ev.Price, ev.Decimals), Qty: wire.FormatQty(ev.OrderQty),
		LeavesQty: wire.FormatQty(ev.LeavesQty), CumQty: wire.FormatQty(ev.CumQty),
		TradeDate: audit.FormatDate(ev.TradeDate), Account: optString(ev.Account.String()),
	}
	if ev.Reason != engine.ReasonNone {
		r := ev.Reason.String()
		e.Reason = &r
	}
	if ev.Kind == engine.EvFill {
		lq := wire.FormatQty(ev.LastQty)
		agg := ev.Aggressor
		cp := ev.Counterparty
		e.LastQty, e.LastPx, e.TradeID = &lq, optPrice(ev.LastPx, ev.Decimals), ev.TradeID
		e.Counterparty, e.Aggressor, e.ValueDate = &cp, &agg, audit.FormatDate(ev.SettlDate)
	}
	if ev.TIF == engine.GTD && ev.ExpireTime != 0 {
		e.ExpireTime = optTime(ev.ExpireTime)
	}
	return e
}

// ---- trades ----

type regTradeSide struct {
	Participant   string  `json:"participant"`
	OrderID       uint64  `json:"order_id"`
	ClientOrderID string  `json:"client_order_id"`
	Account       *string `json:"account"`
}

type regTrade struct {
	TradeID       uint64       `json:"trade_id"`
	Time          string       `json:"time"`
	Seq           uint64       `json:"seq"`
	Shard         uint16       `json:"shard"`
	Symbol        string       `json:"symbol"`
	Price         string       `json:"price"`
	Qty           string       `json:"qty"`
	AggressorSide string       `json:"aggressor_side"`
	Buyer         regTradeSide `json:"buyer"`
	Seller        regTradeSide `json:"seller"`
	TradeDate     string       `json:"trade_date"`
	ValueDate     string       `json:"value_date"`
}

// getRegTrades streams every trade of a pair with both counterparties,
// ?from= (inclusive) to ?to= (exclusive), RFC 3339, either end open, at
// most ?limit= (default and maximum maxTradesPerQuery). The body is one
// JSON object written as the journal is read, so a long answer starts at
// once: {"symbol","from","to","view_heads","trades":[…],"truncated",
// "complete","error"?}. The status is sent before the walk ends, so a walk
// stopped by the timeout (or a journal that does not read) still answers
// 200 and says so in "complete": false and "error".
func (s *Server) getRegTrades(w http.ResponseWriter, r *http.Request, q *regQuery) {
	id, ok := s.symbolParam(w, r)
	if !ok {
		return
	}
	sym := s.v.Instruments()[id].Symbol
	f := audit.TradeFilter{Symbol: sym}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeProblem(w, r, badRequest(p.name, fmt.Sprintf("%s %q is not an RFC 3339 time such as 2026-03-03T14:30:00Z", p.name, v)))
			return
		}
		*p.dst = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		writeProblem(w, r, badRequest("to", "to must be after from"))
		return
	}
	limit, ok := intQuery(w, r, "limit", maxTradesPerQuery, 1, maxTradesPerQuery)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	head := struct {
		Symbol    string   `json:"symbol"`
		From      *string  `json:"from"`
		To        *string  `json:"to"`
		ViewHeads []uint64 `json:"view_heads"`
	}{Symbol: sym, ViewHeads: q.heads}
	if !f.From.IsZero() {
		head.From = optTime(f.From.UnixNano())
	}
	if !f.To.IsZero() {
		head.To = optTime(f.To.UnixNano())
	}
	hb, _ := json.Marshal(head)
	buf := append(hb[:len(hb)-1:len(hb)-1], `,"trades":[`...)
	n := 0
	errLimit := errors.New("limit reached")
	err := q.j.Trades(f, func(t *audit.Trade) error {
		if n == limit {
			return errLimit
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		b, _ := json.Marshal(regTradeOf(t))
		buf = append(buf, b...)
		n++
		if len(buf) > 32<<10 {
			if _, werr := w.Write(buf); werr != nil {
				return werr
			}
			buf = buf[:0]
			if fl != nil {
				fl.Flush()
			}
		}
		return nil
	})
	truncated := errors.Is(err, errLimit)
	if truncated {
		err = nil
	}
	buf = append(buf, "\n],\"truncated\":"...)
	buf = strconv.AppendBool(buf, truncated)
	buf = append(buf, `,"complete":`...)
	buf = strconv.AppendBool(buf, err == nil)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, audit.ErrStopped) {
			msg = "stopped by the timeout after " + strconv.Itoa(n) + " trades; ask again with a longer ?timeout= or a narrower from/to: " + msg
		}
		mb, _ := json.Marshal(msg)
		buf = append(buf, `,"error":`...)
		buf = append(buf, mb...)
	}
	buf = append(buf, "}\n"...)
	w.Write(buf)
}

func regTradeOf(t *audit.Trade) regTrade {
	side := func(s *audit.TradeSide) regTradeSide {
		return regTradeSide{Participant: s.Participant, OrderID: uint64(s.OrderID), ClientOrderID: s.ClOrdID, Account: optString(s.Account)}
	}
	return regTrade{
		TradeID: t.TradeID, Time: audit.FormatTime(t.Time), Seq: t.Seq, Shard: t.Shard, Symbol: t.Symbol,
		Price: wire.FormatPrice(t.Price, t.Decimals), Qty: wire.FormatQty(t.Qty), AggressorSide: t.AggressorSide.String(),
		Buyer: side(&t.Buyer), Seller: side(&t.Seller),
		TradeDate: audit.FormatDate(t.TradeDate), ValueDate: audit.FormatDate(t.ValueDate),
	}
}

// ---- verify ----

type regShardReport struct {
	Shard     uint16   `json:"shard"`
	Symbols   []string `json:"symbols"`
	ViewHead  uint64   `json:"view_head_seq"`
	HeadSeq   uint64   `json:"head_seq"`
	HeadHash  string   `json:"head_hash"`
	Records   uint64   `json:"records"`
	Events    uint64   `json:"events"`
	Snapshots int      `json:"snapshots_checked"`
	Result    string   `json:"result"` // ok, broken, stopped
	Error     *string  `json:"error"`
	BadSeq    *uint64  `json:"bad_seq,omitempty"`
}

// getRegVerify proves the journal as of the view, shard by shard from
// genesis: the hash chain, every command re-executed with its events
// reproduced byte for byte, every stored snapshot equal to the replayed
// state. It answers 200 with the verdict: "intact" (no break found),
// "complete" (every shard verified to its view head: false when the
// timeout stopped it, and then head_seq/head_hash are the last record
// proven) and each shard's chain head, which a regulator writes down: a
// later verify must reach the same hash at the same sequence.
func (s *Server) getRegVerify(w http.ResponseWriter, r *http.Request, q *regQuery) {
	t0 := time.Now()
	rep, err := q.j.Verify()
	if err != nil && !errors.Is(err, audit.ErrStopped) {
		writeProblem(w, r, q.problem(err, ""))
		return
	}
	out := struct {
		Intact    bool             `json:"intact"`
		Complete  bool             `json:"complete"`
		Detail    string           `json:"detail"`
		TookMs    int64            `json:"took_ms"`
		Shards    []regShardReport `json:"shards"`
		ViewHeads []uint64         `json:"view_heads"`
	}{Intact: rep.Err() == nil, Complete: rep.Complete(), TookMs: time.Since(t0).Milliseconds(), ViewHeads: q.heads}
	for _, sr := range rep.Shards {
		x := regShardReport{Shard: sr.Shard, Symbols: sr.Symbols, ViewHead: q.heads[sr.Shard], HeadSeq: sr.Head.Seq,
			HeadHash: fmt.Sprintf("%x", sr.Head.Hash), Records: sr.Records, Events: sr.Events, Snapshots: len(sr.Snapshots), Result: "ok"}
		if x.Symbols == nil {
			x.Symbols = []string{}
		}
		switch {
		case sr.Err != nil:
			x.Result = "broken"
			msg := sr.Err.Error()
			x.Error = &msg
			if _, seq, ok := journal.BadSeq(sr.Err); ok {
				x.BadSeq = &seq
			}
		case sr.Stopped:
			x.Result = "stopped"
		}
		out.Shards = append(out.Shards, x)
	}
	switch {
	case !out.Intact:
		shard, seq, _ := journal.BadSeq(rep.Err())
		out.Detail = fmt.Sprintf("FAILED: the first break is at shard %d seq %d", shard, seq)
	case !out.Complete:
		out.Detail = "incomplete: the timeout stopped verification; no break was found in the records verified (see each shard's head_seq against view_head_seq); ask again with a longer ?timeout="
	default:
		out.Detail = "ok: every hash link checked from genesis, every command re-executed and its events reproduced byte for byte, every stored snapshot equal to the replayed state"
	}
	writeJSON(w, http.StatusOK, out)
}
