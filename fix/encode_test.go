package fix

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"fxmatch/config"
	"fxmatch/engine"
)

// TestAppendExecReportMatches holds the hand-written ExecutionReport
// encoder (appendExecReport, the hot path) to the quickfix.Message one
// (execReport): the same fields, values and order, for every kind of
// order event, with and without the drop-copy fields.
func TestAppendExecReportMatches(t *testing.T) {
	cfg := config.Demo()
	ec, err := cfg.EngineConfig(0, 20261125)
	if err != nil {
		t.Fatal(err)
	}
	a := &Acceptor{}
	for i, in := range ec.Instruments {
		a.insts = append(a.insts, newInstrument(engine.InstrumentID(i), in))
	}
	a.byID = []*party{nil, {name: "BANKA"}, {name: "BANKB"}}
	owner, reg := a.byID[1], &party{name: "REGULATOR"}
	base := engine.Event{
		Party: 1, Instrument: 0, OrderID: 42, ClOrdID: engine.MustID("c1"), ExecID: 7,
		Side: engine.Buy, OrdType: engine.Limit, TIF: engine.Day, Price: 710000000, OrderQty: 1000000,
		LeavesQty: 1000000, Time: 1764072000123456789,
	}
	var evs []engine.Event
	add := func(f func(e *engine.Event)) {
		e := base
		f(&e)
		evs = append(evs, e)
	}
	add(func(e *engine.Event) { e.Kind = engine.EvAccepted })
	add(func(e *engine.Event) {
		e.Kind = engine.EvAccepted
		e.Account = engine.MustID("acct-9")
		e.Side = engine.Sell
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvAccepted
		e.TIF = engine.GTD
		e.ExpireTime = 1764100000000000000
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvAccepted
		e.OrdType = engine.Market
		e.TIF = engine.IOC
		e.Price = 0
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvFill
		e.LastQty, e.LastPx, e.CumQty, e.LeavesQty, e.AvgPx = 400000, 709990000, 400000, 600000, 709990000
		e.SettlDate, e.TradeDate, e.Counterparty = 20261127, 20261125, 2
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvFill
		e.LastQty, e.LastPx, e.CumQty, e.LeavesQty, e.AvgPx = 1000000, 710000000, 1000000, 0, 710000000
		e.SettlDate, e.TradeDate, e.Counterparty = 20261127, 20261125, 2
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvCancelled
		e.Reason = engine.ReasonRequested
		e.OrigClOrdID = engine.MustID("c0")
		e.LeavesQty = 0
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvCancelled
		e.Reason = engine.ReasonIOCRemainder
		e.LeavesQty = 0
	})
	add(func(e *engine.Event) { e.Kind = engine.EvExpired; e.Reason = engine.ReasonGTDExpired; e.LeavesQty = 0 })
	add(func(e *engine.Event) {
		e.Kind = engine.EvReplaced
		e.OrigClOrdID = engine.MustID("c0")
		e.CumQty = 100000
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvRejected
		e.Reason = engine.ReasonPriceNotTick
		e.OrderID = 0
		e.LeavesQty = 0
	})
	add(func(e *engine.Event) {
		e.Kind = engine.EvRejected
		e.Reason = engine.ReasonDuplicateClOrdID
		e.OrderID = 0
	})

	o := newOut()
	for i := range evs {
		for _, copyFor := range []*party{nil, reg} {
			ev := &evs[i]
			if !a.execReport(o, ev, owner, copyFor) {
				t.Fatalf("event %d: execReport refused it", i)
			}
			want := qfBody(o.m)
			got, ok := a.appendExecReport(nil, ev, owner, copyFor)
			if !ok {
				t.Fatalf("event %d: appendExecReport refused it", i)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("event %d (%v, copy %v):\n got %q\nwant %q", i, ev.Kind, copyFor != nil,
					bytes.ReplaceAll(got, []byte{1}, []byte("|")), bytes.ReplaceAll(want, []byte{1}, []byte("|")))
			}
		}
	}
	// The reports of an order's usual life allocate nothing: accepted,
	// filled, cancelled (on request or as an IOC's rest), expired,
	// replaced. Rejections quote the order's values and may.
	buf := make([]byte, 0, 1024)
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == engine.EvRejected {
			continue
		}
		if n := testing.AllocsPerRun(100, func() { a.appendExecReport(buf[:0], ev, owner, nil) }); n != 0 {
			t.Errorf("event %d (%v, %v): appendExecReport made %v allocations, want 0", i, ev.Kind, ev.Reason, n)
		}
	}
}

// qfBody is the body of a quickfix.Message as it goes on the wire.
func qfBody(m *quickfix.Message) []byte {
	m.Header.SetString(quickfix.Tag(8), BeginString)
	m.Header.SetString(tagSenderCompID, VenueCompID)
	m.Header.SetString(tagTargetCompID, "ZZZZ")
	m.Header.SetInt(quickfix.Tag(34), 1)
	b := m.Bytes()
	i := bytes.Index(b, []byte("\x0156=ZZZZ\x01")) + len("\x0156=ZZZZ\x01")
	j := bytes.LastIndex(b, []byte("10="))
	return append([]byte(nil), b[i:j]...)
}

// The fast path takes the common NewOrderSingle, OrderCancelRequest and
// OrderCancelReplaceRequest and leaves the rest to the full path
// (FuzzInbound checks that what it takes, the full path takes too, and
// decodes the same).
func TestFastPathShape(t *testing.T) {
	for _, c := range []struct {
		body string
		fast byte
	}{
		{"D|11=f1|55=USD/CNY|54=1|38=1000000|40=2|44=7.1000|59=0|60=20261125-10:00:00.000", 'D'},
		{"D|1=ACC|11=f2|55=EUR/USD|54=2|38=100000|40=1|60=20261125-10:00:00|110=100000|111=100000|59=3", 'D'},
		{"D|11=f3|55=USD/CNY|54=1|38=1000000|40=2|60=20261125-10:00:00.000", 0},               // no Price
		{"D|11=f4|55=USD/CNY|54=1|38=1000000|40=2|44=7.1|44=7.2|60=20261125-10:00:00.000", 0}, // twice
		{"D|11=f5|55=USD/CNY|54=1|38=1.5e3|40=2|44=7.1000|60=20261125-10:00:00.000", 0},       // not a FIX float
		{"D|11=f6|55=USD/CNY|54=1|38=100000|40=2|44=7.1|60=20261125-25:00:00.000", 0},         // no such hour
		{"D|11=f7|55=USD/CNY|54=1|38=100000|40=2|44=7.1|60=20261125-10:00:00|126=20261125-11:00:00", 0},
		{"D|11=f8|55=USD/CNY|54=Z|38=100000|40=2|44=7.1|60=20261125-10:00:00", 0},
		{"D|11=f9|41=f1|55=USD/CNY|54=1|38=100000|40=2|44=7.1|60=20261125-10:00:00", 0}, // 41: not a NewOrderSingle tag here
		{"F|11=x1|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00", 'F'},
		{"F|1=ACC|11=x2|37=17|41=c1|55=USD/CNY|54=2|38=1000000|60=20261125-10:00:00.123456", 'F'},
		{"F|11=x3|41=c1|54=1|60=20261125-10:00:00", 'F'},                 // no Symbol: decodeCancel's unknown symbol, either path
		{"F|11=x4|55=USD/CNY|54=1|60=20261125-10:00:00", 0},              // no OrigClOrdID: the validator's reject
		{"F|11=x5|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00|40=2", 0},   // OrdType: not an OrderCancelRequest tag here
		{"F|11=x6|41=c1|55=USD/CNY|54=3|60=20261125-10:00:00", 0},        // Side 3: the full path's words
		{"F|11=x7|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00|58=why", 0}, // Text
		{"F|11=x8|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00|38=1e6", 0}, // not a FIX float
		{"G|11=r1|41=c1|55=USD/CNY|54=1|38=2000000|40=2|44=7.1010|60=20261125-10:00:00", 'G'},
		{"G|1=ACC|11=r2|37=17|41=c1|55=USD/CNY|54=2|38=2000000|40=1|59=3|60=20261125-10:00:00", 'G'},
		{"G|11=r3|41=c1|55=USD/CNY|54=1|40=2|44=7.1010|60=20261125-10:00:00", 0},              // no OrderQty: decodeCancel's session reject
		{"G|11=r4|41=c1|55=USD/CNY|54=1|38=2000000|40=2|60=20261125-10:00:00", 0},             // limit without Price
		{"G|11=r5|41=c1|55=USD/CNY|54=1|38=2000000|44=7.1010|60=20261125-10:00:00", 0},        // no OrdType: the validator's reject
		{"G|11=r6|41=c1|55=USD/CNY|54=1|38=2000000|40=2|44=7.1|59=6|60=20261125-10:00:00", 0}, // GTD: not in the shape
		{"q|11=m1|530=7|60=20261125-10:00:00", 0},
	} {
		var rm rawMsg
		got := byte(0)
		if rm.load(fixMsg(c.body)) {
			got = rm.fastShape()
		}
		if got != c.fast {
			t.Errorf("%s: fast path %q, want %q", c.body, got, c.fast)
		}
	}
	// rawMsg.at has a slot for every tag fastTagBit numbers.
	for tag := range 10000 {
		if bit, _ := fastTagBit(tag); bit >= 1<<fastBits {
			t.Errorf("tag %d: bit %#x beyond fastBits", tag, bit)
		}
	}
}

// execReport is the reference encoder TestAppendExecReportMatches holds
// appendExecReport to: it was the venue's encoder before the hand-written
// one and states the rules through quickfix.Message. It fills o with the ExecutionReport of an order event: the
// fields and transitions of RoE section 3. owner is the order's
// participant; copyFor, if not nil, is the drop-copy participant the copy
// goes to (the owner is then named in Parties and CopyMsgIndicator is Y).
// It reports false for events that are not order events.
func (a *Acceptor) execReport(o *out, ev *engine.Event, owner *party, copyFor *party) bool {
	if int(ev.Kind) >= len(isOrderEvent) || !isOrderEvent[ev.Kind] || int(ev.Instrument) >= len(a.insts) {
		return false
	}
	in := a.insts[ev.Instrument]
	o.reset("8")
	if ev.OrderID != 0 {
		o.uint(tagOrderID, uint64(ev.OrderID))
	} else {
		o.bytes(tagOrderID, orderIDNone)
	}
	if !ev.ClOrdID.Empty() {
		o.bytes(tagClOrdID, ev.ClOrdID.Bytes())
	}
	if ev.Kind == engine.EvReplaced || (ev.Kind == engine.EvCancelled && ev.Reason == engine.ReasonRequested) {
		if !ev.OrigClOrdID.Empty() {
			o.bytes(tagOrigClOrdID, ev.OrigClOrdID.Bytes())
		}
	}
	o.uint(tagExecID, ev.ExecID)
	o.char(tagExecType, execTypeOf[ev.Kind])
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
	o.char(tagOrdStatus, status)
	if !ev.Account.Empty() {
		o.bytes(tagAccount, ev.Account.Bytes())
	}
	o.str(tagSymbol, in.Symbol)
	o.char(tagSide, sideChar(ev.Side))
	o.int(tagOrderQty, int64(ev.OrderQty))
	if ev.OrdType == engine.Market {
		o.char(tagOrdType, '1')
	} else {
		o.char(tagOrdType, '2')
		o.px(tagPrice, ev.Price, in.tickDec)
	}
	o.char(tagTimeInForce, byte('0'+ev.TIF))
	if ev.TIF == engine.GTD && ev.ExpireTime != 0 {
		o.ts(tagExpireTime, ev.ExpireTime)
	}
	o.int(tagLeavesQty, int64(ev.LeavesQty))
	o.int(tagCumQty, int64(ev.CumQty))
	o.px(tagAvgPx, ev.AvgPx, in.tickDec)
	o.ts(tagTransactTime, ev.Time)
	switch ev.Kind {
	case engine.EvFill:
		o.int(tagLastQty, int64(ev.LastQty))
		o.px(tagLastPx, ev.LastPx, in.tickDec)
		o.date(tagSettlDate, ev.SettlDate)
		o.date(tagTradeDate, ev.TradeDate)
		rg := quickfix.NewRepeatingGroup(tagNoContraBrokers, contraTmpl)
		rg.Add().SetString(tagContraBroker, a.partyName(ev.Counterparty))
		o.m.Body.SetGroup(rg)
	case engine.EvRejected:
		o.int(tagOrdRejReason, int64(ev.Reason.FIXRejReason()))
		o.str(tagText, a.eventText(ev, owner, in))
	case engine.EvCancelled, engine.EvExpired:
		if ev.Reason != engine.ReasonRequested && ev.Reason != engine.ReasonNone {
			o.str(tagText, a.eventText(ev, owner, in))
		}
	}
	if copyFor != nil {
		rg := quickfix.NewRepeatingGroup(tagNoPartyIDs, partiesTmpl)
		g := rg.Add()
		g.SetString(tagPartyID, owner.name)
		g.SetString(tagPartyIDSource, "D") // proprietary: the venue's CompID
		g.SetString(tagPartyRole, "13")    // order origination firm
		o.m.Body.SetGroup(rg)
		o.str(tagCopyMsgIndicator, "Y")
	}
	return true
}

// appendTimestamp's arithmetic agrees with time's own formatting, on the
// days around the leap years' edges and on random instants from year 0
// to 9999 (and beyond, where it hands over to time).
func TestAppendTimestamp(t *testing.T) {
	layout := "20060102-15:04:05.000"
	check := func(tm time.Time) {
		t.Helper()
		if got, want := string(appendTimestamp(nil, tm)), tm.UTC().Format(layout); got != want {
			t.Fatalf("appendTimestamp(%v) = %s, want %s", tm, got, want)
		}
	}
	for _, s := range []string{"1970-01-01", "1969-12-31", "2000-02-29", "2000-03-01", "1900-02-28", "1900-03-01", "2100-03-01", "2024-02-29", "2026-11-25", "0000-01-01", "9999-12-31", "1600-02-29"} {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []time.Duration{0, time.Millisecond, 999 * time.Millisecond, 12*time.Hour + 34*time.Minute + 56*time.Second + 789*time.Millisecond, 24*time.Hour - time.Nanosecond, -time.Nanosecond} {
			check(d.Add(off))
		}
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	lo, hi := time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(10005, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 200_000 {
		check(time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9)))
	}
	check(time.Unix(0, 1764072000123456789).In(time.FixedZone("X", 5*3600)))
	buf := make([]byte, 0, 32)
	if n := testing.AllocsPerRun(100, func() { appendTimestamp(buf[:0], time.Now()) }); n != 0 {
		t.Errorf("appendTimestamp: %v allocations", n)
	}
}

// TestChecksum holds checksum to the byte-by-byte sum modulo 256, at
// every length up to past two of its 128-word blocks, on random bytes and
// on all-0xff bytes (the largest lane sums).
func TestChecksum(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	ref := func(b []byte) int {
		s := 0
		for _, c := range b {
			s += int(c)
		}
		return s % 256
	}
	buf := make([]byte, 2200)
	for n := range len(buf) {
		for i := range buf[:n] {
			buf[i] = byte(rng.Uint32())
		}
		if got, want := checksum(buf[:n]), ref(buf[:n]); got != want {
			t.Fatalf("random bytes, length %d: checksum %d, want %d", n, got, want)
		}
		for i := range buf[:n] {
			buf[i] = 0xff
		}
		if got, want := checksum(buf[:n]), ref(buf[:n]); got != want {
			t.Fatalf("0xff bytes, length %d: checksum %d, want %d", n, got, want)
		}
	}
	// Unaligned starts.
	for off := range 8 {
		if got, want := checksum(buf[off:off+1100]), ref(buf[off:off+1100]); got != want {
			t.Fatalf("offset %d: checksum %d, want %d", off, got, want)
		}
	}
}
