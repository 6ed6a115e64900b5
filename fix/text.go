package fix

import (
	"strconv"
	"strings"

	"fxmatch/engine"
)

// instrument is what the FIX layer needs to know of a currency pair: the
// engine's rules in the venue's global numbering, and the tick written
// the way the Rules of Engagement write it.
type instrument struct {
	id engine.InstrumentID
	engine.Instrument
	tickDec  int
	tickText string
}

func newInstrument(id engine.InstrumentID, in engine.Instrument) *instrument {
	d := engine.TickDecimals(in.Tick)
	return &instrument{id: id, Instrument: in, tickDec: d, tickText: engine.FormatPrice(in.Tick, d)}
}

// appendPx appends a price with at least the instrument's tick decimals
// and no trailing zeros beyond them (7.1 on USD/CNY is "7.1000"; a
// volume-weighted average price keeps the decimals it needs: "7.10005").
// Without an instrument, trailing zeros are dropped altogether.
func appendPx(dst []byte, p engine.Price, minDec int) []byte {
	start := len(dst)
	dst = engine.AppendPrice(dst, p, engine.PriceDecimals)
	dot := strings.IndexByte(string(dst[start:]), '.')
	end := len(dst)
	for end > start+dot+1+minDec && dst[end-1] == '0' {
		end--
	}
	if end == start+dot+1 {
		end-- // no decimals left: drop the point
	}
	return dst[:end]
}

func fmtPx(p engine.Price, minDec int) string { return string(appendPx(nil, p, minDec)) }

func (in *instrument) px(p engine.Price) string { return fmtPx(p, in.tickDec) }

// band returns the band's limits around ref, computed as the engine does.
func (in *instrument) band(ref engine.Price) (lo, hi engine.Price) {
	tick := in.Tick
	hi = engine.Price(int64(ref) * (10000 + in.BandBP) / 10000)
	hi -= hi % tick
	num := int64(ref) * (10000 - in.BandBP)
	lo = engine.Price(num / 10000)
	if num%10000 != 0 {
		lo++
	}
	if r := lo % tick; r != 0 {
		lo += tick - r
	}
	return lo, hi
}

// textCtx is what the words of a reason may quote.
type textCtx struct {
	inst     *instrument  // nil if unknown
	symbol   string       // as the client wrote it
	party    string       // the sender's CompID
	ev       engine.Event // the order or request as far as known
	qty      engine.Qty   // the OrderQty asked for
	price    engine.Price // the Price asked for
	ref      engine.Price // the band's reference price now (0: unknown)
	throttle int
	replace  bool // the reason refuses a replace
}

// reasonText says in words why an order was rejected or cancelled or a
// request refused. For reasons mapped to OrdRejReason 99 it starts with
// the reason's keyword ("tick: price 7.10005 is not a multiple of the tick
// 0.0001"), as the Rules of Engagement promise.
func reasonText(r engine.Reason, c *textCtx) string {
	w := reasonWords(r, c)
	if kw := r.Keyword(); kw != "" {
		return kw + ": " + w
	}
	if r == engine.ReasonThrottle {
		// 103=3 needs no keyword, but a dealer's code should not have to
		// parse "exceeds limit" apart from a size or credit limit.
		return "throttle: " + w
	}
	return w
}

func reasonWords(r engine.Reason, c *textCtx) string {
	ev := &c.ev
	q := func(v engine.Qty) string { return strconv.FormatInt(int64(v), 10) }
	px := func(p engine.Price) string {
		if c.inst != nil {
			return c.inst.px(p)
		}
		return fmtPx(p, 0)
	}
	// The instrument's limits, quoted by the size and tick reasons only:
	// built when asked for, not for every text (an IOC's cancel report
	// has one, and building the four was three allocations a report).
	lot := func() string {
		if c.inst == nil {
			return "the lot"
		}
		return "the lot " + q(c.inst.Lot)
	}
	minQ := func() string {
		if c.inst == nil {
			return "the minimum"
		}
		return "the minimum " + q(c.inst.MinQty)
	}
	maxQ := func() string {
		if c.inst == nil {
			return "the maximum"
		}
		return "the maximum " + q(c.inst.MaxQty)
	}
	tick := func() string {
		if c.inst == nil {
			return "the tick"
		}
		return "the tick " + c.inst.tickText
	}
	switch r {
	case engine.ReasonUnknownSymbol:
		sym := c.symbol
		if sym == "" && c.inst != nil {
			sym = c.inst.Symbol
		}
		return "unknown symbol " + strconv.Quote(sym) + " (the venue's symbols are in its SecurityList)"
	case engine.ReasonUnknownParticipant:
		return "the order names no known participant"
	case engine.ReasonReadOnly:
		return c.party + " is a read-only participant (drop copy and replay) and may not trade"
	case engine.ReasonDuplicateClOrdID:
		return "ClOrdID " + strconv.Quote(ev.ClOrdID.String()) + " has already been used by " + c.party + " today"
	case engine.ReasonBadClOrdID:
		return "ClOrdID must not be empty"
	case engine.ReasonBadSide:
		return "Side must be 1 (buy) or 2 (sell)"
	case engine.ReasonBadOrdType:
		if c.replace {
			return "a replace may not change OrdType"
		}
		return "OrdType must be 1 (market) or 2 (limit)"
	case engine.ReasonBadTIF:
		if ev.OrdType == engine.Market {
			return "a market order's TimeInForce must be 0 (Day), 3 (IOC) or 4 (FOK)"
		}
		return "TimeInForce must be 0 (Day), 1 (GTC), 3 (IOC), 4 (FOK) or 6 (GTD)"
	case engine.ReasonQtyNotPositive:
		return "OrderQty must be positive"
	case engine.ReasonQtyNotLot:
		return "OrderQty " + q(c.qty) + " is not a multiple of " + lot()
	case engine.ReasonQtyBelowMin:
		return "OrderQty " + q(c.qty) + " is below " + minQ()
	case engine.ReasonQtyAboveMax:
		return "OrderQty " + q(c.qty) + " exceeds " + maxQ()
	case engine.ReasonMinQtyInvalid:
		if c.replace {
			return "the new OrderQty " + q(c.qty) + " is below the order's MinQty"
		}
		return "MinQty must be a multiple of " + lot() + " and not above OrderQty"
	case engine.ReasonMaxFloorInvalid:
		return "MaxFloor must be a multiple of " + lot() + ", at least MinQty and not above OrderQty"
	case engine.ReasonPriceNotPositive:
		return "price " + px(c.price) + " is not positive"
	case engine.ReasonPriceNotTick:
		return "price " + fmtPx(c.price, 0) + " is not a multiple of " + tick()
	case engine.ReasonPriceOutsideBand:
		if c.inst != nil && c.ref > 0 {
			lo, hi := c.inst.band(c.ref)
			pct := strconv.FormatFloat(float64(c.inst.BandBP)/100, 'f', -1, 64)
			return "price " + px(c.price) + " is outside the price band " + px(lo) + " to " + px(hi) +
				" (±" + pct + "% around the reference price " + px(c.ref) + ")"
		}
		return "price " + px(c.price) + " is outside the price band"
	case engine.ReasonMarketWithPrice:
		return "a market order carries no Price(44)"
	case engine.ReasonPostOnlyMarket:
		return "post-only (ExecInst 6) needs a limit order that rests: TimeInForce 0 (Day), 1 (GTC) or 6 (GTD)"
	case engine.ReasonPostOnlyWouldTake:
		return "the order would take liquidity at once"
	case engine.ReasonIcebergNotResting:
		return "MaxFloor (iceberg) needs a limit order that rests: TimeInForce 0 (Day), 1 (GTC) or 6 (GTD)"
	case engine.ReasonGTDNoExpiry:
		return "TimeInForce 6 (GTD) needs an ExpireTime(126) in the future"
	case engine.ReasonExpiryNotGTD:
		return "ExpireTime(126) is allowed only with TimeInForce 6 (GTD)"
	case engine.ReasonUnknownDirected:
		return "the order is directed at an unknown participant or at its sender"
	case engine.ReasonBookFull:
		return "the venue holds as many resting orders as it may; send again later"
	case engine.ReasonRisk:
		return "blocked by pre-trade risk scoring"
	case engine.ReasonThrottle:
		return "more than " + strconv.Itoa(c.throttle) + " messages a second on this session; the message was not processed"
	case engine.ReasonBusy:
		return "the venue's input queue is full; the message was not processed, send it again"
	case engine.ReasonUnavailable:
		return "the venue cannot journal orders at the moment and takes none"

	case engine.ReasonRequested:
		return "cancelled on request"
	case engine.ReasonIOCRemainder:
		if ev.OrdType == engine.Market {
			return "market order: the rest found nothing more to trade within the price band"
		}
		return "IOC: the rest could not trade at once"
	case engine.ReasonFOKUnfilled:
		return "FOK: the order could not fill completely at once"
	case engine.ReasonMinQtyUnmet:
		return "MinQty could not be met at once"
	case engine.ReasonMassCancel:
		return "mass cancel"
	case engine.ReasonDisconnect:
		return "cancel on disconnect: the participant's session dropped"
	case engine.ReasonSelfMatch:
		return "self-match prevention: the order met an order of the same participant"
	case engine.ReasonDayEnd:
		return "Day order: the trading day ended"
	case engine.ReasonGTDExpired:
		return "GTD order: its ExpireTime has come"

	case engine.ReasonUnknownOrder:
		return "no order with ClOrdID " + strconv.Quote(ev.OrigClOrdID.String())
	case engine.ReasonTooLate:
		return "too late: order " + strconv.Quote(ev.OrigClOrdID.String()) + " is no longer live (filled, cancelled or expired)"
	case engine.ReasonReplaceBelowCum:
		return "the new OrderQty " + q(c.qty) + " is not above the quantity already filled (" + q(ev.CumQty) + ")"
	case engine.ReasonReplaceMismatch:
		return "Symbol or Side differ from the order's"
	}
	return r.String()
}
