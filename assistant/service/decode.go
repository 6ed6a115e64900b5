package service

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"fxmatch/gateway/wire"
)

// errNotFlat: the fast decoder met something it leaves to encoding/json
// (an escape, a nested value, a syntax error), which then decides, with
// its own error message.
var errNotFlat = errors.New("not a flat object")

// decodeScoreRequest decodes a score request body. The common body — a
// flat object of plain strings, numbers and booleans, as the venue's gate
// writes it (ScoreRequest.AppendJSON) — is read by hand: one string
// conversion of the body, every field a substring of it, no reflection
// (encoding/json spends more time on it than the scorer on the order).
// Anything else goes to encoding/json, so that every body it accepts is
// accepted, and every body it refuses is refused with its message.
func decodeScoreRequest(data []byte, r *ScoreRequest) error {
	*r = ScoreRequest{}
	if err := decodeFlat(data, r); err == nil {
		return nil
	}
	*r = ScoreRequest{}
	return json.Unmarshal(data, r)
}

// decodeExecEvent decodes an execution event from the bus the same way:
// the venue's own (wire.AppendExecEvent) by hand, anything else by
// encoding/json. The assistant reads every participant's execution
// events, and under load encoding/json's reflection on each cancel was a
// tenth of the venue's CPU.
func decodeExecEvent(data []byte, x *wire.ExecEvent) error {
	*x = wire.ExecEvent{}
	if err := decodeFlatExec(data, (*execFields)(x)); err == nil {
		return nil
	}
	// Into a variable of its own, so that only this path allocates it (x
	// given to encoding/json would move the caller's to the heap).
	var y wire.ExecEvent
	err := json.Unmarshal(data, &y)
	*x = y
	return err
}

// decodeFlat reads a flat score request.
func decodeFlat(data []byte, r *ScoreRequest) error { return eachFlat(data, r.set) }

// decodeFlatExec reads a flat execution event.
func decodeFlatExec(data []byte, r *execFields) error { return eachFlat(data, r.set) }

// eachFlat hands each member of a flat JSON object to set. set does not
// escape, so the method value and its receiver stay on the caller's
// stack.
func eachFlat(data []byte, set func(key, val string, isStr bool) error) error {
	f := flatReader{s: string(data)}
	for {
		key, val, isStr, err := f.next()
		switch {
		case err == errFlatEnd:
			return nil
		case err != nil:
			return err
		}
		if err := set(key, val, isStr); err != nil {
			return err
		}
	}
}

// errFlatEnd: the object ended (well formed).
var errFlatEnd = errors.New("end of object")

// flatReader reads the members of a flat JSON object.
type flatReader struct {
	s     string
	i     int
	begun bool
}

// next returns the next member, errFlatEnd after the last, or errNotFlat.
func (f *flatReader) next() (key, val string, isStr bool, err error) {
	s, i := f.s, f.i
	if !f.begun {
		f.begun = true
		i = skipWS(s, 0)
		if i >= len(s) || s[i] != '{' {
			return "", "", false, errNotFlat
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			if trailing(s, i+1) != nil {
				return "", "", false, errNotFlat
			}
			return "", "", false, errFlatEnd
		}
	} else {
		// After a value: the end, or a comma and the next member.
		i = skipWS(s, i)
		if i >= len(s) {
			return "", "", false, errNotFlat
		}
		if s[i] == '}' {
			if trailing(s, i+1) != nil {
				return "", "", false, errNotFlat
			}
			return "", "", false, errFlatEnd
		}
		if s[i] != ',' {
			return "", "", false, errNotFlat
		}
		i = skipWS(s, i+1)
	}
	key, j, ok := plainString(s, i)
	if !ok {
		return "", "", false, errNotFlat
	}
	i = skipWS(s, j)
	if i >= len(s) || s[i] != ':' {
		return "", "", false, errNotFlat
	}
	i = skipWS(s, i+1)
	if i >= len(s) {
		return "", "", false, errNotFlat
	}
	switch c := s[i]; {
	case c == '"':
		if val, j, ok = plainString(s, i); !ok {
			return "", "", false, errNotFlat
		}
		isStr = true
	case c == '-' || c >= '0' && c <= '9':
		j = i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '-' || s[j] == '+' || s[j] == 'e' || s[j] == 'E') {
			j++
		}
		val = s[i:j]
		if !jsonNumber(val) {
			return "", "", false, errNotFlat // even as an unknown key's value, encoding/json refuses it
		}
	case c == 't' || c == 'f':
		switch {
		case len(s)-i >= 4 && s[i:i+4] == "true":
			val, j = "true", i+4
		case len(s)-i >= 5 && s[i:i+5] == "false":
			val, j = "false", i+5
		default:
			return "", "", false, errNotFlat
		}
	default:
		return "", "", false, errNotFlat // null, objects, arrays: encoding/json's business
	}
	f.i = j
	return key, val, isStr, nil
}

// set assigns one field; a value of the wrong JSON type, or a key seen in
// another case (encoding/json matches keys case-insensitively), is left to
// encoding/json.
func (r *ScoreRequest) set(key, val string, isStr bool) error {
	var dst *string
	switch key {
	case "participant":
		dst = &r.Participant
	case "account":
		dst = &r.Account
	case "cl_ord_id":
		dst = &r.ClOrdID
	case "orig_cl_ord_id":
		dst = &r.OrigClOrdID
	case "symbol":
		dst = &r.Symbol
	case "side":
		dst = &r.Side
	case "ord_type":
		dst = &r.OrdType
	case "tif":
		dst = &r.TIF
	case "channel":
		dst = &r.Channel
	case "source":
		dst = &r.Source
	case "session":
		dst = &r.Session
	case "time":
		dst = &r.Time
	case "qty", "price", "mid":
		n := Num(val)
		if !isStr {
			if _, err := n.Float(); err != nil || val == "" {
				return errNotFlat
			}
		}
		switch key {
		case "qty":
			r.Qty = n
		case "price":
			r.Price = n
		default:
			r.Mid = n
		}
		return nil
	case "preview":
		if isStr || (val != "true" && val != "false") {
			return errNotFlat
		}
		r.Preview = val == "true"
		return nil
	default:
		return unknownKey(key) // ignored as encoding/json would, unless it may be a known key
	}
	if !isStr {
		return errNotFlat
	}
	*dst = val
	return nil
}

// execFields sets wire.ExecEvent's fields for decodeFlat.
type execFields wire.ExecEvent

func (x *execFields) set(key, val string, isStr bool) error {
	var dst *string
	switch key {
	case "type":
		dst = &x.Type
	case "exec_id":
		dst = &x.ExecID
	case "time":
		dst = &x.Time
	case "participant":
		dst = &x.Participant
	case "order_id":
		dst = &x.OrderID
	case "cl_ord_id":
		dst = &x.ClOrdID
	case "orig_cl_ord_id":
		dst = &x.OrigClOrdID
	case "account":
		dst = &x.Account
	case "symbol":
		dst = &x.Symbol
	case "side":
		dst = &x.Side
	case "ord_type":
		dst = &x.OrdType
	case "tif":
		dst = &x.TIF
	case "expire_time":
		dst = &x.ExpireTime
	case "price":
		dst = &x.Price
	case "qty":
		dst = &x.Qty
	case "leaves_qty":
		dst = &x.LeavesQty
	case "cum_qty":
		dst = &x.CumQty
	case "avg_px":
		dst = &x.AvgPx
	case "last_qty":
		dst = &x.LastQty
	case "last_px":
		dst = &x.LastPx
	case "trade_id":
		dst = &x.TradeID
	case "counterparty":
		dst = &x.Counterparty
	case "trade_date":
		dst = &x.TradeDate
	case "settl_date":
		dst = &x.SettlDate
	case "responding_to":
		dst = &x.RespondingTo
	case "reason":
		dst = &x.Reason
	case "text":
		dst = &x.Text
	case "seq":
		// Plain digits only: anything else (a sign, a fraction, an
		// exponent, a leading zero) is encoding/json's to accept or refuse.
		if isStr || !plainDigits(val) {
			return errNotFlat
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return errNotFlat
		}
		x.Seq = n
		return nil
	case "count":
		digits := strings.TrimPrefix(val, "-")
		if isStr || !plainDigits(digits) {
			return errNotFlat
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return errNotFlat
		}
		x.Count = &n
		return nil
	case "aggressor":
		if isStr || (val != "true" && val != "false") {
			return errNotFlat
		}
		b := val == "true"
		x.Aggressor = &b
		return nil
	default:
		return unknownKey(key)
	}
	if !isStr {
		return errNotFlat
	}
	*dst = val
	return nil
}

// jsonNumber: s is a number by JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func jsonNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// plainDigits: a JSON integer without sign, fraction, exponent or leading
// zero.
func plainDigits(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unknownKey: encoding/json ignores an unknown key, but matches keys
// case-insensitively, so a key with capitals might be a known one.
func unknownKey(key string) error {
	for k := 0; k < len(key); k++ {
		if c := key[k]; c >= 'A' && c <= 'Z' {
			return errNotFlat
		}
	}
	return nil
}

// plainString reads a JSON string at s[i] with no escapes and no control
// characters, returning its contents and the index after it.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			// Escapes need unquoting and non-ASCII needs UTF-8 checking:
			// encoding/json does both.
			return "", j, false
		}
	}
	return "", len(s), false
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func trailing(s string, i int) error {
	if skipWS(s, i) != len(s) {
		return errNotFlat
	}
	return nil
}
