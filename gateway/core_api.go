package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"fxmatch/engine"
)

// routesCore registers the trading API: instruments, books, trades,
// orders, credit and the stream.
func (s *Server) routesCore() {
	s.authed("GET /api/v1/instruments", s.getInstruments)
	s.authed("GET /api/v1/books/{sym}", s.getBook)
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
		ref := in.RefPrice
		if b := s.v.Book(engine.InstrumentID(i)); b != nil && b.RefPrice > 0 {
			ref = b.RefPrice
		}
		out = append(out, instrumentJSON{
			Symbol: in.Symbol, Code: symbolCode(in.Symbol), Base: in.Base, Term: in.Term,
			Tick: fmtPx(in.Tick, 0), Lot: fmtQty(in.Lot), MinQty: fmtQty(in.MinQty), MaxQty: fmtQty(in.MaxQty),
			BandPercent: strconv.FormatFloat(float64(in.BandBP)/100, 'f', -1, 64),
			RefPrice:    fmtPx(ref, engine.TickDecimals(in.Tick)),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"instruments": out})
}

// levelJSON is one L2 level.
type levelJSON struct {
	Px     string `json:"px"`
	Qty    string `json:"qty"`
	Orders int    `json:"orders"`
}

type bookJSON struct {
	Symbol string      `json:"symbol"`
	Seq    uint64      `json:"seq"`
	Time   string      `json:"time,omitempty"`
	Bids   []levelJSON `json:"bids"`
	Asks   []levelJSON `json:"asks"`
}

const (
	depthDefault = 10
	depthMax     = 1000
)

func (s *Server) getBook(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := s.symbolParam(w, r)
	if !ok {
		return
	}
	depth, ok := intQuery(w, r, "depth", depthDefault, 1, depthMax)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.bookView(id, depth))
}

func (s *Server) bookView(id engine.InstrumentID, depth int) bookJSON {
	in := &s.v.Instruments()[id]
	dec := engine.TickDecimals(in.Tick)
	out := bookJSON{Symbol: in.Symbol, Bids: []levelJSON{}, Asks: []levelJSON{}}
	b := s.v.Book(id)
	if b == nil {
		return out
	}
	out.Seq = b.Seq
	if b.Time != 0 {
		out.Time = fmtTime(b.Time)
	}
	for i := 0; i < len(b.Bids) && i < depth; i++ {
		out.Bids = append(out.Bids, levelJSON{fmtPx(b.Bids[i].Price, dec), fmtQty(b.Bids[i].Qty), b.Bids[i].Count})
	}
	for i := 0; i < len(b.Asks) && i < depth; i++ {
		out.Asks = append(out.Asks, levelJSON{fmtPx(b.Asks[i].Price, dec), fmtQty(b.Asks[i].Qty), b.Asks[i].Count})
	}
	return out
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
	insts := s.v.Instruments()
	for i := range insts {
		if symbolCode(insts[i].Symbol) == strings.ToUpper(code) {
			return engine.InstrumentID(i), true
		}
	}
	return 0, false
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
