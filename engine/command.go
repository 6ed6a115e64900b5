package engine

// CommandKind names what a Command asks for.
type CommandKind uint8

const (
	CmdNewOrder   CommandKind = 1
	CmdCancel     CommandKind = 2
	CmdReplace    CommandKind = 3
	CmdMassCancel CommandKind = 4
	CmdSetCredit  CommandKind = 5
	// CmdTick only advances time: GTD orders whose expiry has come expire.
	CmdTick CommandKind = 6
	// CmdRollDay ends the trading day: GTD orders due expire, Day orders
	// expire, credit usage is restored, the ClOrdID index forgets dead
	// orders, and the engine moves to Command.TradeDate.
	CmdRollDay CommandKind = 7
)

func (k CommandKind) String() string {
	switch k {
	case CmdNewOrder:
		return "new"
	case CmdCancel:
		return "cancel"
	case CmdReplace:
		return "replace"
	case CmdMassCancel:
		return "masscancel"
	case CmdSetCredit:
		return "setcredit"
	case CmdTick:
		return "tick"
	case CmdRollDay:
		return "rollday"
	}
	return "cmd?"
}

// MassScope is the reach of a mass cancel.
type MassScope uint8

const (
	// MassBySymbol cancels the participant's orders in Command.Instrument
	// (FIX MassCancelRequestType 1).
	MassBySymbol MassScope = 1
	// MassAll cancels all of the participant's orders (FIX type 7).
	MassAll MassScope = 7
)

// Command is one sequenced input to the engine. It is a plain value with
// no pointers: it can be copied into a ring slot or a journal record as is.
// Seq and Time are assigned by the sequencer before the engine sees it;
// they are the only clock the engine has.
type Command struct {
	Seq  uint64
	Time int64 // Unix nanoseconds, assigned by the sequencer
	Kind CommandKind

	Party      PartyID
	Instrument InstrumentID
	Side       Side
	OrdType    OrdType
	TIF        TIF
	PostOnly   bool
	// MassCancel: scope. CmdMassCancel with Reason ReasonDisconnect is the
	// cancel-on-disconnect of a participant.
	Scope  MassScope
	Reason Reason

	Price    Price
	Qty      Qty // OrderQty; for replace the new OrderQty
	MinQty   Qty
	MaxFloor Qty
	// ExpireTime is the GTD expiry (Unix nanoseconds).
	ExpireTime int64
	// Directed names the only counterparty the order may trade with.
	Directed PartyID

	ClOrdID     ID // the request's ClOrdID
	OrigClOrdID ID // cancel/replace: the order's current ClOrdID
	Account     ID

	// SetCredit: the line between Party and Counterparty gets CreditLimit.
	Counterparty PartyID
	CreditLimit  int64
	// RollDay: the new trade date.
	TradeDate Date
}
