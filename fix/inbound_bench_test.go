package fix

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/datadictionary"

	"fxmatch/engine"
)

// What the connection's goroutine spends on one inbound message before it
// reaches the venue, without the socket and the venue: the split into
// fields, the shape check and the decode into an engine.Command (the fast
// path), or quickfixgo's parse, the dictionary validation and the decode
// (the full path). The messages are the bench's (fixbench): a limit order
// and the cancel of the order before it.
//
//	go test ./fix -run '^$' -bench Inbound -benchmem

var (
	benchD = fixMsg("D|11=run-42|55=USD/CNY|54=1|44=7.0500|38=1000000|40=2|59=0|60=20261125-10:00:00.123")
	benchF = fixMsg("F|11=runx41|41=run-41|55=USD/CNY|54=2|60=20261125-10:00:00.123")
	benchG = fixMsg("G|11=runr41|41=run-41|55=USD/CNY|54=2|38=2000000|40=2|44=7.1600|60=20261125-10:00:00.123")
)

// cpuPerOp reports the process's CPU time per operation as cpu-ns/op,
// beside the wall time: on this shared 2-core machine the wall time of a
// microbenchmark swings with the load (×2-5 at load 10), its CPU time
// much less. Call the result after the loop.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchLookup(b *testing.B) lookupFunc {
	lookup, _ := demoInstruments(b)
	return lookup
}

func benchValidator(b *testing.B) quickfix.Validator {
	dd, err := datadictionary.ParseSrc(bytes.NewReader(Dictionary))
	if err != nil {
		b.Fatal(err)
	}
	return quickfix.NewValidator(quickfix.ValidatorSettings{CheckFieldsOutOfOrder: true, RejectInvalidMessage: true, CheckUserDefinedFields: true, CheckFieldsHaveValues: true}, dd, nil)
}

// decodeFull is the full path's work on one message: parse, validate,
// decode.
func decodeFull(b *testing.B, m *quickfix.Message, valid quickfix.Validator, raw []byte, lookup lookupFunc) engine.Command {
	if err := quickfix.ParseMessage(m, bytes.NewBuffer(raw)); err != nil {
		b.Fatal(err)
	}
	if rej := valid.Validate(m); rej != nil {
		b.Fatal(rej)
	}
	var cmd engine.Command
	var rej *edgeReject
	switch mt, _ := m.Header.GetBytes(quickfix.Tag(35)); string(mt) {
	case "D":
		cmd, _, _, rej, _ = decodeNewOrder(qfFields{m}, 1, lookup)
	case "F", "G":
		cmd, _, _, rej, _ = decodeCancel(qfFields{m}, 1, string(mt) == "G", lookup)
	}
	if rej != nil {
		b.Fatal(rej.text)
	}
	return cmd
}

func BenchmarkInboundFull(b *testing.B) {
	lookup, valid := benchLookup(b), benchValidator(b)
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"NewOrderSingle", benchD}, {"OrderCancelRequest", benchF}, {"OrderCancelReplaceRequest", benchG}} {
		b.Run(c.name, func(b *testing.B) {
			m := quickfix.NewMessage()
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				decodeFull(b, m, valid, c.raw, lookup)
			}
			done()
		})
	}
}

func BenchmarkParseUTCTimestamp(b *testing.B) {
	v := []byte("20261125-10:00:00.123")
	b.ReportAllocs()
	done := cpuPerOp(b)
	for b.Loop() {
		if _, ok := parseUTCTimestamp(v); !ok {
			b.Fatal("not parsed")
		}
	}
	done()
}

func BenchmarkInboundFast(b *testing.B) {
	lookup := benchLookup(b)
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"NewOrderSingle", benchD}, {"OrderCancelRequest", benchF}, {"OrderCancelReplaceRequest", benchG}} {
		b.Run(c.name, func(b *testing.B) {
			var rm rawMsg
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				if !rm.load(c.raw) {
					b.Fatal("not loaded")
				}
				var rej *edgeReject
				switch rm.fastShape() {
				case 'D':
					_, _, _, rej, _ = decodeNewOrder(&rm, 1, lookup)
				case 'F':
					_, _, _, rej, _ = decodeCancel(&rm, 1, false, lookup)
				case 'G':
					_, _, _, rej, _ = decodeCancel(&rm, 1, true, lookup)
				default:
					b.Fatal("not fast")
				}
				if rej != nil {
					b.Fatal(rej.text)
				}
			}
			done()
		})
	}
}
