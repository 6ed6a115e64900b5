package service

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"fxmatch/config"
	"fxmatch/gateway/bus"
	"fxmatch/internal/natstest"
)

func runNATS(t testing.TB) *server.Server { return natstest.Run(t) }

func connect(t testing.TB, ns *server.Server) *nats.Conn { return natstest.Connect(t, ns) }

// startService runs the assistant for the demo configuration on ns, with
// a fast quote interval.
func startService(t testing.TB, ns *server.Server, mod func(*Options)) *Service {
	t.Helper()
	opts := Options{Conn: connect(t, ns), QuoteInterval: 50 * time.Millisecond}
	if err := FromConfig(config.Demo(), &opts); err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func checkFor(t testing.TB, total time.Duration, f func() error) {
	t.Helper()
	natstest.CheckFor(t, total, f)
}

// request sends a request and returns the body, or the micro error's code
// and description.
func request(t testing.TB, nc *nats.Conn, subject string, body any) (data []byte, code, desc string) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	m, err := nc.Request(subject, b, 2*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	return m.Data, m.Header.Get(micro.ErrorCodeHeader), m.Header.Get(micro.ErrorHeader)
}

func scoreOf(t testing.TB, nc *nats.Conn, req ScoreRequest) ScoreResponse {
	t.Helper()
	data, code, desc := request(t, nc, bus.AssistantScore, req)
	if code != "" {
		t.Fatalf("score %+v: error %s %s", req, code, desc)
	}
	var r ScoreResponse
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("score response %q: %v", data, err)
	}
	return r
}

// order is a limit order of BANKA's in USD/CNY from its usual gateway.
func order(id string, qty string, at time.Time) ScoreRequest {
	return ScoreRequest{
		Participant: "BANKA", ClOrdID: id, Symbol: "USD/CNY", Side: "buy", OrdType: "limit", TIF: "day",
		Qty: Num(qty), Price: "7.1010", Mid: "7.1020", Channel: "fix", Source: "10.0.0.1", Session: "BANKA",
		Time: at.UTC().Format(time.RFC3339Nano),
	}
}

// history sends n ordinary orders of BANKA, one every 20 minutes on
// weekdays' working hours, ending before end.
func history(t testing.TB, nc *nats.Conn, n int, end time.Time) {
	at := end.Add(-time.Duration(n) * 20 * time.Minute)
	for k := 0; k < n; k++ {
		at = at.Add(20 * time.Minute)
		qty := []string{"4000000", "5000000", "6000000", "5000000"}[k%4]
		if r := scoreOf(t, nc, order(fmt.Sprintf("h%d", k), qty, at)); r.Action != "allow" {
			t.Fatalf("history order %d: %+v", k, r)
		}
	}
}

func TestScoreEndpoint(t *testing.T) {
	ns := runNATS(t)
	startService(t, ns, nil)
	nc := connect(t, ns)
	end := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	history(t, nc, 40, end)

	// Usual size, usual source: allowed with no reasons.
	r := scoreOf(t, nc, order("ok1", "5000000", end.Add(10*time.Minute)))
	if r.Action != "allow" || r.OrderID != "ok1" || r.Score >= 0.05 {
		t.Fatalf("ordinary order: %+v", r)
	}
	// A takeover: 40× the usual size, aggressive, from a device the
	// account never used.
	take := order("evil1", "200000000", end.Add(15*time.Minute))
	take.Source, take.TIF = "203.0.113.9", "ioc"
	r = scoreOf(t, nc, take)
	if r.Action != "block" || len(r.Reasons) == 0 || !strings.Contains(strings.Join(r.Reasons, ";"), "size") {
		t.Fatalf("takeover: %+v, want block with a size reason", r)
	}
	// A preview of the same is flagged but not learned: previewing twice
	// gives the same score.
	p := order("prev", "200000000", end.Add(16*time.Minute))
	p.Preview = true
	a, b := scoreOf(t, nc, p), scoreOf(t, nc, p)
	if a.Score != b.Score || a.Action == "allow" {
		t.Fatalf("previews: %+v then %+v", a, b)
	}
}

func TestScoreRejectsBadRequests(t *testing.T) {
	ns := runNATS(t)
	startService(t, ns, nil)
	nc := connect(t, ns)
	good := order("x", "5000000", time.Now())
	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"not json", "{", "score: the body is not a score request"},
		{"wrong type", `{"participant":7}`, "score: the body is not a score request"},
		{"no participant", func() ScoreRequest { r := good; r.Participant = ""; return r }(), "participant is missing"},
		{"no clordid", func() ScoreRequest { r := good; r.ClOrdID = ""; return r }(), "cl_ord_id is missing"},
		{"side", func() ScoreRequest { r := good; r.Side = "up"; return r }(), `side "up" is not buy or sell`},
		{"ordtype", func() ScoreRequest { r := good; r.OrdType = "stop"; return r }(), `ord_type "stop" is not limit or market`},
		{"tif", func() ScoreRequest { r := good; r.TIF = "gtx"; return r }(), `tif "gtx" is not day`},
		{"qty", func() ScoreRequest { r := good; r.Qty = "-5"; return r }(), `qty "-5" is not a positive decimal`},
		{"qty text", func() ScoreRequest { r := good; r.Qty = "5m"; return r }(), `qty "5m" is not a positive decimal`},
		{"no price", func() ScoreRequest { r := good; r.Price = ""; return r }(), "price is missing on a limit order"},
		{"time", func() ScoreRequest { r := good; r.Time = "yesterday"; return r }(), `time "yesterday" is not RFC 3339`},
	} {
		_, code, desc := request(t, nc, bus.AssistantScore, c.body)
		if code != CodeBadRequest || !strings.Contains(desc, c.want) {
			t.Errorf("%s: code %q desc %q, want 400 containing %q", c.name, code, desc, c.want)
		}
	}
}

func TestServiceIsDiscoverable(t *testing.T) {
	ns := runNATS(t)
	startService(t, ns, nil)
	nc := connect(t, ns)
	m, err := nc.Request("$SRV.INFO."+bus.AssistantService, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(m.Data, &info); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, ep := range info.Endpoints {
		got[ep.Subject] = true
	}
	for _, s := range []string{bus.AssistantScore, bus.AssistantRecommend, bus.AssistantChat} {
		if !got[s] {
			t.Errorf("endpoint %s not in the service info %+v", s, info.Endpoints)
		}
	}
}

func book(bid, bidQty, ask, askQty string) string {
	return fmt.Sprintf(`{"symbol":"USD/CNY","seq":1,"time":"2026-11-24T15:00:00Z","bids":[{"px":%q,"qty":%q,"orders":1},{"px":"7.1000","qty":"3000000","orders":2}],"asks":[{"px":%q,"qty":%q,"orders":1}]}`,
		bid, bidQty, ask, askQty)
}

func TestRecommendAndQuotes(t *testing.T) {
	ns := runNATS(t)
	svc := startService(t, ns, nil)
	nc := connect(t, ns)

	// No book yet: nothing to price from.
	_, code, desc := request(t, nc, bus.AssistantRecommend, RecommendRequest{Broker: "BROKER1", Symbol: "USD/CNY", Qty: "5000000"})
	if code != CodeNotFound || !strings.Contains(desc, "no two-sided book for USD/CNY") {
		t.Fatalf("before any book: %q %q", code, desc)
	}
	for _, c := range []struct {
		req  RecommendRequest
		want string
	}{
		{RecommendRequest{Symbol: "USD/CNY", Qty: "5000000"}, "broker is missing"},
		{RecommendRequest{Broker: "BROKER1", Symbol: "USD/XXX", Qty: "5000000"}, `symbol "USD/XXX" is not traded here`},
		{RecommendRequest{Broker: "BROKER1", Symbol: "USD/CNY", Qty: "5.5"}, `qty: wire: bad quantity "5.5"`},
		{RecommendRequest{Broker: "BROKER1", Symbol: "USD/CNY", Qty: "150000"}, "not a multiple of the lot"},
	} {
		if _, code, desc := request(t, nc, bus.AssistantRecommend, c.req); code != CodeBadRequest || !strings.Contains(desc, c.want) {
			t.Errorf("%+v: %q %q, want 400 %q", c.req, code, desc, c.want)
		}
	}

	var got atomic.Int32
	var last atomic.Pointer[Quotes]
	sub, err := nc.Subscribe("fxmatch.quotes.BROKER1.USDCNY", func(m *nats.Msg) {
		var q Quotes
		if json.Unmarshal(m.Data, &q) == nil {
			last.Store(&q)
		}
		got.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	// Twenty book changes in a burst: published at most once per
	// interval (50ms here), the last state included.
	t0 := time.Now()
	for k := 0; k < 20; k++ {
		nc.Publish("fxmatch.md.USDCNY", []byte(book("7.1018", "5000000", "7.1022", fmt.Sprint(1000000*(k+1)))))
	}
	nc.Publish("fxmatch.trades.USDCNY", []byte(`{"symbol":"USD/CNY","trade_id":"1","px":"7.1020","qty":"1000000","aggressor_side":"buy","time":"2026-11-24T15:00:00Z"}`))
	nc.Flush()
	checkFor(t, 2*time.Second, func() error {
		if q := last.Load(); q == nil || len(q.Tiers) != 3 {
			return fmt.Errorf("no quotes with three tiers yet (%d messages)", got.Load())
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	elapsed := time.Since(t0)
	if n, most := got.Load(), int32(elapsed/(50*time.Millisecond))+1; n > most {
		t.Errorf("%d quote messages in %v: more than one per 50ms interval", n, elapsed)
	}
	q := last.Load()
	if q.Broker != "BROKER1" || q.Symbol != "USD/CNY" || len(q.Rationale) == 0 {
		t.Fatalf("quotes: %+v", q)
	}
	for i, tier := range q.Tiers {
		if !(tier.Bid < tier.Ask) || tier.Bid > "7.1022" || tier.Ask < "7.1018" {
			t.Errorf("tier %d %+v: want bid < ask around the book 7.1018/7.1022", i, tier)
		}
		if i > 0 && !(tier.Ask >= q.Tiers[i-1].Ask && tier.Bid <= q.Tiers[i-1].Bid) {
			t.Errorf("tier %d %+v is not at least as wide as tier %d %+v", i, tier, i-1, q.Tiers[i-1])
		}
	}

	// A broker's fill moves its inventory, which skews its quotes.
	flat, _, _ := request(t, nc, bus.AssistantRecommend, RecommendRequest{Broker: "BROKER1", Symbol: "USD/CNY", Qty: "5000000"})
	nc.Publish("fxmatch.exec.BROKER1", []byte(`{"type":"fill","participant":"BROKER1","cl_ord_id":"b1","symbol":"USD/CNY","side":"buy","last_qty":"20000000","last_px":"7.1020","counterparty":"BANKA","time":"2026-11-24T15:00:01Z"}`))
	nc.Flush()
	var rec Recommendation
	checkFor(t, 2*time.Second, func() error {
		data, code, desc := request(t, nc, bus.AssistantRecommend, RecommendRequest{Broker: "BROKER1", Symbol: "USD/CNY", Qty: "5000000"})
		if code != "" {
			return fmt.Errorf("%s %s", code, desc)
		}
		rec = Recommendation{}
		json.Unmarshal(data, &rec)
		if rec.Inventory != "20000000" {
			return fmt.Errorf("inventory %q, want 20000000", rec.Inventory)
		}
		return nil
	})
	var f Recommendation
	json.Unmarshal(flat, &f)
	if !(rec.Ask <= f.Ask && rec.Bid <= f.Bid) || rec.Ask == f.Ask && rec.Bid == f.Bid {
		t.Errorf("long broker's quote %s/%s is not lowered from flat %s/%s", rec.Bid, rec.Ask, f.Bid, f.Ask)
	}
	if !strings.Contains(strings.Join(rec.Rationale, ";"), "long 20,000,000 USD") {
		t.Errorf("rationale does not mention the inventory: %q", rec.Rationale)
	}
	_ = svc
}

func TestChat(t *testing.T) {
	ns := runNATS(t)
	startService(t, ns, nil)
	nc := connect(t, ns)
	ask := func(text string) ChatResponse {
		data, code, desc := request(t, nc, bus.AssistantChat, ChatRequest{Text: text})
		if code != "" {
			t.Fatalf("chat %q: %s %s", text, code, desc)
		}
		var r ChatResponse
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("chat %q: %q: %v", text, data, err)
		}
		return r
	}
	if r := ask("best bid usdcny"); r.Answer != "No orders in USD/CNY right now." {
		t.Errorf("empty book: %+v", r)
	}
	nc.Publish("fxmatch.md.USDCNY", []byte(book("7.1018", "5000000", "7.1022", "2000000")))
	nc.Flush()
	checkFor(t, 2*time.Second, func() error {
		if r := ask("best bid usdcny"); r.Answer != "USD/CNY best bid 7.1018 for 5,000,000" {
			return fmt.Errorf("answer %q", r.Answer)
		}
		return nil
	})
	if r := ask("depth usd/cny"); r.Book == nil || len(r.Book.Bids) != 2 || len(r.Book.Asks) != 1 || r.Book.Bids[1].Px != "7.1000" {
		t.Errorf("depth: %+v", r)
	}
	r := ask("buy 5m usdcny at 7.1020")
	if r.Kind.String() != "order" || r.Order == nil || r.Order.Qty != 5_000_000 || !strings.Contains(r.Order.Confirm, "confirm") {
		t.Errorf("order: %+v", r)
	}
	if r := ask("买入 500万 美元/人民币 7.1020"); r.Order == nil || r.Lang != "zh" {
		t.Errorf("chinese order: %+v", r)
	}
	if r := ask("buy usdcny"); r.Clarify == nil {
		t.Errorf("no size: %+v, want a question back", r)
	}
	if _, code, _ := request(t, nc, bus.AssistantChat, "[1]"); code != CodeBadRequest {
		t.Errorf("bad body: code %q", code)
	}
}

// TestScoreRequestAppendJSON: the hand-written encoder reads back as the
// same request through encoding/json, escapes included.
func TestScoreRequestAppendJSON(t *testing.T) {
	for _, r := range []ScoreRequest{
		order("a\"b\\c\n", "5000000", time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)),
		{Participant: "P", ClOrdID: "x", OrigClOrdID: "w", Symbol: "EUR/USD", Side: "sell", OrdType: "market", TIF: "ioc", Qty: "100000", Preview: true},
		{},
	} {
		b := r.AppendJSON(nil)
		var back ScoreRequest
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back != r {
			t.Errorf("%s read back as %+v, want %+v", b, back, r)
		}
	}
	r := order("id", "5000000", time.Now())
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = r.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON allocates %.0f times", n)
	}
}
