package fixbench

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var testTime = time.Date(2026, 11, 25, 22, 53, 11, 66_000_000, time.UTC)

func TestAppendMessage(t *testing.T) {
	var body []byte
	body = AppendField(body, 11, "A-1")
	body = AppendFieldInt(body, 38, 1000000)
	got, _ := AppendMessage(nil, nil, "D", "BANKA", "FXMATCH", 7, testTime, body)
	// BodyLength counts from 35= to the SOH before 10=; the checksum is
	// the byte sum mod 256 of everything before 10= (both computed
	// independently, in Python).
	want := "8=FIX.4.4|9=73|35=D|49=BANKA|56=FXMATCH|34=7|52=20261125-22:53:11.066|11=A-1|38=1000000|10=142|"
	if s := strings.ReplaceAll(string(got), "\x01", "|"); s != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
	m, n, err := frameAt(got)
	if err != nil || n != len(got) {
		t.Fatalf("frameAt: n %d of %d, %v", n, len(got), err)
	}
	if m.Type() != "D" || m.GetString(11) != "A-1" || m.GetString(34) != "7" {
		t.Errorf("parsed back: %s", m)
	}
}

func TestAppendTimestamp(t *testing.T) {
	for _, tm := range []time.Time{testTime, time.Date(2027, 1, 2, 3, 4, 5, 999_999_999, time.UTC), time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("X", 3600))} {
		got := string(AppendTimestamp(nil, tm))
		if want := tm.UTC().Format("20060102-15:04:05.000"); got != want {
			t.Errorf("%v: got %s want %s", tm, got, want)
		}
	}
}

func TestReaderSplitsAndReassembles(t *testing.T) {
	var stream []byte
	var want []string
	for i := range 200 {
		body := AppendFieldInt(nil, 11, int64(i))
		body = AppendField(body, 58, strings.Repeat("x", i*7))
		start := len(stream)
		stream, _ = AppendMessage(stream, nil, "8", "FXMATCH", "BANKA", i+1, testTime, body)
		want = append(want, string(stream[start:]))
	}
	// One byte per read, and a buffer just above the largest message:
	// messages straddle reads and the buffer's end.
	r := NewReader(iotest.OneByteReader(bytes.NewReader(stream)), 4096)
	for i, w := range want {
		m, err := r.Next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(m) != w {
			t.Fatalf("message %d: got %q want %q", i, m, w)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
}

func TestReaderGarbled(t *testing.T) {
	good, _ := AppendMessage(nil, nil, "0", "FXMATCH", "BANKA", 1, testTime, nil)
	badSum := bytes.Clone(good)
	badSum[len(badSum)-2]++
	longer := bytes.Replace(good, []byte("9=55"), []byte("9=56"), 1)
	for name, in := range map[string][]byte{
		"not FIX":       []byte("GET / HTTP/1.1\r\n\r\n"),
		"FIX.4.2":       []byte("8=FIX.4.2\x019=5\x0135=0\x0110=000\x01"),
		"checksum":      badSum,
		"body length":   append(longer, good...),
		"length digits": []byte("8=FIX.4.4\x019=1x\x01"),
	} {
		_, err := NewReader(bytes.NewReader(in), 4096).Next()
		if !errors.Is(err, ErrGarbled) {
			t.Errorf("%s: err = %v, want ErrGarbled", name, err)
		}
	}
	big, _ := AppendMessage(nil, nil, "8", "FXMATCH", "BANKA", 1, testTime, AppendField(nil, 58, strings.Repeat("y", 5000)))
	if _, err := NewReader(bytes.NewReader(big), 4096).Next(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: err = %v, want ErrTooLarge", err)
	}
	if _, err := NewReader(bytes.NewReader(good[:len(good)-3]), 4096).Next(); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated: err = %v, want ErrUnexpectedEOF", err)
	}
}

// The generator's hot path allocates nothing: framing an order into
// reused buffers (from its template, and field by field), parsing a report
// and scanning its fields.
func TestZeroAlloc(t *testing.T) {
	r := &run{o: Options{RunID: "Babc", Mix: MixCancel}}
	st := newSessionTemplates("BANKA", r.o.RunID, MixCancel)
	var ts stamp
	var dst, scratch, body []byte
	allocs := testing.AllocsPerRun(1000, func() {
		ts.set(testTime)
		dst = st.order[1].append(dst[:0], 99, 12345, &ts)
		dst = st.cancel[0].append(dst, 100, 12344, &ts)
	})
	if allocs != 0 {
		t.Errorf("templates: %v allocs per order", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		body = r.appendOrder(body[:0], 12345, testTime)
		dst, scratch = AppendMessage(dst[:0], scratch, "D", "BANKA", "FXMATCH", 99, testTime, body)
		body = r.appendCancel(body[:0], 12344, testTime)
		dst, scratch = AppendMessage(dst, scratch, "F", "BANKA", "FXMATCH", 100, testTime, body)
	})
	if allocs != 0 {
		t.Errorf("encoding: %v allocs per order", allocs)
	}
	report, _ := AppendMessage(nil, nil, "8", "FXMATCH", "BANKA", 5, testTime,
		[]byte("6=0\x0111=Babc-12345\x0114=0\x0117=1\x0137=1\x0138=1000000\x0139=0\x0140=2\x0144=7.0500\x0154=1\x0155=USD/CNY\x0159=0\x0160=20261125-22:53:11.066\x01150=0\x01151=1000000\x01"))
	stream := bytes.Repeat(report, 2000)
	rd := NewReader(bytes.NewReader(stream), 64<<10)
	var n int
	var in inbound
	allocs = testing.AllocsPerRun(1000, func() {
		m, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		in.scan(m)
		if k, ok := r.orderIndex(in.clOrdID); ok && k == 12345 && string(in.execType) == "0" {
			n++
		}
	})
	if allocs != 0 {
		t.Errorf("parsing: %v allocs per report", allocs)
	}
	if n == 0 {
		t.Error("ClOrdID not parsed back")
	}
}
