package engine

import (
	"errors"
	"strconv"
	"strings"
)

// ErrBadPrice is returned by ParsePrice for text that is not a plain
// decimal with at most PriceDecimals places.
var ErrBadPrice = errors.New("engine: not a decimal price with at most 8 decimal places")

// ParsePrice converts a plain decimal ("7.1020") exactly to a Price. It
// never rounds: more than 8 decimal places is an error. The edges use
// shopspring/decimal for FIX and JSON; this is for scripts and tools.
func ParsePrice(s string) (Price, error) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" || len(fp) > PriceDecimals || strings.ContainsAny(ip+fp, "+-") {
		return 0, ErrBadPrice
	}
	fp += strings.Repeat("0", PriceDecimals-len(fp))
	if ip == "" {
		ip = "0"
	}
	i, err := strconv.ParseInt(ip, 10, 64)
	if err != nil || i > (1<<62)/PriceScale {
		return 0, ErrBadPrice
	}
	f, err := strconv.ParseInt(fp, 10, 64)
	if err != nil {
		return 0, ErrBadPrice
	}
	p := Price(i*PriceScale + f)
	if neg {
		p = -p
	}
	return p, nil
}

// AppendPrice appends p with exactly decimals decimal places (at most 8;
// digits beyond are dropped, so pass the instrument's tick decimals).
func AppendPrice(dst []byte, p Price, decimals int) []byte {
	if p < 0 {
		dst = append(dst, '-')
		p = -p
	}
	dst = strconv.AppendInt(dst, int64(p/PriceScale), 10)
	if decimals <= 0 {
		return dst
	}
	frac := int64(p % PriceScale)
	var buf [PriceDecimals]byte
	for i := PriceDecimals - 1; i >= 0; i-- {
		buf[i] = byte('0' + frac%10)
		frac /= 10
	}
	dst = append(dst, '.')
	return append(dst, buf[:min(decimals, PriceDecimals)]...)
}

// FormatPrice is AppendPrice to a string.
func FormatPrice(p Price, decimals int) string { return string(AppendPrice(nil, p, decimals)) }

// TickDecimals is the number of decimal places a tick needs (0.0001 → 4).
func TickDecimals(tick Price) int {
	d := PriceDecimals
	for d > 0 && tick%10 == 0 {
		tick /= 10
		d--
	}
	return d
}
