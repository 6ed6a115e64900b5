package engine

// Reason says why an order was rejected, cancelled or expired, or why a
// cancel/replace request was refused. Every rule of the instrument and of
// the order has its own reason so that the edges (FIX, HTTP) can say in
// words exactly which rule was broken. FIXRejReason maps each one to the
// plain FIX 4.4 OrdRejReason(103).
type Reason uint8

const (
	ReasonNone Reason = iota

	// Rejects of new orders (and refusals of replaces).
	ReasonUnknownSymbol      // 103=1
	ReasonUnknownParticipant // 103=99 the order names no known participant
	ReasonReadOnly           // 103=99 readonly: the participant may not trade
	ReasonDuplicateClOrdID   // 103=6  ClOrdID already used today
	ReasonBadClOrdID         // 103=99 empty ClOrdID
	ReasonBadSide            // 103=99 side is not buy or sell
	ReasonBadOrdType         // 103=11 order type not supported
	ReasonBadTIF             // 103=11 time in force not supported
	ReasonQtyNotPositive     // 103=13
	ReasonQtyNotLot          // 103=13 not a multiple of the lot
	ReasonQtyBelowMin        // 103=13
	ReasonQtyAboveMax        // 103=3
	ReasonMinQtyInvalid      // 103=13 MinQty not a lot multiple or above OrderQty
	ReasonMaxFloorInvalid    // 103=13 MaxFloor not a lot multiple or above OrderQty
	ReasonPriceNotPositive   // 103=99 tick:
	ReasonPriceNotTick       // 103=99 tick:
	ReasonPriceOutsideBand   // 103=99 band:
	ReasonMarketWithPrice    // 103=11 market orders carry no price
	ReasonPostOnlyMarket     // 103=11 post-only needs a limit order
	ReasonPostOnlyWouldTake  // 103=99 post-only: the order would take liquidity
	ReasonIcebergNotResting  // 103=11 MaxFloor with IOC/FOK/market
	ReasonGTDNoExpiry        // 103=11 GTD without a future ExpireTime
	ReasonExpiryNotGTD       // 103=11 ExpireTime without GTD
	ReasonUnknownDirected    // 103=99 directed to an unknown or own participant
	ReasonBookFull           // 103=3  the engine holds MaxLiveOrders already
	ReasonRisk               // 103=99 risk: blocked by pre-trade scoring (edge)
	ReasonThrottle           // 103=3  message rate above the session's limit (edge)
	ReasonBusy               // 103=99 busy: the venue could not take the order (edge)
	ReasonUnavailable        // 103=99 unavailable: the journal cannot write (edge)

	// Cancel reasons.
	ReasonRequested    // a cancel request
	ReasonIOCRemainder // what an IOC or market order could not fill
	ReasonFOKUnfilled  // a FOK that could not fill completely
	ReasonMinQtyUnmet  // an IOC whose MinQty could not be met at once
	ReasonMassCancel   // a mass cancel request
	ReasonDisconnect   // cancel on disconnect
	ReasonSelfMatch    // self-match prevention
	ReasonDayEnd       // expired: Day order at the trading-day roll
	ReasonGTDExpired   // expired: GTD order at ExpireTime

	// Cancel/replace refusals (OrderCancelReject).
	ReasonUnknownOrder    // 102=1 no such order
	ReasonTooLate         // 102=0 the order is no longer live
	ReasonReplaceBelowCum // replace to a quantity not above CumQty
	ReasonReplaceMismatch // the request's side or symbol differs from the order's

	reasonCount
)

var reasonNames = [reasonCount]string{
	"none", "unknown-symbol", "unknown-participant", "read-only", "duplicate-clordid",
	"bad-clordid", "bad-side", "bad-ordtype", "bad-tif", "qty-not-positive", "qty-not-lot",
	"qty-below-min", "qty-above-max", "minqty-invalid", "maxfloor-invalid",
	"price-not-positive", "price-not-tick", "price-outside-band", "market-with-price",
	"post-only-market", "post-only-would-take", "iceberg-not-resting", "gtd-no-expiry",
	"expiry-not-gtd", "unknown-directed", "book-full", "risk", "throttle", "busy",
	"unavailable", "requested", "ioc-remainder", "fok-unfilled", "minqty-unmet",
	"mass-cancel", "disconnect", "self-match", "day-end", "gtd-expired", "unknown-order",
	"too-late", "replace-below-cum", "replace-mismatch",
}

// String is the reason's stable kebab-case name (used in scripts, JSON and
// metrics labels).
func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "reason?"
}

// ParseReason is the inverse of String.
func ParseReason(s string) (Reason, bool) {
	for i, n := range reasonNames {
		if n == s {
			return Reason(i), true
		}
	}
	return 0, false
}

// FIXRejReason maps a reject reason to FIX 4.4 OrdRejReason(103), using only
// values plain FIX 4.4 defines: 1 unknown symbol, 3 exceeds limit,
// 6 duplicate order, 11 unsupported order characteristic, 13 incorrect
// quantity, 99 other (the Text then starts with a keyword).
func (r Reason) FIXRejReason() int {
	switch r {
	case ReasonUnknownSymbol:
		return 1
	case ReasonQtyAboveMax, ReasonBookFull, ReasonThrottle:
		return 3
	case ReasonDuplicateClOrdID:
		return 6
	case ReasonBadOrdType, ReasonBadTIF, ReasonMarketWithPrice, ReasonPostOnlyMarket,
		ReasonIcebergNotResting, ReasonGTDNoExpiry, ReasonExpiryNotGTD:
		return 11
	case ReasonQtyNotPositive, ReasonQtyNotLot, ReasonQtyBelowMin, ReasonMinQtyInvalid,
		ReasonMaxFloorInvalid:
		return 13
	}
	return 99
}

// Keyword is the word a FIX Text(58) starts with for reasons mapped to
// OrdRejReason 99 (tick:, band:, risk:, readonly:, …), empty otherwise.
func (r Reason) Keyword() string {
	switch r {
	case ReasonPriceNotPositive, ReasonPriceNotTick:
		return "tick"
	case ReasonPriceOutsideBand:
		return "band"
	case ReasonRisk:
		return "risk"
	case ReasonReadOnly:
		return "readonly"
	case ReasonPostOnlyWouldTake:
		return "post-only"
	case ReasonBusy:
		return "busy"
	case ReasonUnavailable:
		return "unavailable"
	case ReasonUnknownDirected:
		return "directed"
	case ReasonUnknownParticipant:
		return "participant"
	case ReasonBadClOrdID:
		return "clordid"
	case ReasonBadSide:
		return "side"
	}
	return ""
}

// FIXCxlRejReason maps a cancel/replace refusal to FIX 4.4 CxlRejReason(102):
// 0 too late, 1 unknown order, 6 duplicate ClOrdID, 99 other.
func (r Reason) FIXCxlRejReason() int {
	switch r {
	case ReasonTooLate:
		return 0
	case ReasonUnknownOrder:
		return 1
	case ReasonDuplicateClOrdID:
		return 6
	}
	return 99
}
