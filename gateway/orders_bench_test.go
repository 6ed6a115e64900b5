package gateway

import (
	"strconv"
	"testing"

	"fxmatch/engine"
)

// BenchmarkPartyTable is the order table's work per order of bench fix's
// default mix, as the participant's feed applies it: the order accepted,
// then cancelled by a request with its own ClOrdID. The table is past
// ordersKept, so it forgets as much as it learns.
func BenchmarkPartyTable(b *testing.B) {
	ps := newPartyState(1, "BANKA")
	ids := make([]engine.ID, 2*(ordersKept+1024))
	for i := range ids {
		ids[i] = engine.MustID("o" + strconv.Itoa(i))
	}
	acc := engine.Event{Kind: engine.EvAccepted, Party: 1, Side: engine.Buy, OrdType: engine.Limit, TIF: engine.GTC,
		Price: 700_000_000, OrderQty: 1_000_000, LeavesQty: 1_000_000}
	cxl := acc
	cxl.Kind, cxl.Reason, cxl.LeavesQty = engine.EvCancelled, engine.ReasonRequested, 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % (len(ids) / 2)
		acc.ClOrdID, acc.OrderID = ids[2*k], engine.OrderID(i+1)
		cxl.ClOrdID, cxl.OrderID = ids[2*k+1], engine.OrderID(i+1)
		ps.apply(&acc)
		ps.apply(&cxl)
	}
}

// BenchmarkPartyTableIOC is BenchmarkPartyTable for bench fix's ioc mix:
// the order accepted, then its remainder cancelled by the venue under the
// order's own ClOrdID.
func BenchmarkPartyTableIOC(b *testing.B) {
	ps := newPartyState(1, "BANKA")
	ids := make([]engine.ID, ordersKept+1024)
	for i := range ids {
		ids[i] = engine.MustID("o" + strconv.Itoa(i))
	}
	acc := engine.Event{Kind: engine.EvAccepted, Party: 1, Side: engine.Buy, OrdType: engine.Limit, TIF: engine.IOC,
		Price: 700_000_000, OrderQty: 1_000_000, LeavesQty: 1_000_000}
	cxl := acc
	cxl.Kind, cxl.Reason, cxl.LeavesQty = engine.EvCancelled, engine.ReasonIOCRemainder, 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % len(ids)
		acc.ClOrdID, acc.OrderID = ids[k], engine.OrderID(i+1)
		cxl.ClOrdID, cxl.OrderID = ids[k], engine.OrderID(i+1)
		ps.apply(&acc)
		ps.apply(&cxl)
	}
}
