package fix

import (
	"bytes"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/shopspring/decimal"

	"fxmatch/engine"
)

// Inbound decoding: a validated message's fields in, an engine.Command
// (or a refusal) out. The fields come from a parsed quickfix.Message
// (qfFields) or, on the fast path, straight from the wire (rawMsg). These functions are pure — no session, no venue — so the
// fuzz target drives them directly (FuzzInbound); they must never panic on
// any input the parser lets through.

// FIX tags the venue reads or writes.
const (
	tagAccount                 quickfix.Tag = 1
	tagAvgPx                   quickfix.Tag = 6
	tagClOrdID                 quickfix.Tag = 11
	tagCumQty                  quickfix.Tag = 14
	tagCurrency                quickfix.Tag = 15
	tagExecID                  quickfix.Tag = 17
	tagExecInst                quickfix.Tag = 18
	tagLastPx                  quickfix.Tag = 31
	tagLastQty                 quickfix.Tag = 32
	tagOrderID                 quickfix.Tag = 37
	tagOrderQty                quickfix.Tag = 38
	tagOrdStatus               quickfix.Tag = 39
	tagOrdType                 quickfix.Tag = 40
	tagOrigClOrdID             quickfix.Tag = 41
	tagPrice                   quickfix.Tag = 44
	tagRefSeqNum               quickfix.Tag = 45
	tagSenderCompID            quickfix.Tag = 49
	tagSide                    quickfix.Tag = 54
	tagSymbol                  quickfix.Tag = 55
	tagTargetCompID            quickfix.Tag = 56
	tagText                    quickfix.Tag = 58
	tagTimeInForce             quickfix.Tag = 59
	tagTransactTime            quickfix.Tag = 60
	tagSettlType               quickfix.Tag = 63
	tagSettlDate               quickfix.Tag = 64
	tagTradeDate               quickfix.Tag = 75
	tagEncryptMethod           quickfix.Tag = 98
	tagCxlRejReason            quickfix.Tag = 102
	tagOrdRejReason            quickfix.Tag = 103
	tagHeartBtInt              quickfix.Tag = 108
	tagMinQty                  quickfix.Tag = 110
	tagMaxFloor                quickfix.Tag = 111
	tagExpireTime              quickfix.Tag = 126
	tagResetSeqNumFlag         quickfix.Tag = 141
	tagNoRelatedSym            quickfix.Tag = 146
	tagExecType                quickfix.Tag = 150
	tagLeavesQty               quickfix.Tag = 151
	tagMDReqID                 quickfix.Tag = 262
	tagSubscriptionRequestType quickfix.Tag = 263
	tagMarketDepth             quickfix.Tag = 264
	tagMDUpdateType            quickfix.Tag = 265
	tagAggregatedBook          quickfix.Tag = 266
	tagNoMDEntryTypes          quickfix.Tag = 267
	tagNoMDEntries             quickfix.Tag = 268
	tagMDEntryType             quickfix.Tag = 269
	tagMDEntryPx               quickfix.Tag = 270
	tagMDEntrySize             quickfix.Tag = 271
	tagMDUpdateAction          quickfix.Tag = 279
	tagMDReqRejReason          quickfix.Tag = 281
	tagSecurityReqID           quickfix.Tag = 320
	tagSecurityResponseID      quickfix.Tag = 322
	tagNumberOfOrders          quickfix.Tag = 346
	tagRefMsgType              quickfix.Tag = 372
	tagBusinessRejectRefID     quickfix.Tag = 379
	tagBusinessRejectReason    quickfix.Tag = 380
	tagNoContraBrokers         quickfix.Tag = 382
	tagContraBroker            quickfix.Tag = 375
	tagCxlRejResponseTo        quickfix.Tag = 434
	tagPartyIDSource           quickfix.Tag = 447
	tagPartyID                 quickfix.Tag = 448
	tagPartyRole               quickfix.Tag = 452
	tagNoPartyIDs              quickfix.Tag = 453
	tagPassword                quickfix.Tag = 554
	tagUsername                quickfix.Tag = 553
	tagMassCancelRequestType   quickfix.Tag = 530
	tagMassCancelResponse      quickfix.Tag = 531
	tagMassCancelRejectReason  quickfix.Tag = 532
	tagTotalAffectedOrders     quickfix.Tag = 533
	tagSecurityListRequestType quickfix.Tag = 559
	tagSecurityRequestResult   quickfix.Tag = 560
	tagRoundLot                quickfix.Tag = 561
	tagMinTradeVol             quickfix.Tag = 562
	tagCopyMsgIndicator        quickfix.Tag = 797
	tagMinPriceIncrement       quickfix.Tag = 969
)

// fields reads a message's body fields.
type fields interface {
	// str is the value of tag as written ("", false if absent).
	str(tag quickfix.Tag) (string, bool)
	has(tag quickfix.Tag) bool
	// time reads a UTCTimestamp as quickfixgo does.
	time(tag quickfix.Tag) (time.Time, error)
}

// qfFields reads a parsed quickfix.Message's body.
type qfFields struct{ m *quickfix.Message }

func (q qfFields) str(tag quickfix.Tag) (string, bool)      { return bodyStr(q.m, tag) }
func (q qfFields) has(tag quickfix.Tag) bool                { return q.m.Body.Has(tag) }
func (q qfFields) time(tag quickfix.Tag) (time.Time, error) { return q.m.Body.GetTime(tag) }

// edgeReject is a refusal decided before the engine sees the message.
type edgeReject struct {
	code int // OrdRejReason(103), CxlRejReason(102) or MassCancelRejectReason(532)
	text string
}

// orderEcho is what an edge reject echoes of the request, as written.
type orderEcho struct {
	clOrdID, origClOrdID, symbol, side, ordType, tif, account string
	qty, price                                                string
}

// readEcho reads the order fields a report echoes back to the client, as
// the client wrote them (absent fields are empty).
func readEcho(m fields) (e orderEcho) {
	e.clOrdID, _ = m.str(tagClOrdID)
	e.origClOrdID, _ = m.str(tagOrigClOrdID)
	e.symbol, _ = m.str(tagSymbol)
	e.side, _ = m.str(tagSide)
	e.ordType, _ = m.str(tagOrdType)
	e.tif, _ = m.str(tagTimeInForce)
	e.account, _ = m.str(tagAccount)
	e.qty, _ = m.str(tagOrderQty)
	e.price, _ = m.str(tagPrice)
	return e
}

func bodyStr(m *quickfix.Message, tag quickfix.Tag) (string, bool) {
	b, err := m.Body.GetBytes(tag)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// decimalOK reports whether s is a FIX decimal: an optional minus, digits,
// an optional point and digits, at least one digit, at most 40 bytes.
// shopspring/decimal alone would also take "1e6" and "+5".
func decimalOK(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case c == '-' && i == 0:
		default:
			return false
		}
	}
	return digits > 0
}

// fixedResult says how a decimal converted to fixed point.
type fixedResult uint8

const (
	fixedOK       fixedResult = iota
	fixedSyntax               // not a FIX decimal
	fixedInexact              // more decimal places than the fixed point has
	fixedOverflow             // beyond ±2^62 units
)

// fixedMax is the largest magnitude parseFixed returns.
const fixedMax = 1 << 62

// parseFixed converts a FIX decimal exactly into units of 10^-scale
// (scale 8: engine.Price; scale 0: whole quantities). It never rounds and
// never allocates: digits beyond the scale must be zeros (else
// fixedInexact), and a magnitude above 2^62 units is fixedOverflow.
// parseFixedBig is the reference it is fuzzed against.
func parseFixed(s string, scale int32) (int64, fixedResult) {
	if !decimalOK(s) {
		return 0, fixedSyntax
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if len(frac) > int(scale) {
		for i := int(scale); i < len(frac); i++ {
			if frac[i] != '0' {
				return 0, fixedInexact
			}
		}
		frac = frac[:scale]
	}
	var v uint64
	over := false
	digit := func(c byte) {
		if over {
			return
		}
		if v > fixedMax/10 { // v*10 alone is past the bound (and could wrap)
			over = true
			return
		}
		v = v*10 + uint64(c-'0')
		if v > fixedMax {
			over = true
		}
	}
	for i := 0; i < len(intPart); i++ {
		digit(intPart[i])
	}
	for i := 0; i < len(frac); i++ {
		digit(frac[i])
	}
	for i := len(frac); i < int(scale); i++ {
		digit('0')
	}
	if over {
		return 0, fixedOverflow
	}
	if neg {
		return -int64(v), fixedOK
	}
	return int64(v), fixedOK
}

var fixedMaxBig = big.NewInt(fixedMax)

// parseFixedBig is parseFixed by way of shopspring/decimal and math/big:
// slower, allocating, obviously right. FuzzParseFixed holds the two to
// each other.
func parseFixedBig(s string, scale int32) (int64, fixedResult) {
	if !decimalOK(s) {
		return 0, fixedSyntax
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, fixedSyntax
	}
	sh := d.Shift(scale)
	if !sh.IsInteger() {
		return 0, fixedInexact
	}
	n := sh.BigInt()
	if n.CmpAbs(fixedMaxBig) > 0 {
		return 0, fixedOverflow
	}
	return n.Int64(), fixedOK
}

// decodeQty reads a quantity tag: whole base-currency units.
func decodeQty(m fields, tag quickfix.Tag, name string) (engine.Qty, bool, *edgeReject) {
	s, ok := m.str(tag)
	if !ok {
		return 0, false, nil
	}
	v, r := parseFixed(s, 0)
	switch r {
	case fixedOK:
		return engine.Qty(v), true, nil
	case fixedInexact:
		return 0, true, &edgeReject{13, name + " " + s + " is not a whole number of base currency units"}
	case fixedOverflow:
		return 0, true, &edgeReject{3, name + " " + s + " exceeds every limit"}
	}
	return 0, true, &edgeReject{13, name + " " + strconv.Quote(s) + " is not a decimal number"}
}

// decodePrice reads Price(44) exactly into engine.Price units.
func decodePrice(m fields, in *instrument) (engine.Price, bool, *edgeReject) {
	s, ok := m.str(tagPrice)
	if !ok {
		return 0, false, nil
	}
	v, r := parseFixed(s, engine.PriceDecimals)
	tick := "the tick"
	if in != nil {
		tick = "the tick " + in.tickText
	}
	switch r {
	case fixedOK:
		return engine.Price(v), true, nil
	case fixedInexact:
		return 0, true, &edgeReject{99, "tick: price " + s + " is not a multiple of " + tick}
	case fixedOverflow:
		return 0, true, &edgeReject{99, "band: price " + s + " is outside the price band"}
	}
	return 0, true, &edgeReject{99, "tick: price " + strconv.Quote(s) + " is not a decimal number"}
}

// decodeID reads a ClOrdID-like tag into an engine.ID.
func decodeID(m fields, tag quickfix.Tag, kw, name string) (engine.ID, string, *edgeReject) {
	s, _ := m.str(tag)
	id, err := engine.MakeID(s)
	if err != nil {
		return id, s, &edgeReject{99, kw + ": " + name + " is longer than " + strconv.Itoa(engine.MaxIDLen) + " bytes"}
	}
	return id, s, nil
}

func decodeSide(s string) (engine.Side, *edgeReject) {
	switch s {
	case "1":
		return engine.Buy, nil
	case "2":
		return engine.Sell, nil
	}
	return 0, &edgeReject{99, "side: Side " + strconv.Quote(s) + " is not supported: 1 (buy) or 2 (sell)"}
}

func decodeOrdType(s string) (engine.OrdType, *edgeReject) {
	switch s {
	case "1":
		return engine.Market, nil
	case "2":
		return engine.Limit, nil
	}
	return 0, &edgeReject{11, "OrdType " + strconv.Quote(s) + " is not supported: 1 (market) or 2 (limit)"}
}

// lookupFunc finds an instrument by symbol.
type lookupFunc func(symbol string) *instrument

// decodeNewOrder turns a NewOrderSingle into a command for party. A
// missing conditionally required tag (Price on a limit order) is a
// session-level reject; anything else the venue refuses is an edgeReject
// echoed in an ExecutionReport 150=8. Checks that belong to the matching
// rules (tick, lot, band, TIF combinations) are the engine's: the command
// carries what the client wrote and the engine says no.
func decodeNewOrder(m fields, party engine.PartyID, lookup lookupFunc) (cmd engine.Command, echo orderEcho, in *instrument, rej *edgeReject, srej quickfix.MessageRejectError) {
	cmd.Kind = engine.CmdNewOrder
	cmd.Party = party
	echo = readEcho(m)

	if !m.has(tagOrderQty) {
		return cmd, echo, nil, nil, quickfix.RequiredTagMissing(tagOrderQty)
	}
	if echo.ordType == "2" && !m.has(tagPrice) {
		return cmd, echo, nil, nil, quickfix.RequiredTagMissing(tagPrice)
	}
	if cmd.ClOrdID, _, rej = decodeID(m, tagClOrdID, "clordid", "ClOrdID"); rej != nil {
		return
	}
	if in = lookup(echo.symbol); in == nil {
		rej = &edgeReject{1, reasonText(engine.ReasonUnknownSymbol, &textCtx{symbol: echo.symbol})}
		return
	}
	cmd.Instrument = in.id
	if cmd.Side, rej = decodeSide(echo.side); rej != nil {
		return
	}
	if cmd.OrdType, rej = decodeOrdType(echo.ordType); rej != nil {
		return
	}
	if cmd.Qty, _, rej = decodeQty(m, tagOrderQty, "OrderQty"); rej != nil {
		return
	}
	if cmd.Price, _, rej = decodePrice(m, in); rej != nil {
		return
	}
	if cmd.MinQty, _, rej = decodeQty(m, tagMinQty, "MinQty"); rej != nil {
		return
	}
	if cmd.MaxFloor, _, rej = decodeQty(m, tagMaxFloor, "MaxFloor"); rej != nil {
		return
	}
	cmd.TIF = engine.Day
	if echo.tif != "" {
		if len(echo.tif) != 1 || echo.tif[0] < '0' || echo.tif[0] > '9' {
			rej = &edgeReject{11, reasonText(engine.ReasonBadTIF, &textCtx{ev: engine.Event{OrdType: cmd.OrdType}})}
			return
		}
		cmd.TIF = engine.TIF(echo.tif[0] - '0')
	}
	if m.has(tagExpireTime) {
		t, err := m.time(tagExpireTime)
		if err != nil {
			return cmd, echo, in, nil, quickfix.IncorrectDataFormatForValue(tagExpireTime)
		}
		cmd.ExpireTime = t.UnixNano()
		if t.Year() < 1970 || t.Year() > 2200 {
			rej = &edgeReject{11, "ExpireTime(126) " + t.UTC().Format(time.RFC3339) + " is out of range"}
			return
		}
	}
	if s, has := m.str(tagExecInst); has {
		for _, v := range strings.Fields(s) {
			if v != "6" {
				rej = &edgeReject{11, "ExecInst " + strconv.Quote(v) + " is not supported: only 6 (post-only, participate don't initiate)"}
				return
			}
			cmd.PostOnly = true
		}
	}
	if s, has := m.str(tagCurrency); has && s != in.Base {
		rej = &edgeReject{11, "Currency(15) " + strconv.Quote(s) + " must be the base currency " + in.Base + " of " + in.Symbol + ": OrderQty is in " + in.Base}
		return
	}
	if s, has := m.str(tagSettlType); has && s != "0" && s != "3" {
		rej = &edgeReject{11, "SettlType(63) " + strconv.Quote(s) + " is not supported: the venue trades SPOT only, 0 (regular) or 3 (T+2)"}
		return
	}
	if cmd.Account, _, rej = decodeID(m, tagAccount, "account", "Account"); rej != nil {
		return
	}
	return cmd, echo, in, nil, nil
}

// decodeCancel turns an OrderCancelRequest (replace false) or an
// OrderCancelReplaceRequest (replace true) into a command.
func decodeCancel(m fields, party engine.PartyID, replace bool, lookup lookupFunc) (cmd engine.Command, echo orderEcho, in *instrument, rej *edgeReject, srej quickfix.MessageRejectError) {
	cmd.Kind = engine.CmdCancel
	if replace {
		cmd.Kind = engine.CmdReplace
	}
	cmd.Party = party
	echo = readEcho(m)
	if replace {
		if !m.has(tagOrderQty) {
			return cmd, echo, nil, nil, quickfix.RequiredTagMissing(tagOrderQty)
		}
		if echo.ordType == "2" && !m.has(tagPrice) {
			return cmd, echo, nil, nil, quickfix.RequiredTagMissing(tagPrice)
		}
	}
	if cmd.ClOrdID, _, rej = decodeID(m, tagClOrdID, "clordid", "ClOrdID"); rej != nil {
		return
	}
	if cmd.OrigClOrdID, _, rej = decodeID(m, tagOrigClOrdID, "clordid", "OrigClOrdID"); rej != nil {
		rej.code = 1 // an OrigClOrdID that long names no order
		return
	}
	if in = lookup(echo.symbol); in == nil {
		rej = &edgeReject{1, reasonText(engine.ReasonUnknownSymbol, &textCtx{symbol: echo.symbol})}
		return
	}
	cmd.Instrument = in.id
	if cmd.Side, rej = decodeSide(echo.side); rej != nil {
		rej.code = 99
		return
	}
	if !replace {
		return cmd, echo, in, nil, nil
	}
	if cmd.OrdType, rej = decodeOrdType(echo.ordType); rej != nil {
		rej.code = 99
		return
	}
	if cmd.Qty, _, rej = decodeQty(m, tagOrderQty, "OrderQty"); rej != nil {
		rej.code = 99
		return
	}
	if cmd.Price, _, rej = decodePrice(m, in); rej != nil {
		return
	}
	if cmd.Account, _, rej = decodeID(m, tagAccount, "account", "Account"); rej != nil {
		return
	}
	return cmd, echo, in, nil, nil
}

// decodeMassCancel turns an OrderMassCancelRequest into a command.
// Refusals carry MassCancelRejectReason(532).
func decodeMassCancel(m fields, party engine.PartyID, lookup lookupFunc) (cmd engine.Command, echo orderEcho, typ string, rej *edgeReject, srej quickfix.MessageRejectError) {
	cmd.Kind = engine.CmdMassCancel
	cmd.Party = party
	echo.clOrdID, _ = m.str(tagClOrdID)
	echo.symbol, _ = m.str(tagSymbol)
	typ, _ = m.str(tagMassCancelRequestType)
	if cmd.ClOrdID, _, rej = decodeID(m, tagClOrdID, "clordid", "ClOrdID"); rej != nil {
		rej.code = 99
		return
	}
	switch typ {
	case "7":
		cmd.Scope = engine.MassAll
	case "1":
		if !m.has(tagSymbol) {
			return cmd, echo, typ, nil, quickfix.RequiredTagMissing(tagSymbol)
		}
		in := lookup(echo.symbol)
		if in == nil {
			rej = &edgeReject{1, reasonText(engine.ReasonUnknownSymbol, &textCtx{symbol: echo.symbol})}
			return
		}
		cmd.Scope = engine.MassBySymbol
		cmd.Instrument = in.id
	default:
		rej = &edgeReject{0, "MassCancelRequestType " + strconv.Quote(typ) + " is not supported: 1 (by Symbol) or 7 (all orders)"}
	}
	return
}

// eachField calls fn for each tag=value field of a raw FIX message, in
// order, until fn returns false or the bytes end. Malformed fields end
// the walk. The value aliases raw.
func eachField(raw []byte, fn func(tag int, val []byte) bool) {
	for len(raw) > 0 {
		eq := bytes.IndexByte(raw, '=')
		if eq <= 0 || eq > 9 {
			return
		}
		tag := 0
		for _, c := range raw[:eq] {
			if c < '0' || c > '9' {
				return
			}
			tag = tag*10 + int(c-'0')
		}
		rest := raw[eq+1:]
		var val []byte
		if end := bytes.IndexByte(rest, 1); end >= 0 {
			val, raw = rest[:end], rest[end+1:]
		} else {
			val, raw = rest, nil
		}
		if !fn(tag, val) {
			return
		}
	}
}

// mdRequest is a MarketDataRequest as the venue understands it.
type mdRequest struct {
	reqID      string
	subType    string // 263: 0 snapshot, 1 subscribe, 2 unsubscribe
	depth      int    // 264: 0 full book, N top N levels
	updateType int    // 265: 0 full refresh, 1 incremental (-1: absent)
	aggregated string // 266 as written ("" absent)
	bids       bool   // 269=0
	offers     bool   // 269=1
	trades     bool   // 269=2
	other      string // the first entry type the venue does not serve
	symbols    []string
}

// maxMDSymbols bounds the symbols one MarketDataRequest may name.
const maxMDSymbols = 64

// decodeMarketData reads a MarketDataRequest from the raw message: its
// repeating groups are read in wire order, which the validator has
// checked against the dictionary already.
func decodeMarketData(raw []byte) (r mdRequest, rej *edgeReject) {
	r.updateType = -1
	r.depth = -1
	eachField(raw, func(tag int, val []byte) bool {
		switch quickfix.Tag(tag) {
		case tagMDReqID:
			r.reqID = string(val)
		case tagSubscriptionRequestType:
			r.subType = string(val)
		case tagMarketDepth:
			if n, err := strconv.Atoi(string(val)); err == nil && n >= 0 && n <= 1<<20 {
				r.depth = n
			}
		case tagMDUpdateType:
			if n, err := strconv.Atoi(string(val)); err == nil {
				r.updateType = n
			}
		case tagAggregatedBook:
			r.aggregated = string(val)
		case tagMDEntryType:
			switch string(val) {
			case "0":
				r.bids = true
			case "1":
				r.offers = true
			case "2":
				r.trades = true
			default:
				if r.other == "" {
					r.other = string(val)
				}
			}
		case tagSymbol:
			if len(r.symbols) < maxMDSymbols+1 {
				r.symbols = append(r.symbols, string(val))
			}
		}
		return true
	})
	switch {
	case r.subType != "0" && r.subType != "1" && r.subType != "2":
		return r, &edgeReject{4, "SubscriptionRequestType " + strconv.Quote(r.subType) + " is not supported: 0 (snapshot), 1 (snapshot and updates) or 2 (unsubscribe)"}
	case r.subType == "2":
		return r, nil
	case r.depth < 0:
		return r, &edgeReject{5, "MarketDepth must be 0 (full book) or a number of levels"}
	case r.updateType != -1 && r.updateType != 0 && r.updateType != 1:
		return r, &edgeReject{6, "MDUpdateType " + strconv.Itoa(r.updateType) + " is not supported: 0 (full refresh) or 1 (incremental)"}
	case r.aggregated == "N":
		return r, &edgeReject{7, "AggregatedBook N is not supported: the venue publishes price levels (Y)"}
	case r.other != "":
		return r, &edgeReject{8, "MDEntryType " + strconv.Quote(r.other) + " is not supported: 0 (bid), 1 (offer) or 2 (trade)"}
	case !r.bids && !r.offers && !r.trades:
		return r, &edgeReject{8, "no MDEntryType asked for: 0 (bid), 1 (offer) or 2 (trade)"}
	case len(r.symbols) == 0:
		return r, &edgeReject{0, "no Symbol in NoRelatedSym"}
	case len(r.symbols) > maxMDSymbols:
		return r, &edgeReject{0, "more than " + strconv.Itoa(maxMDSymbols) + " symbols in one request"}
	}
	return r, nil
}
