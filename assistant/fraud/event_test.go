package fraud

import (
	"errors"
	"testing"
)

func TestParseEvent(t *testing.T) {
	line := `{"ts":"2025-03-17T09:30:00.123456Z","event":"order","participant":"BANKA","account":"A1","source":"dev-1",` +
		`"order_id":"o1","symbol":"USD/CNY","side":"buy","qty":5000000,"price":"7.1020","ord_type":"limit","tif":"ioc","mid":7.1018,"extra":{"x":1}}`
	var ev Event
	if err := ParseEvent([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	want := Event{TS: 1742203800123456, Kind: KindOrder, Participant: "BANKA", Account: "A1", Source: "dev-1", OrderID: "o1",
		Symbol: "USD/CNY", Side: SideBuy, Qty: 5e6, Price: 7.102, OrdType: OrdLimit, TIF: TIFIOC, Mid: 7.1018}
	if ev != want {
		t.Errorf("got  %+v\nwant %+v", ev, want)
	}
	if !ev.Aggressive() {
		t.Error("an IOC is aggressive")
	}
	// The simulator's writer reads back to the same event.
	back := AppendEvent(nil, &ev)
	var ev2 Event
	if err := ParseEvent(back, &ev2); err != nil || ev2 != ev {
		t.Errorf("round trip: %v\n%s\n%+v", err, back, ev2)
	}
}

func TestParseEventKinds(t *testing.T) {
	for _, c := range []struct {
		line string
		kind Kind
	}{
		{`{"ts":"2025-03-17T09:30:00Z","event":"login","account":"A","source":"s"}`, KindLogin},
		{`{"ts":"2025-03-17T09:30:00Z","event":"cancel","account":"A","order_id":"o"}`, KindCancel},
		{`{"ts":"2025-03-17T09:30:00Z","event":"fill","account":"A","order_id":"o","qty":1,"price":1,"counterparty":"B"}`, KindFill},
		{`{"ts":"2025-03-17T09:30:00Z","event":"heartbeat"}`, KindNone},
	} {
		var ev Event
		if err := ParseEvent([]byte(c.line), &ev); err != nil || ev.Kind != c.kind {
			t.Errorf("%s: kind %v, err %v; want %v", c.line, ev.Kind, err, c.kind)
		}
	}
	// A market order: no price, no type given.
	var ev Event
	if err := ParseEvent([]byte(`{"ts":"2025-03-17T09:30:00Z","event":"order","account":"A","order_id":"o","symbol":"EUR/USD","side":"sell","qty":1e6}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.OrdType != OrdMarket || !ev.Aggressive() {
		t.Errorf("order without price: type %v, aggressive %v", ev.OrdType, ev.Aggressive())
	}
}

func TestParseEventBad(t *testing.T) {
	for _, line := range []string{
		`not json`,
		`{"ts":"yesterday","event":"order"}`,
		`{"ts":"2025-03-17T09:30:00Z","event":"order","order_id":"o","side":"buy","qty":1}`,
		`{"ts":"2025-03-17T09:30:00Z","event":"order","account":"A","side":"up","qty":1}`,
		`{"ts":"2025-03-17T09:30:00Z","event":"order","account":"A","side":"buy","qty":0}`,
		`{"ts":"2025-03-17T09:30:00Z","event":"order","account":"A","side":"buy","qty":"lots"}`,
	} {
		var ev Event
		if err := ParseEvent([]byte(line), &ev); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: err %v, want ErrBadEvent", line, err)
		}
	}
}
