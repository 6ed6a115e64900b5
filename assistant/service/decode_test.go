package service

import (
	"encoding/json"
	"testing"
	"time"
)

var decodeSeeds = []string{
	`{}`, ` { } `, `{"participant":"BANKA","cl_ord_id":"o1","qty":"5000000","price":7.1,"preview":true}`,
	`{"qty":5000000,"mid":"7.10205","preview":false,"unknown":"x","n":1}`,
	`{"Participant":"BANKA"}`, `{"participant":"B\u0041NKA"}`, `{"participant":"é"}`, `{"participant":null}`,
	`{"participant":7}`, `{"qty":true}`, `{"qty":"5m"}`, `{"qty":1.2.3}`, `{"preview":"yes"}`, `{"x":{"y":1}}`,
	`{"x":[1,2]}`, `{"a":1,}`, `{"a" 1}`, `{"a":1} x`, `[1]`, ``, `{`, `{"participant":"A","participant":"B"}`,
	`{"qty":-5}`, `{"qty":1e9}`, `{"tif":"day"}`,
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
