package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fxmatch/engine"
)

// Sentinel errors; every error the parsers return wraps one of them and
// quotes the value it was given.
var (
	ErrBadPrice  = errors.New("wire: bad price")
	ErrBadQty    = errors.New("wire: bad quantity")
	ErrBadSymbol = errors.New("wire: bad symbol")
)

// maxPriceInt bounds the integer part of a price so that it fits an
// engine.Price (int64 of 10^-8 units) with its fraction.
const maxPriceInt = (1<<63 - 1) / engine.PriceScale

// maxQty is the largest quantity ParseQty takes: the configuration's own
// upper bound for any instrument's qty_max (2^50), so no product of a
// quantity and a price in the venue overflows.
const maxQty = 1 << 50

// ParsePrice converts a decimal string ("7.1020") exactly into an
// engine.Price. It takes only plain non-negative decimals: digits, then
// optionally a point and 1 to 8 digits. Signs, exponents, spaces, and a
// ninth decimal are errors, never rounded; whether the price is a multiple
// of an instrument's tick is the caller's check (Names.ParsePrice does it).
func ParsePrice(s string) (engine.Price, error) {
	ip, fp, dot := strings.Cut(s, ".")
	if ip == "" || !digits(ip) || (dot && (fp == "" || !digits(fp))) {
		return 0, fmt.Errorf("%w %q: want a plain decimal such as \"7.1020\"", ErrBadPrice, s)
	}
	if len(fp) > engine.PriceDecimals {
		return 0, fmt.Errorf("%w %q: more than %d decimal places", ErrBadPrice, s, engine.PriceDecimals)
	}
	var i int64
	for k := 0; k < len(ip); k++ {
		i = i*10 + int64(ip[k]-'0')
		if i > maxPriceInt {
			return 0, fmt.Errorf("%w %q: too large", ErrBadPrice, s)
		}
	}
	var f int64
	for k := 0; k < engine.PriceDecimals; k++ {
		f *= 10
		if k < len(fp) {
			f += int64(fp[k] - '0')
		}
	}
	p := i*engine.PriceScale + f
	if p < 0 { // i == maxPriceInt and a fraction beyond int64
		return 0, fmt.Errorf("%w %q: too large", ErrBadPrice, s)
	}
	return engine.Price(p), nil
}

// AppendPrice appends p as a decimal with at least minDec decimal places
// (pass the instrument's tick decimals, TickDecimals) and no trailing zero
// beyond them: 7.1 with minDec 4 is "7.1000", an average 7.10005 keeps its
// fifth decimal. With minDec 0 a whole price has no point.
func AppendPrice(dst []byte, p engine.Price, minDec int) []byte {
	dst = engine.AppendPrice(dst, p, engine.PriceDecimals)
	end := len(dst)
	// engine.AppendPrice wrote exactly PriceDecimals digits after the point.
	point := end - engine.PriceDecimals - 1
	keep := point + 1 + max(0, min(minDec, engine.PriceDecimals))
	for end > keep && dst[end-1] == '0' {
		end--
	}
	if end == point+1 {
		end = point // no decimals left: drop the point
	}
	return dst[:end]
}

// FormatPrice is AppendPrice to a string.
func FormatPrice(p engine.Price, minDec int) string {
	var buf [32]byte
	return string(AppendPrice(buf[:0], p, minDec))
}

// ParseQty converts a whole number of base-currency units ("5000000")
// into an engine.Qty. Only digits are taken: no sign, no decimal point, no
// exponent ("5m" is the chat parser's business, not the wire's).
func ParseQty(s string) (engine.Qty, error) {
	if s == "" || !digits(s) {
		return 0, fmt.Errorf("%w %q: want a whole number of base-currency units such as \"5000000\"", ErrBadQty, s)
	}
	var q int64
	for k := 0; k < len(s); k++ {
		q = q*10 + int64(s[k]-'0')
		if q > maxQty {
			return 0, fmt.Errorf("%w %q: above %d", ErrBadQty, s, int64(maxQty))
		}
	}
	return engine.Qty(q), nil
}

// AppendQty appends q as a decimal integer.
func AppendQty(dst []byte, q engine.Qty) []byte { return strconv.AppendInt(dst, int64(q), 10) }

// FormatQty is AppendQty to a string.
func FormatQty(q engine.Qty) string { return strconv.FormatInt(int64(q), 10) }

// SymbolCode is the symbol as written in URL paths and NATS subject
// tokens: the slash removed ("USD/CNY" → "USDCNY"). A subject token may
// not hold '.', '*', '>' or spaces; the configuration's currency codes are
// three capital letters, so the code never does.
func SymbolCode(symbol string) string { return strings.Replace(symbol, "/", "", 1) }

// SymbolFromCode is the inverse of SymbolCode: "USDCNY" → "USD/CNY". The
// code must be six capital letters (two ISO 4217 codes); whether the venue
// lists the pair is Names.InstrumentByCode's question.
func SymbolFromCode(code string) (string, error) {
	if len(code) != 6 {
		return "", fmt.Errorf("%w %q: want six capital letters such as \"USDCNY\"", ErrBadSymbol, code)
	}
	for i := 0; i < 6; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return "", fmt.Errorf("%w %q: want six capital letters such as \"USDCNY\"", ErrBadSymbol, code)
		}
	}
	return code[:3] + "/" + code[3:], nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
