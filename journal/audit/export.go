package audit

import (
	"strconv"
	"unicode/utf8"

	"fxmatch/engine"
	"fxmatch/journal"
)

// OrderEvents calls fn for every order event of the journal (IsOrderEvent)
// in time order across shards: by time, then shard, then sequence, then
// the event's place in its command. fn's *Event is valid during the call.
func (j *Journal) OrderEvents(fn func(*Event) error) error {
	shards, from, total := j.allShards()
	var ev Event
	return j.walk(shards, from, 0, j.progress(total), func(rec *journal.Record) error {
		for i := range rec.Events {
			e := &rec.Events[i]
			if !IsOrderEvent(e.Kind) {
				continue
			}
			ev = j.event(rec.Shard, e)
			if err := fn(&ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppendEventJSON appends ev as one JSON object (no newline): the order
// record of one event. The keys, always in this order:
//
//	participant   the order's owner (its FIX CompID)
//	order_id      the venue's OrderID (null for a request that named no order)
//	clordid       the order's ClOrdID after the event (a cancel's or
//	              replace's request ClOrdID; for a refused request, the request's)
//	orig_clordid  the ClOrdID it replaced (cancel, replace), else null
//	side          "buy" or "sell"
//	symbol        the pair ("USD/CNY"), null for an unknown pair
//	price         the limit price as a decimal string, null for a market order
//	qty           the order quantity (base currency units)
//	leaves, cum   the quantity open and filled after the event
//	ord_type      "limit" or "market" (null for a refused request naming no order)
//	tif           "day", "gtc", "ioc", "fok" or "gtd" (likewise)
//	event         accepted, rejected, fill, cancelled, replaced, expired, cancelreject
//	reason        why (rejects, cancels, expiries, refusals), else null
//	time          the sequencer's timestamp, UTC, RFC 3339 with microseconds
//	seq, shard    the journal position of the command the event came from
//	exec_id       the event's ExecID, unique across the venue
//	trade_date    the trading day
//
// then, on fills only: last_qty, last_px, trade_id, counterparty,
// aggressor, value_date; on GTD orders: expire_time; and account when the
// order has one.
func AppendEventJSON(dst []byte, ev *Event) []byte {
	dst = append(dst, `{"participant":`...)
	dst = appendJSONStringOrNull(dst, ev.Participant)
	dst = append(dst, `,"order_id":`...)
	if ev.OrderID == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendUint(dst, uint64(ev.OrderID), 10)
	}
	dst = append(dst, `,"clordid":`...)
	dst = appendJSONStringOrNull(dst, ev.ClOrdID.String())
	dst = append(dst, `,"orig_clordid":`...)
	dst = appendJSONStringOrNull(dst, ev.OrigClOrdID.String())
	dst = append(dst, `,"side":`...)
	dst = appendJSONString(dst, ev.Side.String())
	dst = append(dst, `,"symbol":`...)
	dst = appendJSONStringOrNull(dst, ev.Symbol)
	dst = append(dst, `,"price":`...)
	dst = appendJSONPrice(dst, ev.Price, ev.Decimals)
	dst = append(dst, `,"qty":`...)
	dst = strconv.AppendInt(dst, int64(ev.OrderQty), 10)
	dst = append(dst, `,"leaves":`...)
	dst = strconv.AppendInt(dst, int64(ev.LeavesQty), 10)
	dst = append(dst, `,"cum":`...)
	dst = strconv.AppendInt(dst, int64(ev.CumQty), 10)
	if orderless(ev) {
		dst = append(dst, `,"ord_type":null,"tif":null`...)
	} else {
		dst = append(dst, `,"ord_type":`...)
		dst = appendJSONString(dst, ev.OrdType.String())
		dst = append(dst, `,"tif":`...)
		dst = appendJSONString(dst, ev.TIF.String())
	}
	dst = append(dst, `,"event":`...)
	dst = appendJSONString(dst, ev.Kind.String())
	dst = append(dst, `,"reason":`...)
	if ev.Reason == engine.ReasonNone {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, ev.Reason.String())
	}
	dst = append(dst, `,"time":"`...)
	dst = AppendTime(dst, ev.Time)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, ev.Seq, 10)
	dst = append(dst, `,"shard":`...)
	dst = strconv.AppendUint(dst, uint64(ev.Shard), 10)
	dst = append(dst, `,"exec_id":`...)
	dst = strconv.AppendUint(dst, ev.ExecID, 10)
	dst = append(dst, `,"trade_date":"`...)
	dst = AppendDate(dst, ev.TradeDate)
	dst = append(dst, '"')
	if ev.Kind == engine.EvFill {
		dst = append(dst, `,"last_qty":`...)
		dst = strconv.AppendInt(dst, int64(ev.LastQty), 10)
		dst = append(dst, `,"last_px":`...)
		dst = appendJSONPrice(dst, ev.LastPx, ev.Decimals)
		dst = append(dst, `,"trade_id":`...)
		dst = strconv.AppendUint(dst, ev.TradeID, 10)
		dst = append(dst, `,"counterparty":`...)
		dst = appendJSONStringOrNull(dst, ev.Counterparty)
		dst = append(dst, `,"aggressor":`...)
		dst = strconv.AppendBool(dst, ev.Aggressor)
		dst = append(dst, `,"value_date":"`...)
		dst = AppendDate(dst, ev.SettlDate)
		dst = append(dst, '"')
	}
	if ev.TIF == engine.GTD && ev.ExpireTime != 0 {
		dst = append(dst, `,"expire_time":"`...)
		dst = AppendTime(dst, ev.ExpireTime)
		dst = append(dst, '"')
	}
	if !ev.Account.Empty() {
		dst = append(dst, `,"account":`...)
		dst = appendJSONString(dst, ev.Account.String())
	}
	return append(dst, '}')
}

// orderless reports whether ev is a refusal that carries none of an
// order's details — no order type or time in force (a zero TIF would read
// "day"): one that names no order, or one refused as too late, which names
// the order (journals written since the engine does so) but not its state.
func orderless(ev *Event) bool {
	return ev.Kind == engine.EvCancelRejected && (ev.OrderID == 0 || ev.Reason == engine.ReasonTooLate)
}

// appendJSONPrice appends p as a decimal string, null for 0 (a market
// order has no price; a price is never zero otherwise).
func appendJSONPrice(dst []byte, p engine.Price, decimals int) []byte {
	if p == 0 {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = engine.AppendPrice(dst, p, decimals)
	return append(dst, '"')
}

func appendJSONStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, s)
}

// appendJSONString appends s as a JSON string. ClOrdIDs are client bytes:
// quotes, backslashes and control characters are escaped, and bytes that
// are not UTF-8 become U+FFFD, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
