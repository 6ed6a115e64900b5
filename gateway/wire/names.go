package wire

import (
	"fmt"

	"fxmatch/config"
	"fxmatch/engine"
)

// Names turns the venue's dense numbers into the names the outside world
// uses: InstrumentID → "USD/CNY" (and its tick decimals), PartyID → CompID.
// It is built once at startup and only read afterwards, so any number of
// goroutines may share it.
type Names struct {
	insts   []instName // by global InstrumentID
	parties []string   // by PartyID; [0] is "" (NoParty)
	bySym   map[string]engine.InstrumentID
	byCode  map[string]engine.InstrumentID
	byParty map[string]engine.PartyID
}

type instName struct {
	symbol  string
	code    string
	tick    engine.Price
	tickDec int
}

// NewNames builds Names from the instruments in the venue's global
// numbering (venue.Instruments) and the participants' CompIDs in
// configuration order (participants[i] is PartyID i+1).
func NewNames(insts []engine.Instrument, participants []string) *Names {
	n := &Names{
		insts:   make([]instName, len(insts)),
		parties: make([]string, len(participants)+1),
		bySym:   make(map[string]engine.InstrumentID, len(insts)),
		byCode:  make(map[string]engine.InstrumentID, len(insts)),
		byParty: make(map[string]engine.PartyID, len(participants)),
	}
	for i, in := range insts {
		code := SymbolCode(in.Symbol)
		n.insts[i] = instName{symbol: in.Symbol, code: code, tick: in.Tick, tickDec: engine.TickDecimals(in.Tick)}
		n.bySym[in.Symbol] = engine.InstrumentID(i)
		n.byCode[code] = engine.InstrumentID(i)
	}
	for i, id := range participants {
		n.parties[i+1] = id
		n.byParty[id] = engine.PartyID(i + 1)
	}
	return n
}

// NamesFor builds Names from a configuration and the venue's instruments
// (venue.Instruments(), which are in the configuration's order).
func NamesFor(cfg *config.Config, insts []engine.Instrument) *Names {
	ids := make([]string, len(cfg.Participants))
	for i := range cfg.Participants {
		ids[i] = cfg.Participants[i].ID
	}
	return NewNames(insts, ids)
}

// Symbol is the instrument's symbol ("USD/CNY"), "" if unknown.
func (n *Names) Symbol(id engine.InstrumentID) string {
	if int(id) < len(n.insts) {
		return n.insts[id].symbol
	}
	return ""
}

// Code is the instrument's symbol code ("USDCNY"), "" if unknown.
func (n *Names) Code(id engine.InstrumentID) string {
	if int(id) < len(n.insts) {
		return n.insts[id].code
	}
	return ""
}

// TickDecimals is the number of decimals of the instrument's tick (4 for
// 0.0001), the least a price of it is written with; 0 if unknown.
func (n *Names) TickDecimals(id engine.InstrumentID) int {
	if int(id) < len(n.insts) {
		return n.insts[id].tickDec
	}
	return 0
}

// Instruments is the number of instruments.
func (n *Names) Instruments() int { return len(n.insts) }

// Instrument finds an instrument by symbol ("USD/CNY").
func (n *Names) Instrument(symbol string) (engine.InstrumentID, bool) {
	id, ok := n.bySym[symbol]
	return id, ok
}

// InstrumentByCode finds an instrument by its code ("USDCNY"), with an
// error naming the code when the venue does not list it.
func (n *Names) InstrumentByCode(code string) (engine.InstrumentID, error) {
	if id, ok := n.byCode[code]; ok {
		return id, nil
	}
	if _, err := SymbolFromCode(code); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%w %q: the venue lists no such instrument", ErrBadSymbol, code)
}

// Party is the participant's CompID, "" for NoParty or an unknown id.
func (n *Names) Party(p engine.PartyID) string {
	if int(p) < len(n.parties) {
		return n.parties[p]
	}
	return ""
}

// Parties is the number of participants (PartyIDs 1..Parties()).
func (n *Names) Parties() int { return len(n.parties) - 1 }

// PartyID finds a participant by CompID.
func (n *Names) PartyID(compID string) (engine.PartyID, bool) {
	p, ok := n.byParty[compID]
	return p, ok
}

// ParsePrice parses a price for instrument id (ParsePrice) and checks it
// is a positive multiple of the instrument's tick; the error names the
// value and the tick.
func (n *Names) ParsePrice(id engine.InstrumentID, s string) (engine.Price, error) {
	if int(id) >= len(n.insts) {
		return 0, fmt.Errorf("%w: unknown instrument %d", ErrBadSymbol, id)
	}
	p, err := ParsePrice(s)
	if err != nil {
		return 0, err
	}
	in := &n.insts[id]
	if p <= 0 {
		return 0, fmt.Errorf("%w %q: must be positive", ErrBadPrice, s)
	}
	if p%in.tick != 0 {
		return 0, fmt.Errorf("%w %q: not a multiple of the tick %s of %s", ErrBadPrice, s, FormatPrice(in.tick, in.tickDec), in.symbol)
	}
	return p, nil
}
