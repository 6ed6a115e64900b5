package engine

// EventKind names what an Event reports.
type EventKind uint8

const (
	// EvAccepted: a new order was accepted (always its first event).
	EvAccepted EventKind = 1
	// EvRejected: a new order was refused; Reason says why.
	EvRejected EventKind = 2
	// EvFill: one side of a trade. Each match yields two EvFill (aggressor
	// first) followed by one EvTrade.
	EvFill EventKind = 3
	// EvCancelled: the order is gone; Reason says why (ReasonRequested when
	// a cancel request asked for it).
	EvCancelled EventKind = 4
	// EvReplaced: the order now has the request's ClOrdID, price and
	// quantity.
	EvReplaced EventKind = 5
	// EvExpired: a Day order at the trading-day roll or a GTD order at its
	// expiry.
	EvExpired EventKind = 6
	// EvCancelRejected: a cancel or replace request was refused.
	EvCancelRejected EventKind = 7
	// EvMassCancelReport ends a mass cancel; Count is the orders cancelled.
	EvMassCancelReport EventKind = 8
	// EvTrade is the public print of a match (anonymous).
	EvTrade EventKind = 9
	// EvLevel is an L2 change: the displayed quantity at Side/Price is now
	// Qty (0 = the level is gone). Emitted once per touched level per
	// command, after the command's other events.
	EvLevel EventKind = 10
	// EvCreditSet: a credit limit was changed.
	EvCreditSet EventKind = 11
	// EvDayRolled: the engine moved to a new trade date.
	EvDayRolled EventKind = 12
)

var eventKindNames = [...]string{"?", "accepted", "rejected", "fill", "cancelled", "replaced", "expired", "cancelreject", "masscancel", "trade", "level", "creditset", "dayrolled"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "event?"
}

// LevelAction says how an EvLevel changed its level (FIX MDUpdateAction).
type LevelAction uint8

const (
	LevelNew    LevelAction = 0
	LevelChange LevelAction = 1
	LevelDelete LevelAction = 2
)

// Event is one output of the engine. Like Command it holds no pointers.
// Which fields are meaningful depends on Kind; the order fields (OrderID to
// AvgPx) describe the order after the event.
type Event struct {
	Kind EventKind
	// Seq and Time are the command's; ExecID is unique per event and
	// increases by one per event of the shard.
	Seq    uint64
	Time   int64
	ExecID uint64

	Party      PartyID
	Instrument InstrumentID
	OrderID    OrderID
	Side       Side
	OrdType    OrdType
	TIF        TIF
	Reason     Reason
	Price      Price // the order's limit price (0 for market orders)
	OrderQty   Qty
	LeavesQty  Qty
	CumQty     Qty
	AvgPx      Price // volume-weighted, rounded half up
	// Displayed is the iceberg's visible part after the event.
	Displayed  Qty
	ExpireTime int64

	ClOrdID     ID
	OrigClOrdID ID
	Account     ID

	// EvFill, EvTrade: the match.
	LastQty      Qty
	LastPx       Price
	Counterparty PartyID // EvFill: the other side; EvCreditSet: the other party
	TradeID      uint64
	Aggressor    bool // EvFill: this side was the incoming order; EvTrade: Side is the aggressor's
	TradeDate    Date
	SettlDate    Date

	// EvCancelRejected: 'F' or 'G'. EvLevel: the action.
	RespondingTo CommandKind
	Action       LevelAction
	// EvMassCancelReport: orders cancelled; EvLevel: orders at the level.
	Count int64
	// EvCreditSet: the new limit.
	CreditLimit int64
}
