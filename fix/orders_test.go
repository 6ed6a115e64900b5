package fix_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkER checks the fields every ExecutionReport carries (RoE section 3).
func checkER(t *testing.T, m *msg, limit bool) {
	t.Helper()
	for _, tag := range []string{"37", "11", "17", "150", "39", "55", "54", "38", "151", "14", "6", "60"} {
		if !m.has(tag) {
			t.Errorf("ExecutionReport without tag %s: %s", tag, m)
		}
	}
	if limit && !m.has("44") {
		t.Errorf("limit order's ExecutionReport without Price(44): %s", m)
	}
}

// Every order type and time in force, and the optional fields of section 3.
func TestOrderTypesAndTimeInForce(t *testing.T) {
	e := newEnv(t)
	a, b := e.client("BANKA"), e.client("BANKB")
	execIDs := map[string]bool{}
	unique := func(m *msg) {
		t.Helper()
		if execIDs[m.get("17")] {
			t.Errorf("ExecID %s repeated: %s", m.get("17"), m)
		}
		execIDs[m.get("17")] = true
	}

	// Limit Day rests, with Account echoed and the base Currency, SettlType 3.
	a.send(nos("day1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900|59=0|1=ACC-7|15=USD|63=3"))
	m := a.expect("35=8|11=day1|150=0|39=0|59=0|1=ACC-7|44=7.0900|151=1000000|14=0")
	checkER(t, m, true)
	unique(m)
	// GTC rests.
	a.send(nos("gtc1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0800|59=1|63=0"))
	unique(a.expect("35=8|11=gtc1|150=0|39=0|59=1"))
	// GTD rests until ExpireTime, then 150=C 39=C.
	exp := time.Now().Add(1500 * time.Millisecond).UTC().Format("20060102-15:04:05.000")
	a.send(nos("gtd1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0700|59=6|126="+exp))
	unique(a.expect("35=8|11=gtd1|150=0|39=0|59=6|126=" + exp))
	m = a.expect("35=8|11=gtd1|150=C|39=C")
	checkER(t, m, true)
	unique(m)

	// B offers 1M at 7.1000. A's IOC buy of 3M at 7.1010 fills 1M at the
	// resting order's price and cancels the rest.
	b.send(nos("s1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	b.expect("35=8|11=s1|150=0")
	a.send(nos("ioc1", "55=USD/CNY|54=1|38=3000000|40=2|44=7.1010|59=3"))
	unique(a.expect("35=8|11=ioc1|150=0|39=0"))
	f := a.expect("35=8|11=ioc1|150=F|39=1|32=1000000|31=7.1000|151=2000000|14=1000000|6=7.1000|382=1|375=BANKB")
	checkER(t, f, true)
	unique(f)
	if sd := f.get("64"); len(sd) != 8 || sd <= f.get("75") {
		t.Errorf("SettlDate(64) %q must be YYYYMMDD after TradeDate %q", sd, f.get("75"))
	}
	c := a.expect("35=8|11=ioc1|150=4|39=4|151=0|14=1000000")
	if !strings.HasPrefix(c.get("58"), "IOC") {
		t.Errorf("IOC remainder text %q", c.get("58"))
	}
	b.expect("35=8|11=s1|150=F|39=2|32=1000000|31=7.1000|151=0|375=BANKA")

	// FOK that cannot fill completely: cancelled, no fill.
	b.send(nos("s2", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	b.expect("35=8|11=s2|150=0")
	a.send(nos("fok1", "55=USD/CNY|54=1|38=2000000|40=2|44=7.1000|59=4"))
	a.expect("35=8|11=fok1|150=0")
	if c := a.expect("35=8|11=fok1|150=4|39=4|14=0"); !strings.HasPrefix(c.get("58"), "FOK") {
		t.Errorf("FOK text %q", c.get("58"))
	}
	// MinQty 2M IOC against 1M: cancelled without trading.
	a.send(nos("mq1", "55=USD/CNY|54=1|38=3000000|40=2|44=7.1000|59=3|110=2000000"))
	a.expect("35=8|11=mq1|150=0")
	if c := a.expect("35=8|11=mq1|150=4|14=0"); !strings.HasPrefix(c.get("58"), "MinQty") {
		t.Errorf("MinQty text %q", c.get("58"))
	}
	// Post-only that would take: rejected (103=99 "post-only: …").
	a.send(nos("po1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000|18=6"))
	if r := a.expect("35=8|11=po1|150=8|39=8|103=99"); !strings.HasPrefix(r.get("58"), "post-only: ") {
		t.Errorf("post-only text %q", r.get("58"))
	}
	// Post-only that rests.
	a.send(nos("po2", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0950|18=6"))
	a.expect("35=8|11=po2|150=0")
	// Market order: trades as IOC within the band; the rest is cancelled.
	a.send(nos("mkt1", "55=USD/CNY|54=1|38=2000000|40=1"))
	m = a.expect("35=8|11=mkt1|150=0|40=1")
	if m.has("44") {
		t.Errorf("market order's report carries Price: %s", m)
	}
	a.expect("35=8|11=mkt1|150=F|31=7.1000|32=1000000")
	if c := a.expect("35=8|11=mkt1|150=4"); !strings.HasPrefix(c.get("58"), "market order") {
		t.Errorf("market remainder text %q", c.get("58"))
	}
	// Iceberg: 3M with MaxFloor 1M shows 1M in the book.
	b.send(nos("ice1", "55=EUR/USD|54=2|38=3000000|40=2|44=1.08100|111=1000000"))
	b.expect("35=8|11=ice1|150=0|38=3000000")
	a.send("35=V|262=ice|263=0|264=0|267=1|269=1|146=1|55=EUR/USD")
	a.expect("35=W|262=ice|55=EUR/USD|268=1|269=1|270=1.08100|271=1000000")
	// Each refresh of the displayed part takes a new time priority: B's
	// second order at the same price (1M) is behind the iceberg's first
	// part but ahead of its refreshed part.
	b.send(nos("ice2", "55=EUR/USD|54=2|38=1000000|40=2|44=1.08100"))
	b.expect("35=8|11=ice2|150=0")
	a.send(nos("take1", "55=EUR/USD|54=1|38=2000000|40=2|44=1.08100|59=3"))
	b.expect("35=8|11=ice1|150=F|32=1000000|151=2000000")
	b.expect("35=8|11=ice2|150=F|32=1000000|151=0")
	b.none("35=8|11=ice1|150=F|151=1000000", 200*time.Millisecond)
}

// Every reject reason of section 3 with its OrdRejReason and text.
func TestRejectReasons(t *testing.T) {
	e := newEnv(t)
	a, reg := e.client("BANKA"), e.client("REGULATOR")
	cases := []struct {
		id, fields string
		code       string
		text       string // exact, or a prefix ending in "…"
	}{
		{"r1", "55=XXX/YYY|54=1|38=1000000|40=2|44=1.0", "1", `unknown symbol "XXX/YYY"…`},
		{"r2", "55=USD/CNY|54=1|38=600000000|40=2|44=7.1000", "3", "OrderQty 600000000 exceeds the maximum 500000000"},
		{"r4", "55=USD/CNY|54=1|38=1000000|40=1|59=1", "11", "a market order's TimeInForce must be 0 (Day), 3 (IOC) or 4 (FOK)"},
		{"r5", "55=USD/CNY|54=1|38=1000000|40=3|44=7.1", "11", `OrdType "3" is not supported: 1 (market) or 2 (limit)`},
		{"r6", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1|59=6", "11", "TimeInForce 6 (GTD) needs an ExpireTime(126) in the future"},
		{"r7", "55=USD/CNY|54=1|38=150000|40=2|44=7.1", "13", "OrderQty 150000 is not a multiple of the lot 100000"},
		{"r8", "55=USD/CNY|54=1|38=1000000.5|40=2|44=7.1", "13", "OrderQty 1000000.5 is not a whole number of base currency units"},
		{"r9", "55=USD/CNY|54=1|38=1000000|40=2|44=7.10005", "99", "tick: price 7.10005 is not a multiple of the tick 0.0001"},
		{"r10", "55=EUR/USD|54=1|38=1000000|40=2|44=1.080001", "99", "tick: price 1.080001 is not a multiple of the tick 0.00001"},
		{"r11", "55=USD/CNY|54=1|38=1000000|40=2|44=7.5000", "99", "band: price 7.5000 is outside the price band 6.9580 to 7.2420 (±2% around the reference price 7.1000)"},
		{"r12", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1|15=CNY", "11", "Currency(15) \"CNY\" must be the base currency USD of USD/CNY…"},
		{"r13", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1|63=1", "11", "SettlType(63) \"1\" is not supported…"},
		{"r14", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1|18=G", "11", "ExecInst \"G\" is not supported…"},
		{"r15", "55=USD/CNY|54=1|38=1000000|40=1|44=7.1", "11", "a market order carries no Price(44)"},
		{"r16", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1|59=3|111=100000", "11", "MaxFloor (iceberg) needs a limit order that rests…"},
	}
	for _, c := range cases {
		a.send(nos(c.id, c.fields))
	}
	for _, c := range cases {
		r := a.expect("35=8|11=" + c.id + "|150=8|39=8|103=" + c.code)
		checkER(t, r, false)
		if p, ok := strings.CutSuffix(c.text, "…"); ok {
			if !strings.HasPrefix(r.get("58"), p) {
				t.Errorf("%s: text %q, want prefix %q", c.id, r.get("58"), p)
			}
		} else if r.get("58") != c.text {
			t.Errorf("%s: text %q, want %q", c.id, r.get("58"), c.text)
		}
	}
	// 6: duplicate ClOrdID (used today by the same participant).
	a.send(nos("dup", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0000"))
	a.expect("35=8|11=dup|150=0")
	a.send(nos("dup", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0000"))
	if r := a.expect("35=8|11=dup|150=8|103=6"); r.get("58") != `ClOrdID "dup" has already been used by BANKA today` {
		t.Errorf("duplicate text %q", r.get("58"))
	}
	// 99 readonly: the regulator may not trade.
	reg.send(nos("reg1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0000"))
	if r := reg.expect("35=8|11=reg1|150=8|103=99"); !strings.HasPrefix(r.get("58"), "readonly: REGULATOR") {
		t.Errorf("readonly text %q", r.get("58"))
	}
	reg.send("35=F|11=reg2|41=reg1|55=USD/CNY|54=1|60=" + now())
	if r := reg.expect("35=9|11=reg2|434=1"); !strings.HasPrefix(r.get("58"), "readonly: ") {
		t.Errorf("readonly cancel text %q", r.get("58"))
	}
	// 99 risk: pre-trade risk scoring is not wired into the venue yet, so
	// there is nothing to provoke it with; its text is checked in
	// TestReasonTexts.
}

// Credit screening: BANKA and BANKC have no credit, their orders never
// match; the ineligible order is passed over and keeps its place.
func TestCreditScreening(t *testing.T) {
	e := newEnv(t)
	a, b, c := e.client("BANKA"), e.client("BANKB"), e.client("BANKC")
	c.send(nos("c1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	c.expect("35=8|11=c1|150=0")
	a.send(nos("a1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	a.expect("35=8|11=a1|150=0")
	a.none("35=8|11=a1|150=F", 300*time.Millisecond)
	c.none("35=8|11=c1|150=F", 0)
	// BANKB has credit with both: its sell meets A's bid.
	b.send(nos("b1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	b.expect("35=8|11=b1|150=F|375=BANKA")
	a.expect("35=8|11=a1|150=F|375=BANKB")
	// And its buy meets C's offer, which kept its place.
	b.send(nos("b2", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	b.expect("35=8|11=b2|150=F|375=BANKC")
	c.expect("35=8|11=c1|150=F|375=BANKB")
}

// Self-match prevention: by default the resting order is cancelled.
func TestSelfMatchPrevention(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	a.send(nos("s1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	a.expect("35=8|11=s1|150=0")
	a.send(nos("b1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	a.expect("35=8|11=b1|150=0")
	if c := a.expect("35=8|11=s1|150=4|39=4"); !strings.HasPrefix(c.get("58"), "self-match prevention") {
		t.Errorf("self-match text %q", c.get("58"))
	}
	a.none("35=8|150=F", 300*time.Millisecond)
}

// Replace: ClOrdID chaining, priority rules, crossing replace, refusals.
func TestCancelReplace(t *testing.T) {
	e := newEnv(t)
	a, b, k := e.client("BANKA"), e.client("BANKB"), e.client("BROKER1")
	rest := func(c *client, id, fields string) {
		t.Helper()
		c.send(nos(id, fields))
		c.expect("35=8|11=" + id + "|150=0")
	}
	g := func(id, orig, fields string) string {
		return "35=G|11=" + id + "|41=" + orig + "|60=" + now() + "|" + fields
	}
	// A quantity decrease keeps time priority: A first, B second at 7.0900;
	// A 2M → 1M; a 1M sell fills A.
	rest(a, "a1", "55=USD/CNY|54=1|38=2000000|40=2|44=7.0900")
	rest(b, "b1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900")
	a.send(g("a2", "a1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900"))
	m := a.expect("35=8|11=a2|41=a1|150=5|39=0|38=1000000|151=1000000")
	checkER(t, m, true)
	rest(k, "k1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.0900|59=3")
	a.expect("35=8|11=a2|150=F|39=2|32=1000000")
	b.none("35=8|11=b1|150=F", 200*time.Millisecond)
	// A price change loses priority: B (7.0900) then A joins at 7.0900
	// from 7.0800 — behind B.
	rest(a, "a3", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0800")
	a.send(g("a4", "a3", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900"))
	a.expect("35=8|11=a4|41=a3|150=5|44=7.0900")
	rest(k, "k2", "55=USD/CNY|54=2|38=1000000|40=2|44=7.0900|59=3")
	b.expect("35=8|11=b1|150=F|39=2")
	a.none("35=8|11=a4|150=F", 200*time.Millisecond)
	// A quantity increase loses priority: B bids again behind A, A raises
	// 1M → 2M and is now behind B.
	rest(b, "b2", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900")
	a.send(g("a5", "a4", "55=USD/CNY|54=1|38=2000000|40=2|44=7.0900"))
	a.expect("35=8|11=a5|41=a4|150=5|38=2000000")
	rest(k, "k3", "55=USD/CNY|54=2|38=1000000|40=2|44=7.0900|59=3")
	b.expect("35=8|11=b2|150=F|39=2")
	a.none("35=8|11=a5|150=F", 200*time.Millisecond)
	// A replace whose new price crosses the book matches at once (at the
	// resting price), and the fill carries the new ClOrdID.
	rest(k, "k4", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000")
	a.send(g("a6", "a5", "55=USD/CNY|54=1|38=2000000|40=2|44=7.1000"))
	a.expect("35=8|11=a6|41=a5|150=5")
	a.expect("35=8|11=a6|150=F|39=1|31=7.1000|32=1000000|14=1000000|151=1000000")
	// A replace to a quantity not above CumQty is refused.
	a.send(g("a7", "a6", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	r := a.expect("35=9|11=a7|41=a6|434=2|102=99|39=1")
	if r.get("37") == "NONE" || r.get("58") != "the new OrderQty 1000000 is not above the quantity already filled (1000000)" {
		t.Errorf("refusal %s", r)
	}
	// Cancel by the chained ClOrdID.
	a.send("35=F|11=a8|41=a6|55=USD/CNY|54=1|60=" + now())
	m = a.expect("35=8|11=a8|41=a6|150=4|39=4|151=0|14=1000000")
	checkER(t, m, true)
	// Cancel of an order no longer live: too late (0), naming the order by
	// its OrderID (NONE is for unknown orders only); of an unknown one: 1.
	oid := m.get("37")
	a.send("35=F|11=a9|41=a6|55=USD/CNY|54=1|60=" + now())
	r = a.expect("35=9|11=a9|41=a6|434=1|102=0|39=8|37=" + oid)
	if !strings.HasPrefix(r.get("58"), "too late") {
		t.Errorf("too late text %q", r.get("58"))
	}
	a.send("35=F|11=a10|41=nosuch|55=USD/CNY|54=1|60=" + now())
	if r := a.expect("35=9|11=a10|41=nosuch|434=1|102=1|39=8|37=NONE"); r.get("58") != `no order with ClOrdID "nosuch"` {
		t.Errorf("unknown text %q", r.get("58"))
	}
	// Replace of an order that is not live.
	a.send(g("a11", "zzz", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	a.expect("35=9|11=a11|434=2|102=1")
	a.send(g("a12", "a6", "55=USD/CNY|54=1|38=3000000|40=2|44=7.1000"))
	a.expect("35=9|11=a12|434=2|102=0|39=8|37=" + oid)
	// A filled order: cancel and replace are too late, and name it.
	rest(b, "b5", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0950")
	k.send(nos("k5", "55=USD/CNY|54=2|38=1000000|40=2|44=7.0950|59=3"))
	filled := b.expect("35=8|11=b5|150=F|39=2")
	b.send("35=F|11=b6|41=b5|55=USD/CNY|54=1|60=" + now())
	b.expect("35=9|11=b6|41=b5|434=1|102=0|39=8|37=" + filled.get("37"))
	b.send(g("b7", "b5", "55=USD/CNY|54=1|38=2000000|40=2|44=7.0950"))
	b.expect("35=9|11=b7|41=b5|434=2|102=0|39=8|37=" + filled.get("37"))
	// A replace with a price off the tick is refused with the request's price.
	rest(a, "a13", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0000")
	a.send(g("a14", "a13", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0100"))
	a.expect("35=8|11=a14|150=5")
	a.send(g("a15", "a14", "55=USD/CNY|54=1|38=1000000|40=2|44=7.5000"))
	if r := a.expect("35=9|11=a15|434=2|102=99"); !strings.HasPrefix(r.get("58"), "band: price 7.5000 is outside") {
		t.Errorf("band refusal text %q", r.get("58"))
	}
}

func TestMassCancel(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	for i, f := range []string{
		"55=USD/CNY|54=1|38=1000000|40=2|44=7.0000",
		"55=USD/CNY|54=2|38=1000000|40=2|44=7.2000",
		"55=EUR/USD|54=1|38=1000000|40=2|44=1.07000",
	} {
		id := "m" + strconv.Itoa(i)
		a.send(nos(id, f))
		a.expect("35=8|11=" + id + "|150=0")
	}
	a.send("35=q|11=mc1|530=1|55=USD/CNY|60=" + now())
	a.expect("35=8|11=m0|150=4|39=4|58=mass cancel")
	a.expect("35=8|11=m1|150=4|39=4")
	r := a.expect("35=r|11=mc1|530=1|531=1|533=2")
	if !r.has("37") {
		t.Errorf("mass cancel report without OrderID: %s", r)
	}
	a.send("35=q|11=mc2|530=7|60=" + now())
	a.expect("35=8|11=m2|150=4")
	a.expect("35=r|11=mc2|530=7|531=7|533=1")
	a.send("35=q|11=mc3|530=7|60=" + now())
	a.expect("35=r|11=mc3|530=7|531=7|533=0")
	a.send("35=q|11=mc4|530=1|55=GBP/USD|60=" + now())
	a.expect("35=r|11=mc4|530=1|531=0|532=1")
	a.send("35=q|11=mc5|530=3|60=" + now())
	a.expect("35=r|11=mc5|530=3|531=0|532=0")
}

func TestSecurityList(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	a.send("35=x|320=sl1|559=4")
	y := a.expect("35=y|320=sl1|560=0|146=4")
	want := []struct{ sym, tick string }{{"USD/CNY", "0.0001"}, {"EUR/USD", "0.00001"}, {"USD/JPY", "0.001"}, {"EUR/CNY", "0.0001"}}
	syms, ticks, ccys := y.all("55"), y.all("969"), y.all("15")
	if len(syms) != 4 || len(ticks) != 4 || len(ccys) != 4 {
		t.Fatalf("security list %s", y)
	}
	for i, w := range want {
		if syms[i] != w.sym || ticks[i] != w.tick || ccys[i] != w.sym[:3] {
			t.Errorf("entry %d: %s %s %s, want %s %s %s", i, syms[i], ticks[i], ccys[i], w.sym, w.tick, w.sym[:3])
		}
	}
	for _, v := range append(y.all("561"), y.all("562")...) {
		if v != "100000" {
			t.Errorf("RoundLot/MinTradeVol %s, want 100000", v)
		}
	}
	a.send("35=x|320=sl2|559=0|55=USD/JPY")
	a.expect("35=y|320=sl2|560=0|146=1|55=USD/JPY|969=0.001")
	a.send("35=x|320=sl3|559=0|55=AUD/USD")
	a.expect("35=y|320=sl3|560=2")
}

func TestDropCopy(t *testing.T) {
	e := newEnv(t)
	reg := e.client("REGULATOR")
	a, b := e.client("BANKA"), e.client("BANKB")
	a.send(nos("a1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000|1=ACC1"))
	a.expect("35=8|11=a1|150=0")
	b.send(nos("b1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	b.expect("35=8|11=b1|150=F")
	a.send(nos("a2", "55=USD/CNY|54=1|38=150000|40=2|44=7.1000"))
	a.expect("35=8|11=a2|150=8")
	cp := reg.expect("35=8|11=a1|150=0|797=Y|448=BANKA|452=13|1=ACC1")
	checkER(t, cp, true)
	reg.expect("35=8|11=b1|150=0|797=Y|448=BANKB")
	reg.expect("35=8|11=b1|150=F|797=Y|448=BANKB|375=BANKA")
	reg.expect("35=8|11=a1|150=F|797=Y|448=BANKA|375=BANKB")
	reg.expect("35=8|11=a2|150=8|797=Y|448=BANKA|103=13")
	a.none("35=8|797=Y", 100*time.Millisecond)
}
