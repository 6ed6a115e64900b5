package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/store"
	"fxmatch/gateway/wire"
)

// The storefront's routes: the brokers' stores and listings
// (gateway/store does the work), the assistant's endpoints (asked over
// NATS), and the storefront's own files (gateway/web).

// storeGroup is the state of the store routes.
type storeGroup struct {
	st *store.Store
	// err is why the stores could not be opened; every store route then
	// answers 503 with it rather than the server refusing to start.
	err error
	as  AssistantRequester
}

// routesStore registers the stores, listings and assistant routes and the
// storefront's pages.
func (s *Server) routesStore() {
	g := &storeGroup{as: s.opts.Assistant}
	if g.as == nil && s.bus != nil {
		g.as = NATSAssistant{NC: s.bus}
	}
	g.st, g.err = store.Open(s.v, store.Options{Logger: s.log, Timeout: s.opts.OrderTimeout, Now: s.opts.Now})
	if g.err != nil {
		s.log.Error("gateway: the brokers' stores could not be opened; store routes answer 503", "err", g.err)
	} else {
		// The server's context ends at Close: stop following the venue.
		s.wg.Go(func() {
			<-s.ctx.Done()
			g.st.Close()
		})
	}
	s.stores = g
	s.authed("GET /api/v1/stores", s.getStores)
	s.authed("GET /api/v1/stores/{broker}", s.getStore)
	s.authed("PUT /api/v1/stores/{broker}/listings/{sym}", s.putListing)
	s.authed("DELETE /api/v1/stores/{broker}/listings/{sym}", s.deleteListing)
	s.authed("POST /api/v1/stores/{broker}/listings/{sym}/hit", s.hitListing)
	s.authed("POST /api/v1/assistant/recommend", s.assistantRecommend)
	s.authed("POST /api/v1/assistant/score", s.assistantScore)
	s.authed("POST /api/v1/assistant/chat", s.assistantChat)
	s.routesWeb()
}

// ---- JSON shapes ----

type tierSideJSON struct {
	State   string `json:"state"` // live | filled
	Px      string `json:"px"`
	Leaves  string `json:"leaves"`
	Cum     string `json:"cum"`
	ClOrdID string `json:"cl_ord_id"`
	OrderID string `json:"order_id"`
}

type tierJSON struct {
	Qty string        `json:"qty"`
	Bid *tierSideJSON `json:"bid"`
	Ask *tierSideJSON `json:"ask"`
}

type listingJSON struct {
	Broker  string     `json:"broker"`
	Symbol  string     `json:"symbol"`
	Code    string     `json:"code"`
	Updated string     `json:"updated,omitempty"`
	Tiers   []tierJSON `json:"tiers"`
}

type storePositionJSON struct {
	Symbol     string `json:"symbol"`
	Qty        string `json:"qty"`
	Bought     string `json:"bought"`
	Sold       string `json:"sold"`
	Cash       string `json:"cash"`
	Mark       string `json:"mark"`
	MarkSource string `json:"mark_source"`
	PnL        string `json:"pnl"`
	Currency   string `json:"currency"`
}

type storeFillJSON struct {
	Time         string `json:"time"`
	Symbol       string `json:"symbol"`
	Side         string `json:"side"`
	Qty          string `json:"qty"`
	Px           string `json:"px"`
	ClOrdID      string `json:"cl_ord_id"`
	Counterparty string `json:"counterparty,omitempty"`
	Listing      bool   `json:"listing"`
}

type storeJSON struct {
	Broker    string              `json:"broker"`
	Listings  []listingJSON       `json:"listings"`
	Positions []storePositionJSON `json:"positions,omitempty"`
	Fills     []storeFillJSON     `json:"fills,omitempty"`
}

func (s *Server) storePx(id engine.InstrumentID, p engine.Price) string {
	return wire.FormatPrice(p, engine.TickDecimals(s.v.Instruments()[id].Tick))
}

func (s *Server) listingJSON(l store.Listing) listingJSON {
	out := listingJSON{Broker: l.Broker, Symbol: l.Symbol, Code: wire.SymbolCode(l.Symbol), Tiers: []tierJSON{}}
	if l.Updated != 0 {
		out.Updated = fmtTime(l.Updated)
	}
	side := func(sd *store.Side) *tierSideJSON {
		if sd == nil {
			return nil
		}
		return &tierSideJSON{
			State: string(sd.State), Px: s.storePx(l.Instrument, sd.Price), Leaves: fmtQty(sd.Leaves), Cum: fmtQty(sd.Cum),
			ClOrdID: sd.ClOrdID, OrderID: fmt.Sprint(uint64(sd.OrderID)),
		}
	}
	for _, t := range l.Tiers {
		out.Tiers = append(out.Tiers, tierJSON{Qty: fmtQty(t.Qty), Bid: side(t.Bid), Ask: side(t.Ask)})
	}
	return out
}

func (s *Server) storeJSON(v store.View) storeJSON {
	out := storeJSON{Broker: v.Broker, Listings: []listingJSON{}}
	for _, l := range v.Listings {
		out.Listings = append(out.Listings, s.listingJSON(l))
	}
	if !v.Private {
		return out
	}
	out.Positions, out.Fills = []storePositionJSON{}, []storeFillJSON{}
	for _, p := range v.Positions {
		id, _ := s.v.Instrument(p.Symbol)
		out.Positions = append(out.Positions, storePositionJSON{
			Symbol: p.Symbol, Qty: fmt.Sprint(p.Qty), Bought: fmtQty(p.Bought), Sold: fmtQty(p.Sold),
			Cash: p.Cash.StringFixed(2), Mark: s.storePx(id, p.Mark), MarkSource: p.MarkSource,
			PnL: p.PnL.StringFixed(2), Currency: p.Currency,
		})
	}
	for _, f := range v.Fills {
		id, _ := s.v.Instrument(f.Symbol)
		out.Fills = append(out.Fills, storeFillJSON{
			Time: fmtTime(f.Time), Symbol: f.Symbol, Side: f.Side.String(), Qty: fmtQty(f.Qty),
			Px: s.storePx(id, f.Price), ClOrdID: f.ClOrdID, Counterparty: f.Counterparty, Listing: f.Listing,
		})
	}
	return out
}

// ---- handlers ----

// storeReady writes 503 if the stores could not be opened.
func (s *Server) storeReady(w http.ResponseWriter, r *http.Request) bool {
	if s.stores.err != nil {
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "stores-unavailable", "Stores unavailable",
			"the brokers' stores could not be opened: "+s.stores.err.Error()))
		return false
	}
	return true
}

func (s *Server) getStores(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !s.storeReady(w, r) {
		return
	}
	out := []storeJSON{}
	for _, b := range s.stores.st.Brokers() {
		v, err := s.stores.st.Get(b, false)
		if err != nil {
			s.storeProblem(w, r, err, "")
			return
		}
		out = append(out, s.storeJSON(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"stores": out})
}

func (s *Server) getStore(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !s.storeReady(w, r) {
		return
	}
	b := r.PathValue("broker")
	// Positions and fills are the broker's own business.
	v, err := s.stores.st.Get(b, p.ID == b)
	if err != nil {
		s.storeProblem(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, s.storeJSON(v))
}

// listingPath resolves {broker} and {sym} and checks the caller owns the
// store.
func (s *Server) listingPath(w http.ResponseWriter, r *http.Request, p *Principal, owner bool) (string, engine.InstrumentID, bool) {
	if !s.storeReady(w, r) {
		return "", 0, false
	}
	b := r.PathValue("broker")
	if !slicesContains(s.stores.st.Brokers(), b) {
		writeProblem(w, r, notFound(fmt.Sprintf("no store %q (GET /api/v1/stores lists them)", b)))
		return "", 0, false
	}
	id, ok := s.symbolParam(w, r)
	if !ok {
		return "", 0, false
	}
	if owner && p.ID != b {
		writeProblem(w, r, forbidden(fmt.Sprintf("only %s manages the store %s", b, b)))
		return "", 0, false
	}
	return b, id, true
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type tierBody struct {
	Qty *string `json:"qty"`
	Bid *string `json:"bid"`
	Ask *string `json:"ask"`
}

type listingBody struct {
	Tiers []tierBody `json:"tiers"`
}

func (s *Server) storeOrigin(r *http.Request, p *Principal) venue.Origin {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return store.Origin(host, p.TokenID)
}

func (s *Server) putListing(w http.ResponseWriter, r *http.Request, p *Principal) {
	b, id, ok := s.listingPath(w, r, p, true)
	if !ok {
		return
	}
	var body listingBody
	if !s.decodeJSON(w, r, &body) {
		return
	}
	if body.Tiers == nil {
		writeProblem(w, r, badRequest("tiers", "tiers is required: an array of {\"qty\",\"bid\",\"ask\"} (DELETE the listing to withdraw it)"))
		return
	}
	if len(body.Tiers) > store.MaxTiers {
		writeProblem(w, r, badRequest("tiers", fmt.Sprintf("%d tiers; at most %d", len(body.Tiers), store.MaxTiers)))
		return
	}
	tiers := make([]store.Tier, len(body.Tiers))
	for i, t := range body.Tiers {
		f := func(name string) string { return fmt.Sprintf("tiers[%d].%s", i, name) }
		for _, m := range []struct {
			name string
			v    *string
		}{{"qty", t.Qty}, {"bid", t.Bid}, {"ask", t.Ask}} {
			if m.v == nil {
				writeProblem(w, r, badRequest(f(m.name), f(m.name)+" is required"))
				return
			}
		}
		q, err := wire.ParseQty(*t.Qty)
		if err != nil {
			writeProblem(w, r, badRequest(f("qty"), f("qty")+": "+strings.TrimPrefix(err.Error(), "wire: ")))
			return
		}
		bid, err := wire.ParsePrice(*t.Bid)
		if err != nil {
			writeProblem(w, r, badRequest(f("bid"), f("bid")+": "+strings.TrimPrefix(err.Error(), "wire: ")))
			return
		}
		ask, err := wire.ParsePrice(*t.Ask)
		if err != nil {
			writeProblem(w, r, badRequest(f("ask"), f("ask")+": "+strings.TrimPrefix(err.Error(), "wire: ")))
			return
		}
		tiers[i] = store.Tier{Qty: q, Bid: bid, Ask: ask}
	}
	sym := s.v.Instruments()[id].Symbol
	l, err := s.stores.st.SetListing(r.Context(), b, sym, tiers, s.storeOrigin(r, p))
	if err != nil {
		s.storeProblem(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, s.listingJSON(l))
}

func (s *Server) deleteListing(w http.ResponseWriter, r *http.Request, p *Principal) {
	b, id, ok := s.listingPath(w, r, p, true)
	if !ok {
		return
	}
	if err := s.stores.st.DeleteListing(r.Context(), b, s.v.Instruments()[id].Symbol, s.storeOrigin(r, p)); err != nil {
		s.storeProblem(w, r, err, "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type hitBody struct {
	Side  *string `json:"side"`
	Qty   *string `json:"qty"`
	Price *string `json:"price"`
}

type hitJSON struct {
	ClientOrderID string          `json:"client_order_id"`
	Broker        string          `json:"broker"`
	Symbol        string          `json:"symbol"`
	Side          string          `json:"side"`
	Qty           string          `json:"qty"`
	Price         string          `json:"price"`
	Status        string          `json:"status"`
	FilledQty     string          `json:"filled_qty"`
	AvgPx         string          `json:"avg_px,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Fills         []storeFillJSON `json:"fills"`
}

func (s *Server) hitListing(w http.ResponseWriter, r *http.Request, p *Principal) {
	b, id, ok := s.listingPath(w, r, p, false)
	if !ok {
		return
	}
	if !p.CanTrade() {
		writeProblem(w, r, forbidden(p.ID+" is read-only: it may not trade"))
		return
	}
	var body hitBody
	if !s.decodeJSON(w, r, &body) {
		return
	}
	h := store.Hit{Taker: p.ID, Broker: b, Symbol: s.v.Instruments()[id].Symbol}
	switch {
	case body.Side == nil:
		writeProblem(w, r, badRequest("side", "side is required: \"buy\" or \"sell\""))
		return
	case *body.Side == "buy":
		h.Side = engine.Buy
	case *body.Side == "sell":
		h.Side = engine.Sell
	default:
		writeProblem(w, r, badRequest("side", fmt.Sprintf("side %q: want \"buy\" or \"sell\"", *body.Side)))
		return
	}
	q, pr, ok := requiredQty(body.Qty)
	if !ok {
		writeProblem(w, r, pr)
		return
	}
	h.Qty = q
	if body.Price != nil {
		px, err := wire.ParsePrice(*body.Price)
		if err != nil {
			writeProblem(w, r, badRequest("price", strings.TrimPrefix(err.Error(), "wire: ")))
			return
		}
		h.Price = px
	}
	res, err := s.stores.st.Hit(r.Context(), h, s.storeOrigin(r, p))
	if err != nil {
		s.storeProblem(w, r, err, "")
		return
	}
	out := hitJSON{
		ClientOrderID: res.ClOrdID, Broker: b, Symbol: h.Symbol, Side: h.Side.String(), Qty: fmtQty(h.Qty),
		Price: s.storePx(id, res.Price), Status: res.Status, FilledQty: fmtQty(res.Filled), Reason: res.Reason, Fills: []storeFillJSON{},
	}
	if res.Filled > 0 {
		out.AvgPx = wire.FormatPrice(res.AvgPx, engine.TickDecimals(s.v.Instruments()[id].Tick))
	}
	for _, f := range res.Fills {
		out.Fills = append(out.Fills, storeFillJSON{Time: fmtTime(f.Time), Symbol: f.Symbol, Side: f.Side.String(), Qty: fmtQty(f.Qty),
			Px: s.storePx(id, f.Price), ClOrdID: f.ClOrdID, Counterparty: f.Counterparty})
	}
	writeJSON(w, http.StatusOK, out)
}

// storeProblem maps the store's and the venue's errors to problems.
func (s *Server) storeProblem(w http.ResponseWriter, r *http.Request, err error, field string) {
	var se *store.Error
	errors.As(err, &se)
	var rb *venue.RiskBlock
	switch {
	case errors.As(err, &rb):
		pr := newProblem(http.StatusUnprocessableEntity, "order-rejected", "Order rejected",
			"blocked by pre-trade risk scoring: "+strings.Join(rb.Reasons, "; "))
		pr.Reason = "risk"
		pr.Extra = map[string]any{"risk_reasons": rb.Reasons, "risk_score": rb.Score}
		writeProblem(w, r, pr)
	case errors.Is(err, store.ErrUnknownBroker), errors.Is(err, store.ErrUnknownSymbol), errors.Is(err, store.ErrNoListing):
		pr := notFound(se.Detail)
		pr.Field = se.Field
		writeProblem(w, r, pr)
	case errors.Is(err, store.ErrInvalid):
		pr := newProblem(http.StatusUnprocessableEntity, "invalid-listing", "Request breaks a rule", se.Detail)
		pr.Field, pr.Reason = se.Field, se.Reason
		writeProblem(w, r, pr)
	case errors.Is(err, store.ErrRejected):
		pr := newProblem(http.StatusUnprocessableEntity, "order-rejected", "Order rejected", se.Detail)
		pr.Reason = se.Reason
		writeProblem(w, r, pr)
	case errors.Is(err, store.ErrTimeout):
		writeProblem(w, r, newProblem(http.StatusGatewayTimeout, "timeout", "No answer in time", se.Detail+" (GET /api/v1/stores shows what took effect)"))
	case errors.Is(err, venue.ErrBusy):
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "busy", "Venue busy", "the venue could not take the order now; retry"))
	case errors.Is(err, venue.ErrUnavailable):
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "unavailable", "Venue unavailable", err.Error()))
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled):
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "shutting-down", "Shutting down", "the venue is shutting down"))
	default:
		s.log.Error("gateway: store request failed", "path", r.URL.Path, "err", err)
		writeProblem(w, r, newProblem(http.StatusInternalServerError, "internal", "Internal error", err.Error()))
	}
}

// ---- the assistant ----

// assistantTimeout bounds one request to the assistant: it answers from
// memory, so a slow answer means it is not there.
const assistantTimeout = 2 * time.Second

func (s *Server) assistantUnavailable(w http.ResponseWriter, r *http.Request, why string) {
	writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "assistant-unavailable", "Assistant unavailable", why))
}

// askAssistant sends body to one of the assistant's endpoints and writes
// its answer (or the problem) as the response.
func (s *Server) askAssistant(w http.ResponseWriter, r *http.Request, subject string, body any) {
	if s.stores.as == nil {
		s.assistantUnavailable(w, r, "the assistant is not reachable: the venue runs without a NATS bus")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), assistantTimeout)
	defer cancel()
	out, err := s.stores.as.Request(ctx, subject, body)
	if err != nil {
		var ae *AssistantError
		switch {
		case errors.As(err, &ae) && ae.Code == "400":
			writeProblem(w, r, newProblem(http.StatusUnprocessableEntity, "assistant-refused", "The assistant refused the request", ae.Description))
		case errors.As(err, &ae) && ae.Code == "404":
			writeProblem(w, r, newProblem(http.StatusConflict, "assistant-no-answer", "The assistant has no answer yet", ae.Description))
		case errors.As(err, &ae):
			writeProblem(w, r, newProblem(http.StatusBadGateway, "assistant-failed", "The assistant failed", ae.Description))
		default:
			s.assistantUnavailable(w, r, "the assistant is not reachable: "+err.Error())
		}
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

type recommendBody struct {
	Symbol *string `json:"symbol"`
	Qty    *string `json:"qty"`
}

// assistantRecommend asks for a recommendation for the caller's own
// listing: the broker is always the caller.
func (s *Server) assistantRecommend(w http.ResponseWriter, r *http.Request, p *Principal) {
	var body recommendBody
	if !s.decodeJSON(w, r, &body) {
		return
	}
	if p.Role != config.RoleBroker {
		writeProblem(w, r, forbidden("recommendations are for brokers' listings; "+p.ID+" is a "+p.Role))
		return
	}
	if body.Symbol == nil {
		writeProblem(w, r, badRequest("symbol", "symbol is required (\"USD/CNY\")"))
		return
	}
	id, ok := s.v.Instrument(*body.Symbol)
	if !ok {
		writeProblem(w, r, badRequest("symbol", fmt.Sprintf("symbol %q is not listed (GET /api/v1/instruments)", *body.Symbol)))
		return
	}
	q, pr, ok := requiredQty(body.Qty)
	if !ok {
		writeProblem(w, r, pr)
		return
	}
	in := s.v.Instruments()[id]
	if q < in.MinQty || q > in.MaxQty || q%in.Lot != 0 {
		writeProblem(w, r, badRequest("qty", fmt.Sprintf("qty %d must be a multiple of %d from %d to %d", q, in.Lot, in.MinQty, in.MaxQty)))
		return
	}
	s.askAssistant(w, r, SubjectAssistantRecommend, map[string]string{"broker": p.ID, "symbol": in.Symbol, "qty": fmtQty(q)})
}

// assistantScore previews the pre-trade score of an order the caller
// might send; the assistant does not learn from a preview.
func (s *Server) assistantScore(w http.ResponseWriter, r *http.Request, p *Principal) {
	var body orderBody
	if !s.decodeJSON(w, r, &body) {
		return
	}
	str := func(v *string, def string) string {
		if v == nil {
			return def
		}
		return *v
	}
	if body.Symbol == nil {
		writeProblem(w, r, badRequest("symbol", "symbol is required (\"USD/CNY\")"))
		return
	}
	id, ok := s.v.Instrument(*body.Symbol)
	if !ok {
		writeProblem(w, r, badRequest("symbol", fmt.Sprintf("symbol %q is not listed", *body.Symbol)))
		return
	}
	side := str(body.Side, "")
	if side != "buy" && side != "sell" {
		writeProblem(w, r, badRequest("side", fmt.Sprintf("side %q: want \"buy\" or \"sell\"", side)))
		return
	}
	if _, pr, ok := requiredQty(body.Qty); !ok {
		writeProblem(w, r, pr)
		return
	}
	req := map[string]any{
		"participant": p.ID, "cl_ord_id": str(body.ClientOrderID, "preview"), "symbol": *body.Symbol,
		"side": side, "ord_type": str(body.Type, "limit"), "tif": str(body.TIF, "day"), "qty": *body.Qty,
		"channel": "http", "source": s.storeOrigin(r, p).Source, "session": p.TokenID, "preview": true,
	}
	if body.Price != nil {
		if _, err := wire.ParsePrice(*body.Price); err != nil {
			writeProblem(w, r, badRequest("price", strings.TrimPrefix(err.Error(), "wire: ")))
			return
		}
		req["price"] = *body.Price
	}
	if b := s.v.Book(id); b != nil {
		if bid, ok := b.BestBid(); ok {
			if ask, ok := b.BestAsk(); ok {
				req["mid"] = wire.FormatPrice((bid.Price+ask.Price)/2, 0)
			}
		}
	}
	s.askAssistant(w, r, SubjectAssistantScore, req)
}

type chatBody struct {
	Text *string `json:"text"`
}

func (s *Server) assistantChat(w http.ResponseWriter, r *http.Request, p *Principal) {
	var body chatBody
	if !s.decodeJSON(w, r, &body) {
		return
	}
	if body.Text == nil {
		writeProblem(w, r, badRequest("text", "text is required: what you would type to a dealer (\"buy 5m usdcny at 7.1020\")"))
		return
	}
	s.askAssistant(w, r, SubjectAssistantChat, map[string]string{"text": *body.Text})
}

// requiredQty reads the qty member the storefront's endpoints all require:
// present, and a whole number of units.
func requiredQty(v *string) (engine.Qty, Problem, bool) {
	if v == nil {
		return 0, badRequest("qty", "qty is required"), false
	}
	q, err := wire.ParseQty(*v)
	if err != nil {
		return 0, badRequest("qty", strings.TrimPrefix(err.Error(), "wire: ")), false
	}
	return q, Problem{}, true
}
