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
	benchPartyTable(b, engine.GTC, engine.ReasonRequested, true)
}

// BenchmarkPartyTableIOC is BenchmarkPartyTable for bench fix's ioc mix:
// the order accepted, then its remainder cancelled by the venue under the
// order's own ClOrdID.
func BenchmarkPartyTableIOC(b *testing.B) {
	benchPartyTable(b, engine.IOC, engine.ReasonIOCRemainder, false)
}

// benchPartyTable applies, per op, an order's acceptance and its
// cancellation (reason), under a ClOrdID of its own when cancelID, else
// under the order's.
func benchPartyTable(b *testing.B, tif engine.TIF, reason engine.Reason, cancelID bool) {
	ps := newPartyState(1, "BANKA")
	per := 1
	if cancelID {
		per = 2
	}
	ids := make([]engine.ID, per*(ordersKept+1024))
	for i := range ids {
		ids[i] = engine.MustID("o" + strconv.Itoa(i))
	}
	acc := engine.Event{Kind: engine.EvAccepted, Party: 1, Side: engine.Buy, OrdType: engine.Limit, TIF: tif,
		Price: 700_000_000, OrderQty: 1_000_000, LeavesQty: 1_000_000}
	cxl := acc
	cxl.Kind, cxl.Reason, cxl.LeavesQty = engine.EvCancelled, reason, 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % (len(ids) / per)
		acc.ClOrdID, acc.OrderID = ids[per*k], engine.OrderID(i+1)
		cxl.ClOrdID, cxl.OrderID = ids[per*k+per-1], engine.OrderID(i+1)
		ps.apply(&acc)
		ps.apply(&cxl)
	}
}
