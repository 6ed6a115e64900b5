package fraud

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"testing"
)

// simEvents simulates a stream and parses it back.
func simEvents(t testing.TB, p SimParams) []Event {
	t.Helper()
	var ev, lb bytes.Buffer
	if _, err := Simulate(p, &ev, &lb); err != nil {
		t.Fatal(err)
	}
	var out []Event
	sc := bufio.NewScanner(&ev)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		var e Event
		if err := ParseEvent(sc.Bytes(), &e); err != nil {
			t.Fatalf("simulated line does not parse: %v\n%s", err, sc.Bytes())
		}
		out = append(out, e)
	}
	return out
}

func TestSimDeterministic(t *testing.T) {
	run := func(seed uint64) (string, string) {
		var ev, lb bytes.Buffer
		if _, err := Simulate(SimParams{Seed: seed, Accounts: 80, Days: 5}, &ev, &lb); err != nil {
			t.Fatal(err)
		}
		he, hl := sha256.Sum256(ev.Bytes()), sha256.Sum256(lb.Bytes())
		return string(he[:]), string(hl[:])
	}
	e1, l1 := run(7)
	e2, l2 := run(7)
	if e1 != e2 || l1 != l2 {
		t.Fatal("the same seed gave different streams")
	}
	e3, _ := run(8)
	if e1 == e3 {
		t.Fatal("different seeds gave the same stream")
	}
}

func TestSimStream(t *testing.T) {
	var ev, lb bytes.Buffer
	st, err := Simulate(SimParams{Seed: 3, Accounts: 200, Days: 8}, &ev, &lb)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ReadLabels(&lb)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range append(append([]string{}, FraudKinds...), LabelNewPair, LabelQuarterEnd, LabelVolatileDay) {
		if st.Labelled[k] == 0 {
			t.Errorf("no %s orders in the stream", k)
		}
	}
	// Time order, every label an order of the stream, fills and cancels
	// of known orders.
	orders := map[string]bool{}
	var last int64
	sc := bufio.NewScanner(&ev)
	for n := 1; sc.Scan(); n++ {
		var e Event
		if err := ParseEvent(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.TS < last {
			t.Fatalf("line %d goes back in time", n)
		}
		last = e.TS
		switch e.Kind {
		case KindOrder:
			orders[e.OrderID] = true
		case KindFill, KindCancel:
			if !orders[e.OrderID] {
				t.Fatalf("line %d: %s of unknown order %s", n, e.Kind, e.OrderID)
			}
		}
	}
	if len(orders) != st.Orders {
		t.Errorf("%d orders read, %d reported", len(orders), st.Orders)
	}
	for id, l := range labels {
		if !orders[id] {
			t.Errorf("label of unknown order %s", id)
		}
		if fraud := l.Kind == LabelTakeover || l.Kind == LabelSpoofing || l.Kind == LabelWash || l.Kind == LabelMomentum; fraud != l.Fraud {
			t.Errorf("label %+v: fraud flag wrong", l)
		}
	}
}

func TestSimRefusesBadParams(t *testing.T) {
	for _, p := range []SimParams{{Accounts: 5}, {Days: 1}, {Days: 1000}} {
		if _, err := Simulate(p, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("Simulate(%+v) accepted", p)
		}
	}
}

func TestNiceSize(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{1e6, 1e6}, {1.2e6, 1e6}, {1.3e6, 1.5e6}, {4.4e6, 4e6}, {9.6e6, 1e7}, {3e4, 1e5}, {23e6, 25e6},
	} {
		if got := niceSize(c.in); got != c.want {
			t.Errorf("niceSize(%g) = %g, want %g", c.in, got, c.want)
		}
	}
}
