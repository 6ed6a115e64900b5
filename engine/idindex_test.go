package engine

import (
	"strconv"
	"testing"
)

// TestFingerprintsDistinct: no two of a few hundred thousand realistic
// (party, ClOrdID) pairs share a fingerprint — short sequential ids of
// several participants are the case a weak mix gets wrong.
func TestFingerprintsDistinct(t *testing.T) {
	seen := make(map[uint64]string)
	for p := PartyID(1); p <= 40; p++ {
		for i := 0; i < 10000; i++ {
			for _, s := range []string{strconv.Itoa(i), "c" + strconv.Itoa(i), "ORD-2026-11-25-" + strconv.Itoa(i)} {
				id := MustID(s)
				fp := fingerprint(p, &id)
				key := strconv.Itoa(int(p)) + "/" + s
				if prev, dup := seen[fp]; dup {
					t.Fatalf("fingerprint of %s equals that of %s", key, prev)
				}
				seen[fp] = key
			}
		}
	}
}

func TestIDIndexGrows(t *testing.T) {
	x := newIDIndex(0)
	for i := 1; i <= 5000; i++ {
		id := MustID(strconv.Itoa(i))
		fp := fingerprint(1, &id)
		pos, found := x.find(fp)
		if found {
			t.Fatalf("%d found before insertion", i)
		}
		x.put(pos, false, fp, OrderID(i), int32(i))
	}
	for i := 1; i <= 5000; i++ {
		id := MustID(strconv.Itoa(i))
		pos, found := x.find(fingerprint(1, &id))
		if !found || x.ents[pos].oid != OrderID(i) {
			t.Fatalf("%d lost after growth", i)
		}
	}
}

func TestPrefetchAllocatesNothing(t *testing.T) {
	e, err := New(Config{
		Participants: []Participant{{}, {Name: "A", CanTrade: true}},
		Instruments:  []Instrument{{Symbol: "USD/CNY", Base: "USD", Term: "CNY", Tick: 10_000, Lot: 100_000, MinQty: 100_000, MaxQty: 500_000_000, RefPrice: 710_000_000, BandBP: 200}},
		TradeDate:    20261125, MaxLiveOrders: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := Command{Kind: CmdCancel, Party: 1, ClOrdID: MustID("x"), OrigClOrdID: MustID("y")}
	if n := testing.AllocsPerRun(100, func() { e.Prefetch(&cmd) }); n != 0 {
		t.Fatalf("Prefetch allocates %.1f", n)
	}
}
