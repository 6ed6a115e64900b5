package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"fxmatch/engine"
)

func TestParsePrice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want engine.Price
		err  string // substring of the error; "" = no error
	}{
		{"7.1020", 710_200_000, ""},
		{"7.102", 710_200_000, ""},
		{"7", 700_000_000, ""},
		{"0", 0, ""},
		{"150.123", 15_012_300_000, ""},
		{"0.00000001", 1, ""},
		{"1.08005", 108_005_000, ""},
		{"92233720368.54775807", 1<<63 - 1, ""},
		{"92233720368.54775808", 0, `"92233720368.54775808": too large`},
		{"92233720369", 0, "too large"},
		{"1.000000001", 0, `"1.000000001": more than 8 decimal places`},
		{"", 0, `bad price ""`},
		{"-7.1", 0, `"-7.1"`},
		{"+7.1", 0, `"+7.1"`},
		{"7.", 0, `"7."`},
		{".5", 0, `".5"`},
		{"7.1.2", 0, `"7.1.2"`},
		{"1e-4", 0, `"1e-4"`},
		{" 7.1", 0, `" 7.1"`},
		{"7,1", 0, `"7,1"`},
		{"NaN", 0, `"NaN"`},
	} {
		got, err := ParsePrice(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParsePrice(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadPrice) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParsePrice(%q) = %d, %v; want an ErrBadPrice containing %q", tc.in, got, err, tc.err)
		}
	}
}

func TestFormatPrice(t *testing.T) {
	for _, tc := range []struct {
		p      engine.Price
		minDec int
		want   string
	}{
		{710_000_000, 4, "7.1000"},
		{710_200_000, 4, "7.1020"},
		{710_005_000, 4, "7.10005"}, // an average keeps the decimals it needs
		{700_000_000, 0, "7"},
		{700_000_000, 2, "7.00"},
		{1, 4, "0.00000001"},
		{0, 4, "0.0000"},
		{15_012_300_000, 3, "150.123"},
		{108_005_000, 5, "1.08005"},
		{-710_000_000, 4, "-7.1000"},
		{710_000_000, 12, "7.10000000"}, // never more than 8
	} {
		if got := FormatPrice(tc.p, tc.minDec); got != tc.want {
			t.Errorf("FormatPrice(%d, %d) = %q, want %q", tc.p, tc.minDec, got, tc.want)
		}
	}
}

// TestPriceRoundTrip: every price formats and parses back to itself,
// whatever the minimum decimals (exactness: no float anywhere).
func TestPriceRoundTrip(t *testing.T) {
	ps := []engine.Price{0, 1, 9, 10, 99_999_999, 100_000_000, 710_200_000, 710_205_001, 1<<63 - 1, 123_456_789_012_345}
	for x := engine.Price(1); x < 1<<62; x = x*7 + 3 {
		ps = append(ps, x)
	}
	for _, p := range ps {
		for dec := 0; dec <= 8; dec++ {
			s := FormatPrice(p, dec)
			back, err := ParsePrice(s)
			if err != nil || back != p {
				t.Fatalf("price %d (dec %d) → %q → %d, %v", p, dec, s, back, err)
			}
		}
	}
}

func TestQty(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want engine.Qty
		err  string
	}{
		{"5000000", 5_000_000, ""},
		{"0", 0, ""},
		{"1125899906842624", 1 << 50, ""},
		{"1125899906842625", 0, `"1125899906842625": above`},
		{"99999999999999999999999", 0, "above"},
		{"5m", 0, `"5m"`},
		{"5000000.0", 0, `"5000000.0"`},
		{"-1", 0, `"-1"`},
		{"", 0, `""`},
		{"1e6", 0, `"1e6"`},
	} {
		got, err := ParseQty(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseQty(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
			if s := FormatQty(got); s != tc.in {
				t.Errorf("FormatQty(%d) = %q, want %q", got, s, tc.in)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadQty) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseQty(%q) = %d, %v; want an ErrBadQty containing %q", tc.in, got, err, tc.err)
		}
	}
}

func TestSymbolCode(t *testing.T) {
	for _, sym := range []string{"USD/CNY", "EUR/USD", "USD/JPY"} {
		code := SymbolCode(sym)
		if strings.ContainsAny(code, "/.*> ") || len(code) != 6 {
			t.Errorf("SymbolCode(%q) = %q", sym, code)
		}
		back, err := SymbolFromCode(code)
		if err != nil || back != sym {
			t.Errorf("SymbolFromCode(%q) = %q, %v; want %q", code, back, err, sym)
		}
	}
	if got := SymbolCode("USD/CNY"); got != "USDCNY" {
		t.Errorf("SymbolCode = %q", got)
	}
	for _, bad := range []string{"", "usdcny", "USD/CNY", "USDCN", "USDCNYX", "USD.CN", "USD*>Y"} {
		if _, err := SymbolFromCode(bad); !errors.Is(err, ErrBadSymbol) || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("SymbolFromCode(%q): %v; want ErrBadSymbol naming the value", bad, err)
		}
	}
}

func testNames() *Names {
	return NewNames([]engine.Instrument{
		{Symbol: "USD/CNY", Tick: 10_000},
		{Symbol: "EUR/USD", Tick: 1_000},
		{Symbol: "USD/JPY", Tick: 100_000},
	}, []string{"BANKA", "BANKB", "BANKC", "BROKER1", "REGULATOR"})
}

func TestNames(t *testing.T) {
	n := testNames()
	if n.Symbol(0) != "USD/CNY" || n.Code(1) != "EURUSD" || n.TickDecimals(2) != 3 || n.Symbol(9) != "" {
		t.Fatal("instrument names")
	}
	if n.Party(1) != "BANKA" || n.Party(5) != "REGULATOR" || n.Party(0) != "" || n.Party(6) != "" || n.Parties() != 5 {
		t.Fatal("party names")
	}
	if p, ok := n.PartyID("BANKB"); !ok || p != 2 {
		t.Fatal("PartyID")
	}
	if id, err := n.InstrumentByCode("USDJPY"); err != nil || id != 2 {
		t.Fatalf("InstrumentByCode: %d %v", id, err)
	}
	if _, err := n.InstrumentByCode("GBPUSD"); !errors.Is(err, ErrBadSymbol) || !strings.Contains(err.Error(), `"GBPUSD": the venue lists no such instrument`) {
		t.Fatalf("InstrumentByCode(GBPUSD): %v", err)
	}
	if _, err := n.InstrumentByCode("usdcny"); !errors.Is(err, ErrBadSymbol) {
		t.Fatalf("InstrumentByCode(usdcny): %v", err)
	}
	for _, tc := range []struct {
		s    string
		want engine.Price
		err  string
	}{
		{"7.1020", 710_200_000, ""},
		{"7.10205", 0, `"7.10205": not a multiple of the tick 0.0001 of USD/CNY`},
		{"0", 0, `"0": must be positive`},
		{"x", 0, `"x"`},
	} {
		got, err := n.ParsePrice(0, tc.s)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (!errors.Is(err, ErrBadPrice) || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Names.ParsePrice(USD/CNY, %q) = %d, %v; want %d / %q", tc.s, got, err, tc.want, tc.err)
		}
	}
}

// decodeStrict decodes a document into v, refusing fields v does not have.
func decodeStrict(t *testing.T, doc []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(doc))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
}

func mustID(s string) engine.ID { return engine.MustID(s) }

// execEvents covers every execution kind and the odd fields.
func execEvents() []engine.Event {
	const t0 = 1_795_000_000_123_456_789
	base := engine.Event{
		Seq: 42, Time: t0, ExecID: 1<<48 + 7, Party: 1, Instrument: 0, OrderID: 1<<48 + 3,
		Side: engine.Buy, OrdType: engine.Limit, TIF: engine.Day, Price: 710_200_000,
		OrderQty: 5_000_000, LeavesQty: 5_000_000, ClOrdID: mustID("ord-1"),
	}
	acc := base
	acc.Kind = engine.EvAccepted
	rej := base
	rej.Kind, rej.OrderID, rej.Reason, rej.Price = engine.EvRejected, 0, engine.ReasonPriceNotTick, 710_205_000
	fill := base
	fill.Kind, fill.LeavesQty, fill.CumQty, fill.AvgPx = engine.EvFill, 3_000_000, 2_000_000, 710_105_000
	fill.LastQty, fill.LastPx, fill.TradeID, fill.Aggressor, fill.Counterparty = 2_000_000, 710_100_000, 1<<48+1, true, 2
	fill.TradeDate, fill.SettlDate = 20261125, 20261127
	cxl := base
	cxl.Kind, cxl.Reason, cxl.LeavesQty, cxl.OrigClOrdID, cxl.ClOrdID = engine.EvCancelled, engine.ReasonRequested, 0, mustID("ord-1"), mustID("cxl-1")
	rep := base
	rep.Kind, rep.OrigClOrdID, rep.ClOrdID, rep.Price = engine.EvReplaced, mustID("ord-1"), mustID("ord-2"), 710_300_000
	exp := base
	exp.Kind, exp.TIF, exp.ExpireTime, exp.Reason, exp.LeavesQty = engine.EvExpired, engine.GTD, t0+3600e9, engine.ReasonGTDExpired, 0
	mkt := base
	mkt.Kind, mkt.OrdType, mkt.Price, mkt.TIF, mkt.Reason, mkt.Instrument = engine.EvCancelled, engine.Market, 0, engine.IOC, engine.ReasonIOCRemainder, 2
	crj := engine.Event{Kind: engine.EvCancelRejected, Seq: 43, Time: t0, ExecID: 9, Party: 3, Instrument: 1, Side: engine.Sell,
		ClOrdID: mustID("c2"), OrigClOrdID: mustID("gone"), Reason: engine.ReasonTooLate, RespondingTo: engine.CmdReplace}
	mass := engine.Event{Kind: engine.EvMassCancelReport, Seq: 44, Time: t0, ExecID: 10, Party: 4, ClOrdID: mustID("m1"), Count: 0, Reason: engine.ReasonMassCancel}
	risk := base
	risk.Kind, risk.OrderID, risk.Reason = engine.EvRejected, 0, engine.ReasonRisk
	odd := base
	odd.Kind, odd.ClOrdID, odd.Account = engine.EvAccepted, mustID("q\"\\<&>\x01\xff\u2028é"), mustID("acct/1")
	return []engine.Event{acc, rej, fill, cxl, rep, exp, mkt, crj, mass, risk, odd}
}

// TestExecEventAppendMatchesStruct: the hand-written encoder and the
// struct are the same document, field for field.
func TestExecEventAppendMatchesStruct(t *testing.T) {
	n := testNames()
	for _, ev := range execEvents() {
		doc, ok := n.AppendExecEvent(nil, &ev)
		if !ok {
			t.Fatalf("%v: not an exec event", ev.Kind)
		}
		if !json.Valid(doc) {
			t.Fatalf("%v: invalid JSON %s", ev.Kind, doc)
		}
		var got ExecEvent
		decodeStrict(t, doc, &got)
		want, _ := n.ExecEventOf(&ev)
		// The struct holds identifiers as the client sent them; JSON
		// carries invalid UTF-8 as U+FFFD, so compare what a reader gets.
		var wantRead ExecEvent
		std0, _ := json.Marshal(want)
		decodeStrict(t, std0, &wantRead)
		if !reflect.DeepEqual(got, wantRead) {
			t.Errorf("%v:\n appended %+v\n struct   %+v\n doc %s", ev.Kind, got, want, doc)
		}
		// encoding/json writes the struct as the same bytes (same field
		// order, same escaping).
		std, err := json.Marshal(want)
		if err != nil || !bytes.Equal(std, doc) {
			t.Errorf("%v:\n append  %s\n marshal %s", ev.Kind, doc, std)
		}
	}
}

func TestExecEventFields(t *testing.T) {
	n := testNames()
	evs := execEvents()
	get := func(i int) ExecEvent { x, _ := n.ExecEventOf(&evs[i]); return x }
	acc := get(0)
	if acc.Type != "accepted" || acc.Participant != "BANKA" || acc.Symbol != "USD/CNY" || acc.Price != "7.1020" || acc.Qty != "5000000" ||
		acc.OrderID != "281474976710659" || acc.ExecID != "281474976710663" || acc.Time != "2026-11-18T11:06:40.123456789Z" || acc.Side != "buy" || acc.TIF != "day" || acc.OrdType != "limit" {
		t.Errorf("accepted: %+v", acc)
	}
	rej := get(1)
	if rej.OrderID != "" || rej.Reason != "price-not-tick" || rej.Text != "tick: price is not a multiple of the tick" || rej.Price != "7.10205" {
		t.Errorf("rejected: %+v", rej)
	}
	fill := get(2)
	if fill.Counterparty != "BANKB" || fill.LastPx != "7.1010" || fill.AvgPx != "7.10105" || fill.SettlDate != "2026-11-27" || fill.TradeDate != "2026-11-25" || fill.Aggressor == nil || !*fill.Aggressor || fill.TradeID != "281474976710657" {
		t.Errorf("fill: %+v", fill)
	}
	if x := get(3); x.OrigClOrdID != "ord-1" || x.Reason != "requested" {
		t.Errorf("cancelled: %+v", x)
	}
	if x := get(5); x.ExpireTime != "2026-11-18T12:06:40.123456789Z" || x.TIF != "gtd" {
		t.Errorf("expired: %+v", x)
	}
	if x := get(6); x.Price != "" || x.OrdType != "market" || x.Symbol != "USD/JPY" || x.Text != "the rest could not trade at once" {
		t.Errorf("market: %+v", x)
	}
	if x := get(7); x.Type != "cancel_rejected" || x.RespondingTo != "replace" || x.Qty != "" || x.Side != "sell" || x.Reason != "too-late" {
		t.Errorf("cancel_rejected: %+v", x)
	}
	if x := get(8); x.Type != "mass_cancel" || x.Count == nil || *x.Count != 0 || x.Symbol != "" {
		t.Errorf("mass_cancel: %+v", x)
	}
	if x := get(9); x.Text != "risk: blocked by pre-trade risk scoring" {
		t.Errorf("risk: %+v", x)
	}
	var odd ExecEvent
	doc, _ := n.AppendExecEvent(nil, &evs[10])
	decodeStrict(t, doc, &odd)
	if odd.ClOrdID != "q\"\\<&>\x01\ufffd\u2028é" || odd.Account != "acct/1" {
		t.Errorf("odd ids: %q", odd.ClOrdID)
	}
	for _, k := range []engine.EventKind{engine.EvTrade, engine.EvLevel, engine.EvCreditSet, engine.EvDayRolled, 0, 200} {
		ev := engine.Event{Kind: k}
		if doc, ok := n.AppendExecEvent([]byte("x"), &ev); ok || string(doc) != "x" {
			t.Errorf("%v: encoded as exec event", k)
		}
	}
}

func TestReasonTexts(t *testing.T) {
	for r := engine.Reason(1); r.String() != "reason?"; r++ {
		txt := ReasonText(r)
		if _, ok := reasonWords[r]; !ok {
			t.Errorf("reason %v has no words", r)
		}
		if kw := r.Keyword(); kw != "" && !strings.HasPrefix(txt, kw+": ") {
			t.Errorf("reason %v: text %q does not start with its keyword %q", r, txt, kw)
		}
	}
}

func TestTradeAndBook(t *testing.T) {
	n := testNames()
	tr := engine.Event{Kind: engine.EvTrade, Seq: 7, Time: 1_795_000_000_000_000_000, Instrument: 1, TradeID: 12, LastPx: 108_005_000, LastQty: 1_000_000, Side: engine.Sell}
	doc, ok := n.AppendTrade(nil, &tr)
	if !ok {
		t.Fatal("trade not encoded")
	}
	var got Trade
	decodeStrict(t, doc, &got)
	want, _ := n.TradeOf(&tr)
	if got != want || want.Px != "1.08005" || want.AggressorSide != "sell" || want.Symbol != "EUR/USD" || want.TradeID != "12" {
		t.Errorf("trade %s, struct %+v", doc, want)
	}
	if std, _ := json.Marshal(want); !bytes.Equal(std, doc) {
		t.Errorf("trade:\n append  %s\n marshal %s", doc, std)
	}
	if _, ok := n.AppendTrade(nil, &engine.Event{Kind: engine.EvFill}); ok {
		t.Error("fill encoded as trade")
	}

	bids := []engine.Level{{Price: 710_100_000, Qty: 5_000_000, Count: 2}, {Price: 710_000_000, Qty: 1_000_000, Count: 1}}
	var asks []engine.Level
	for i := range 15 {
		asks = append(asks, engine.Level{Price: engine.Price(710_200_000 + i*10_000), Qty: 100_000, Count: 1})
	}
	bdoc := n.AppendBook(nil, 0, 99, 1_795_000_000_000_000_000, bids, asks, BookDepth)
	var gb Book
	decodeStrict(t, bdoc, &gb)
	wb := n.BookOf(0, 99, 1_795_000_000_000_000_000, bids, asks, BookDepth)
	if !reflect.DeepEqual(gb, wb) || len(gb.Asks) != 10 || gb.Bids[0].Px != "7.1010" || gb.Bids[0].Orders != 2 || gb.Asks[9].Px != "7.1029" {
		t.Errorf("book %s\nstruct %+v", bdoc, wb)
	}
	if std, _ := json.Marshal(wb); !bytes.Equal(std, bdoc) {
		t.Errorf("book:\n append  %s\n marshal %s", bdoc, std)
	}
	// An empty side is [], never null.
	empty := n.AppendBook(nil, 2, 1, 0, nil, nil, 0)
	if !bytes.Contains(empty, []byte(`"bids":[],"asks":[]`)) {
		t.Errorf("empty book %s", empty)
	}
}

// TestAppendAllocs: encoding on the publishing path allocates nothing.
func TestAppendAllocs(t *testing.T) {
	n := testNames()
	evs := execEvents()
	buf := make([]byte, 0, 4096)
	tr := engine.Event{Kind: engine.EvTrade, Instrument: 1, TradeID: 12, LastPx: 108_005_000, LastQty: 1_000_000, Side: engine.Sell}
	lv := []engine.Level{{Price: 710_100_000, Qty: 5_000_000, Count: 2}}
	allocs := testing.AllocsPerRun(100, func() {
		for i := range evs {
			buf, _ = n.AppendExecEvent(buf[:0], &evs[i])
		}
		buf, _ = n.AppendTrade(buf[:0], &tr)
		buf = n.AppendBook(buf[:0], 0, 1, 2, lv, lv, BookDepth)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per run, want 0", allocs)
	}
}

func BenchmarkAppendExecEvent(b *testing.B) {
	n := testNames()
	ev := execEvents()[2] // a fill: the most fields
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = n.AppendExecEvent(buf[:0], &ev)
	}
	b.SetBytes(int64(len(buf)))
}

var timeSeeds = []int64{
	0, 1, 10, 999_999_999, 1_000_000_000, 1_000_000_001, 86_399_999_999_999, 86_400_000_000_000,
	951_782_400_000_000_000,   // 2000-02-29
	951_868_800_000_000_000,   // 2000-03-01
	4_107_542_400_000_000_000, // 2100-03-01
	1_764_115_200_123_456_789, 1_764_115_200_120_000_000, 1<<63 - 1, -1, -1_000_000_001,
}

func checkAppendTime(t *testing.T, ns int64) {
	t.Helper()
	want := time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	if got := string(AppendTime([]byte("x"), ns)); got != "x"+want {
		t.Fatalf("AppendTime(%d) = %q, want %q", ns, got[1:], want)
	}
}

// TestAppendTimeMatchesTime: the hand-written RFC 3339 writer agrees with
// time.RFC3339Nano, byte for byte.
func TestAppendTimeMatchesTime(t *testing.T) {
	for _, ns := range timeSeeds {
		checkAppendTime(t, ns)
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 200_000 {
		ns := rng.Int64()
		switch rng.IntN(3) {
		case 0:
			ns -= ns % 1_000_000 // millisecond times
		case 1:
			ns -= ns % 1_000_000_000
		}
		if rng.IntN(10) == 0 {
			ns = -ns
		}
		checkAppendTime(t, ns)
	}
}

func FuzzAppendTime(f *testing.F) {
	for _, ns := range timeSeeds {
		f.Add(ns)
	}
	f.Fuzz(checkAppendTime)
}

func BenchmarkAppendTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	ns := int64(1_764_115_200_123_456_789)
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			buf = AppendTime(buf[:0], ns)
		}
	})
	b.Run("time", func(b *testing.B) {
		for b.Loop() {
			buf = time.Unix(0, ns).UTC().AppendFormat(buf[:0], time.RFC3339Nano)
		}
	})
}
