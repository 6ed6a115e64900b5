package gateway

import (
	"strconv"
	"strings"
	"time"

	"fxmatch/engine"
)

// symbolCode is a symbol without its slash ("USD/CNY" → "USDCNY"), the
// form used in URL paths and NATS subjects.
func symbolCode(sym string) string { return strings.ReplaceAll(sym, "/", "") }

// fmtPx writes a price with at least minDec decimals and no trailing
// zeros beyond them.
func fmtPx(p engine.Price, minDec int) string {
	s := engine.FormatPrice(p, engine.PriceDecimals)
	dot := strings.IndexByte(s, '.')
	end := len(s)
	for end > dot+1+minDec && s[end-1] == '0' {
		end--
	}
	if end == dot+1 {
		end--
	}
	return s[:end]
}

func fmtQty(q engine.Qty) string { return strconv.FormatInt(int64(q), 10) }

// fmtTime is RFC 3339 with nanoseconds, UTC.
func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
