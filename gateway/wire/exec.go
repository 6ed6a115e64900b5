package wire

import (
	"strconv"

	"fxmatch/engine"
)

// ExecEvent is one execution event of one participant's order or request,
// as published on fxmatch.exec.<PARTY> and sent on the WebSocket "exec"
// channel. Which fields are present depends on Type:
//
//	accepted          the order (order_id, cl_ord_id, symbol, side, ord_type,
//	                  tif, price, qty, leaves_qty, cum_qty, avg_px)
//	rejected          the order as sent, reason and text; order_id absent
//	fill              the order after the fill, plus last_qty, last_px,
//	                  trade_id, aggressor, counterparty, trade_date, settl_date
//	cancelled         the order; reason (requested, ioc-remainder, self-match…)
//	replaced          the order under its new cl_ord_id; orig_cl_ord_id
//	expired           the order; reason day-end or gtd-expired
//	cancel_rejected   cl_ord_id and orig_cl_ord_id of the refused request,
//	                  responding_to "cancel" or "replace", reason and text
//	mass_cancel       a mass cancel's end: count of orders cancelled (a
//	                  mass cancel of all instruments reports once per shard)
//
// Quantities and prices are decimal strings; price is absent for market
// orders. reason is the engine's stable kebab-case name
// (engine.Reason.String: "price-not-tick"); text says it in words and, for
// the reasons FIX reports as OrdRejReason 99, starts with the same keyword
// as the FIX Text ("tick: …", "risk: …").
type ExecEvent struct {
	Type         string `json:"type"`
	Seq          uint64 `json:"seq"`
	ExecID       string `json:"exec_id"`
	Time         string `json:"time"`
	Participant  string `json:"participant"`
	OrderID      string `json:"order_id,omitempty"`
	ClOrdID      string `json:"cl_ord_id,omitempty"`
	OrigClOrdID  string `json:"orig_cl_ord_id,omitempty"`
	Account      string `json:"account,omitempty"`
	Symbol       string `json:"symbol,omitempty"`
	Side         string `json:"side,omitempty"`
	OrdType      string `json:"ord_type,omitempty"`
	TIF          string `json:"tif,omitempty"`
	ExpireTime   string `json:"expire_time,omitempty"`
	Price        string `json:"price,omitempty"`
	Qty          string `json:"qty,omitempty"`
	LeavesQty    string `json:"leaves_qty,omitempty"`
	CumQty       string `json:"cum_qty,omitempty"`
	AvgPx        string `json:"avg_px,omitempty"`
	LastQty      string `json:"last_qty,omitempty"`
	LastPx       string `json:"last_px,omitempty"`
	TradeID      string `json:"trade_id,omitempty"`
	Aggressor    *bool  `json:"aggressor,omitempty"`
	Counterparty string `json:"counterparty,omitempty"`
	TradeDate    string `json:"trade_date,omitempty"`
	SettlDate    string `json:"settl_date,omitempty"`
	RespondingTo string `json:"responding_to,omitempty"`
	Count        *int64 `json:"count,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Text         string `json:"text,omitempty"`
}

// Exec event types (ExecEvent.Type).
const (
	ExecAccepted       = "accepted"
	ExecRejected       = "rejected"
	ExecFill           = "fill"
	ExecCancelled      = "cancelled"
	ExecReplaced       = "replaced"
	ExecExpired        = "expired"
	ExecCancelRejected = "cancel_rejected"
	ExecMassCancel     = "mass_cancel"
)

var execTypes = [...]string{
	engine.EvAccepted:         ExecAccepted,
	engine.EvRejected:         ExecRejected,
	engine.EvFill:             ExecFill,
	engine.EvCancelled:        ExecCancelled,
	engine.EvReplaced:         ExecReplaced,
	engine.EvExpired:          ExecExpired,
	engine.EvCancelRejected:   ExecCancelRejected,
	engine.EvMassCancelReport: ExecMassCancel,
}

// ExecType is the ExecEvent type of an event kind, "" for kinds that are
// not execution events (trades, levels, credit changes, day rolls).
func ExecType(k engine.EventKind) string {
	if int(k) < len(execTypes) {
		return execTypes[k]
	}
	return ""
}

// isOrder: the event describes an order (its fields after the event).
func isOrder(k engine.EventKind) bool {
	switch k {
	case engine.EvAccepted, engine.EvRejected, engine.EvFill, engine.EvCancelled, engine.EvReplaced, engine.EvExpired:
		return true
	}
	return false
}

// AppendExecEvent appends ev as an ExecEvent JSON document. It reports
// false, appending nothing, for an event that is not an execution event
// (ExecType is ""). It allocates nothing once dst has room.
func (n *Names) AppendExecEvent(dst []byte, ev *engine.Event) ([]byte, bool) {
	typ := ExecType(ev.Kind)
	if typ == "" {
		return dst, false
	}
	dec := n.TickDecimals(ev.Instrument)
	o := openObj(dst)
	o.str("type", typ)
	o.uint("seq", ev.Seq)
	o.uintStr("exec_id", ev.ExecID)
	o.time("time", ev.Time)
	o.str("participant", n.Party(ev.Party))
	if ev.OrderID != 0 {
		o.uintStr("order_id", uint64(ev.OrderID))
	}
	if !ev.ClOrdID.Empty() {
		o.bytes("cl_ord_id", ev.ClOrdID.Bytes())
	}
	if !ev.OrigClOrdID.Empty() {
		o.bytes("orig_cl_ord_id", ev.OrigClOrdID.Bytes())
	}
	if !ev.Account.Empty() {
		o.bytes("account", ev.Account.Bytes())
	}
	if ev.Kind != engine.EvMassCancelReport {
		// A mass cancel report does not say whether it covered one
		// instrument or all, so it names none.
		if sym := n.Symbol(ev.Instrument); sym != "" {
			o.str("symbol", sym)
		}
	}
	if ev.Kind == engine.EvCancelRejected || isOrder(ev.Kind) {
		if ev.Side == engine.Buy || ev.Side == engine.Sell {
			o.str("side", ev.Side.String())
		}
	}
	if isOrder(ev.Kind) {
		if ev.OrdType == engine.Market || ev.OrdType == engine.Limit {
			o.str("ord_type", ev.OrdType.String())
		}
		if s := tifName(ev.TIF); s != "" {
			o.str("tif", s)
		}
		if ev.TIF == engine.GTD && ev.ExpireTime != 0 {
			o.time("expire_time", ev.ExpireTime)
		}
		if ev.OrdType != engine.Market && ev.Price != 0 {
			o.px("price", ev.Price, dec)
		}
		o.qty("qty", ev.OrderQty)
		o.qty("leaves_qty", ev.LeavesQty)
		o.qty("cum_qty", ev.CumQty)
		o.px("avg_px", ev.AvgPx, dec)
	}
	if ev.Kind == engine.EvFill {
		o.qty("last_qty", ev.LastQty)
		o.px("last_px", ev.LastPx, dec)
		o.uintStr("trade_id", ev.TradeID)
		o.bool("aggressor", ev.Aggressor)
		o.str("counterparty", n.Party(ev.Counterparty))
		o.date("trade_date", ev.TradeDate)
		o.date("settl_date", ev.SettlDate)
	}
	switch ev.Kind {
	case engine.EvCancelRejected:
		if ev.RespondingTo == engine.CmdReplace {
			o.str("responding_to", "replace")
		} else {
			o.str("responding_to", "cancel")
		}
	case engine.EvMassCancelReport:
		o.int("count", ev.Count)
	}
	if ev.Reason != engine.ReasonNone {
		o.str("reason", ev.Reason.String())
		o.str("text", ReasonText(ev.Reason))
	}
	return o.close(), true
}

// ExecEventOf is ev as an ExecEvent struct (for Go readers and tests; the
// publishing path uses AppendExecEvent). It reports false for an event
// that is not an execution event.
func (n *Names) ExecEventOf(ev *engine.Event) (ExecEvent, bool) {
	typ := ExecType(ev.Kind)
	if typ == "" {
		return ExecEvent{}, false
	}
	dec := n.TickDecimals(ev.Instrument)
	x := ExecEvent{
		Type: typ, Seq: ev.Seq, ExecID: strconv.FormatUint(ev.ExecID, 10), Time: FormatTime(ev.Time),
		Participant: n.Party(ev.Party), ClOrdID: ev.ClOrdID.String(), OrigClOrdID: ev.OrigClOrdID.String(),
		Account: ev.Account.String(),
	}
	if ev.OrderID != 0 {
		x.OrderID = strconv.FormatUint(uint64(ev.OrderID), 10)
	}
	if ev.Kind != engine.EvMassCancelReport {
		x.Symbol = n.Symbol(ev.Instrument)
	}
	if (ev.Kind == engine.EvCancelRejected || isOrder(ev.Kind)) && (ev.Side == engine.Buy || ev.Side == engine.Sell) {
		x.Side = ev.Side.String()
	}
	if isOrder(ev.Kind) {
		if ev.OrdType == engine.Market || ev.OrdType == engine.Limit {
			x.OrdType = ev.OrdType.String()
		}
		x.TIF = tifName(ev.TIF)
		if ev.TIF == engine.GTD && ev.ExpireTime != 0 {
			x.ExpireTime = FormatTime(ev.ExpireTime)
		}
		if ev.OrdType != engine.Market && ev.Price != 0 {
			x.Price = FormatPrice(ev.Price, dec)
		}
		x.Qty, x.LeavesQty, x.CumQty = FormatQty(ev.OrderQty), FormatQty(ev.LeavesQty), FormatQty(ev.CumQty)
		x.AvgPx = FormatPrice(ev.AvgPx, dec)
	}
	if ev.Kind == engine.EvFill {
		agg := ev.Aggressor
		x.LastQty, x.LastPx = FormatQty(ev.LastQty), FormatPrice(ev.LastPx, dec)
		x.TradeID = strconv.FormatUint(ev.TradeID, 10)
		x.Aggressor = &agg
		x.Counterparty = n.Party(ev.Counterparty)
		x.TradeDate, x.SettlDate = FormatDate(ev.TradeDate), FormatDate(ev.SettlDate)
	}
	switch ev.Kind {
	case engine.EvCancelRejected:
		x.RespondingTo = "cancel"
		if ev.RespondingTo == engine.CmdReplace {
			x.RespondingTo = "replace"
		}
	case engine.EvMassCancelReport:
		c := ev.Count
		x.Count = &c
	}
	if ev.Reason != engine.ReasonNone {
		x.Reason = ev.Reason.String()
		x.Text = ReasonText(ev.Reason)
	}
	return x, true
}

func tifName(t engine.TIF) string {
	switch t {
	case engine.Day, engine.GTC, engine.IOC, engine.FOK, engine.GTD:
		return t.String()
	}
	return ""
}
