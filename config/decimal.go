package config

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/shopspring/decimal"

	"fxmatch/engine"
)

// Decimal is an exact decimal as written in the file: a TOML string
// ("0.0001") or integer (150). It keeps the text, not a converted value, so
// that errors quote what the operator wrote and so that the conversion to
// fixed point happens in one place (Price, BasisPoints) with the key at
// hand for the message.
//
// A TOML float (tick = 0.0001, unquoted) is remembered as such and refused
// by Validate: it has passed through binary floating point, so the value
// the venue would see is not necessarily the one written.
type Decimal struct {
	text  string
	float bool
}

// MustDecimal returns the Decimal of s, for constants; it does not check s
// (Validate does).
func MustDecimal(s string) Decimal { return Decimal{text: s} }

// String returns the decimal as written.
func (d Decimal) String() string { return d.text }

// IsZero reports whether the key was left out.
func (d Decimal) IsZero() bool { return d.text == "" && !d.float }

// UnmarshalTOML implements toml.Unmarshaler.
func (d *Decimal) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*d = Decimal{text: v}
	case int64:
		*d = Decimal{text: strconv.FormatInt(v, 10)}
	case float64:
		*d = Decimal{text: strconv.FormatFloat(v, 'g', -1, 64), float: true}
	default:
		return fmt.Errorf("want a decimal as a string (\"0.0001\"), got %T", v)
	}
	return nil
}

// parse returns the exact value, or a message saying why there is none.
func (d Decimal) parse() (decimal.Decimal, string) {
	if d.float {
		return decimal.Decimal{}, fmt.Sprintf("%s is a TOML float, which is binary and not exact; write it as a string: \"%s\"", d.text, d.text)
	}
	v, err := decimal.NewFromString(d.text)
	if err != nil {
		return decimal.Decimal{}, fmt.Sprintf("%q is not a decimal number", d.text)
	}
	return v, ""
}

// maxFixed bounds converted values: the engine refuses prices above 2^50
// (so that price × quantity products stay within its 128-bit arithmetic
// with room to spare).
const maxFixed = 1 << 50

// Price converts d exactly to the engine's fixed point (8 decimals). A value
// that needs a ninth decimal place, is not positive, or is too large is an
// error message, never a rounded price.
func (d Decimal) Price() (engine.Price, string) {
	v, msg := d.parse()
	if msg != "" {
		return 0, msg
	}
	n, msg := fixed(v, engine.PriceDecimals, d.text, "decimal places")
	return engine.Price(n), msg
}

// BasisPoints converts a percentage exactly to basis points ("2" → 200).
func (d Decimal) BasisPoints() (int64, string) {
	v, msg := d.parse()
	if msg != "" {
		return 0, msg
	}
	return fixed(v, 2, d.text, "decimal places of a percent (whole basis points)")
}

// fixed returns v·10^places as an integer if that is exact, positive and
// at most maxFixed.
func fixed(v decimal.Decimal, places int32, text, unit string) (int64, string) {
	if v.Sign() <= 0 {
		return 0, fmt.Sprintf("%q must be positive", text)
	}
	s := v.Shift(places)
	if !s.IsInteger() {
		return 0, fmt.Sprintf("%q has more than %d %s; it is not representable exactly", text, places, unit)
	}
	n := s.BigInt()
	if n.Cmp(big.NewInt(maxFixed)) > 0 {
		return 0, fmt.Sprintf("%q is too large (at most %s)", text, decimal.New(maxFixed, -places).String())
	}
	return n.Int64(), ""
}
