package wire

import "fxmatch/engine"

// reasonWords says each reason in general words. The FIX layer's texts
// (fix/text.go) also quote the order's own values (the price, the tick,
// the band's limits) from the context of one session; an event on the bus
// carries the order's fields beside the text, so the general words do.
var reasonWords = map[engine.Reason]string{
	engine.ReasonUnknownSymbol:      "unknown symbol",
	engine.ReasonUnknownParticipant: "the order names no known participant",
	engine.ReasonReadOnly:           "the participant is read-only and may not trade",
	engine.ReasonDuplicateClOrdID:   "the ClOrdID has already been used today",
	engine.ReasonBadClOrdID:         "the ClOrdID must not be empty",
	engine.ReasonBadSide:            "side must be buy or sell",
	engine.ReasonBadOrdType:         "order type not supported",
	engine.ReasonBadTIF:             "time in force not supported for this order",
	engine.ReasonQtyNotPositive:     "quantity must be positive",
	engine.ReasonQtyNotLot:          "quantity is not a multiple of the lot",
	engine.ReasonQtyBelowMin:        "quantity is below the minimum",
	engine.ReasonQtyAboveMax:        "quantity exceeds the maximum",
	engine.ReasonMinQtyInvalid:      "min_qty must be a multiple of the lot and not above the quantity",
	engine.ReasonMaxFloorInvalid:    "max_floor must be a multiple of the lot, at least min_qty and not above the quantity",
	engine.ReasonPriceNotPositive:   "price is not positive",
	engine.ReasonPriceNotTick:       "price is not a multiple of the tick",
	engine.ReasonPriceOutsideBand:   "price is outside the price band",
	engine.ReasonMarketWithPrice:    "a market order carries no price",
	engine.ReasonPostOnlyMarket:     "post-only needs a limit order that rests (day, gtc or gtd)",
	engine.ReasonPostOnlyWouldTake:  "the order would take liquidity at once",
	engine.ReasonIcebergNotResting:  "max_floor (iceberg) needs a limit order that rests (day, gtc or gtd)",
	engine.ReasonGTDNoExpiry:        "gtd needs an expire_time in the future",
	engine.ReasonExpiryNotGTD:       "expire_time is allowed only with gtd",
	engine.ReasonUnknownDirected:    "the order is directed at an unknown participant or at its sender",
	engine.ReasonBookFull:           "the venue holds as many resting orders as it may; send again later",
	engine.ReasonRisk:               "blocked by pre-trade risk scoring",
	engine.ReasonThrottle:           "message rate above the participant's limit",
	engine.ReasonBusy:               "the venue's input queue is full; send again",
	engine.ReasonUnavailable:        "the venue cannot journal orders at the moment and takes none",
	engine.ReasonRequested:          "cancelled on request",
	engine.ReasonIOCRemainder:       "the rest could not trade at once",
	engine.ReasonFOKUnfilled:        "FOK: the order could not fill completely at once",
	engine.ReasonMinQtyUnmet:        "min_qty could not be met at once",
	engine.ReasonMassCancel:         "mass cancel",
	engine.ReasonDisconnect:         "cancel on disconnect: the participant's session dropped",
	engine.ReasonSelfMatch:          "self-match prevention: the order met an order of the same participant",
	engine.ReasonDayEnd:             "day order: the trading day ended",
	engine.ReasonGTDExpired:         "gtd order: its expire_time has come",
	engine.ReasonUnknownOrder:       "no such order",
	engine.ReasonTooLate:            "too late: the order is no longer live",
	engine.ReasonReplaceBelowCum:    "the new quantity is not above the quantity already filled",
	engine.ReasonReplaceMismatch:    "symbol or side differ from the order's",
}

// reasonTexts[r] is ReasonText(r), built once so encoding allocates
// nothing.
var reasonTexts = func() []string {
	var t []string
	for r := engine.Reason(0); r.String() != "reason?"; r++ {
		w, ok := reasonWords[r]
		if !ok {
			w = r.String()
		}
		switch kw := r.Keyword(); {
		case kw != "":
			w = kw + ": " + w
		case r == engine.ReasonThrottle:
			w = "throttle: " + w // as FIX says it (fix/text.go)
		}
		t = append(t, w)
	}
	return t
}()

// ReasonText says reason r in words. For reasons FIX reports as
// OrdRejReason 99 it starts with the reason's keyword, as the FIX Text
// does ("tick: price is not a multiple of the tick").
func ReasonText(r engine.Reason) string {
	if int(r) < len(reasonTexts) {
		return reasonTexts[r]
	}
	return r.String()
}
