package fix

import (
	"io"
	"log/slog"
	"testing"

	"github.com/quickfixgo/quickfix"

	"fxmatch/config"
	"fxmatch/engine"
)

// benchParty is a logged-off party with a session store in a temporary
// directory: what execPump does per report, without the socket write.
func benchParty(b *testing.B) (*Acceptor, *party) {
	ec, err := config.Demo().EngineConfig(0, 20261125)
	if err != nil {
		b.Fatal(err)
	}
	a := &Acceptor{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for i, in := range ec.Instruments {
		a.insts = append(a.insts, newInstrument(engine.InstrumentID(i), in))
	}
	st, err := OpenStore(b.TempDir(), StoreOptions{Logger: a.log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	p := &party{a: a, id: 1, name: "BANKA"}
	a.byID = []*party{nil, p}
	if p.store, err = st.Session(quickfix.SessionID{BeginString: BeginString, SenderCompID: VenueCompID, TargetCompID: "BANKA"}); err != nil {
		b.Fatal(err)
	}
	return a, p
}

// BenchmarkOutboundExecReport: the ExecutionReports of one hub batch as
// execPump sends them — read the clock, encode each body after its
// header, number, frame and queue it for the store, and commit (one
// write(2) to the session file) — without the socket. Accepted and
// Cancelled are one report each; IOC is an IOC order's two, its 150=0
// and the 150=4 of its rest (bench fix's ioc mix), one op per order.
//
//	go test ./fix -run '^$' -bench Outbound -benchmem
func BenchmarkOutboundExecReport(b *testing.B) {
	_, p := benchParty(b)
	accepted := engine.Event{Kind: engine.EvAccepted, Party: 1, OrderID: 42, ClOrdID: engine.MustID("run-42"), ExecID: 7,
		Side: engine.Buy, OrdType: engine.Limit, Price: 705000000, OrderQty: 1000000, LeavesQty: 1000000, Time: 1764072000123456789}
	iocRest := accepted
	iocRest.Kind, iocRest.Reason, iocRest.ExecID, iocRest.LeavesQty, iocRest.TIF = engine.EvCancelled, engine.ReasonIOCRemainder, 8, 0, engine.IOC
	for _, c := range []struct {
		name string
		evs  []engine.Event
	}{
		{"Accepted", []engine.Event{accepted}},
		{"Cancelled", []engine.Event{{Kind: engine.EvCancelled, Reason: engine.ReasonRequested, Party: 1, OrderID: 42, ClOrdID: engine.MustID("runx42"),
			OrigClOrdID: engine.MustID("run-42"), ExecID: 8, Side: engine.Buy, OrdType: engine.Limit, Price: 705000000, OrderQty: 1000000, Time: 1764072000123456789}}},
		{"IOC", []engine.Event{accepted, iocRest}},
	} {
		// Each with the store's and the socket's write(2), and without
		// them ("/NoWrite"): what the FIX layer's own code costs per report.
		for _, write := range []bool{true, false} {
			name := c.name
			if !write {
				name += "/NoWrite"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				done := cpuPerOp(b)
				for b.Loop() {
					p.sendMu.Lock()
					p.stampBatchLocked()
					for i := range c.evs {
						if !p.queueExecReportLocked(&c.evs[i], p, nil) {
							b.Fatal("not an order event")
						}
					}
					if write {
						p.flushLocked(nil)
					} else {
						p.obuf = p.obuf[:0]
						p.store.rec = p.store.rec[:0]
					}
					p.unstampBatchLocked()
					p.sendMu.Unlock()
				}
				done()
			})
		}
	}
}
