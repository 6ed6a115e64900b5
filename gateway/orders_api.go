package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/engine"
	"fxmatch/gateway/wire"
)

// Orders over HTTP. The edge checks only what it must to build an
// engine.Command — JSON types, decimal syntax, names it has to translate
// (symbol, participant) — and leaves every trading rule (lot, tick, band,
// minimum, time in force, post-only, …) to the engine, whose reject comes
// back as a 422 problem with the engine's reason. Each request then waits
// (Options.OrderTimeout) for its durable outcome from the participant's
// own event feed (waiters.go).

// orderBody is POST /orders. Pointers tell a missing member from a given
// one.
type orderBody struct {
	ClientOrderID *string `json:"client_order_id"`
	Symbol        *string `json:"symbol"`
	Side          *string `json:"side"`
	Type          *string `json:"type"`
	Qty           *string `json:"qty"`
	Price         *string `json:"price"`
	TIF           *string `json:"tif"`
	ExpireTime    *string `json:"expire_time"`
	MinQty        *string `json:"min_qty"`
	MaxFloor      *string `json:"max_floor"`
	PostOnly      *bool   `json:"post_only"`
	DirectedTo    *string `json:"directed_to"`
}

// replaceBody is PATCH /orders/{id}.
type replaceBody struct {
	NewClientOrderID *string `json:"new_client_order_id"`
	Qty              *string `json:"qty"`
	Price            *string `json:"price"`
}

var tifs = map[string]engine.TIF{"day": engine.Day, "gtc": engine.GTC, "ioc": engine.IOC, "fok": engine.FOK, "gtd": engine.GTD}

// mustTrade refuses principals that may not send orders.
func mustTrade(w http.ResponseWriter, r *http.Request, p *Principal) bool {
	if p.CanTrade() {
		return true
	}
	writeProblem(w, r, forbidden(p.ID+" is a "+p.Role+": read-only participants may not send, cancel or replace orders"))
	return false
}

// rejected is the 422 problem of an order or request the engine (or
// pre-trade scoring) refused.
func (s *Server) rejected(reason engine.Reason, field, detail string) Problem {
	p := newProblem(http.StatusUnprocessableEntity, "order-rejected", "Order rejected", detail)
	p.Reason, p.Field = reason.String(), field
	return p
}

// checkClientID checks a client-chosen id.
func checkClientID(field, id string) (Problem, bool) {
	switch {
	case id == "":
		return badRequest(field, field+" must not be empty (leave it out to have one made)"), false
	case len(id) > engine.MaxIDLen:
		return badRequest(field, field+" is longer than "+strconv.Itoa(engine.MaxIDLen)+" bytes"), false
	case strings.HasPrefix(id, reservedPrefix):
		return badRequest(field, field+" may not start with "+strconv.Quote(reservedPrefix)+" (reserved for the venue's own requests)"), false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return badRequest(field, field+" must be printable ASCII without spaces (byte "+strconv.Itoa(i)+" is not)"), false
		}
	}
	return Problem{}, true
}

// newClientID makes a client order id for a request that has none.
func newClientID() string {
	var b [10]byte
	rand.Read(b[:])
	return "api-" + hex.EncodeToString(b[:])
}

var reqCounter atomic.Uint64

func init() { reqCounter.Store(uint64(time.Now().UnixNano())) }

// newRequestID makes the ClOrdID of the gateway's own cancel requests:
// unique for the day (a clock-seeded counter) and in the reserved prefix.
func newRequestID() string {
	return reservedPrefix + strconv.FormatUint(reqCounter.Add(1), 36)
}

// parseQtyField reads a quantity member.
func parseQtyField(field, v string) (engine.Qty, Problem, bool) {
	q, err := wire.ParseQty(v)
	if err != nil {
		return 0, badRequest(field, field+" "+strconv.Quote(v)+" is not a whole number of base-currency units as a string, such as \"5000000\""), false
	}
	return q, Problem{}, true
}

// parsePriceField reads a price member. More decimals than the venue's
// fixed point holds can only be off the tick: that is the engine's
// price-not-tick, said at the edge because such a price cannot be sent.
func (s *Server) parsePriceField(field, v string, id engine.InstrumentID) (engine.Price, Problem, bool) {
	px, err := wire.ParsePrice(v)
	if err == nil {
		return px, Problem{}, true
	}
	if ip, fp, ok := strings.Cut(v, "."); ok && len(fp) > engine.PriceDecimals && ip != "" && allDigits(ip) && allDigits(fp) {
		tick := wire.FormatPrice(s.insts[id].inst.Tick, 0)
		return 0, s.rejected(engine.ReasonPriceNotTick, field, "tick: "+field+" "+v+" is not a multiple of the tick "+tick), false
	}
	return 0, badRequest(field, field+" "+strconv.Quote(v)+" is not a decimal price as a string, such as \"7.1020\""), false
}

// buildOrder checks the body and builds the command.
func (s *Server) buildOrder(p *Principal, b *orderBody) (engine.Command, *orderExtra, Problem, bool) {
	cmd := engine.Command{Kind: engine.CmdNewOrder, Party: p.Party, OrdType: engine.Limit, TIF: engine.Day}
	extra := &orderExtra{}
	id := ""
	if b.ClientOrderID != nil {
		if pr, ok := checkClientID("client_order_id", *b.ClientOrderID); !ok {
			return cmd, nil, pr, false
		}
		id = *b.ClientOrderID
	} else {
		id = newClientID()
	}
	cmd.ClOrdID = engine.MustID(id)
	if b.Symbol == nil {
		return cmd, nil, badRequest("symbol", "symbol is required (e.g. \"USD/CNY\")"), false
	}
	inst, ok := s.names.Instrument(*b.Symbol)
	if !ok {
		if inst, ok = s.instrumentByCode(*b.Symbol); !ok {
			return cmd, nil, s.rejected(engine.ReasonUnknownSymbol, "symbol", "unknown symbol "+strconv.Quote(*b.Symbol)+" (GET /api/v1/instruments lists the venue's symbols)"), false
		}
	}
	cmd.Instrument = inst
	if b.Side == nil {
		return cmd, nil, badRequest("side", "side is required: \"buy\" or \"sell\""), false
	}
	switch *b.Side {
	case "buy":
		cmd.Side = engine.Buy
	case "sell":
		cmd.Side = engine.Sell
	default:
		return cmd, nil, badRequest("side", "side "+strconv.Quote(*b.Side)+" must be \"buy\" or \"sell\""), false
	}
	if b.Type != nil {
		switch *b.Type {
		case "limit":
		case "market":
			cmd.OrdType = engine.Market
		default:
			return cmd, nil, badRequest("type", "type "+strconv.Quote(*b.Type)+" must be \"limit\" or \"market\""), false
		}
	}
	if b.Qty == nil {
		return cmd, nil, badRequest("qty", "qty is required: a whole number of base-currency units as a string, such as \"5000000\""), false
	}
	var pr Problem
	if cmd.Qty, pr, ok = parseQtyField("qty", *b.Qty); !ok {
		return cmd, nil, pr, false
	}
	if b.Price != nil {
		if cmd.Price, pr, ok = s.parsePriceField("price", *b.Price, inst); !ok {
			return cmd, nil, pr, false
		}
	} else if cmd.OrdType == engine.Limit {
		return cmd, nil, badRequest("price", "price is required for a limit order (a decimal string such as \"7.1020\")"), false
	}
	if b.TIF != nil {
		t, ok := tifs[*b.TIF]
		if !ok {
			return cmd, nil, badRequest("tif", "tif "+strconv.Quote(*b.TIF)+" must be one of day, gtc, ioc, fok, gtd"), false
		}
		cmd.TIF = t
	}
	if b.ExpireTime != nil {
		t, err := time.Parse(time.RFC3339Nano, *b.ExpireTime)
		if err != nil {
			return cmd, nil, badRequest("expire_time", "expire_time "+strconv.Quote(*b.ExpireTime)+" is not an RFC 3339 time such as \"2026-11-25T21:00:00Z\""), false
		}
		cmd.ExpireTime = t.UnixNano()
	}
	if b.MinQty != nil {
		if cmd.MinQty, pr, ok = parseQtyField("min_qty", *b.MinQty); !ok {
			return cmd, nil, pr, false
		}
		extra.minQty = cmd.MinQty
	}
	if b.MaxFloor != nil {
		if cmd.MaxFloor, pr, ok = parseQtyField("max_floor", *b.MaxFloor); !ok {
			return cmd, nil, pr, false
		}
		extra.maxFloor = cmd.MaxFloor
	}
	if b.PostOnly != nil {
		cmd.PostOnly = *b.PostOnly
		extra.postOnly = cmd.PostOnly
	}
	if b.DirectedTo != nil {
		d, ok := s.names.PartyID(*b.DirectedTo)
		if !ok {
			return cmd, nil, s.rejected(engine.ReasonUnknownDirected, "directed_to", "directed: directed_to "+strconv.Quote(*b.DirectedTo)+" is not a participant of the venue"), false
		}
		cmd.Directed = d
		extra.directed = d
	}
	return cmd, extra, Problem{}, true
}

func (s *Server) origin(r *http.Request, p *Principal) venue.Origin {
	return venue.Origin{Channel: "http", Source: r.RemoteAddr, Session: "token:" + p.ID + ":" + p.TokenID}
}

// submitProblem is the problem for a command the venue did not take.
func submitProblem(w http.ResponseWriter, err error) Problem {
	var block *venue.RiskBlock
	switch {
	case errors.As(err, &block):
		p := newProblem(http.StatusUnprocessableEntity, "order-rejected", "Order rejected", block.Error())
		p.Reason = engine.ReasonRisk.String()
		p.Extra = map[string]any{"risk_reasons": block.Reasons, "risk_score": block.Score}
		return p
	case errors.Is(err, venue.ErrBusy):
		w.Header().Set("Retry-After", "1")
		p := newProblem(http.StatusServiceUnavailable, "busy", "Venue busy", wire.ReasonText(engine.ReasonBusy))
		p.Reason = engine.ReasonBusy.String()
		return p
	case errors.Is(err, venue.ErrUnavailable):
		p := newProblem(http.StatusServiceUnavailable, "unavailable", "Venue unavailable", wire.ReasonText(engine.ReasonUnavailable))
		p.Reason = engine.ReasonUnavailable.String()
		return p
	}
	return newProblem(http.StatusInternalServerError, "internal", "Internal error", "the venue did not take the request: "+err.Error())
}

// awaitProblem is the problem when no outcome came.
func awaitProblem(err error, id string) Problem {
	if errors.Is(err, context.DeadlineExceeded) {
		return newProblem(http.StatusGatewayTimeout, "outcome-unknown", "Outcome not known yet",
			"the request was taken but its outcome was not durable within the wait; GET /api/v1/orders/"+url.PathEscape(id)+" tells it")
	}
	return newProblem(http.StatusServiceUnavailable, "unavailable", "Shutting down", "the gateway is shutting down; the request's outcome is unknown, GET /api/v1/orders/"+url.PathEscape(id)+" after restart tells it")
}

func (s *Server) postOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	arrived := time.Now() // fxmatch_http_order_ack_seconds (metrics.go)
	if !mustTrade(w, r, p) {
		return
	}
	var b orderBody
	if !s.decodeJSON(w, r, &b) {
		return
	}
	cmd, extra, pr, ok := s.buildOrder(p, &b)
	if !ok {
		writeProblem(w, r, pr)
		return
	}
	ps := s.parties[p.Party]
	id := cmd.ClOrdID.String()
	wt, err := ps.register(id, extra)
	if err != nil {
		writeProblem(w, r, newProblem(http.StatusConflict, "in-flight", "Request in flight", "a request with client_order_id "+strconv.Quote(id)+" is still waiting for its outcome"))
		return
	}
	if err := s.v.SubmitOrder(r.Context(), &cmd, s.origin(r, p)); err != nil {
		ps.unregister(wt)
		writeProblem(w, r, submitProblem(w, err))
		return
	}
	o, err := s.await(r.Context(), ps, wt)
	if err != nil {
		writeProblem(w, r, awaitProblem(err, id))
		return
	}
	s.observeOrderAck(arrived)
	if o.ev.Kind == engine.EvRejected {
		writeProblem(w, r, s.rejectProblem(p, &cmd, o.ev.Reason))
		return
	}
	w.Header().Set("Location", "/api/v1/orders/"+url.PathEscape(id))
	writeJSON(w, http.StatusCreated, o.rec)
}

// rejectProblem says an engine reject in words that name the member and
// the values the rule concerns.
func (s *Server) rejectProblem(p *Principal, cmd *engine.Command, r engine.Reason) Problem {
	in := &s.insts[cmd.Instrument].inst
	dec := engine.TickDecimals(in.Tick)
	px := func(v engine.Price) string { return wire.FormatPrice(v, dec) }
	q := wire.FormatQty
	field, words := reasonField(r), wire.ReasonText(r)
	kw := ""
	if k := r.Keyword(); k != "" {
		kw = k + ": "
	}
	switch r {
	case engine.ReasonPriceNotTick:
		words = kw + "price " + wire.FormatPrice(cmd.Price, 0) + " is not a multiple of the tick " + wire.FormatPrice(in.Tick, 0)
	case engine.ReasonPriceNotPositive:
		words = kw + "price " + px(cmd.Price) + " is not positive"
	case engine.ReasonPriceOutsideBand:
		ref := s.insts[cmd.Instrument].refPrice()
		lo, hi := in.Band(ref)
		words = kw + "price " + px(cmd.Price) + " is outside the price band " + px(lo) + " to " + px(hi) +
			" (±" + strconv.FormatFloat(float64(in.BandBP)/100, 'f', -1, 64) + "% around the reference price " + px(ref) + ")"
	case engine.ReasonQtyNotLot:
		words = "qty " + q(cmd.Qty) + " is not a multiple of the lot " + q(in.Lot)
	case engine.ReasonQtyBelowMin:
		words = "qty " + q(cmd.Qty) + " is below the minimum " + q(in.MinQty)
	case engine.ReasonQtyAboveMax:
		words = "qty " + q(cmd.Qty) + " exceeds the maximum " + q(in.MaxQty)
	case engine.ReasonDuplicateClOrdID:
		f := "client_order_id"
		if cmd.Kind == engine.CmdReplace {
			f = "new_client_order_id"
		}
		field = f
		words = f + " " + strconv.Quote(cmd.ClOrdID.String()) + " has already been used by " + p.ID + " today"
	case engine.ReasonReadOnly:
		words = kw + p.ID + " is read-only and may not trade"
	}
	return s.rejected(r, field, words)
}

// reasonField names the member a reject reason is about.
func reasonField(r engine.Reason) string {
	switch r {
	case engine.ReasonUnknownSymbol, engine.ReasonReplaceMismatch:
		return "symbol"
	case engine.ReasonDuplicateClOrdID, engine.ReasonBadClOrdID:
		return "client_order_id"
	case engine.ReasonBadSide:
		return "side"
	case engine.ReasonBadOrdType, engine.ReasonPostOnlyMarket:
		return "type"
	case engine.ReasonBadTIF:
		return "tif"
	case engine.ReasonQtyNotPositive, engine.ReasonQtyNotLot, engine.ReasonQtyBelowMin, engine.ReasonQtyAboveMax, engine.ReasonReplaceBelowCum:
		return "qty"
	case engine.ReasonMinQtyInvalid:
		return "min_qty"
	case engine.ReasonMaxFloorInvalid, engine.ReasonIcebergNotResting:
		return "max_floor"
	case engine.ReasonPriceNotPositive, engine.ReasonPriceNotTick, engine.ReasonPriceOutsideBand, engine.ReasonMarketWithPrice:
		return "price"
	case engine.ReasonPostOnlyWouldTake:
		return "post_only"
	case engine.ReasonGTDNoExpiry, engine.ReasonExpiryNotGTD:
		return "expire_time"
	case engine.ReasonUnknownDirected:
		return "directed_to"
	}
	return ""
}

// lookup finds one of the caller's orders by any id it has had and calls
// read with it under the table's lock, the only place a record may be
// read: the table reuses the records it forgets (partyState.free), so a
// pointer kept past the lock could come to show another order. Another
// participant's id is simply not in the caller's table.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, p *Principal, read func(*orderRec)) (*partyState, bool) {
	ps := s.parties[p.Party]
	id := r.PathValue("id")
	ps.mu.Lock()
	rec := ps.byKey[id]
	if rec != nil {
		read(rec)
	}
	ps.mu.Unlock()
	if rec == nil {
		writeProblem(w, r, notFound(p.ID+" has no order with client_order_id "+strconv.Quote(id)+" today"))
		return nil, false
	}
	return ps, true
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	var v orderJSON
	if _, ok := s.lookup(w, r, p, func(rec *orderRec) { v = s.view(rec, 0) }); !ok {
		return
	}
	writeJSON(w, http.StatusOK, v)
}

const (
	listDefault = 1000
	listMax     = ordersKept
)

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request, p *Principal) {
	status := r.URL.Query().Get("status")
	switch status {
	case "", "all", "live", "done":
	default:
		writeProblem(w, r, badRequest("status", "status "+strconv.Quote(status)+" must be live, done or all"))
		return
	}
	limit, ok := intQuery(w, r, "limit", listDefault, 1, listMax)
	if !ok {
		return
	}
	ps := s.parties[p.Party]
	out := make([]orderJSON, 0, 16)
	ps.mu.Lock()
	for i := len(ps.list) - 1; i >= 0 && len(out) < limit; i-- {
		rec := ps.list[i]
		if rec == nil || (status == "live" && !rec.live) || (status == "done" && rec.live) {
			continue
		}
		v := s.view(rec, 0)
		v.Fills = nil // GET /orders/{id} lists them
		out = append(out, v)
	}
	ps.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !mustTrade(w, r, p) {
		return
	}
	var cmd engine.Command
	ps, ok := s.lookup(w, r, p, func(rec *orderRec) {
		cmd = engine.Command{Kind: engine.CmdCancel, Party: p.Party, Instrument: rec.inst, Side: rec.side, OrigClOrdID: rec.cur}
	})
	if !ok {
		return
	}
	reqID := newRequestID()
	cmd.ClOrdID = engine.MustID(reqID)
	s.request(w, r, p, ps, &cmd, reqID, r.PathValue("id"), false)
}

func (s *Server) replaceOrder(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !mustTrade(w, r, p) {
		return
	}
	var b replaceBody
	if !s.decodeJSON(w, r, &b) {
		return
	}
	var cmd engine.Command
	ps, ok := s.lookup(w, r, p, func(rec *orderRec) {
		cmd = engine.Command{Kind: engine.CmdReplace, Party: p.Party, Instrument: rec.inst, Side: rec.side,
			OrdType: rec.ordType, TIF: rec.tif, OrigClOrdID: rec.cur, Qty: rec.qty, Price: rec.price}
	})
	if !ok {
		return
	}
	if b.Qty == nil && b.Price == nil {
		writeProblem(w, r, badRequest("", "a replace needs qty, price or both"))
		return
	}
	newID := ""
	if b.NewClientOrderID != nil {
		if pr, ok := checkClientID("new_client_order_id", *b.NewClientOrderID); !ok {
			writeProblem(w, r, pr)
			return
		}
		newID = *b.NewClientOrderID
	} else {
		newID = newClientID()
	}
	cmd.ClOrdID = engine.MustID(newID)
	var pr Problem
	if b.Qty != nil {
		if cmd.Qty, pr, ok = parseQtyField("qty", *b.Qty); !ok {
			writeProblem(w, r, pr)
			return
		}
	}
	if b.Price != nil {
		if cmd.Price, pr, ok = s.parsePriceField("price", *b.Price, cmd.Instrument); !ok {
			writeProblem(w, r, pr)
			return
		}
	}
	s.request(w, r, p, ps, &cmd, newID, newID, true)
}

// request submits a cancel or replace and answers with its outcome.
func (s *Server) request(w http.ResponseWriter, r *http.Request, p *Principal, ps *partyState, cmd *engine.Command, key, orderID string, replace bool) {
	wt, err := ps.register(key, nil)
	if err != nil {
		writeProblem(w, r, newProblem(http.StatusConflict, "in-flight", "Request in flight", "a request with id "+strconv.Quote(key)+" is still waiting for its outcome"))
		return
	}
	if replace {
		err = s.v.SubmitOrder(r.Context(), cmd, s.origin(r, p))
	} else {
		err = s.v.Submit(cmd)
	}
	if err != nil {
		ps.unregister(wt)
		writeProblem(w, r, submitProblem(w, err))
		return
	}
	o, err := s.await(r.Context(), ps, wt)
	if err != nil {
		writeProblem(w, r, awaitProblem(err, orderID))
		return
	}
	if o.ev.Kind != engine.EvCancelRejected {
		writeJSON(w, http.StatusOK, o.rec)
		return
	}
	orig := r.PathValue("id")
	switch o.ev.Reason {
	case engine.ReasonUnknownOrder:
		writeProblem(w, r, notFound(p.ID+" has no order with client_order_id "+strconv.Quote(orig)))
	case engine.ReasonTooLate:
		pr := newProblem(http.StatusConflict, "too-late", "Order no longer live",
			"too late: order "+strconv.Quote(orig)+" is no longer live (filled, cancelled or expired)")
		pr.Reason = engine.ReasonTooLate.String()
		writeProblem(w, r, pr)
	default:
		pr := s.rejectProblem(p, cmd, o.ev.Reason)
		pr.Title = "Request refused"
		pr.Type = problemBase + "request-refused"
		if o.ev.Reason == engine.ReasonReplaceBelowCum {
			pr.Detail = "the new qty " + wire.FormatQty(cmd.Qty) + " is not above the quantity already filled (" + wire.FormatQty(o.ev.CumQty) + ")"
		}
		writeProblem(w, r, pr)
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
