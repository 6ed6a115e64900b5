package fix_test

import (
	"testing"
	"time"
)

// Section 4: snapshots, incremental updates (279 new/change/delete),
// depth, trades, full-refresh subscriptions, unsubscribe, rejects.
func TestMarketData(t *testing.T) {
	e := newEnv(t)
	a, b := e.client("BANKA"), e.client("BANKB")
	rest := func(c *client, id, fields string) {
		t.Helper()
		c.send(nos(id, fields))
		c.expect("35=8|11=" + id + "|150=0")
	}
	rest(a, "a1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900")
	rest(a, "a2", "55=USD/CNY|54=1|38=2000000|40=2|44=7.0900")
	rest(a, "a3", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0800")
	rest(a, "a4", "55=USD/CNY|54=2|38=3000000|40=2|44=7.1100")

	// Snapshot, full book: levels aggregated, best first.
	b.send("35=V|262=snap|263=0|264=0|267=2|269=0|269=1|146=1|55=USD/CNY")
	w := b.expect("35=W|262=snap|55=USD/CNY|268=3")
	if got := w.all("270"); len(got) != 3 || got[0] != "7.0900" || got[1] != "7.0800" || got[2] != "7.1100" {
		t.Fatalf("snapshot prices %v: %s", got, w)
	}
	if got := w.all("271"); got[0] != "3000000" || got[1] != "1000000" || got[2] != "3000000" {
		t.Fatalf("snapshot sizes %v", got)
	}
	if got := w.all("346"); got[0] != "2" {
		t.Fatalf("NumberOfOrders %v", got)
	}
	// Top of book only.
	b.send("35=V|262=top|263=0|264=1|267=2|269=0|269=1|146=1|55=USD/CNY")
	w = b.expect("35=W|262=top|268=2")
	if got := w.all("270"); got[0] != "7.0900" || got[1] != "7.1100" {
		t.Fatalf("top of book %v", got)
	}

	// Subscribe, incremental, full depth, with trades.
	b.send("35=V|262=inc|263=1|264=0|265=1|267=3|269=0|269=1|269=2|146=1|55=USD/CNY")
	b.expect("35=W|262=inc|268=3")
	rest(a, "a5", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0950") // new level
	b.expect("35=X|262=inc|279=0|269=0|55=USD/CNY|270=7.0950|271=1000000")
	rest(a, "a6", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0800") // change
	b.expect("35=X|262=inc|279=1|269=0|270=7.0800|271=2000000|346=2")
	a.send("35=F|11=a7|41=a5|55=USD/CNY|54=1|60=" + now()) // delete
	b.expect("35=X|262=inc|279=2|269=0|270=7.0950")
	// A trade: the offer level changes and the trade prints.
	b.send(nos("b1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1100"))
	b.expectEntry("35=X|262=inc", "279=1|269=1|55=USD/CNY|270=7.1100|271=2000000", "279=0|269=2|55=USD/CNY|270=7.1100|271=1000000")

	// Subscribe, top of book, full refresh on every change.
	b.send("35=V|262=full|263=1|264=1|265=0|267=1|269=0|146=1|55=USD/CNY")
	b.expect("35=W|262=full|268=1|270=7.0900|271=3000000")
	rest(a, "a8", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0850") // below the top: no message
	rest(a, "a9", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0960") // new top
	b.expect("35=W|262=full|268=1|270=7.0960|271=1000000")
	b.none("35=W|262=full|270=7.0850", 200*time.Millisecond)

	// Unsubscribe: no more updates for inc.
	b.send("35=V|262=inc|263=2|264=0|267=1|269=0|146=1|55=USD/CNY")
	b.send("35=V|262=inc|263=2|264=0|267=1|269=0|146=1|55=USD/CNY")
	b.expect("35=Y|262=inc|281=4")
	rest(a, "a10", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0500")
	b.none("35=X|262=inc|270=7.0500", 300*time.Millisecond)

	// Rejects: unknown symbol, unsupported entry type, duplicate MDReqID.
	b.send("35=V|262=bad1|263=0|264=0|267=1|269=0|146=1|55=GBP/USD")
	if y := b.expect("35=Y|262=bad1|281=0"); y.get("58") == "" {
		t.Fatal("reject without text")
	}
	b.send("35=V|262=bad2|263=0|264=0|267=1|269=4|146=1|55=USD/CNY")
	b.expect("35=Y|262=bad2|281=8")
	b.send("35=V|262=full|263=1|264=0|267=1|269=0|146=1|55=EUR/USD")
	b.expect("35=Y|262=full|281=1")
	b.send("35=V|262=bad3|263=1|264=0|265=1|266=N|267=1|269=0|146=1|55=EUR/USD")
	b.expect("35=Y|262=bad3|281=7")
}
