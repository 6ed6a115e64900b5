package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub/hubtest"
	"fxmatch/internal/metrics"
)

// opsOrder submits a limit order straight to the venue, as the HTTP order
// handler does (venue.SubmitOrder with the http channel), and waits until
// its outcome is durable (the venue's hub has published it).
func (e *env) opsOrder(party, clid string, side engine.Side, qty engine.Qty, price string, tif engine.TIF) {
	e.t.Helper()
	id, ok := e.v.Instrument("USD/CNY")
	if !ok {
		e.t.Fatal("no USD/CNY")
	}
	pid := partyID(e.t, e.cfg, party)
	px, err := engine.ParsePrice(price)
	if err != nil {
		e.t.Fatal(err)
	}
	sub, err := e.v.Hub().SubscribeParty(pid, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	defer e.v.Hub().Unsubscribe(sub)
	cmd := &engine.Command{Kind: engine.CmdNewOrder, Party: pid, Instrument: id, ClOrdID: engine.MustID(clid),
		Side: side, OrdType: engine.Limit, TIF: tif, Qty: qty, Price: px}
	if err := e.v.SubmitOrder(context.Background(), cmd, venue.Origin{Channel: venue.ChannelHTTP, Source: "test"}); err != nil {
		e.t.Fatalf("SubmitOrder %s: %v", clid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	r := hubtest.New(sub)
	for {
		ev, err := r.Next(time.Until(deadline))
		if err != nil {
			e.t.Fatalf("order %s: no durable answer: %v", clid, err)
		}
		if ev.ClOrdID == cmd.ClOrdID && (ev.Kind == engine.EvAccepted || ev.Kind == engine.EvRejected) {
			return
		}
	}
}

func partyID(t testing.TB, cfg *config.Config, id string) engine.PartyID {
	for i := range cfg.Participants {
		if cfg.Participants[i].ID == id {
			return engine.PartyID(i + 1)
		}
	}
	t.Fatalf("no participant %s", id)
	return 0
}

// scrape reads /metrics and parses it strictly.
func (e *env) scrape() []metrics.Family {
	e.t.Helper()
	r := e.do("GET", "/metrics", "", nil).want(e.t, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		e.t.Fatalf("Content-Type %q", ct)
	}
	fams, err := metrics.Parse(string(r.body))
	if err != nil {
		e.t.Fatalf("/metrics does not parse: %v\n%s", err, r.body)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.Name, "fxmatch_") {
			e.t.Errorf("metric %s is not named fxmatch_*", f.Name)
		}
	}
	return fams
}

func val(t testing.TB, fams []metrics.Family, name string, labels ...string) float64 {
	t.Helper()
	var ls []metrics.Label
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, metrics.Label{Name: labels[i], Value: labels[i+1]})
	}
	v, ok := metrics.Value(fams, name, ls...)
	if !ok {
		t.Fatalf("no series %s %v", name, labels)
	}
	return v
}

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/healthz", "", nil).want(t, 200)
	if r.str("status") != "ok" {
		t.Fatalf("healthz %s", r.body)
	}
	var ready *resp
	if !checkFor(5*time.Second, func() bool {
		ready = e.do("GET", "/readyz", "", nil)
		return ready.status == 200
	}) {
		t.Fatalf("readyz never 200: %d %s", ready.status, ready.body)
	}
	if ready.json["ready"] != true {
		t.Fatalf("readyz body %s", ready.body)
	}
	checks := map[string]bool{}
	for _, c := range ready.json["checks"].([]any) {
		m := c.(map[string]any)
		checks[m["name"].(string)] = m["ok"].(bool)
	}
	for _, n := range []string{"venue", "journal", "fix", "nats"} {
		if ok, found := checks[n]; !found || !ok {
			t.Errorf("check %s: found %v ok %v (%s)", n, found, ok, ready.body)
		}
	}
}

// fakeFIX is a FIX front end whose state the test sets.
type fakeFIX struct {
	listening atomic.Bool
	sessions  atomic.Int64
}

func (f *fakeFIX) Listening() bool { return f.listening.Load() }
func (f *fakeFIX) LoggedOn() int   { return int(f.sessions.Load()) }

// TestReadyzNotReady: a venue not yet running, and a FIX acceptor that
// has closed, each make /readyz 503, naming the failing check.
func TestReadyzNotReady(t *testing.T) {
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fakeFIX{}
	fx.listening.Store(true)
	fx.sessions.Store(3)
	gw, err := New(v, Options{Logger: log, FIX: fx})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		gw.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	failing := func(rec *httptest.ResponseRecorder) string {
		var bad []string
		for _, part := range strings.Split(rec.Body.String(), "{") {
			if strings.Contains(part, `"ok":false`) {
				bad = append(bad, strings.SplitN(strings.SplitN(part, `"name":"`, 2)[1], `"`, 2)[0])
			}
		}
		return strings.Join(bad, ",")
	}
	rec := get("/readyz")
	if rec.Code != 503 || failing(rec) != "venue" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("before Run: %d failing %q: %s", rec.Code, failing(rec), rec.Body)
	}
	if rec := get("/healthz"); rec.Code != 200 {
		t.Fatalf("healthz before Run: %d", rec.Code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		gw.Close()
		cancel()
		<-done
	}()
	if !checkFor(5*time.Second, func() bool { return get("/readyz").Code == 200 }) {
		t.Fatalf("running: %s", get("/readyz").Body)
	}
	fams, err := metrics.Parse(get("/metrics").Body.String())
	if err != nil {
		t.Fatal(err)
	}
	if val(t, fams, "fxmatch_fix_sessions_logged_on") != 3 || val(t, fams, "fxmatch_fix_listening") != 1 || val(t, fams, "fxmatch_venue_running") != 1 {
		t.Fatalf("fix/venue gauges wrong:\n%s", get("/metrics").Body)
	}
	fx.listening.Store(false)
	if rec := get("/readyz"); rec.Code != 503 || failing(rec) != "fix" {
		t.Fatalf("FIX closed: %d failing %q: %s", rec.Code, failing(rec), rec.Body)
	}
}

// TestMetricsMove: the exposition parses strictly, and its counters move
// as orders are entered, rejected and traded.
func TestMetricsMove(t *testing.T) {
	e := newEnv(t)
	before := e.scrape()
	for _, c := range []struct {
		name  string
		after float64
	}{{"fxmatch_orders_received_total", 0}} {
		if v := val(t, before, c.name, "channel", "http"); v != c.after {
			t.Fatalf("%s = %v at start", c.name, v)
		}
	}
	m := engine.Qty(1_000_000)
	e.opsOrder("BANKA", "s1", engine.Sell, 2*m, "7.1010", engine.GTC)
	e.opsOrder("BANKB", "b1", engine.Buy, m, "7.1010", engine.IOC)  // trades 1m
	e.opsOrder("BANKB", "b2", engine.Buy, m, "7.10105", engine.GTC) // off tick: rejected
	var after []metrics.Family
	// The metrics feed counts on its own goroutine: poll until it caught up.
	if !checkFor(5*time.Second, func() bool {
		after = e.scrape()
		v, _ := metrics.Value(after, "fxmatch_trades_total")
		r, _ := metrics.Value(after, "fxmatch_order_rejects_total", metrics.Label{Name: "reason", Value: "price-not-tick"})
		return v == 1 && r == 1
	}) {
		t.Fatalf("trades/rejects never counted:\n%s", e.do("GET", "/metrics", "", nil).body)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fxmatch_orders_received_total", []string{"channel", "http"}, 3},
		{"fxmatch_orders_received_total", []string{"channel", "fix"}, 0},
		{"fxmatch_events_total", []string{"kind", "accepted"}, 2},
		{"fxmatch_events_total", []string{"kind", "rejected"}, 1},
		{"fxmatch_fills_total", nil, 2},
		{"fxmatch_traded_quantity_total", nil, 1_000_000},
		{"fxmatch_order_rejects_total", []string{"reason", "price-outside-band"}, 0},
		{"fxmatch_order_cancels_total", []string{"reason", "ioc-remainder"}, 0},
		{"fxmatch_durable_ack_seconds_count", nil, 3}, // s1, b1 accepted; b2 rejected
		{"fxmatch_venue_running", nil, 1},
		{"fxmatch_journal_writable", nil, 1},
		{"fxmatch_nats_configured", nil, 0},
		{"fxmatch_fix_listening", nil, 0},
		{"fxmatch_snapshot_queue_waits_total", []string{"shard", "0"}, 0},
		{"fxmatch_snapshot_diverged", []string{"shard", "0"}, 0},
	}
	for _, c := range checks {
		if got := val(t, after, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := val(t, after, "fxmatch_journal_commits_total"); n < 1 || val(t, after, "fxmatch_journal_commit_seconds_count") != n {
		t.Errorf("journal commits %v, commit-time observations %v", n, val(t, after, "fxmatch_journal_commit_seconds_count"))
	}
	if val(t, after, "fxmatch_journal_records_total") < 3 || val(t, after, "fxmatch_journal_bytes_total") <= val(t, before, "fxmatch_journal_bytes_total") {
		t.Error("journal records/bytes did not move")
	}
	if val(t, after, "fxmatch_journal_durable_seq", "shard", "0") < 3 {
		t.Error("durable seq did not move")
	}
}

// TestMetricsFeedAllocs: counting an event allocates nothing.
func TestMetricsFeedAllocs(t *testing.T) {
	o := newOpsState()
	ev := engine.Event{Kind: engine.EvRejected, Reason: engine.ReasonPriceNotTick, Time: time.Now().UnixNano()}
	if n := testing.AllocsPerRun(1000, func() { o.count(&ev, time.Now().UnixNano()) }); n != 0 {
		t.Fatalf("count allocates %v", n)
	}
	if o.rejects[engine.ReasonPriceNotTick].Load() == 0 {
		t.Fatal("not counted")
	}
}

func TestMetricsScrapeDoesNotBlockOrders(t *testing.T) {
	// A scrape reads atomics only: many concurrent scrapes while orders
	// flow must leave every order acknowledged.
	e := newEnv(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := http.Get(e.base + "/metrics")
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
	}()
	for i := range 50 {
		e.opsOrder("BANKA", fmt.Sprintf("q%d", i), engine.Sell, 1_000_000, "7.2000", engine.GTC)
	}
	close(stop)
	<-done
	if !checkFor(5*time.Second, func() bool {
		v, _ := metrics.Value(e.scrape(), "fxmatch_events_total", metrics.Label{Name: "kind", Value: "accepted"})
		return v == 50
	}) {
		t.Fatal("accepted count never reached 50")
	}
}

// TestMetricsHTTPOrdersAndStreams: an order entered over HTTP is counted
// by channel and in the HTTP ack histogram; stream clients are counted
// while connected.
func TestMetricsHTTPOrdersAndStreams(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/orders", tokA, map[string]any{
		"client_order_id": "m1", "symbol": "USD/CNY", "side": "sell", "type": "limit",
		"qty": "1000000", "price": "7.1010", "tif": "gtc",
	}).want(t, 201)
	fams := e.scrape()
	if got := val(t, fams, "fxmatch_orders_received_total", "channel", "http"); got != 1 {
		t.Errorf("http orders %v", got)
	}
	if got := val(t, fams, "fxmatch_http_order_ack_seconds_count"); got != 1 {
		t.Errorf("http acks %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.base, "http")+"/api/v1/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": []string{"Bearer " + tokB}}})
	if err != nil {
		t.Fatal(err)
	}
	if !checkFor(5*time.Second, func() bool { v, _ := metrics.Value(e.scrape(), "fxmatch_ws_clients"); return v == 1 }) {
		t.Fatal("ws_clients never 1")
	}
	c.Close(websocket.StatusNormalClosure, "")
	if !checkFor(5*time.Second, func() bool { v, _ := metrics.Value(e.scrape(), "fxmatch_ws_clients"); return v == 0 }) {
		t.Fatal("ws_clients never back to 0")
	}
}
