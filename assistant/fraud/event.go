package fraud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ErrBadEvent is returned (wrapped, with the detail) for an input line that
// is not a usable event: not JSON, a timestamp that is not RFC 3339, an
// order without an account. Lines whose event kind is unknown are not bad:
// they parse to KindNone and the scorer ignores them.
var ErrBadEvent = errors.New("fraud: bad event")

// Kind is what an input line reports.
type Kind uint8

const (
	KindNone   Kind = iota // an event kind the scorer does not know: ignored
	KindLogin              // a session logged in from Source
	KindOrder              // a new order: the only kind that is scored
	KindCancel             // the order OrderID was cancelled (by its owner)
	KindFill               // the order OrderID traded Qty at Price against Counterparty
)

var kindNames = [...]string{"", "login", "order", "cancel", "fill"}

func (k Kind) String() string { return kindNames[k] }

// Side is an order's side.
type Side uint8

const (
	SideNone Side = iota
	SideBuy
	SideSell
)

// Opposite is the other side (SideNone stays SideNone).
func (s Side) Opposite() Side {
	switch s {
	case SideBuy:
		return SideSell
	case SideSell:
		return SideBuy
	}
	return SideNone
}

var sideNames = [...]string{"", "buy", "sell"}

func (s Side) String() string { return sideNames[s] }

// OrdType is an order's type; only the distinction between limit orders
// and market orders matters to the scorer.
type OrdType uint8

const (
	OrdTypeNone OrdType = iota
	OrdLimit
	OrdMarket
	OrdOther // stop and anything else: treated like a limit order
)

var ordTypeNames = [...]string{"", "limit", "market", "other"}

func (o OrdType) String() string { return ordTypeNames[o] }

// TIF is an order's time in force; IOC and FOK mark an order as aggressive.
type TIF uint8

const (
	TIFNone TIF = iota
	TIFDay
	TIFGTC
	TIFIOC
	TIFFOK
	TIFGTD
	TIFOther
)

var tifNames = [...]string{"", "day", "gtc", "ioc", "fok", "gtd", "other"}

func (t TIF) String() string { return tifNames[t] }

// Event is one input line, parsed. Strings keep the text of the line; the
// numbers are float64 because the scorer only compares magnitudes (the
// matcher's fixed-point Price and Qty never reach it). Price is 0 when the
// line has none (a market order).
type Event struct {
	TS           int64 // microseconds since the Unix epoch, UTC
	Kind         Kind
	Participant  string
	Account      string
	Source       string // device or network origin of the session
	OrderID      string
	Symbol       string // "USD/CNY"
	Side         Side
	Qty          float64
	Price        float64
	OrdType      OrdType
	TIF          TIF
	Mid          float64 // the market mid when the order was sent
	Counterparty string  // the other account of a fill
}

// Time is TS as a time.Time in UTC.
func (e *Event) Time() time.Time { return time.UnixMicro(e.TS).UTC() }

// Aggressive reports whether an order takes liquidity as sent: a market
// order, an IOC or FOK, or a limit priced through the mid.
func (e *Event) Aggressive() bool {
	return e.aggression() == aggrTake
}

// Aggression classes of an order, the index of a profile's order-type
// histogram.
const (
	aggrPassive    = 0 // a limit resting behind the mid
	aggrMarketable = 1 // a limit priced at or through the mid, not IOC/FOK
	aggrTake       = 2 // market, IOC or FOK
	aggrClasses    = 3
)

func (e *Event) aggression() int {
	if e.OrdType == OrdMarket || e.TIF == TIFIOC || e.TIF == TIFFOK || e.Price == 0 {
		return aggrTake
	}
	if e.Mid > 0 && ((e.Side == SideBuy && e.Price >= e.Mid) || (e.Side == SideSell && e.Price <= e.Mid)) {
		return aggrMarketable
	}
	return aggrPassive
}

// wireEvent is the JSON shape of a line. Numbers may be JSON numbers or
// decimal strings ("7.1020"), so that a producer keeping decimals exact
// need not convert them.
type wireEvent struct {
	TS           string  `json:"ts"`
	Event        string  `json:"event"`
	Participant  string  `json:"participant"`
	Account      string  `json:"account"`
	Source       string  `json:"source"`
	OrderID      string  `json:"order_id"`
	Symbol       string  `json:"symbol"`
	Side         string  `json:"side"`
	Qty          flexNum `json:"qty"`
	Price        flexNum `json:"price"`
	OrdType      string  `json:"ord_type"`
	TIF          string  `json:"tif"`
	Mid          flexNum `json:"mid"`
	Counterparty string  `json:"counterparty"`
}

// flexNum is a JSON number or a string holding one.
type flexNum float64

func (f *flexNum) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' {
		b = b[1 : len(b)-1]
		if len(b) == 0 {
			return nil
		}
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexNum(v)
	return nil
}

// ParseEvent parses one JSON line into ev (overwriting it). Unknown fields
// are ignored, and so is an unknown event kind (ev.Kind is KindNone). The
// strings of ev do not alias line.
func ParseEvent(line []byte, ev *Event) error {
	var w wireEvent
	if err := json.Unmarshal(line, &w); err != nil {
		return fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	t, err := time.Parse(time.RFC3339Nano, w.TS)
	if err != nil {
		return fmt.Errorf("%w: ts %q is not RFC 3339", ErrBadEvent, w.TS)
	}
	*ev = Event{
		TS:           t.UnixMicro(),
		Participant:  w.Participant,
		Account:      w.Account,
		Source:       w.Source,
		OrderID:      w.OrderID,
		Symbol:       w.Symbol,
		Qty:          float64(w.Qty),
		Price:        float64(w.Price),
		Mid:          float64(w.Mid),
		Counterparty: w.Counterparty,
	}
	switch w.Event {
	case "login":
		ev.Kind = KindLogin
	case "order":
		ev.Kind = KindOrder
	case "cancel":
		ev.Kind = KindCancel
	case "fill":
		ev.Kind = KindFill
	default:
		return nil
	}
	switch w.Side {
	case "buy", "BUY", "Buy", "b", "1":
		ev.Side = SideBuy
	case "sell", "SELL", "Sell", "s", "2":
		ev.Side = SideSell
	}
	switch w.OrdType {
	case "limit", "LIMIT", "Limit", "2", "":
		ev.OrdType = OrdLimit
		if w.OrdType == "" && ev.Price == 0 {
			ev.OrdType = OrdMarket
		}
	case "market", "MARKET", "Market", "1":
		ev.OrdType = OrdMarket
	default:
		ev.OrdType = OrdOther
	}
	switch w.TIF {
	case "":
	case "day", "DAY", "0":
		ev.TIF = TIFDay
	case "gtc", "GTC", "1":
		ev.TIF = TIFGTC
	case "ioc", "IOC", "3":
		ev.TIF = TIFIOC
	case "fok", "FOK", "4":
		ev.TIF = TIFFOK
	case "gtd", "GTD", "6":
		ev.TIF = TIFGTD
	default:
		ev.TIF = TIFOther
	}
	if ev.Account == "" && ev.Kind != KindNone {
		return fmt.Errorf("%w: %s without an account", ErrBadEvent, w.Event)
	}
	if ev.Kind == KindOrder {
		if ev.Side == SideNone {
			return fmt.Errorf("%w: order %q: side %q is not buy or sell", ErrBadEvent, ev.OrderID, w.Side)
		}
		if ev.Qty <= 0 {
			return fmt.Errorf("%w: order %q: qty must be positive", ErrBadEvent, ev.OrderID)
		}
	}
	return nil
}

// tsLayout is the timestamp form the simulator writes: RFC 3339 in UTC
// with exactly six fractional digits.
const tsLayout = "2006-01-02T15:04:05.000000Z07:00"

// AppendEvent appends ev as one JSON line (with its newline) in the
// documented field order, leaving out empty fields. Numbers use the
// shortest form that reads back to the same float64.
func AppendEvent(dst []byte, ev *Event) []byte {
	dst = append(dst, `{"ts":"`...)
	dst = time.UnixMicro(ev.TS).UTC().AppendFormat(dst, tsLayout)
	dst = append(dst, `","event":"`...)
	dst = append(dst, ev.Kind.String()...)
	dst = append(dst, '"')
	dst = appendStrField(dst, "participant", ev.Participant)
	dst = appendStrField(dst, "account", ev.Account)
	dst = appendStrField(dst, "source", ev.Source)
	dst = appendStrField(dst, "order_id", ev.OrderID)
	dst = appendStrField(dst, "symbol", ev.Symbol)
	if ev.Side != SideNone {
		dst = appendStrField(dst, "side", ev.Side.String())
	}
	dst = appendNumField(dst, "qty", ev.Qty)
	dst = appendNumField(dst, "price", ev.Price)
	if ev.OrdType != OrdTypeNone {
		dst = appendStrField(dst, "ord_type", ev.OrdType.String())
	}
	if ev.TIF != TIFNone {
		dst = appendStrField(dst, "tif", ev.TIF.String())
	}
	dst = appendNumField(dst, "mid", ev.Mid)
	dst = appendStrField(dst, "counterparty", ev.Counterparty)
	return append(dst, "}\n"...)
}

func appendStrField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, name...)
	dst = append(dst, `":`...)
	return AppendJSONString(dst, v)
}

func appendNumField(dst []byte, name string, v float64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, name...)
	dst = append(dst, `":`...)
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}

// AppendJSONString appends s quoted, escaping what JSON requires (quote,
// backslash, control characters; nothing else, so bytes pass through as
// given). It is exported so that assistant/service writes its payloads
// with the same escaper instead of a copy of it.
func AppendJSONString[T ~string | ~[]byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
