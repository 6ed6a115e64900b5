package fix

import (
	"bytes"
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/datadictionary"

	"fxmatch/config"
	"fxmatch/engine"
)

func demoInstruments(t testing.TB) (lookupFunc, []*instrument) {
	t.Helper()
	ec, err := config.Demo().EngineConfig(0, 20261125)
	if err != nil {
		t.Fatal(err)
	}
	var insts []*instrument
	by := map[string]*instrument{}
	for i, in := range ec.Instruments {
		ins := newInstrument(engine.InstrumentID(i), in)
		insts = append(insts, ins)
		by[in.Symbol] = ins
	}
	return func(s string) *instrument { return by[s] }, insts
}

// fixMsg frames "35=D|11=…" (| for SOH) as a FIX 4.4 message from BANKA.
func fixMsg(body string) []byte {
	mt, rest, _ := strings.Cut(body, "|")
	b := "35=" + mt + "\x0134=2\x0149=BANKA\x0152=20261125-10:00:00.000\x0156=FXMATCH\x01" + strings.ReplaceAll(rest, "|", "\x01") + "\x01"
	out := "8=FIX.4.4\x019=" + itoa(len(b)) + "\x01" + b
	sum := 0
	for i := 0; i < len(out); i++ {
		sum += int(out[i])
	}
	return []byte(out + "10=" + itoa3(sum%256) + "\x01")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func itoa3(n int) string { s := itoa(n); return strings.Repeat("0", 3-len(s)) + s }

// FuzzInbound drives the inbound path — quickfixgo's parser, the
// dictionary validation, the venue's decoders and the edge reports built
// from what they return — with arbitrary bytes. None of it may panic: a
// panic on a session goroutine would take the venue down.
func FuzzInbound(f *testing.F) {
	for _, s := range []string{
		"D|11=c1|55=USD/CNY|54=1|60=20261125-10:00:00|38=1000000|40=2|44=7.1000|59=6|126=20261125-11:00:00|110=100000|111=200000|18=6|1=ACC|15=USD|63=3",
		"D|11=c2|55=EUR/USD|54=2|60=20261125-10:00:00|38=1e6|40=1",
		"D|11=c3|55=USD/JPY|54=1|60=20261125-10:00:00|38=-5|40=2|44=150.0001",
		"D|11=c4|55=USD/CNY|54=1|60=20261125-10:00:00|38=99999999999999999999999|40=2|44=0.000000001",
		"F|11=x1|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00",
		"G|11=x2|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00|38=2000000|40=2|44=7.1010",
		"q|11=m1|530=1|55=USD/CNY|60=20261125-10:00:00",
		"q|11=m2|530=7|60=20261125-10:00:00",
		"V|262=r1|263=1|264=0|265=1|267=3|269=0|269=1|269=2|146=2|55=USD/CNY|55=EUR/USD",
		"V|262=r2|263=2|264=5|267=1|269=9|146=1|55=XXX",
		"x|320=s1|559=0|55=USD/JPY",
		"A|98=0|108=30|141=Y|554=demo",
		// The fast path's shape (fastpath.go), and near misses.
		"D|11=f1|55=USD/CNY|54=1|38=1000000|40=2|44=7.1000|59=0|60=20261125-10:00:00.000",
		"D|1=ACC|11=f2|55=EUR/USD|54=2|38=100000|40=1|60=20261125-10:00:00|110=100000|111=100000|59=3",
		"D|11=f3|55=USD/CNY|54=1|38=1000000|40=2|60=20261125-10:00:00.000",
		"D|11=f4|55=USD/CNY|54=1|38=1000000|40=2|44=7.1000|44=7.2|60=20261125-10:00:00.000",
		"D|11=f5|55=USD/CNY|54=1|38=1.5e3|40=2|44=7.1000|60=20261125-25:00:00.000",
		"F|11=x1|41=c1|55=USD/CNY|54=1|60=20261125-10:00:00.000",
		"F|1=ACC|11=x2|37=17|41=c1|55=USD/CNY|54=2|38=1000000|60=20261125-10:00:00.123456",
		"F|11=x3|41=c1|54=1|60=20261125-10:00:00",
		"F|11=x4|41=c1234567890123456789012345678901234567890|55=USD/CNY|54=1|60=20261125-10:00:00",
		"F|11=x5|41=c1|55=XXX/YYY|54=2|60=20261125-10:00:00",
		"G|11=r1|41=c1|55=USD/CNY|54=1|38=2000000|40=2|44=7.1010|60=20261125-10:00:00",
		"G|1=ACC|11=r2|37=17|41=c1|55=USD/CNY|54=2|38=2000000|40=1|59=3|60=20261125-10:00:00",
		"G|11=r3|41=c1|55=USD/CNY|54=1|38=2000000.5|40=2|44=7.10101|60=20261125-10:00:00",
		"G|11=r4|41=c1|55=USD/CNY|54=1|38=2000000|40=2|44=7.1010|59=6|60=20261125-10:00:00",
	} {
		f.Add(fixMsg(s))
		m := fixMsg(s)
		i := bytes.Index(m, []byte("35="))
		f.Add(m[i : len(m)-7]) // the body alone
	}
	f.Add(append(fixMsg("D|11=c9|55=USD/CNY|54=1|60=20261125-10:00:00|38=100000|40=1"), []byte("8=FIX.4.4\x019=5\x0135=0\x0110=000\x01garbage")...))
	inboundSetup(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bytes as a message body with the right BodyLength and
		// CheckSum (so mutations get past the framer), then the bytes as
		// they came: the connection's framer (guardConn.Read) and each
		// frame as the session would see it.
		if _, used, st := nextFrame(frameBody(data)); st == frameOK {
			inbound(t, frameBody(data)[:used])
		}
		for len(data) > 0 {
			frame, used, st := nextFrame(data)
			if st == frameShort {
				return
			}
			if used <= 0 || used > len(data) {
				t.Fatalf("nextFrame used %d of %d bytes", used, len(data))
			}
			data = data[used:]
			if st == frameOK {
				inbound(t, append([]byte(nil), frame...))
			}
		}
	})
}

// frameBody wraps a body in BeginString, BodyLength and CheckSum.
func frameBody(body []byte) []byte {
	out := append([]byte("8=FIX.4.4\x019="+itoa(len(body))+"\x01"), body...)
	sum := 0
	for _, c := range out {
		sum += int(c)
	}
	return append(out, "10="+itoa3(sum%256)+"\x01"...)
}

func inboundSetup(f *testing.F) {
	dd, err := datadictionary.ParseSrc(bytes.NewReader(Dictionary))
	if err != nil {
		f.Fatal(err)
	}
	fuzzValid = quickfix.NewValidator(quickfix.ValidatorSettings{CheckFieldsOutOfOrder: true, RejectInvalidMessage: true, CheckUserDefinedFields: true, CheckFieldsHaveValues: true}, dd, nil)
	fuzzLookup, fuzzInsts = demoInstruments(f)
}

var (
	fuzzValid  quickfix.Validator
	fuzzLookup lookupFunc
	fuzzInsts  []*instrument
)

// inbound is what the session and FromApp do with one framed message.
func inbound(t *testing.T, raw []byte) {
	a := &Acceptor{insts: fuzzInsts}
	o := newOut()
	lookup := fuzzLookup
	valid := fuzzValid
	{
		// The fast path takes only what the full path takes, and decodes
		// it the same way.
		var rm rawMsg
		fast := byte(0)
		if rm.load(raw) {
			fast = rm.fastShape()
		}
		m := quickfix.NewMessage()
		if err := quickfix.ParseMessage(m, bytes.NewBuffer(raw)); err != nil {
			if fast != 0 {
				t.Fatalf("the fast path took a message quickfixgo cannot parse (%v): %q", err, raw)
			}
			return
		}
		vrej := valid.Validate(m)
		if fast != 0 {
			if vrej != nil {
				t.Fatalf("the fast path took a message the validator rejects (%v): %q", vrej, raw)
			}
			if mt, _ := m.Header.GetBytes(quickfix.Tag(35)); string(mt) != string(fast) {
				t.Fatalf("the fast path took MsgType %q as %q: %q", mt, fast, raw)
			}
			decode := func(m fields) (engine.Command, orderEcho, *instrument, *edgeReject, quickfix.MessageRejectError) {
				if fast == 'D' {
					return decodeNewOrder(m, 1, lookup)
				}
				return decodeCancel(m, 1, fast == 'G', lookup)
			}
			c1, e1, _, r1, s1 := decode(&rm)
			c2, e2, _, r2, s2 := decode(qfFields{m})
			if c1 != c2 || e1 != e2 || (r1 == nil) != (r2 == nil) || r1 != nil && *r1 != *r2 || s1 != nil || s2 != nil {
				t.Fatalf("fast and full decode differ on %q:\n%+v %+v %v %v\n%+v %+v %v %v", raw, c1, e1, r1, s1, c2, e2, r2, s2)
			}
		}
		check := func(cmd engine.Command, e orderEcho, rej *edgeReject, srej quickfix.MessageRejectError) {
			if srej != nil {
				_ = srej.Error()
				return
			}
			if rej != nil {
				a.edgeExecReport(o, &e, rej.code, rej.text)
				_ = o.m.String()
				a.edgeCancelReject(o, &e, true, rej.code, rej.text)
				_ = o.m.String()
				return
			}
			if cmd.Kind == engine.CmdNewOrder && cmd.ClOrdID.Empty() && e.clOrdID != "" {
				t.Fatalf("ClOrdID %q lost", e.clOrdID)
			}
		}
		cmd, e, _, rej, srej := decodeNewOrder(qfFields{m}, 1, lookup)
		check(cmd, e, rej, srej)
		cmd, e, _, rej, srej = decodeCancel(qfFields{m}, 1, false, lookup)
		check(cmd, e, rej, srej)
		cmd, e, _, rej, srej = decodeCancel(qfFields{m}, 1, true, lookup)
		check(cmd, e, rej, srej)
		cmd, e, _, rej, srej = decodeMassCancel(qfFields{m}, 1, lookup)
		check(cmd, e, rej, srej)
		if req, rej := decodeMarketData(raw); rej != nil {
			mdReject(o, req.reqID, rej.code, rej.text)
			_ = o.m.String()
		}
	}
}

// The words of every reason, and the keyword rule of OrdRejReason 99.
func TestReasonTexts(t *testing.T) {
	_, insts := demoInstruments(t)
	usdcny := insts[0]
	c := &textCtx{inst: usdcny, party: "BANKA", price: 710005000, qty: 150000, ref: 710000000, throttle: 50}
	cases := map[engine.Reason]string{
		engine.ReasonPriceNotTick:     "tick: price 7.10005 is not a multiple of the tick 0.0001",
		engine.ReasonQtyNotLot:        "OrderQty 150000 is not a multiple of the lot 100000",
		engine.ReasonRisk:             "risk: blocked by pre-trade risk scoring",
		engine.ReasonReadOnly:         "readonly: BANKA is a read-only participant (drop copy and replay) and may not trade",
		engine.ReasonThrottle:         "throttle: more than 50 messages a second on this session; the message was not processed",
		engine.ReasonBusy:             "busy: the venue's input queue is full; the message was not processed, send it again",
		engine.ReasonUnavailable:      "unavailable: the venue cannot journal orders at the moment and takes none",
		engine.ReasonPriceOutsideBand: "band: price 7.1001 is outside the price band 6.9580 to 7.2420 (±2% around the reference price 7.1000)",
	}
	for r, want := range cases {
		cc := *c
		if r == engine.ReasonPriceOutsideBand {
			cc.price = 710010000
		}
		if got := reasonText(r, &cc); got != want {
			t.Errorf("%v: %q, want %q", r, got, want)
		}
	}
	for r := engine.ReasonUnknownSymbol; r <= engine.ReasonReplaceMismatch; r++ {
		got := reasonText(r, c)
		if got == "" || got == r.String() {
			t.Errorf("%v has no words", r)
		}
		if r.FIXRejReason() == 99 && r <= engine.ReasonUnavailable && !strings.HasPrefix(got, r.Keyword()+": ") {
			t.Errorf("%v maps to 103=99 but %q does not start with a keyword", r, got)
		}
	}
}

func TestParseFixed(t *testing.T) {
	for _, c := range []struct {
		s     string
		scale int32
		v     int64
		r     fixedResult
	}{
		{"7.1000", 8, 710000000, fixedOK},
		{"7.10005", 8, 710005000, fixedOK},
		{"7.100000001", 8, 0, fixedInexact},
		{"1000000", 0, 1000000, fixedOK},
		{"1000000.000", 0, 1000000, fixedOK},
		{"1000000.5", 0, 0, fixedInexact},
		{"-3", 0, -3, fixedOK},
		{"1e6", 0, 0, fixedSyntax},
		{"+5", 0, 0, fixedSyntax},
		{".", 0, 0, fixedSyntax},
		{"", 0, 0, fixedSyntax},
		{"99999999999999999999", 0, 0, fixedOverflow},
		{"46116860184.27387905", 8, 0, fixedOverflow},
	} {
		v, r := parseFixed(c.s, c.scale)
		if v != c.v || r != c.r {
			t.Errorf("parseFixed(%q, %d) = %d, %d; want %d, %d", c.s, c.scale, v, r, c.v, c.r)
		}
		if v, r := parseFixedBig(c.s, c.scale); v != c.v || r != c.r {
			t.Errorf("parseFixedBig(%q, %d) = %d, %d; want %d, %d", c.s, c.scale, v, r, c.v, c.r)
		}
	}
	if n := testing.AllocsPerRun(100, func() { parseFixed("7.10005", 8) }); n != 0 {
		t.Errorf("parseFixed allocates %v times", n)
	}
}

// FuzzParseFixed: the allocation-free parseFixed agrees with the
// decimal/big one on every input.
func FuzzParseFixed(f *testing.F) {
	for _, s := range []string{"7.1000", "1000000.000", "-3", "4611686018427387904", "4611686018427387905", "46116860184.27387904", "0.000000001", "-0", "99999999999999999999999999999", "18446744073709551617", "00012.3400", "1.", ".5"} {
		f.Add(s, int8(8))
		f.Add(s, int8(0))
	}
	f.Fuzz(func(t *testing.T, s string, scale int8) {
		sc := int32(scale) & 15
		v, r := parseFixed(s, sc)
		wv, wr := parseFixedBig(s, sc)
		if v != wv || r != wr {
			t.Fatalf("parseFixed(%q, %d) = %d, %d; parseFixedBig says %d, %d", s, sc, v, r, wv, wr)
		}
	})
}

// FuzzParseUTCTimestamp: parseUTCTimestamp's hand reading agrees with
// quickfixgo's FIXUTCTimestamp (time.Parse) on every input: the same
// verdict and the same instant.
func FuzzParseUTCTimestamp(f *testing.F) {
	for _, s := range []string{"20261125-10:00:00", "20261125-10:00:00.123", "20261125-10:00:00.123456", "20261125-10:00:00.123456789",
		"20240229-23:59:59.999", "20230229-10:00:00", "20261131-10:00:00", "20261125-24:00:00", "20261125-10:60:00", "20261125-10:00:60",
		"+0261125-10:00:00", "00001125-10:00:00", "20261125-10:00:00,123", "20261125-10:00:00.12a", "2026112510:00:00.123", "20261325-10:00:00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var want quickfix.FIXUTCTimestamp
		werr := want.Read(v)
		got, ok := parseUTCTimestamp(v)
		if ok != (werr == nil) || ok && !got.Equal(want.Time) {
			t.Fatalf("parseUTCTimestamp(%q) = %v, %v; quickfixgo: %v, %v", v, got, ok, want.Time, werr)
		}
		if ok && got != want.Time {
			t.Fatalf("parseUTCTimestamp(%q) = %#v; quickfixgo: %#v (same instant, different value)", v, got, want.Time)
		}
	})
}

// fieldsOKRef is fieldsOK as it was written first, with bytes.IndexByte:
// the reference FuzzFieldsOK holds the one-pass version to.
func fieldsOKRef(body []byte) bool {
	first := true
	for len(body) > 0 {
		eq := bytes.IndexByte(body, '=')
		if eq <= 0 || eq > 9 {
			return false
		}
		tag := 0
		for _, c := range body[:eq] {
			if c < '0' || c > '9' {
				return false
			}
			tag = tag*10 + int(c-'0')
		}
		switch tag {
		case 0, 8, 9, 10, 212, 213:
			return false
		case 35:
			if !first {
				return false
			}
		}
		first = false
		end := bytes.IndexByte(body[eq:], 1)
		if end <= 1 {
			return false
		}
		body = body[eq+end+1:]
	}
	return true
}

func FuzzFieldsOK(f *testing.F) {
	for _, s := range []string{"35=D\x0111=a\x01", "35=D\x01", "35=D\x0135=D\x01", "35=D\x01=x\x01", "35=D\x0111=\x01", "35=D\x0111=a",
		"35=D\x01123456789=x\x01", "35=D\x011234567890=x\x01", "35=D\x01212=3\x01", "35=D\x0111=a=b\x01", "3a=D\x01", "", "35=D\x0110=123\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := fieldsOK(b), fieldsOKRef(b); got != want {
			t.Fatalf("fieldsOK(%q) = %v, the reference says %v", b, got, want)
		}
	})
}
