package audit

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"fxmatch/engine"
	"fxmatch/journal"
)

// The outputs: tables for people (aligned, quantities with thousands
// separators), CSV and JSON for programs (plain integers, prices as
// decimal strings so no reader turns 7.1015 into a float).

// table is a text table with aligned columns. Numeric columns align right.
type table struct {
	head  []string
	right []bool
	rows  [][]string
}

func newTable(cols ...string) *table {
	t := &table{}
	for _, c := range cols {
		// A leading '>' marks a right-aligned column.
		r := strings.HasPrefix(c, ">")
		t.head = append(t.head, strings.TrimPrefix(c, ">"))
		t.right = append(t.right, r)
	}
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w *bufio.Writer, indent string) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range append([][]string{t.head}, t.rows...) {
		var line strings.Builder
		line.WriteString(indent)
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if t.right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		w.WriteString(strings.TrimRight(line.String(), " "))
		w.WriteByte('\n')
	}
}

// groupDigits writes n with thousands separators (1,000,000).
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func qty(q engine.Qty) string { return groupDigits(int64(q)) }

func price(p engine.Price, decimals int) string {
	if p == 0 {
		return "-"
	}
	return engine.FormatPrice(p, decimals)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteBookText writes the book as tables: a header naming the moment,
// the L2 ladder (bids and asks side by side, best first), then the L3
// orders of each side in priority order.
func WriteBookText(w io.Writer, b *Book) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s book, shard %d, after seq %d", b.Symbol, b.Shard, b.Seq)
	if b.Seq == 0 {
		bw.WriteString(" (before the first command)")
	} else {
		fmt.Fprintf(bw, " (%s)", FormatTime(b.Time))
	}
	fmt.Fprintf(bw, ", trade date %s\n", FormatDate(b.TradeDate))
	if b.At != 0 {
		fmt.Fprintf(bw, "as of %s: the last command at or before it\n", FormatTime(b.At))
	}
	bw.WriteString("\nL2 (displayed quantity per price, best first)\n")
	if len(b.Bids) == 0 && len(b.Asks) == 0 {
		bw.WriteString("  (empty)\n")
	} else {
		t := newTable(">BID ORDERS", ">BID QTY", ">BID", "ASK", ">ASK QTY", ">ASK ORDERS")
		for i := range max(len(b.Bids), len(b.Asks)) {
			cells := make([]string, 6)
			if i < len(b.Bids) {
				l := b.Bids[i]
				cells[0], cells[1], cells[2] = strconv.Itoa(l.Count), qty(l.Qty), price(l.Price, b.Decimals)
			}
			if i < len(b.Asks) {
				l := b.Asks[i]
				cells[3], cells[4], cells[5] = price(l.Price, b.Decimals), qty(l.Qty), strconv.Itoa(l.Count)
			}
			t.row(cells...)
		}
		t.write(bw, "  ")
	}
	for _, s := range []struct {
		name   string
		orders []BookOrder
	}{{"bids", b.BidOrders}, {"asks", b.AskOrders}} {
		fmt.Fprintf(bw, "\nL3 %s (priority order: best price first, then time)\n", s.name)
		if len(s.orders) == 0 {
			bw.WriteString("  (none)\n")
			continue
		}
		t := newTable(">#", ">PRICE", "PARTICIPANT", ">ORDER ID", "CLORDID", ">LEAVES", ">DISPLAYED", ">ORDER QTY", ">CUM", "TIF")
		for _, o := range s.orders {
			t.row(strconv.Itoa(o.Rank), price(o.Price, b.Decimals), o.Participant, strconv.FormatUint(uint64(o.OrderID), 10),
				o.ClOrdID.String(), qty(o.LeavesQty), qty(o.Displayed), qty(o.OrderQty), qty(o.CumQty), o.TIF.String())
		}
		t.write(bw, "  ")
	}
	return bw.Flush()
}

// WriteBookJSON writes the book as one JSON object:
//
//	{"symbol","shard","seq","time","at","trade_date","from_snapshot",
//	 "l2":{"bids":[{"price","qty","orders"}],"asks":[…]},
//	 "l3":{"bids":[{"rank","price","participant","order_id","clordid",
//	        "leaves","displayed","order_qty","cum","side","ord_type","tif",
//	        "account","expire_time"}],"asks":[…]}}
//
// time and at are null when not applicable; lists are never null.
func WriteBookJSON(w io.Writer, b *Book) error {
	d := []byte(`{"symbol":`)
	d = appendJSONString(d, b.Symbol)
	d = append(d, `,"shard":`...)
	d = strconv.AppendUint(d, uint64(b.Shard), 10)
	d = append(d, `,"seq":`...)
	d = strconv.AppendUint(d, b.Seq, 10)
	d = append(d, `,"time":`...)
	d = appendJSONTime(d, b.Time)
	d = append(d, `,"at":`...)
	d = appendJSONTime(d, b.At)
	d = append(d, `,"trade_date":"`...)
	d = AppendDate(d, b.TradeDate)
	d = append(d, `","from_snapshot":`...)
	d = strconv.AppendUint(d, b.FromSnapshot, 10)
	d = append(d, `,"l2":{"bids":`...)
	d = appendLevels(d, b.Bids, b.Decimals)
	d = append(d, `,"asks":`...)
	d = appendLevels(d, b.Asks, b.Decimals)
	d = append(d, `},"l3":{"bids":`...)
	d = appendOrders(d, b.BidOrders, b.Decimals)
	d = append(d, `,"asks":`...)
	d = appendOrders(d, b.AskOrders, b.Decimals)
	d = append(d, "}}\n"...)
	_, err := w.Write(d)
	return err
}

func appendJSONTime(d []byte, t int64) []byte {
	if t == 0 {
		return append(d, "null"...)
	}
	d = append(d, '"')
	d = AppendTime(d, t)
	return append(d, '"')
}

func appendLevels(d []byte, ls []engine.Level, decimals int) []byte {
	d = append(d, '[')
	for i, l := range ls {
		if i > 0 {
			d = append(d, ',')
		}
		d = append(d, `{"price":`...)
		d = appendJSONPrice(d, l.Price, decimals)
		d = append(d, `,"qty":`...)
		d = strconv.AppendInt(d, int64(l.Qty), 10)
		d = append(d, `,"orders":`...)
		d = strconv.AppendInt(d, int64(l.Count), 10)
		d = append(d, '}')
	}
	return append(d, ']')
}

func appendOrders(d []byte, os []BookOrder, decimals int) []byte {
	d = append(d, '[')
	for i, o := range os {
		if i > 0 {
			d = append(d, ',')
		}
		d = append(d, `{"rank":`...)
		d = strconv.AppendInt(d, int64(o.Rank), 10)
		d = append(d, `,"price":`...)
		d = appendJSONPrice(d, o.Price, decimals)
		d = append(d, `,"participant":`...)
		d = appendJSONStringOrNull(d, o.Participant)
		d = append(d, `,"order_id":`...)
		d = strconv.AppendUint(d, uint64(o.OrderID), 10)
		d = append(d, `,"clordid":`...)
		d = appendJSONString(d, o.ClOrdID.String())
		d = append(d, `,"leaves":`...)
		d = strconv.AppendInt(d, int64(o.LeavesQty), 10)
		d = append(d, `,"displayed":`...)
		d = strconv.AppendInt(d, int64(o.Displayed), 10)
		d = append(d, `,"order_qty":`...)
		d = strconv.AppendInt(d, int64(o.OrderQty), 10)
		d = append(d, `,"cum":`...)
		d = strconv.AppendInt(d, int64(o.CumQty), 10)
		d = append(d, `,"side":`...)
		d = appendJSONString(d, o.Side.String())
		d = append(d, `,"ord_type":`...)
		d = appendJSONString(d, o.OrdType.String())
		d = append(d, `,"tif":`...)
		d = appendJSONString(d, o.TIF.String())
		d = append(d, `,"account":`...)
		d = appendJSONStringOrNull(d, o.Account.String())
		d = append(d, `,"expire_time":`...)
		d = appendJSONTime(d, o.ExpireTime)
		d = append(d, '}')
	}
	return append(d, ']')
}

// WriteOrdersText writes order lives as one table per order.
func WriteOrdersText(w io.Writer, lives []*OrderLife) error {
	bw := bufio.NewWriter(w)
	for i, l := range lives {
		if i > 0 {
			bw.WriteByte('\n')
		}
		dec := engine.PriceDecimals
		if len(l.Events) > 0 {
			dec = l.Events[0].Decimals
		}
		if l.OrderID == 0 {
			fmt.Fprintf(bw, "refused request of %s, no order id: %s %s, shard %d\n",
				orDash(l.Participant), l.Side, orDash(l.Symbol), l.Shard)
		} else {
			fmt.Fprintf(bw, "order %d of %s: %s %s, %s %s, shard %d\n",
				l.OrderID, orDash(l.Participant), l.Side, orDash(l.Symbol), l.OrdType, l.TIF, l.Shard)
		}
		t := newTable("TIME (UTC)", ">SEQ", ">EXEC ID", "EVENT", "CLORDID", "ORIG CLORDID", ">PRICE", ">QTY", ">LEAVES", ">CUM", "TRADE DATE", "DETAIL")
		for k := range l.Events {
			ev := &l.Events[k]
			q, leaves, cum := qty(ev.OrderQty), qty(ev.LeavesQty), qty(ev.CumQty)
			if orderless(ev) {
				q, leaves, cum = "-", "-", "-"
			}
			t.row(FormatTime(ev.Time), strconv.FormatUint(ev.Seq, 10), strconv.FormatUint(ev.ExecID, 10), ev.Kind.String(),
				orDash(ev.ClOrdID.String()), orDash(ev.OrigClOrdID.String()), price(ev.Price, dec),
				q, leaves, cum, FormatDate(ev.TradeDate), detail(ev))
		}
		t.write(bw, "  ")
	}
	return bw.Flush()
}

// detail says what an event adds to the order's columns: the fill, or why.
func detail(ev *Event) string {
	var parts []string
	if ev.Kind == engine.EvFill {
		role := "passive"
		if ev.Aggressor {
			role = "aggressor"
		}
		parts = append(parts, fmt.Sprintf("%s @ %s with %s, trade %d, %s, value %s",
			qty(ev.LastQty), price(ev.LastPx, ev.Decimals), orDash(ev.Counterparty), ev.TradeID, role, FormatDate(ev.SettlDate)))
	}
	switch {
	case ev.Kind == engine.EvCancelRejected:
		parts = append(parts, fmt.Sprintf("%s refused: %s", ev.RespondingTo, ev.Reason))
	case ev.Reason != engine.ReasonNone:
		parts = append(parts, ev.Reason.String())
	}
	if ev.TIF == engine.GTD && ev.Kind == engine.EvAccepted {
		parts = append(parts, "expires "+FormatTime(ev.ExpireTime))
	}
	return strings.Join(parts, "; ")
}

// WriteOrdersJSON writes order lives as one JSON array:
// [{"order_id","shard","symbol","participant","side","ord_type","tif",
// "events":[…AppendEventJSON objects…]}].
func WriteOrdersJSON(w io.Writer, lives []*OrderLife) error {
	d := []byte{'['}
	for i, l := range lives {
		if i > 0 {
			d = append(d, ',')
		}
		d = append(d, "\n{\"order_id\":"...)
		if l.OrderID == 0 {
			d = append(d, "null"...)
		} else {
			d = strconv.AppendUint(d, uint64(l.OrderID), 10)
		}
		d = append(d, `,"shard":`...)
		d = strconv.AppendUint(d, uint64(l.Shard), 10)
		d = append(d, `,"symbol":`...)
		d = appendJSONStringOrNull(d, l.Symbol)
		d = append(d, `,"participant":`...)
		d = appendJSONStringOrNull(d, l.Participant)
		d = append(d, `,"side":`...)
		d = appendJSONString(d, l.Side.String())
		if len(l.Events) > 0 && orderless(&l.Events[0]) {
			d = append(d, `,"ord_type":null,"tif":null`...)
		} else {
			d = append(d, `,"ord_type":`...)
			d = appendJSONString(d, l.OrdType.String())
			d = append(d, `,"tif":`...)
			d = appendJSONString(d, l.TIF.String())
		}
		d = append(d, `,"events":[`...)
		for k := range l.Events {
			if k > 0 {
				d = append(d, ',')
			}
			d = append(d, "\n  "...)
			d = AppendEventJSON(d, &l.Events[k])
		}
		d = append(d, "]}"...)
	}
	d = append(d, "\n]\n"...)
	_, err := w.Write(d)
	return err
}

// TradeCSVHeader names the columns of WriteTradeCSV.
var TradeCSVHeader = []string{
	"trade_id", "time", "seq", "shard", "symbol", "price", "qty", "aggressor_side",
	"buyer", "buyer_order_id", "buyer_clordid", "buyer_account",
	"seller", "seller_order_id", "seller_clordid", "seller_account",
	"trade_date", "value_date",
}

// TradeCSVRecord is t as the cells of one CSV row (TradeCSVHeader).
func TradeCSVRecord(t *Trade) []string {
	return []string{
		strconv.FormatUint(t.TradeID, 10), FormatTime(t.Time), strconv.FormatUint(t.Seq, 10),
		strconv.FormatUint(uint64(t.Shard), 10), t.Symbol, engine.FormatPrice(t.Price, t.Decimals),
		strconv.FormatInt(int64(t.Qty), 10), t.AggressorSide.String(),
		t.Buyer.Participant, strconv.FormatUint(uint64(t.Buyer.OrderID), 10), t.Buyer.ClOrdID, t.Buyer.Account,
		t.Seller.Participant, strconv.FormatUint(uint64(t.Seller.OrderID), 10), t.Seller.ClOrdID, t.Seller.Account,
		FormatDate(t.TradeDate), FormatDate(t.ValueDate),
	}
}

// NewTradeCSV returns a CSV writer over w with the header written.
func NewTradeCSV(w io.Writer) (*csv.Writer, error) {
	cw := csv.NewWriter(w)
	return cw, cw.Write(TradeCSVHeader)
}

// AppendTradeJSON appends t as one JSON object (no newline), with the keys
// of TradeCSVHeader except that each counterparty is an object:
// "buyer":{"participant","order_id","clordid","account"}, likewise
// "seller".
func AppendTradeJSON(d []byte, t *Trade) []byte {
	d = append(d, `{"trade_id":`...)
	d = strconv.AppendUint(d, t.TradeID, 10)
	d = append(d, `,"time":"`...)
	d = AppendTime(d, t.Time)
	d = append(d, `","seq":`...)
	d = strconv.AppendUint(d, t.Seq, 10)
	d = append(d, `,"shard":`...)
	d = strconv.AppendUint(d, uint64(t.Shard), 10)
	d = append(d, `,"symbol":`...)
	d = appendJSONString(d, t.Symbol)
	d = append(d, `,"price":`...)
	d = appendJSONPrice(d, t.Price, t.Decimals)
	d = append(d, `,"qty":`...)
	d = strconv.AppendInt(d, int64(t.Qty), 10)
	d = append(d, `,"aggressor_side":`...)
	d = appendJSONString(d, t.AggressorSide.String())
	for _, s := range []struct {
		key string
		ts  *TradeSide
	}{{"buyer", &t.Buyer}, {"seller", &t.Seller}} {
		d = append(d, `,"`...)
		d = append(d, s.key...)
		d = append(d, `":{"participant":`...)
		d = appendJSONStringOrNull(d, s.ts.Participant)
		d = append(d, `,"order_id":`...)
		d = strconv.AppendUint(d, uint64(s.ts.OrderID), 10)
		d = append(d, `,"clordid":`...)
		d = appendJSONString(d, s.ts.ClOrdID)
		d = append(d, `,"account":`...)
		d = appendJSONStringOrNull(d, s.ts.Account)
		d = append(d, '}')
	}
	d = append(d, `,"trade_date":"`...)
	d = AppendDate(d, t.TradeDate)
	d = append(d, `","value_date":"`...)
	d = AppendDate(d, t.ValueDate)
	return append(d, `"}`...)
}

// WriteVerifyText writes Verify's report: one row per shard with the
// chain head a regulator writes down, then the verdict.
func WriteVerifyText(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	t := newTable(">SHARD", "PAIRS", ">HEAD SEQ", "CHAIN HEAD HASH", ">RECORDS", ">EVENTS", ">SNAPSHOTS", "RESULT")
	var records, events uint64
	for _, s := range rep.Shards {
		result := "ok"
		if s.Err != nil {
			_, seq, _ := journal.BadSeq(s.Err)
			result = fmt.Sprintf("BROKEN at seq %d", seq)
		}
		t.row(strconv.Itoa(int(s.Shard)), strings.Join(s.Symbols, " "), strconv.FormatUint(s.Head.Seq, 10),
			fmt.Sprintf("%x", s.Head.Hash), groupDigits(int64(s.Records)), groupDigits(int64(s.Events)),
			strconv.Itoa(len(s.Snapshots)), result)
		records += s.Records
		events += s.Events
	}
	t.write(bw, "")
	bw.WriteByte('\n')
	if err := rep.Err(); err != nil {
		for _, s := range rep.Shards {
			if s.Err != nil {
				fmt.Fprintf(bw, "shard %d: %v\n", s.Shard, s.Err)
			}
		}
		shard, seq, _ := journal.BadSeq(err)
		fmt.Fprintf(bw, "verify: FAILED: the first break is at shard %d seq %d\n", shard, seq)
	} else {
		shards := "shards"
		if len(rep.Shards) == 1 {
			shards = "shard"
		}
		fmt.Fprintf(bw, "verify: ok: %s records in %d %s; every hash link checked from genesis, every command re-executed and its %s events reproduced byte for byte, every stored snapshot equal to the replayed state\n",
			groupDigits(int64(records)), len(rep.Shards), shards, groupDigits(int64(events)))
		bw.WriteString("the HEAD SEQ and CHAIN HEAD HASH above identify this journal: a later verify must reach the same hash at the same seq\n")
	}
	return bw.Flush()
}
