package engine

import (
	"errors"
	"fmt"
	"strconv"
)

// PriceDecimals is the number of decimal places of the fixed-point Price.
// Every instrument's tick is a whole number of these units, so the engine
// can check "is a multiple of the tick" itself with one integer remainder.
const PriceDecimals = 8

// PriceScale is 10^PriceDecimals: Price(PriceScale) is a price of 1.
const PriceScale = 100_000_000

// Price is a price in units of 10^-8 of the term currency per unit of base
// currency (USD/CNY 7.1020 is Price(710_200_000)). Prices never pass through
// floating point or decimal types inside the engine.
type Price int64

// Qty is a quantity in whole units of the base currency (38=1000000 on
// USD/CNY is Qty(1_000_000)).
type Qty int64

// PartyID is the dense index of a participant in Config.Participants.
// NoParty (0) means "none": participant indices start at 1.
type PartyID uint16

// NoParty is the zero PartyID: no participant.
const NoParty PartyID = 0

// InstrumentID is the dense index of an instrument in Config.Instruments.
type InstrumentID uint16

// OrderID identifies an order for its whole life. The engine assigns them in
// sequence; the top 16 bits hold the shard number so ids are unique across
// shards.
type OrderID uint64

// Side of an order.
type Side uint8

const (
	Buy  Side = 1
	Sell Side = 2
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "side(" + strconv.Itoa(int(s)) + ")"
}

// Opposite returns the other side.
func (s Side) Opposite() Side { return 3 - s }

// OrdType is the order type.
type OrdType uint8

const (
	Market OrdType = 1
	Limit  OrdType = 2
)

func (t OrdType) String() string {
	switch t {
	case Market:
		return "market"
	case Limit:
		return "limit"
	}
	return "ordtype(" + strconv.Itoa(int(t)) + ")"
}

// TIF is the time in force, numbered as FIX TimeInForce(59).
type TIF uint8

const (
	Day TIF = 0
	GTC TIF = 1
	IOC TIF = 3
	FOK TIF = 4
	GTD TIF = 6
)

func (t TIF) String() string {
	switch t {
	case Day:
		return "day"
	case GTC:
		return "gtc"
	case IOC:
		return "ioc"
	case FOK:
		return "fok"
	case GTD:
		return "gtd"
	}
	return "tif(" + strconv.Itoa(int(t)) + ")"
}

// MaxIDLen is the longest ClOrdID (and Account) the venue accepts, in bytes.
const MaxIDLen = 47

// ErrIDTooLong is returned by MakeID for a string longer than MaxIDLen.
var ErrIDTooLong = errors.New("engine: identifier longer than 47 bytes")

// ID is a short client-chosen identifier (ClOrdID, Account) held by value,
// so orders and events carry no pointers and the garbage collector never
// scans the book.
type ID struct {
	n uint8
	b [MaxIDLen]byte
}

// MakeID copies s into an ID.
func MakeID(s string) (ID, error) {
	var id ID
	if len(s) > MaxIDLen {
		return id, ErrIDTooLong
	}
	id.n = uint8(copy(id.b[:], s))
	return id, nil
}

// MustID is MakeID for tests and constants; it panics on a long string.
func MustID(s string) ID {
	id, err := MakeID(s)
	if err != nil {
		panic(fmt.Sprintf("engine: MustID(%q): %v", s, err))
	}
	return id
}

// String returns the identifier as a string (allocates).
func (id ID) String() string { return string(id.b[:id.n]) }

// Bytes returns the identifier's bytes; the slice aliases id.
func (id *ID) Bytes() []byte { return id.b[:id.n] }

// Empty reports whether the identifier has no bytes.
func (id ID) Empty() bool { return id.n == 0 }
