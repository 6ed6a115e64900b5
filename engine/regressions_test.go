package engine_test

import (
	"testing"

	"fxmatch/engine"
)

// Regressions the script format cannot show (testdata/regressions.txt
// holds the others).

// Uncrossing lets a resting order trade as the aggressor while keeping its
// place. Its fill events must describe it as it is after the fill: it
// cannot show more than it has left. (The events used to carry the shown
// quantity from before the fill — 1m shown of 0.6m left — and the level
// was put right only at the end of the command.)
func TestRegressionUncrossAggressorShown(t *testing.T) {
	r, err := newScriptRun(t, scriptConfig())
	if err != nil {
		t.Fatal(err)
	}
	var fills []engine.Event
	for _, line := range []string{
		"new BANKC s1 USD/CNY sell 0.4m @7.1000",
		"new BANKA b1 USD/CNY buy 1m @7.1000", // no credit with BANKC: rests crossed
		"setcredit BANKA BANKC 5000000000",
		"setcredit BANKC BANKA 5000000000", // uncross: b1 takes s1
	} {
		c, err := r.parseCommand(line)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range r.apply(c) {
			if ev.Kind == engine.EvFill && ev.Aggressor {
				fills = append(fills, ev)
			}
		}
	}
	if len(fills) != 1 {
		t.Fatalf("%d aggressor fills, want 1", len(fills))
	}
	if ev := fills[0]; ev.LeavesQty != 600_000 || ev.Displayed != 600_000 {
		t.Errorf("uncross fill of b1: leaves %d shown %d, want 600000 and 600000", ev.LeavesQty, ev.Displayed)
	}
	id, _ := r.e.InstrumentBySymbol("USD/CNY")
	if l, ok := r.e.Best(id, engine.Buy); !ok || l.Qty != 600_000 {
		t.Errorf("best bid %+v, want 0.6m", l)
	}
}

// A reference price the configuration accepts must have a sane band. (Up to
// 2^50 was accepted, and the band arithmetic overflowed int64 above about
// 4.6e14: a reference price of 2^50 gave a band of two negative prices.)
func TestRegressionHugeReferencePrice(t *testing.T) {
	cfg := scriptConfig()
	cfg.Instruments[0].Tick = 1 << 20
	cfg.Instruments[0].RefPrice = 1 << 50
	if _, err := engine.New(cfg); err == nil {
		t.Errorf("a reference price of 2^50 was accepted")
	}
	cfg.Instruments[0].RefPrice = 1 << 47
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatalf("a reference price of 2^47 was refused: %v", err)
	}
	if lo, hi := e.BandLimits(0); lo <= 0 || hi < lo || hi > 1<<47+1<<47/50 {
		t.Errorf("band %d..%d around 2^47", lo, hi)
	}
}
