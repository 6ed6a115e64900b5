package service

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/wire"
)

var decodeSeeds = []string{
	`{}`, ` { } `, `{"participant":"BANKA","cl_ord_id":"o1","qty":"5000000","price":7.1,"preview":true}`,
	`{"qty":5000000,"mid":"7.10205","preview":false,"unknown":"x","n":1}`,
	`{"Participant":"BANKA"}`, `{"participant":"B\u0041NKA"}`, `{"participant":"é"}`, `{"participant":null}`,
	`{"participant":7}`, `{"qty":true}`, `{"qty":"5m"}`, `{"qty":1.2.3}`, `{"preview":"yes"}`, `{"x":{"y":1}}`,
	`{"x":[1,2]}`, `{"a":1,}`, `{"a" 1}`, `{"a":1} x`, `[1]`, ``, `{`, `{"participant":"A","participant":"B"}`,
	`{"qty":-5}`, `{"qty":1e9}`, `{"tif":"day"}`, `{"n":00}`, `{"n":1.}`, `{"n":-}`, `{"n":1e}`, `{"n":2.5E-3}`,
}

// TestDecodeMatchesEncodingJSON: the fast decoder accepts exactly what
// encoding/json accepts, with the same result.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		checkDecode(t, []byte(s))
	}
	r := order("id", "5000000", time.Now())
	r.Preview = true
	checkDecode(t, r.AppendJSON(nil))
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var a, b ScoreRequest
	errA := decodeScoreRequest(data, &a)
	errB := json.Unmarshal(data, &b)
	if (errA == nil) != (errB == nil) {
		t.Fatalf("%q: fast decoder error %v, encoding/json %v", data, errA, errB)
	}
	if errA == nil && a != b {
		t.Fatalf("%q: fast decoder %+v, encoding/json %+v", data, a, b)
	}
}

func FuzzDecodeScoreRequest(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data) })
}

func TestDecodeFastPathAllocations(t *testing.T) {
	r := order("id", "5000000", time.Now())
	data := r.AppendJSON(nil)
	var sr ScoreRequest
	if n := testing.AllocsPerRun(100, func() { decodeScoreRequest(data, &sr) }); n > 1 {
		t.Errorf("decoding the gate's body allocates %.0f times, want 1 (the body as a string)", n)
	}
}

// execSeeds: the venue's own execution events, one of each kind, and
// bodies the fast path must leave to encoding/json.
func execSeeds() [][]byte {
	cfg := config.Demo()
	ec, err := cfg.EngineConfig(0, 20261126)
	if err != nil {
		panic(err)
	}
	names := wire.NamesFor(cfg, ec.Instruments)
	var out [][]byte
	base := engine.Event{Seq: 42, Time: 1_764_115_200_123_456_789, ExecID: 7, Party: 1, Instrument: 0, OrderID: 99,
		Side: engine.Sell, OrdType: engine.Limit, TIF: engine.GTD, ExpireTime: 1_764_200_000_000_000_000,
		Price: 710_250_000, OrderQty: 5_000_000, LeavesQty: 2_000_000, CumQty: 3_000_000, AvgPx: 710_200_000,
		ClOrdID: engine.MustID("o-1"), OrigClOrdID: engine.MustID("o-0"), Account: engine.MustID("acct"),
		LastQty: 1_000_000, LastPx: 710_100_000, Counterparty: 2, TradeID: 5, Aggressor: true,
		TradeDate: 20261126, SettlDate: 20261130, Count: 3, Reason: engine.ReasonRequested, RespondingTo: engine.CmdCancel}
	for k := engine.EventKind(1); k < 32; k++ {
		ev := base
		ev.Kind = k
		if b, ok := names.AppendExecEvent(nil, &ev); ok {
			out = append(out, b)
		}
	}
	for _, s := range []string{
		`{"type":"fill","seq":-1}`, `{"type":"fill","seq":1.5}`, `{"seq":01}`, `{"seq":"1"}`, `{"seq":18446744073709551616}`,
		`{"count":-3}`, `{"count":"3"}`, `{"count":-}`, `{"aggressor":"true"}`, `{"aggressor":null}`, `{"Type":"fill"}`,
		`{"type":"fill","type":"cancelled"}`, `{"type":7}`, `{"cl_ord_id":"a\"b"}`, `{"participant":"BANKA","x":{"y":1}}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

func TestDecodeExecEventMatchesEncodingJSON(t *testing.T) {
	seeds := execSeeds()
	if len(seeds) < 20 {
		t.Fatalf("only %d seeds: the venue's encoder made too few events", len(seeds))
	}
	for _, s := range seeds {
		checkDecodeExec(t, s)
	}
}

func checkDecodeExec(t *testing.T, data []byte) {
	t.Helper()
	var a, b wire.ExecEvent
	errA := decodeExecEvent(data, &a)
	errB := json.Unmarshal(data, &b)
	if (errA == nil) != (errB == nil) {
		t.Fatalf("%q: fast decoder error %v, encoding/json %v", data, errA, errB)
	}
	if errA == nil && !reflect.DeepEqual(a, b) {
		t.Fatalf("%q: fast decoder %+v, encoding/json %+v", data, a, b)
	}
}

func FuzzDecodeExecEvent(f *testing.F) {
	for _, s := range execSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeExec(t, data) })
}

// TestDecodeExecFastPath: the venue's events take the fast path (one
// allocation, the body as a string; a fill two more, its aggressor and
// nothing else).
func TestDecodeExecFastPath(t *testing.T) {
	for _, data := range execSeeds()[:4] {
		var x wire.ExecEvent
		if err := decodeFlatExec(data, (*execFields)(&x)); err != nil {
			t.Fatalf("%s: not on the fast path: %v", data, err)
		}
		if n := testing.AllocsPerRun(100, func() { decodeExecEvent(data, &x) }); n > 2 {
			t.Errorf("%s: %.0f allocations", data, n)
		}
	}
}

func BenchmarkDecodeExecEvent(b *testing.B) {
	data := execSeeds()[3] // cancelled
	var x wire.ExecEvent
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decodeExecEvent(data, &x)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			x = wire.ExecEvent{}
			json.Unmarshal(data, &x)
		}
	})
}

// TestExecIgnoredType: reading the type at the start skips the same
// events as searching for the patterns; where a body names two types the
// two may differ, and then what is decoded is a type onExec does nothing
// with.
func TestExecIgnoredType(t *testing.T) {
	bodies := append(execSeeds(),
		[]byte(`{"type":"fill","type":"accepted"}`), []byte(`{"type":"accepted","type":"fill"}`),
		[]byte(`{"seq":1,"type":"accepted"}`), []byte(`{"type":"acc\"epted"}`), []byte(`{"type":"`))
	skipped := 0
	for _, data := range bodies {
		searched := false
		for _, pat := range execIgnored {
			searched = searched || bytes.Contains(data, pat)
		}
		got := execIgnoredType(data)
		if got {
			skipped++
		}
		if got == searched {
			continue
		}
		var x wire.ExecEvent
		if err := decodeExecEvent(data, &x); err == nil && (x.Type == wire.ExecFill || x.Type == wire.ExecCancelled || x.Type == wire.ExecExpired) {
			t.Errorf("%s: skipped %v, the search says %v, and it decodes as a %s", data, got, searched, x.Type)
		}
	}
	if skipped < 5 {
		t.Errorf("only %d bodies skipped: the venue's acknowledgements should be", skipped)
	}
}
