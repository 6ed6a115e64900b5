package wire

import (
	"strconv"

	"fxmatch/engine"
	"fxmatch/engine/shard"
)

// Trade is a public print, anonymous, as published on
// fxmatch.trades.<SYM> and sent on the WebSocket "trades" channel.
// aggressor_side is the side of the incoming order that took liquidity.
type Trade struct {
	Symbol        string `json:"symbol"`
	TradeID       string `json:"trade_id"`
	Px            string `json:"px"`
	Qty           string `json:"qty"`
	AggressorSide string `json:"aggressor_side"`
	Time          string `json:"time"`
	Seq           uint64 `json:"seq"`
}

// AppendTrade appends an EvTrade event as a Trade document; it reports
// false, appending nothing, for any other kind of event.
func (n *Names) AppendTrade(dst []byte, ev *engine.Event) ([]byte, bool) {
	if ev.Kind != engine.EvTrade {
		return dst, false
	}
	o := openObj(dst)
	o.str("symbol", n.Symbol(ev.Instrument))
	o.uintStr("trade_id", ev.TradeID)
	o.px("px", ev.LastPx, n.TickDecimals(ev.Instrument))
	o.qty("qty", ev.LastQty)
	o.str("aggressor_side", ev.Side.String())
	o.time("time", ev.Time)
	o.uint("seq", ev.Seq)
	return o.close(), true
}

// TradeOf is an EvTrade event as a Trade struct.
func (n *Names) TradeOf(ev *engine.Event) (Trade, bool) {
	if ev.Kind != engine.EvTrade {
		return Trade{}, false
	}
	return Trade{
		Symbol: n.Symbol(ev.Instrument), TradeID: strconv.FormatUint(ev.TradeID, 10),
		Px: FormatPrice(ev.LastPx, n.TickDecimals(ev.Instrument)), Qty: FormatQty(ev.LastQty),
		AggressorSide: ev.Side.String(), Time: FormatTime(ev.Time), Seq: ev.Seq,
	}, true
}

// Book is an instrument's L2 book: the displayed quantity and the number
// of orders at each of the best levels, best first (bids by descending
// price, asks by ascending). Published on fxmatch.md.<SYM> (top
// BookDepth levels) and served by GET /books/{SYM}. seq and time are those
// of the last command that changed the book.
type Book struct {
	Symbol string  `json:"symbol"`
	Seq    uint64  `json:"seq"`
	Time   string  `json:"time"`
	Bids   []Level `json:"bids"`
	Asks   []Level `json:"asks"`
}

// Level is one price level of a Book.
type Level struct {
	Px     string `json:"px"`
	Qty    string `json:"qty"`
	Orders int    `json:"orders"`
}

// BookDepth is the number of levels per side the bus publishes.
const BookDepth = 10

// AppendBook appends instrument id's book as a Book document with at most
// depth levels per side (depth <= 0: all the levels given).
func (n *Names) AppendBook(dst []byte, id engine.InstrumentID, seq uint64, unixNano int64, bids, asks []engine.Level, depth int) []byte {
	dec := n.TickDecimals(id)
	o := openObj(dst)
	o.str("symbol", n.Symbol(id))
	o.uint("seq", seq)
	o.time("time", unixNano)
	o.key("bids")
	o.b = appendLevels(o.b, bids, depth, dec)
	o.key("asks")
	o.b = appendLevels(o.b, asks, depth, dec)
	return o.close()
}

func appendLevels(dst []byte, lv []engine.Level, depth, dec int) []byte {
	if depth > 0 && len(lv) > depth {
		lv = lv[:depth]
	}
	dst = append(dst, '[')
	for i := range lv {
		if i > 0 {
			dst = append(dst, ',')
		}
		o := openObj(dst)
		o.px("px", lv[i].Price, dec)
		o.qty("qty", lv[i].Qty)
		o.int("orders", int64(lv[i].Count))
		dst = o.close()
	}
	return append(dst, ']')
}

// AppendBookSnapshot appends a shard's book snapshot of instrument id (the
// venue's global id: venue.Book(id)) as a Book document.
func (n *Names) AppendBookSnapshot(dst []byte, id engine.InstrumentID, b *shard.BookSnapshot, depth int) []byte {
	return n.AppendBook(dst, id, b.Seq, b.Time, b.Bids, b.Asks, depth)
}

// BookOf is instrument id's levels as a Book struct.
func (n *Names) BookOf(id engine.InstrumentID, seq uint64, unixNano int64, bids, asks []engine.Level, depth int) Book {
	dec := n.TickDecimals(id)
	return Book{
		Symbol: n.Symbol(id), Seq: seq, Time: FormatTime(unixNano),
		Bids: levelsOf(bids, depth, dec), Asks: levelsOf(asks, depth, dec),
	}
}

// BookOfSnapshot is a shard's book snapshot of instrument id (global id)
// as a Book struct.
func (n *Names) BookOfSnapshot(id engine.InstrumentID, b *shard.BookSnapshot, depth int) Book {
	return n.BookOf(id, b.Seq, b.Time, b.Bids, b.Asks, depth)
}

func levelsOf(lv []engine.Level, depth, dec int) []Level {
	if depth > 0 && len(lv) > depth {
		lv = lv[:depth]
	}
	out := make([]Level, len(lv))
	for i := range lv {
		out[i] = Level{Px: FormatPrice(lv[i].Price, dec), Qty: FormatQty(lv[i].Qty), Orders: lv[i].Count}
	}
	return out
}
