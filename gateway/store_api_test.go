package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"fxmatch/assistant/chat"
	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/gateway/store"
)

const tokBroker = "demo-broker1"

// fakeAssistant answers like the assistant service: recommendations
// around the reference price, chat through the real parser, and score
// previews from a table. Its requests are recorded.
type fakeAssistant struct {
	mu   sync.Mutex
	reqs []string
	down bool
	gw   *Server
}

func (f *fakeAssistant) Request(ctx context.Context, subject string, body any) ([]byte, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, subject)
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, errors.New("no assistant is running on the bus")
	}
	m, _ := body.(map[string]string)
	switch subject {
	case SubjectAssistantRecommend:
		// 1m: 7.0995/7.1005, wider by 5 pips per further million.
		q := m["qty"]
		if m["symbol"] != "USD/CNY" {
			return nil, &AssistantError{Code: "404", Description: "no two-sided book for " + m["symbol"] + " yet"}
		}
		spread := map[string][2]string{"1000000": {"7.0995", "7.1005"}, "5000000": {"7.0990", "7.1010"}, "20000000": {"7.0980", "7.1020"}}[q]
		if spread[0] == "" {
			return nil, &AssistantError{Code: "400", Description: "qty " + q + ": no tier"}
		}
		return []byte(`{"broker":"` + m["broker"] + `","symbol":"` + m["symbol"] + `","qty":"` + q + `","bid":"` + spread[0] + `","ask":"` + spread[1] +
			`","fair":"7.1000","inventory":"0","rationale":["fair value 7.1000 from the book's microprice","inventory flat: no skew"],"time":"2026-11-25T12:00:00Z"}`), nil
	case SubjectAssistantChat:
		r := chat.Parse(m["text"], f.gw.v.Instruments())
		return jsonOf(r), nil
	case SubjectAssistantScore:
		return []byte(`{"order_id":"preview","score":0.12,"action":"allow","reasons":[]}`), nil
	}
	return nil, &AssistantError{Code: "404", Description: "no such endpoint"}
}

func withFakeAssistant(f *fakeAssistant) envOpt {
	return func(_ *config.Config, o *Options) { o.Assistant = f }
}

func TestStoreAPI(t *testing.T) {
	fa := &fakeAssistant{}
	e := newEnv(t, withFakeAssistant(fa))
	fa.gw = e.gw

	listing := map[string]any{"tiers": []map[string]string{
		{"qty": "1000000", "bid": "7.0995", "ask": "7.1005"},
		{"qty": "5000000", "bid": "7.0990", "ask": "7.1010"},
	}}
	// Only the broker manages its store.
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokA, listing).wantProblem(t, http.StatusForbidden, "", "only BROKER1")
	e.do("PUT", "/api/v1/stores/BANKA/listings/USDCNY", tokA, listing).wantProblem(t, http.StatusNotFound, "", "no store")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/XXXYYY", tokBroker, listing).wantProblem(t, http.StatusNotFound, "", "XXXYYY")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", "", listing).want(t, http.StatusUnauthorized)
	// Bad bodies: each a 4xx naming the member, nothing listed.
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[{"qty":"1000000","bid":"7.0995","ask":"7.1005","size":1}]}`).wantProblem(t, http.StatusBadRequest, "size")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[{"qty":1000000,"bid":"7.0995","ask":"7.1005"}]}`).wantProblem(t, http.StatusBadRequest, "tiers.qty")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[{"qty":"1000000","bid":"7.0995"}]}`).wantProblem(t, http.StatusBadRequest, "tiers[0].ask")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[{"qty":"1000000","bid":"7.09951","ask":"7.1005"}]}`).wantProblem(t, http.StatusUnprocessableEntity, "tiers[0].bid", "tick")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[{"qty":"1000000","bid":"7.1005","ask":"7.0995"}]}`).wantProblem(t, http.StatusUnprocessableEntity, "tiers[0].bid", "would meet")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[`).wantProblem(t, http.StatusBadRequest, "")
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, `{"tiers":[{"qty":"1000000","bid":"7.0995","ask":"7.1005","pad":"`+strings.Repeat("x", 70<<10)+`"}]}`).want(t, http.StatusRequestEntityTooLarge)
	r := e.do("GET", "/api/v1/stores", tokA, nil).want(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"listings":[]`) {
		t.Fatalf("something was listed by bad requests: %s", r.body)
	}

	r = e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, listing).want(t, http.StatusOK)
	tiers := r.json["tiers"].([]any)
	if len(tiers) != 2 || tiers[1].(map[string]any)["ask"].(map[string]any)["px"] != "7.1010" {
		t.Fatalf("listing %s", r.body)
	}
	// BANKA hits the 5m tier's ask for 2m: the 1m tier at 7.1005 first.
	e.do("POST", "/api/v1/stores/BROKER1/listings/USDCNY/hit", tokA, `{"side":"buy","qty":"2000000","extra":1}`).wantProblem(t, http.StatusBadRequest, "extra")
	e.do("POST", "/api/v1/stores/BROKER1/listings/USDCNY/hit", tokA, `{"side":"up","qty":"2000000"}`).wantProblem(t, http.StatusBadRequest, "side")
	e.do("POST", "/api/v1/stores/BROKER1/listings/USDCNY/hit", tokA, `{"side":"buy","qty":"9000000"}`).wantProblem(t, http.StatusUnprocessableEntity, "qty", "largest tier")
	e.do("POST", "/api/v1/stores/BROKER1/listings/USDCNY/hit", tokReg, `{"side":"buy","qty":"1000000"}`).wantProblem(t, http.StatusForbidden, "", "read-only")
	r = e.do("POST", "/api/v1/stores/BROKER1/listings/USDCNY/hit", tokA, `{"side":"buy","qty":"2000000"}`).want(t, http.StatusOK)
	if r.str("status") != "filled" || r.str("filled_qty") != "2000000" || len(r.json["fills"].([]any)) != 2 || r.str("price") != "7.1010" {
		t.Fatalf("hit %s", r.body)
	}
	// The broker sees its position and fills; BANKA sees only listings.
	r = e.do("GET", "/api/v1/stores/BROKER1", tokBroker, nil).want(t, http.StatusOK)
	pos := r.json["positions"].([]any)
	if len(pos) != 1 || pos[0].(map[string]any)["qty"] != "-2000000" || pos[0].(map[string]any)["cash"] != "14201500.00" || len(r.json["fills"].([]any)) != 2 {
		t.Fatalf("broker's own view %s", r.body)
	}
	r = e.do("GET", "/api/v1/stores/BROKER1", tokA, nil).want(t, http.StatusOK)
	if _, ok := r.json["positions"]; ok {
		t.Fatalf("BANKA sees BROKER1's positions: %s", r.body)
	}
	if _, ok := r.json["fills"]; ok {
		t.Fatalf("BANKA sees BROKER1's fills: %s", r.body)
	}

	// The assistant's routes.
	r = e.do("POST", "/api/v1/assistant/recommend", tokBroker, map[string]string{"symbol": "USD/CNY", "qty": "5000000"}).want(t, http.StatusOK)
	if r.str("bid") != "7.0990" || r.str("broker") != "BROKER1" {
		t.Fatalf("recommend %s", r.body)
	}
	e.do("POST", "/api/v1/assistant/recommend", tokA, map[string]string{"symbol": "USD/CNY", "qty": "5000000"}).wantProblem(t, http.StatusForbidden, "")
	e.do("POST", "/api/v1/assistant/recommend", tokBroker, map[string]string{"symbol": "USD/CNY", "qty": "5050000"}).wantProblem(t, http.StatusBadRequest, "qty")
	e.do("POST", "/api/v1/assistant/recommend", tokBroker, map[string]string{"symbol": "USD/CNY", "qty": "3000000"}).wantProblem(t, http.StatusUnprocessableEntity, "", "no tier")
	r = e.do("POST", "/api/v1/assistant/chat", tokA, map[string]string{"text": "buy 5m usdcny at 7.1020"}).want(t, http.StatusOK)
	if r.str("kind") != "order" {
		t.Fatalf("chat %s", r.body)
	}
	e.do("POST", "/api/v1/assistant/chat", tokA, `{"txt":"hi"}`).wantProblem(t, http.StatusBadRequest, "txt")
	r = e.do("POST", "/api/v1/assistant/score", tokA, map[string]string{"symbol": "USD/CNY", "side": "buy", "qty": "5000000", "price": "7.1020"}).want(t, http.StatusOK)
	if r.str("action") != "allow" {
		t.Fatalf("score %s", r.body)
	}
	fa.mu.Lock()
	fa.down = true
	fa.mu.Unlock()
	e.do("POST", "/api/v1/assistant/chat", tokA, map[string]string{"text": "buy 5m usdcny at 7.1020"}).wantProblem(t, http.StatusServiceUnavailable, "", "not reachable")

	// Withdraw; a second withdrawal finds nothing.
	e.do("DELETE", "/api/v1/stores/BROKER1/listings/USDCNY", tokA, nil).want(t, http.StatusForbidden)
	e.do("DELETE", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, nil).want(t, http.StatusNoContent)
	e.do("DELETE", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, nil).wantProblem(t, http.StatusNotFound, "", "lists nothing")
}

func TestAssistantWithoutBus(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/assistant/chat", tokA, map[string]string{"text": "buy 5m usdcny at 7.1020"}).wantProblem(t, http.StatusServiceUnavailable, "", "without a NATS bus")
}

func TestStorefrontServed(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/", "", nil).want(t, http.StatusOK)
	if !strings.Contains(string(r.body), `<script type="module" src="/js/app.js">`) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("index: %s %s", r.header.Get("Content-Type"), r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	r = e.do("GET", "/js/app.js", "", nil).want(t, http.StatusOK)
	if r.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("app.js type %q", r.header.Get("Content-Type"))
	}
	e.do("GET", "/embed.go", "", nil).want(t, http.StatusNotFound)
	e.do("GET", "/nope.html", "", nil).wantProblem(t, http.StatusNotFound, "")
	e.do("GET", "/api/v1/nope", tokA, nil).wantProblem(t, http.StatusNotFound, "")
	// Demo tokens are listed to a loopback client of a loopback server.
	r = e.do("GET", "/api/v1/storefront/demo", "", nil).want(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"token":"demo-broker1"`) {
		t.Fatalf("demo tokens %s", r.body)
	}
	e.gw.demoOff.Store(true)
	r = e.do("GET", "/api/v1/storefront/demo", "", nil).want(t, http.StatusOK)
	if strings.Contains(string(r.body), "demo-") {
		t.Fatalf("demo tokens listed with demo off: %s", r.body)
	}
	e.gw.demoOff.Store(false)
	r = e.do("GET", "/api/v1/session", tokBroker, nil).want(t, http.StatusOK)
	if r.str("participant") != "BROKER1" || r.str("role") != "broker" {
		t.Fatalf("session %s", r.body)
	}
}

func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type storeTier = store.Tier

func storeOrigin() venue.Origin { return store.Origin("test", "t") }

// TestStoreSurvivesRestart: the store shows after a restart exactly what
// it showed before (it is re-derived from the journal).
func TestStoreSurvivesRestart(t *testing.T) {
	fa := &fakeAssistant{}
	e := newEnv(t, withFakeAssistant(fa))
	e.do("PUT", "/api/v1/stores/BROKER1/listings/USDCNY", tokBroker, map[string]any{"tiers": []map[string]string{
		{"qty": "1000000", "bid": "7.0995", "ask": "7.1005"}, {"qty": "5000000", "bid": "7.0990", "ask": "7.1010"}}}).want(t, http.StatusOK)
	e.do("PUT", "/api/v1/stores/BROKER1/listings/EURUSD", tokBroker, map[string]any{"tiers": []map[string]string{
		{"qty": "2000000", "bid": "1.07990", "ask": "1.08010"}}}).want(t, http.StatusOK)
	e.do("POST", "/api/v1/stores/BROKER1/listings/USDCNY/hit", tokB, map[string]string{"side": "sell", "qty": "1000000"}).want(t, http.StatusOK)
	before := e.do("GET", "/api/v1/stores/BROKER1", tokBroker, nil).want(t, http.StatusOK)
	e.restart()
	after := e.do("GET", "/api/v1/stores/BROKER1", tokBroker, nil).want(t, http.StatusOK)
	if string(before.body) != string(after.body) {
		t.Fatalf("store before the restart:\n%s\nafter:\n%s", before.body, after.body)
	}
	if !strings.Contains(string(after.body), `"state":"filled"`) || !strings.Contains(string(after.body), `"EUR/USD"`) {
		t.Fatalf("store after restart lacks the filled side or a listing: %s", after.body)
	}
}
