package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"fxmatch/engine"
	"fxmatch/gateway/wire"
)

// routesCore registers the trading API: instruments, books, trades,
// orders, credit and the stream.
func (s *Server) routesCore() {
	s.authed("GET /api/v1/instruments", s.getInstruments)
	s.authed("GET /api/v1/books/{sym}", s.getBook)
	s.authed("GET /api/v1/trades/{sym}", s.getTrades)
	s.authed("GET /api/v1/credit", s.getCredit)
	s.authed("POST /api/v1/orders", s.postOrder)
	s.authed("GET /api/v1/orders", s.listOrders)
	s.authed("GET /api/v1/orders/{id}", s.getOrder)
	s.authed("DELETE /api/v1/orders/{id}", s.cancelOrder)
	s.authed("PATCH /api/v1/orders/{id}", s.replaceOrder)
	// The stream authenticates itself: browsers cannot send headers on a
	// WebSocket, so it also takes ?token= or a first "auth" message.
	s.public("GET /api/v1/stream", s.stream)
	s.public("GET /openapi.json", s.getOpenAPI)
}

// instrumentJSON is an instrument's rules as the API shows them.
type instrumentJSON struct {
	Symbol      string `json:"symbol"`
	Code        string `json:"code"`
	Base        string `json:"base"`
	Term        string `json:"term"`
	Tick        string `json:"tick"`
	Lot         string `json:"lot"`
	MinQty      string `json:"min_qty"`
	MaxQty      string `json:"max_qty"`
	BandPercent string `json:"band_percent"`
	RefPrice    string `json:"ref_price"`
}

func (s *Server) getInstruments(w http.ResponseWriter, r *http.Request, p *Principal) {
	insts := s.v.Instruments()
	out := make([]instrumentJSON, 0, len(insts))
	for i := range insts {
		in := &insts[i]
		ref := s.insts[i].refPrice()
		out = append(out, instrumentJSON{
			Symbol: in.Symbol, Code: wire.SymbolCode(in.Symbol), Base: in.Base, Term: in.Term,
			Tick: wire.FormatPrice(in.Tick, 0), Lot: wire.FormatQty(in.Lot), MinQty: wire.FormatQty(in.MinQty), MaxQty: wire.FormatQty(in.MaxQty),
			BandPercent: strconv.FormatFloat(float64(in.BandBP)/100, 'f', -1, 64),
			RefPrice:    wire.FormatPrice(ref, engine.TickDecimals(in.Tick)),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"instruments": out})
}

const (
	depthDefault = 10
	depthMax     = 1000
	tradesLimit  = 100
)

// getBook serves the L2 book as the durable events built it.
func (s *Server) getBook(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := s.symbolParam(w, r)
	if !ok {
		return
	}
	depth, ok := intQuery(w, r, "depth", depthDefault, 1, depthMax)
	if !ok {
		return
	}
	seq, t, bids, asks := s.insts[id].book(depth)
	writeJSON(w, http.StatusOK, s.names.BookOf(id, seq, t, bids, asks, depth))
}

// getTrades serves the recent public trades, newest first.
func (s *Server) getTrades(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := s.symbolParam(w, r)
	if !ok {
		return
	}
	limit, ok := intQuery(w, r, "limit", tradesLimit, 1, tradesKept)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"symbol": s.names.Symbol(id), "trades": s.insts[id].recentTrades(limit)})
}

// symbolParam resolves the {sym} path value: the symbol's code ("USDCNY").
func (s *Server) symbolParam(w http.ResponseWriter, r *http.Request) (engine.InstrumentID, bool) {
	code := r.PathValue("sym")
	if id, ok := s.instrumentByCode(code); ok {
		return id, true
	}
	writeProblem(w, r, notFound("unknown symbol code "+strconv.Quote(code)+" (codes are the symbol without its slash: USDCNY; GET /api/v1/instruments lists them)"))
	return 0, false
}

func (s *Server) instrumentByCode(code string) (engine.InstrumentID, bool) {
	id, err := s.names.InstrumentByCode(strings.ToUpper(code))
	return id, err == nil
}

// intQuery reads an optional integer query parameter within [lo, hi].
func intQuery(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		writeProblem(w, r, badRequest(name, name+" "+strconv.Quote(v)+" must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)))
		return 0, false
	}
	return n, true
}
