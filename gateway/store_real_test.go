package gateway

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"fxmatch/assistant/service"
	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/bus"
)

// realStack is the venue, the embedded NATS bus, the assistant's micro
// service and the gateway, in-process, with a two-sided USD/CNY market
// (BANKA bids 7.0980, BANKB offers 7.1020) for the recommender. stopSvc
// stops the assistant.
func realStack(t *testing.T) (e *env, stopSvc func()) {
	t.Helper()
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	cfg.Listen = config.Listen{FIX: "127.0.0.1:0", HTTP: "127.0.0.1:0", NATS: "127.0.0.1:0"}
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Start(ctx, v, cfg, bus.Options{})
	if err != nil {
		t.Fatalf("bus: %v", err)
	}
	gw, err := New(v, Options{Bus: b.Conn()})
	if err != nil {
		t.Fatal(err)
	}
	opts := service.Options{}
	if err := service.FromConfig(cfg, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.Conn, err = b.AssistantConnect(); err != nil {
		t.Fatalf("assistant connect: %v", err)
	}
	svc, err := service.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- v.Run(runCtx) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gw.Serve(ln)
	stopped := false
	stopSvc = func() {
		if !stopped {
			stopped = true
			svc.Stop()
			opts.Conn.Close()
		}
	}
	t.Cleanup(func() {
		stopSvc()
		gw.Close()
		b.Close()
		stopRun()
		<-runErr
	})
	e = &env{t: t, base: "http://" + ln.Addr().String(), v: v, gw: gw, cfg: cfg}
	usdcny, _ := v.Instrument("USD/CNY")
	pa, _ := cfg.PartyID("BANKA")
	pb, _ := cfg.PartyID("BANKB")
	for _, c := range []engine.Command{
		{Kind: engine.CmdNewOrder, Party: pa, Instrument: usdcny, Side: engine.Buy, OrdType: engine.Limit, TIF: engine.Day, Qty: 5_000_000, Price: 709_800_000, ClOrdID: engine.MustID("seed-b")},
		{Kind: engine.CmdNewOrder, Party: pb, Instrument: usdcny, Side: engine.Sell, OrdType: engine.Limit, TIF: engine.Day, Qty: 5_000_000, Price: 710_200_000, ClOrdID: engine.MustID("seed-a")},
	} {
		if err := v.Submit(&c); err != nil {
			t.Fatal(err)
		}
	}
	return e, stopSvc
}

// TestStoreWithRealAssistant runs the store routes against the real
// thing: the broker lists the assistant's own recommendation, a chat
// message is parsed by the service, and when the service stops the
// routes say the assistant is unreachable.
func TestStoreWithRealAssistant(t *testing.T) {
	e, stopSvc := realStack(t)
	var rec *resp
	if !checkFor(10*time.Second, func() bool {
		rec = e.do("POST", "/api/v1/assistant/recommend", tokBroker, map[string]string{"symbol": "USD/CNY", "qty": "1000000"})
		return rec.status == http.StatusOK
	}) {
		t.Fatalf("no recommendation from the assistant: %d %s", rec.status, rec.body)
	}
	bid, ask := rec.str("bid"), rec.str("ask")
	if rec.str("broker") != "BROKER1" || bid == "" || ask == "" || len(rec.json["rationale"].([]any)) == 0 {
		t.Fatalf("recommendation %s", rec.body)
	}
	// The broker lists it as recommended.
	l := e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker,
		map[string]any{"tiers": []map[string]string{{"qty": "1000000", "bid": bid, "ask": ask}}}).want(t, http.StatusOK)
	tier := l.json["tiers"].([]any)[0].(map[string]any)
	if tier["bid"].(map[string]any)["px"] != bid || tier["ask"].(map[string]any)["px"] != ask {
		t.Fatalf("listing %s, recommended %s/%s", l.body, bid, ask)
	}

	r := e.do("POST", "/api/v1/assistant/chat", tokA, map[string]string{"text": "buy 1m usdcny at " + ask}).want(t, http.StatusOK)
	if r.str("kind") != "order" || !strings.Contains(string(r.body), `"confirm"`) {
		t.Fatalf("chat %s", r.body)
	}
	r = e.do("POST", "/api/v1/assistant/score", tokA, map[string]string{"symbol": "USD/CNY", "side": "buy", "qty": "1000000", "price": ask}).want(t, http.StatusOK)
	if _, ok := r.json["score"].(float64); !ok || r.str("action") == "" {
		t.Fatalf("score preview %s", r.body)
	}

	stopSvc()
	e.do("POST", "/api/v1/assistant/recommend", tokBroker, map[string]string{"symbol": "USD/CNY", "qty": "1000000"}).
		wantProblem(t, http.StatusServiceUnavailable, "", "no assistant is running")
}
