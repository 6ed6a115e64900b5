package fix

import (
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"

	"fxmatch/engine"
)

// out builds outbound messages. Each goroutine that sends owns one and
// reuses it: party.send copies a message into bytes when it is sent and
// keeps no reference, so the field maps can be cleared and refilled for
// the next one instead of allocating three maps per message.
type out struct {
	m   *quickfix.Message
	buf []byte
}

func newOut() *out { return &out{m: quickfix.NewMessage()} }

func (o *out) reset(msgType string) {
	o.m.Header.Clear()
	o.m.Body.Clear()
	o.m.Trailer.Clear()
	o.m.Header.SetString(quickfix.Tag(35), msgType)
}

func (o *out) str(tag quickfix.Tag, s string) { o.m.Body.SetString(tag, s) }

func (o *out) bytes(tag quickfix.Tag, b []byte) { o.m.Body.SetBytes(tag, b) }

func (o *out) char(tag quickfix.Tag, c byte) {
	o.buf = append(o.buf[:0], c)
	o.m.Body.SetBytes(tag, o.buf)
}

func (o *out) int(tag quickfix.Tag, v int64) {
	o.buf = strconv.AppendInt(o.buf[:0], v, 10)
	o.m.Body.SetBytes(tag, o.buf)
}

func (o *out) uint(tag quickfix.Tag, v uint64) {
	o.buf = strconv.AppendUint(o.buf[:0], v, 10)
	o.m.Body.SetBytes(tag, o.buf)
}

func (o *out) px(tag quickfix.Tag, p engine.Price, minDec int) {
	o.buf = appendPx(o.buf[:0], p, minDec)
	o.m.Body.SetBytes(tag, o.buf)
}

// ts writes a UTCTimestamp with milliseconds: the precision plain FIX 4.4
// defines, so every engine parses it.
func (o *out) ts(tag quickfix.Tag, unixNano int64) {
	o.m.Body.SetField(tag, quickfix.FIXUTCTimestamp{Time: time.Unix(0, unixNano).UTC(), Precision: quickfix.Millis})
}

func (o *out) date(tag quickfix.Tag, d engine.Date) { o.int(tag, int64(d)) }

func sideChar(s engine.Side) byte {
	if s == engine.Sell {
		return '2'
	}
	return '1'
}

// Group templates, in the venue dictionary's order.
var (
	contraTmpl   = quickfix.GroupTemplate{quickfix.GroupElement(tagContraBroker)}
	partiesTmpl  = quickfix.GroupTemplate{quickfix.GroupElement(tagPartyID), quickfix.GroupElement(tagPartyIDSource), quickfix.GroupElement(tagPartyRole)}
	mdFullTmpl   = quickfix.GroupTemplate{quickfix.GroupElement(tagMDEntryType), quickfix.GroupElement(tagMDEntryPx), quickfix.GroupElement(tagMDEntrySize), quickfix.GroupElement(tagNumberOfOrders)}
	mdIncTmpl    = quickfix.GroupTemplate{quickfix.GroupElement(tagMDUpdateAction), quickfix.GroupElement(tagMDEntryType), quickfix.GroupElement(tagSymbol), quickfix.GroupElement(tagMDEntryPx), quickfix.GroupElement(tagMDEntrySize), quickfix.GroupElement(tagNumberOfOrders)}
	secListTmpl  = quickfix.GroupTemplate{quickfix.GroupElement(tagSymbol), quickfix.GroupElement(tagMinPriceIncrement), quickfix.GroupElement(tagCurrency), quickfix.GroupElement(tagRoundLot), quickfix.GroupElement(tagMinTradeVol)}
	orderIDNone  = []byte("NONE")
	execTypeOf   = [...]byte{engine.EvAccepted: '0', engine.EvRejected: '8', engine.EvFill: 'F', engine.EvCancelled: '4', engine.EvReplaced: '5', engine.EvExpired: 'C'}
	isOrderEvent = [...]bool{engine.EvAccepted: true, engine.EvRejected: true, engine.EvFill: true, engine.EvCancelled: true, engine.EvReplaced: true, engine.EvExpired: true}
)

func (a *Acceptor) eventText(ev *engine.Event, owner *party, in *instrument) string {
	c := textCtx{inst: in, party: owner.name, ev: *ev, qty: ev.OrderQty, price: ev.Price, throttle: owner.throttleRate}
	if ev.Reason == engine.ReasonPriceOutsideBand {
		if b := a.v.Book(in.id); b != nil {
			c.ref = b.RefPrice
		}
	}
	return reasonText(ev.Reason, &c)
}

// edgeExecReport fills o with the ExecutionReport 150=8 of a NewOrderSingle
// refused before it reached the engine (it has no OrderID: 37=NONE).
func (a *Acceptor) edgeExecReport(o *out, e *orderEcho, code int, text string) {
	o.reset("8")
	o.bytes(tagOrderID, orderIDNone)
	if e.clOrdID != "" {
		o.str(tagClOrdID, e.clOrdID)
	}
	o.str(tagExecID, a.edgeExecID())
	o.char(tagExecType, '8')
	o.char(tagOrdStatus, '8')
	if e.account != "" {
		o.str(tagAccount, e.account)
	}
	o.str(tagSymbol, e.symbol)
	o.str(tagSide, e.side)
	if e.qty != "" {
		o.str(tagOrderQty, e.qty)
	}
	if e.ordType != "" {
		o.str(tagOrdType, e.ordType)
	}
	if e.price != "" {
		o.str(tagPrice, e.price)
	}
	if e.tif != "" {
		o.str(tagTimeInForce, e.tif)
	}
	o.int(tagLeavesQty, 0)
	o.int(tagCumQty, 0)
	o.int(tagAvgPx, 0)
	o.ts(tagTransactTime, time.Now().UnixNano())
	o.int(tagOrdRejReason, int64(code))
	o.str(tagText, text)
}

// edgeExecID is an ExecID for a report the engine did not make: "E", the
// acceptor's start time and a counter, so it never collides with the
// engine's numeric ExecIDs nor with an earlier run's.
func (a *Acceptor) edgeExecID() string {
	n := a.edgeSeq.Add(1)
	b := make([]byte, 0, 32)
	b = append(b, 'E')
	b = strconv.AppendInt(b, a.started, 36)
	b = append(b, '-')
	b = strconv.AppendUint(b, n, 10)
	return string(b)
}

// cancelReject fills o with the OrderCancelReject of an engine refusal.
func (a *Acceptor) cancelReject(o *out, ev *engine.Event, owner *party, req pendingReq) {
	o.reset("9")
	if ev.OrderID != 0 {
		o.uint(tagOrderID, uint64(ev.OrderID))
	} else {
		o.bytes(tagOrderID, orderIDNone)
	}
	// Strings, not the IDs' bytes: quickfix.Message keeps the slice it is
	// given, and a slice of *ev would make every event execPump receives
	// escape to the heap (an allocation of the whole Event per report)
	// for the sake of this rare message.
	o.str(tagClOrdID, ev.ClOrdID.String())
	o.str(tagOrigClOrdID, ev.OrigClOrdID.String())
	// 39=8 when no live order goes by OrigClOrdID: unknown (37=NONE), or
	// too late — the order exists but is filled, cancelled, expired or
	// known by a newer ClOrdID, and the engine names it without its state.
	status := byte('8')
	if ev.OrderID != 0 && ev.Reason != engine.ReasonTooLate {
		status = '0'
		if ev.CumQty > 0 {
			status = '1'
		}
	}
	o.char(tagOrdStatus, status)
	if !ev.Account.Empty() {
		o.str(tagAccount, ev.Account.String())
	}
	o.ts(tagTransactTime, ev.Time)
	replace := ev.RespondingTo == engine.CmdReplace
	if replace {
		o.char(tagCxlRejResponseTo, '2')
	} else {
		o.char(tagCxlRejResponseTo, '1')
	}
	o.int(tagCxlRejReason, int64(ev.Reason.FIXCxlRejReason()))
	var in *instrument
	if int(ev.Instrument) < len(a.insts) {
		in = a.insts[ev.Instrument]
	}
	c := textCtx{inst: in, party: owner.name, ev: *ev, qty: req.qty, price: req.price, replace: replace}
	if ev.Reason == engine.ReasonPriceOutsideBand && in != nil {
		if b := a.v.Book(in.id); b != nil {
			c.ref = b.RefPrice
		}
	}
	o.str(tagText, reasonText(ev.Reason, &c))
}

// edgeCancelReject fills o with the OrderCancelReject of a request refused
// before the engine.
func (a *Acceptor) edgeCancelReject(o *out, e *orderEcho, replace bool, code int, text string) {
	o.reset("9")
	o.bytes(tagOrderID, orderIDNone)
	o.str(tagClOrdID, e.clOrdID)
	o.str(tagOrigClOrdID, e.origClOrdID)
	o.char(tagOrdStatus, '8')
	if replace {
		o.char(tagCxlRejResponseTo, '2')
	} else {
		o.char(tagCxlRejResponseTo, '1')
	}
	o.int(tagCxlRejReason, int64(code))
	o.ts(tagTransactTime, time.Now().UnixNano())
	o.str(tagText, text)
}

// massCancelReport fills o with an OrderMassCancelReport. refuse is the
// MassCancelRejectReason when the request is refused (-1: accepted).
func (a *Acceptor) massCancelReport(o *out, clOrdID, reportID, typ, symbol string, count int64, refuse int, text string) {
	o.reset("r")
	o.str(tagClOrdID, clOrdID)
	o.str(tagOrderID, reportID)
	if typ == "" {
		typ = "7"
	}
	o.str(tagMassCancelRequestType, typ)
	if refuse >= 0 {
		o.char(tagMassCancelResponse, '0')
		o.int(tagMassCancelRejectReason, int64(refuse))
	} else {
		o.str(tagMassCancelResponse, typ)
	}
	o.int(tagTotalAffectedOrders, count)
	if symbol != "" && typ == "1" {
		o.str(tagSymbol, symbol)
	}
	o.ts(tagTransactTime, time.Now().UnixNano())
	if text != "" {
		o.str(tagText, text)
	}
}

// businessReject fills o with a BusinessMessageReject(j).
func businessReject(o *out, refSeq int, refMsgType, refID string, reason int, text string) {
	o.reset("j")
	if refSeq > 0 {
		o.int(tagRefSeqNum, int64(refSeq))
	}
	o.str(tagRefMsgType, refMsgType)
	if refID != "" {
		o.str(tagBusinessRejectRefID, refID)
	}
	o.int(tagBusinessRejectReason, int64(reason))
	o.str(tagText, text)
}

// mdReject fills o with a MarketDataRequestReject(Y).
func mdReject(o *out, reqID string, reason int, text string) {
	o.reset("Y")
	o.str(tagMDReqID, reqID)
	if reason < 10 {
		o.char(tagMDReqRejReason, byte('0'+reason))
	} else {
		o.char(tagMDReqRejReason, byte('A'+reason-10))
	}
	o.str(tagText, text)
}

// securityList fills o with the SecurityList(y) of the instruments.
func (a *Acceptor) securityList(o *out, reqID string, insts []*instrument, result int) {
	o.reset("y")
	o.str(tagSecurityReqID, reqID)
	o.str(tagSecurityResponseID, "SL-"+reqID)
	o.int(tagSecurityRequestResult, int64(result))
	if len(insts) == 0 {
		return
	}
	rg := quickfix.NewRepeatingGroup(tagNoRelatedSym, secListTmpl)
	for _, in := range insts {
		g := rg.Add()
		g.SetString(tagSymbol, in.Symbol)
		g.SetString(tagMinPriceIncrement, in.tickText)
		g.SetString(tagCurrency, in.Base)
		g.SetInt(tagRoundLot, int(in.Lot))
		g.SetInt(tagMinTradeVol, int(in.MinQty))
	}
	o.m.Body.SetGroup(rg)
}

// appendField appends "tag=value|"; tag is the field's "tag=" (a
// constant: formatting the number for every field was a third of
// appendExecReport's time).
func appendField(dst []byte, tag string, val []byte) []byte {
	dst = append(dst, tag...)
	dst = append(dst, val...)
	return append(dst, 1)
}

func appendFieldStr(dst []byte, tag string, val string) []byte {
	dst = append(dst, tag...)
	dst = append(dst, val...)
	return append(dst, 1)
}

func appendFieldInt(dst []byte, tag string, v int64) []byte {
	dst = append(dst, tag...)
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, 1)
}

func appendFieldChar(dst []byte, tag string, c byte) []byte {
	dst = append(dst, tag...)
	return append(dst, c, 1)
}

func appendFieldPx(dst []byte, tag string, p engine.Price, minDec int) []byte {
	dst = append(dst, tag...)
	dst = appendPx(dst, p, minDec)
	return append(dst, 1)
}

func appendFieldTime(dst []byte, tag string, unixNano int64) []byte {
	dst = append(dst, tag...)
	dst = appendTimestamp(dst, time.Unix(0, unixNano))
	return append(dst, 1)
}

// appendExecReport appends the body of the ExecutionReport of an order
// event — the same fields as the reference encoder in encode_test.go
// (execReport, on quickfix.Message) builds, in the order they go on
// the wire (ascending tags, as quickfixgo writes a body;
// TestAppendExecReportMatches holds the two to each other) — without
// allocating on the usual events (accepted, filled, cancelled by
// request). It reports false for events that are not order events.
func (a *Acceptor) appendExecReport(dst []byte, ev *engine.Event, owner *party, copyFor *party) ([]byte, bool) {
	if int(ev.Kind) >= len(isOrderEvent) || !isOrderEvent[ev.Kind] || int(ev.Instrument) >= len(a.insts) {
		return dst, false
	}
	in := a.insts[ev.Instrument]
	fill := ev.Kind == engine.EvFill
	status := execTypeOf[ev.Kind]
	switch ev.Kind {
	case engine.EvFill:
		status = '2'
		if ev.LeavesQty > 0 {
			status = '1'
		}
	case engine.EvReplaced:
		status = '0'
		if ev.CumQty > 0 {
			status = '1'
		}
	}
	text := ""
	switch ev.Kind {
	case engine.EvRejected:
		text = a.eventText(ev, owner, in)
	case engine.EvCancelled, engine.EvExpired:
		if ev.Reason != engine.ReasonRequested && ev.Reason != engine.ReasonNone {
			text = a.eventText(ev, owner, in)
		}
	}
	if !ev.Account.Empty() {
		dst = appendField(dst, "1=", ev.Account.Bytes())
	}
	dst = appendFieldPx(dst, "6=", ev.AvgPx, in.tickDec)
	if !ev.ClOrdID.Empty() {
		dst = appendField(dst, "11=", ev.ClOrdID.Bytes())
	}
	dst = appendFieldInt(dst, "14=", int64(ev.CumQty))
	dst = append(dst, "17="...)
	dst = strconv.AppendUint(dst, ev.ExecID, 10)
	dst = append(dst, 1)
	if fill {
		dst = appendFieldPx(dst, "31=", ev.LastPx, in.tickDec)
		dst = appendFieldInt(dst, "32=", int64(ev.LastQty))
	}
	if ev.OrderID != 0 {
		dst = append(dst, "37="...)
		dst = strconv.AppendUint(dst, uint64(ev.OrderID), 10)
		dst = append(dst, 1)
	} else {
		dst = appendField(dst, "37=", orderIDNone)
	}
	dst = appendFieldInt(dst, "38=", int64(ev.OrderQty))
	dst = appendFieldChar(dst, "39=", status)
	if ev.OrdType == engine.Market {
		dst = appendFieldChar(dst, "40=", '1')
	} else {
		dst = appendFieldChar(dst, "40=", '2')
	}
	if ev.Kind == engine.EvReplaced || (ev.Kind == engine.EvCancelled && ev.Reason == engine.ReasonRequested) {
		if !ev.OrigClOrdID.Empty() {
			dst = appendField(dst, "41=", ev.OrigClOrdID.Bytes())
		}
	}
	if ev.OrdType != engine.Market {
		dst = appendFieldPx(dst, "44=", ev.Price, in.tickDec)
	}
	dst = appendFieldChar(dst, "54=", sideChar(ev.Side))
	dst = appendFieldStr(dst, "55=", in.Symbol)
	if text != "" {
		dst = appendFieldStr(dst, "58=", text)
	}
	dst = appendFieldChar(dst, "59=", byte('0'+ev.TIF))
	dst = appendFieldTime(dst, "60=", ev.Time)
	if fill {
		dst = appendFieldInt(dst, "64=", int64(ev.SettlDate))
		dst = appendFieldInt(dst, "75=", int64(ev.TradeDate))
	}
	if ev.Kind == engine.EvRejected {
		dst = appendFieldInt(dst, "103=", int64(ev.Reason.FIXRejReason()))
	}
	if ev.TIF == engine.GTD && ev.ExpireTime != 0 {
		dst = appendFieldTime(dst, "126=", ev.ExpireTime)
	}
	dst = appendFieldChar(dst, "150=", execTypeOf[ev.Kind])
	dst = appendFieldInt(dst, "151=", int64(ev.LeavesQty))
	if fill {
		dst = append(dst, "382=1\x01375="...)
		dst = append(dst, a.partyName(ev.Counterparty)...)
		dst = append(dst, 1)
	}
	if copyFor != nil {
		dst = append(dst, "453=1\x01448="...)
		dst = append(dst, owner.name...)
		dst = append(dst, "\x01447=D\x01452=13\x01797=Y\x01"...)
	}
	return dst, true
}
