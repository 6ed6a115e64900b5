package fixbench

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The pre-framed messages are, byte for byte, what the field-by-field
// encoders (AppendMessage around appendOrder and appendCancel) make of the
// same order: every side, both mixes, sequence numbers and order indexes
// across digit boundaries (BodyLength and CheckSum depend on them), and
// timestamps whose bytes differ.
func TestTemplatesMatchEncoder(t *testing.T) {
	times := []time.Time{testTime, time.Date(2027, 12, 31, 23, 59, 59, 999_000_000, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	nums := []int{0, 1, 9, 10, 99, 100, 12345, 999_999, 1_000_000, 123_456_789}
	for _, mix := range []Mix{MixCancel, MixIOC} {
		for _, sender := range []string{"BANKA", "BROKER1"} {
			r := &run{o: Options{RunID: "Bq3x9", Mix: mix}}
			st := newSessionTemplates(sender, r.o.RunID, mix)
			for _, tm := range times {
				var ts stamp
				ts.set(tm)
				for _, seq := range nums {
					for _, k := range nums {
						got := st.order[k%2].append(nil, seq+1, k, &ts)
						want, _ := AppendMessage(nil, nil, "D", sender, VenueCompID, seq+1, tm, r.appendOrder(nil, k, tm))
						if !bytes.Equal(got, want) {
							t.Fatalf("%s %s order seq %d k %d:\ngot  %s\nwant %s", mix, sender, seq+1, k, Message(got), Message(want))
						}
						got = st.cancel[k%2].append(nil, seq+1, k, &ts)
						want, _ = AppendMessage(nil, nil, "F", sender, VenueCompID, seq+1, tm, r.appendCancel(nil, k, tm))
						if !bytes.Equal(got, want) {
							t.Fatalf("%s %s cancel seq %d k %d:\ngot  %s\nwant %s", mix, sender, seq+1, k, Message(got), Message(want))
						}
						// And the reader takes it: framing and checksum.
						if _, n, err := frameAt(got); err != nil || n != len(got) {
							t.Fatalf("frameAt: %d of %d bytes, %v", n, len(got), err)
						}
					}
				}
			}
		}
	}
}

// scan sees what Fields sees, for the fields the reader uses, on real
// reports and on malformed fields (no '=', a letter in the tag, a tag too
// long to be one, an empty value, no trailing SOH).
func TestInboundScanMatchesFields(t *testing.T) {
	report, _ := AppendMessage(nil, nil, "8", VenueCompID, "BANKA", 5, testTime,
		[]byte("6=0\x0111=Babc-12345\x0114=0\x0139=8\x01103=3\x0158=throttle: too fast\x01150=8\x01"))
	cxl, _ := AppendMessage(nil, nil, "9", VenueCompID, "BANKA", 6, testTime, []byte("11=Babcx1\x01102=1\x0158=\x01"))
	for _, m := range []string{
		string(report), string(cxl),
		"8=FIX.4.4\x019=5\x0135=8\x01garbage\x01x11=no\x011x1=no\x0111=yes\x01",
		"150=0\x0111111111111=long\x01011=lead\x01=v\x0158=a=b\x0135=3",
		"", "11=", "\x01\x01\x0135=1\x01",
	} {
		var want inbound
		for tag, v := range Message(m).Fields() {
			switch tag {
			case 35:
				want.typ = v
			case 150:
				want.execType = v
			case 11:
				want.clOrdID = v
			case 103:
				want.rejCode = v
			case 102:
				want.cxlCode = v
			case 58:
				want.text = v
			}
		}
		var got inbound
		got.scan(Message(m))
		if g, w := fmt.Sprintf("%q", got), fmt.Sprintf("%q", want); g != w {
			t.Errorf("%q:\nscan   %s\nFields %s", strings.ReplaceAll(m, "\x01", "|"), g, w)
		}
		if g, w := string(Message(m).msgType()), Message(m).GetString(35); g != w {
			t.Errorf("%q: msgType %q, Get(35) %q", m, g, w)
		}
	}
}
