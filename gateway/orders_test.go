package gateway

import (
	"fxmatch/config"
	"net/http"
	"strings"
	"testing"
)

func order(id, sym, side, qty, px string, more ...string) map[string]any {
	m := map[string]any{"symbol": sym, "side": side, "qty": qty}
	if id != "" {
		m["client_order_id"] = id
	}
	if px != "" {
		m["price"] = px
	}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}

func fills(r *resp) []any {
	f, _ := r.json["fills"].([]any)
	return f
}

// TestOrderFlow: A rests an order, B crosses it; both see the fill in the
// response, over the stream and in GET /orders; the trade prints; credit
// is used.
func TestOrderFlow(t *testing.T) {
	e := newEnv(t)
	wsA := e.dialWS(t, tokA, "")
	wsA.subscribe(t, "exec", "")
	wsB := e.dialWS(t, tokB, "")
	wsB.subscribe(t, "exec", "")
	wsM := e.dialWS(t, tokC, "")
	wsM.subscribe(t, "trades", "USDCNY")
	wsM.subscribe(t, "book", "USDCNY")

	r := e.do("POST", "/api/v1/orders", tokA, order("a1", "USD/CNY", "sell", "1000000", "7.1000")).want(t, http.StatusCreated)
	if r.str("status") != "new" || r.json["live"] != true || r.str("order_id") == "" || r.str("price") != "7.1000" || len(fills(r)) != 0 {
		t.Fatalf("resting order: %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != "/api/v1/orders/a1" {
		t.Errorf("Location %q", loc)
	}
	wsA.expect(t, "exec", `"type":"accepted"`, `"cl_ord_id":"a1"`)
	wsM.expect(t, "book", `"asks":[{"px":"7.1000","qty":"1000000","orders":1}]`)
	book := e.do("GET", "/api/v1/books/USDCNY", tokC, nil).want(t, http.StatusOK)
	if !strings.Contains(string(book.body), `"asks":[{"px":"7.1000","qty":"1000000","orders":1}]`) {
		t.Errorf("book: %s", book.body)
	}

	r = e.do("POST", "/api/v1/orders", tokB, order("b1", "USD/CNY", "buy", "1500000", "7.1000", "tif", "ioc")).want(t, http.StatusCreated)
	if r.str("status") != "cancelled" || r.str("cum_qty") != "1000000" || r.str("reason") != "ioc-remainder" || len(fills(r)) != 1 {
		t.Fatalf("crossing IOC: %s", r.body)
	}
	f := fills(r)[0].(map[string]any)
	if f["px"] != "7.1000" || f["qty"] != "1000000" || f["counterparty"] != "BANKA" || f["aggressor"] != true {
		t.Errorf("fill: %v", f)
	}
	wsB.expect(t, "exec", `"type":"fill"`, `"cl_ord_id":"b1"`, `"last_qty":"1000000"`)
	wsA.expect(t, "exec", `"type":"fill"`, `"cl_ord_id":"a1"`, `"counterparty":"BANKB"`, `"leaves_qty":"0"`)
	wsM.expect(t, "trades", `"px":"7.1000"`, `"qty":"1000000"`, `"aggressor_side":"buy"`)
	wsM.expect(t, "book", `"asks":[]`)

	// The resting side's order is filled, as A lists it.
	r = e.do("GET", "/api/v1/orders/a1", tokA, nil).want(t, http.StatusOK)
	if r.str("status") != "filled" || r.json["live"] != false || len(fills(r)) != 1 {
		t.Errorf("A's order after the fill: %s", r.body)
	}
	r = e.do("GET", "/api/v1/orders", tokA, nil).want(t, http.StatusOK)
	if l := r.json["orders"].([]any); len(l) != 1 || l[0].(map[string]any)["status"] != "filled" {
		t.Errorf("A's orders: %s", r.body)
	}
	r = e.do("GET", "/api/v1/orders", tokB, nil).want(t, http.StatusOK)
	if l := r.json["orders"].([]any); len(l) != 1 || l[0].(map[string]any)["client_order_id"] != "b1" || l[0].(map[string]any)["cum_qty"] != "1000000" {
		t.Errorf("B's orders: %s", r.body)
	}
	r = e.do("GET", "/api/v1/trades/USDCNY", tokC, nil).want(t, http.StatusOK)
	if tr := r.json["trades"].([]any); len(tr) != 1 || tr[0].(map[string]any)["px"] != "7.1000" {
		t.Errorf("trades: %s", r.body)
	}
	r = e.do("GET", "/api/v1/credit", tokA, nil).want(t, http.StatusOK)
	if !strings.Contains(string(r.body), `{"counterparty":"BANKB","limit":"5000000000","used":"1000000","available":"4999000000","currency":"USD"}`) ||
		!strings.Contains(string(r.body), `{"counterparty":"BANKC","limit":"0","used":"0","available":"0","currency":"USD"}`) {
		t.Errorf("A's credit: %s", r.body)
	}
}

// TestOrderAuthorization: nobody sees or touches another participant's
// orders; the regulator may not trade.
func TestOrderAuthorization(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/orders", tokA, order("secret", "USD/CNY", "buy", "1000000", "7.0900")).want(t, http.StatusCreated)
	e.do("GET", "/api/v1/orders/secret", tokB, nil).wantProblem(t, http.StatusNotFound, "", "BANKB has no order")
	e.do("DELETE", "/api/v1/orders/secret", tokB, nil).wantProblem(t, http.StatusNotFound, "")
	e.do("PATCH", "/api/v1/orders/secret", tokB, map[string]any{"price": "7.0800"}).wantProblem(t, http.StatusNotFound, "")
	if r := e.do("GET", "/api/v1/orders", tokB, nil).want(t, http.StatusOK); len(r.json["orders"].([]any)) != 0 {
		t.Errorf("B lists: %s", r.body)
	}
	e.do("POST", "/api/v1/orders", tokReg, order("r1", "USD/CNY", "buy", "1000000", "7.0900")).wantProblem(t, http.StatusForbidden, "", "REGULATOR is a regulator")
	e.do("DELETE", "/api/v1/orders/secret", tokReg, nil).want(t, http.StatusForbidden)
	// B using A's id for its own order is B's own order, not A's.
	e.do("POST", "/api/v1/orders", tokB, order("secret", "USD/CNY", "buy", "2000000", "7.0800")).want(t, http.StatusCreated)
	r := e.do("GET", "/api/v1/orders/secret", tokA, nil).want(t, http.StatusOK)
	if r.str("qty") != "1000000" || r.str("status") != "new" {
		t.Errorf("A's order changed: %s", r.body)
	}
	// The credit endpoint shows only one's own lines.
	r = e.do("GET", "/api/v1/credit", tokB, nil).want(t, http.StatusOK)
	if r.str("participant") != "BANKB" || strings.Contains(string(r.body), `"counterparty":"BANKB"`) {
		t.Errorf("B's credit: %s", r.body)
	}
}

// TestBadOrders: every malformed or refused order is a 4xx problem naming
// the member and the rule, and nothing changes.
func TestBadOrders(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/orders", tokA, order("keep", "USD/CNY", "sell", "1000000", "7.1100")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("b-keep", "USD/CNY", "sell", "1000000", "7.1200")).want(t, http.StatusCreated)
	before := e.do("GET", "/api/v1/books/USDCNY", tokA, nil).want(t, http.StatusOK).body

	ok := `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":"7.1000"`
	for _, tc := range []struct {
		name   string
		body   string
		ctype  string
		status int
		field  string
		reason string
		detail []string
	}{
		{"malformed", `{"symbol":"USD/CNY",`, "", 400, "", "", []string{"JSON"}},
		{"garbage", `hello`, "", 400, "", "", []string{"malformed JSON at byte"}},
		{"empty", ``, "", 400, "", "", []string{"empty"}},
		{"array", `[1]`, "", 400, "", "", []string{"must be a JSON object"}},
		{"two values", ok + `}{}`, "", 400, "", "", []string{"more than one JSON value"}},
		{"qty number", `{"symbol":"USD/CNY","side":"buy","qty":1000000,"price":"7.1"}`, "", 400, "qty", "", []string{"qty must be a string, not number"}},
		{"price number", `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":7.1}`, "", 400, "price", "", []string{"price must be a string"}},
		{"post_only string", ok + `,"post_only":"yes"}`, "", 400, "post_only", "", []string{"true or false"}},
		{"unknown member", ok + `,"colour":"red"}`, "", 400, "colour", "", []string{`unknown member "colour"`}},
		{"missing side", `{"symbol":"USD/CNY","qty":"1000000","price":"7.1000"}`, "", 400, "side", "", []string{"side is required"}},
		{"missing symbol", `{"side":"buy","qty":"1000000","price":"7.1000"}`, "", 400, "symbol", "", []string{"symbol is required"}},
		{"missing qty", `{"symbol":"USD/CNY","side":"buy","price":"7.1000"}`, "", 400, "qty", "", []string{"qty is required"}},
		{"missing price", `{"symbol":"USD/CNY","side":"buy","qty":"1000000"}`, "", 400, "price", "", []string{"price is required for a limit order"}},
		{"bad side", `{"symbol":"USD/CNY","side":"BUY","qty":"1000000","price":"7.1000"}`, "", 400, "side", "", []string{`"BUY" must be "buy" or "sell"`}},
		{"bad type", ok + `,"type":"stop"}`, "", 400, "type", "", []string{`"stop"`}},
		{"bad tif", ok + `,"tif":"forever"}`, "", 400, "tif", "", []string{`"forever"`}},
		{"bad expire", ok + `,"tif":"gtd","expire_time":"tomorrow"}`, "", 400, "expire_time", "", []string{"RFC 3339"}},
		{"comma decimal", `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":"7,1000"}`, "", 400, "price", "", []string{`"7,1000" is not a decimal price`}},
		{"exponent", `{"symbol":"USD/CNY","side":"buy","qty":"1e6","price":"7.1000"}`, "", 400, "qty", "", []string{`"1e6" is not a whole number`}},
		{"negative qty", `{"symbol":"USD/CNY","side":"buy","qty":"-1000000","price":"7.1000"}`, "", 400, "qty", "", nil},
		{"fractional qty", `{"symbol":"USD/CNY","side":"buy","qty":"1000000.5","price":"7.1000"}`, "", 400, "qty", "", nil},
		{"reserved id", ok + `,"client_order_id":"~x"}`, "", 400, "client_order_id", "", []string{"reserved"}},
		{"long id", ok + `,"client_order_id":"` + strings.Repeat("x", 48) + `"}`, "", 400, "client_order_id", "", []string{"longer than 47"}},
		{"id with space", ok + `,"client_order_id":"a b"}`, "", 400, "client_order_id", "", []string{"printable ASCII"}},
		{"text/plain", ok + `}`, "text/plain", 415, "", "", []string{"application/json"}},
		{"too large", `{"symbol":"` + strings.Repeat("x", 70_000) + `"}`, "", 413, "", "", []string{"exceeds 65536 bytes"}},
		// Rules: the engine's rejects.
		{"off tick", `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":"7.10005"}`, "", 422, "price", "price-not-tick", []string{"tick: price 7.10005 is not a multiple of the tick 0.0001"}},
		{"beyond 8 decimals", `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":"7.100000001"}`, "", 422, "price", "price-not-tick", []string{"tick"}},
		{"off lot", `{"symbol":"USD/CNY","side":"buy","qty":"1050000","price":"7.1000"}`, "", 422, "qty", "qty-not-lot", []string{"qty 1050000 is not a multiple of the lot 100000"}},
		{"above max", `{"symbol":"USD/CNY","side":"buy","qty":"600000000","price":"7.1000"}`, "", 422, "qty", "qty-above-max", []string{"exceeds the maximum 500000000"}},
		{"outside band", `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":"8.0000"}`, "", 422, "price", "price-outside-band", []string{"band: price 8.0000 is outside the price band 6.9580 to 7.2420"}},
		{"unknown symbol", `{"symbol":"GBP/USD","side":"buy","qty":"1000000","price":"1.3000"}`, "", 422, "symbol", "unknown-symbol", []string{`"GBP/USD"`}},
		{"market with price", ok + `,"type":"market"}`, "", 422, "price", "market-with-price", nil},
		{"gtd without expiry", ok + `,"tif":"gtd"}`, "", 422, "expire_time", "gtd-no-expiry", nil},
		{"directed nowhere", ok + `,"directed_to":"NOBODY"}`, "", 422, "directed_to", "unknown-directed", nil},
		{"directed to self", ok + `,"directed_to":"BANKA"}`, "", 422, "directed_to", "unknown-directed", nil},
		{"duplicate id", ok + `,"client_order_id":"keep"}`, "", 422, "client_order_id", "duplicate-clordid", []string{`"keep" has already been used by BANKA today`}},
		{"post-only taking", `{"symbol":"USD/CNY","side":"buy","qty":"1000000","price":"7.1200","post_only":true}`, "", 422, "post_only", "post-only-would-take", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.base+"/api/v1/orders", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			ct := tc.ctype
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+tokA)
			r := e.send(req)
			r.wantProblem(t, tc.status, tc.field, tc.detail...)
			if r.str("reason") != tc.reason {
				t.Errorf("reason %q, want %q", r.str("reason"), tc.reason)
			}
		})
	}
	after := e.do("GET", "/api/v1/books/USDCNY", tokA, nil).want(t, http.StatusOK).body
	if string(before) != string(after) {
		t.Errorf("the book changed:\nbefore %s\nafter  %s", before, after)
	}
	r := e.do("GET", "/api/v1/orders?status=live", tokA, nil).want(t, http.StatusOK)
	if l := r.json["orders"].([]any); len(l) != 1 || l[0].(map[string]any)["client_order_id"] != "keep" || l[0].(map[string]any)["qty"] != "1000000" {
		t.Errorf("live orders after the bad ones: %s", r.body)
	}
}

func TestCancelReplace(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/orders", tokA, order("o1", "EUR/USD", "buy", "2000000", "1.07500")).want(t, http.StatusCreated)
	e.do("PATCH", "/api/v1/orders/o1", tokA, map[string]any{}).wantProblem(t, 400, "", "qty, price or both")
	e.do("PATCH", "/api/v1/orders/o1", tokA, map[string]any{"price": "1.075001"}).wantProblem(t, 422, "price", "not a multiple of the tick 0.00001")
	e.do("PATCH", "/api/v1/orders/o1", tokA, map[string]any{"qty": 5}).wantProblem(t, 400, "qty", "must be a string")
	r := e.do("PATCH", "/api/v1/orders/o1", tokA, map[string]any{"new_client_order_id": "o2", "price": "1.07600", "qty": "3000000"}).want(t, http.StatusOK)
	if r.str("client_order_id") != "o2" || r.str("price") != "1.07600" || r.str("qty") != "3000000" || r.str("status") != "new" {
		t.Fatalf("replaced: %s", r.body)
	}
	// The old id still finds the order, under its new id.
	if r := e.do("GET", "/api/v1/orders/o1", tokA, nil).want(t, http.StatusOK); r.str("client_order_id") != "o2" {
		t.Errorf("GET by the old id: %s", r.body)
	}
	r = e.do("DELETE", "/api/v1/orders/o2", tokA, nil).want(t, http.StatusOK)
	if r.str("status") != "cancelled" || r.str("reason") != "requested" || r.json["live"] != false {
		t.Fatalf("cancelled: %s", r.body)
	}
	e.do("DELETE", "/api/v1/orders/o2", tokA, nil).wantProblem(t, http.StatusConflict, "", "no longer live")
	e.do("DELETE", "/api/v1/orders/nope", tokA, nil).wantProblem(t, http.StatusNotFound, "", `"nope"`)
	e.bookShows(t, "EURUSD", `"bids":[]`)
	// A replace below the filled quantity: B sells into it first.
	e.do("POST", "/api/v1/orders", tokA, order("o3", "EUR/USD", "buy", "2000000", "1.07500")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("s3", "EUR/USD", "sell", "1000000", "1.07500")).want(t, http.StatusCreated)
	e.do("PATCH", "/api/v1/orders/o3", tokA, map[string]any{"qty": "1000000"}).wantProblem(t, 422, "qty", "not above the quantity already filled (1000000)")
	if r := e.do("GET", "/api/v1/orders/o3", tokA, nil).want(t, http.StatusOK); r.str("status") != "partially_filled" || r.str("qty") != "2000000" {
		t.Errorf("after a refused replace: %s", r.body)
	}
}

// TestRestartKeepsLiveOrders: after a restart, live orders are listed
// (from the venue's recovered engines), can be cancelled, and credit
// usage is kept.
func TestRestartKeepsLiveOrders(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *Options) { c.Venue.Durability = config.DurabilitySync })
	e.do("POST", "/api/v1/orders", tokA, order("live1", "USD/JPY", "buy", "1000000", "150.000", "tif", "gtc")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokA, order("gone1", "USD/JPY", "sell", "1000000", "151.000")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("hit", "USD/JPY", "buy", "1000000", "151.000")).want(t, http.StatusCreated)
	e.restart()
	r := e.do("GET", "/api/v1/orders", tokA, nil).want(t, http.StatusOK)
	l := r.json["orders"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["client_order_id"] != "live1" || l[0].(map[string]any)["tif"] != "gtc" || l[0].(map[string]any)["live"] != true {
		t.Fatalf("orders after restart: %s", r.body)
	}
	r = e.do("GET", "/api/v1/credit", tokA, nil).want(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"counterparty":"BANKB","limit":"5000000000","used":"1000000"`) {
		t.Errorf("credit after restart: %s", r.body)
	}
	e.do("DELETE", "/api/v1/orders/live1", tokA, nil).want(t, http.StatusOK)
	e.bookShows(t, "USDJPY", `"bids":[]`)
}

// TestCreditMirrorEqualsEngine: the credit usage the gateway counts from
// fill events (a USD-term pair and a cross priced through its USD leg)
// equals what the engine itself holds, as a restart reads it back.
func TestCreditMirrorEqualsEngine(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *Options) { c.Venue.Durability = config.DurabilitySync })
	e.do("POST", "/api/v1/orders", tokA, order("e1", "EUR/USD", "sell", "1300000", "1.08130")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("e2", "EUR/USD", "buy", "1300000", "1.08130")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("x1", "EUR/CNY", "sell", "700000", "7.7123")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokA, order("x2", "EUR/CNY", "buy", "700000", "7.7123")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokC, order("j1", "USD/JPY", "sell", "200000", "150.123")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("j2", "USD/JPY", "buy", "200000", "150.123")).want(t, http.StatusCreated)
	// The passive sides' fills reach their owners' feeds on their own.
	e.orderShows(t, tokA, "e1", "filled")
	e.orderShows(t, tokB, "x1", "filled")
	e.orderShows(t, tokC, "j1", "filled")
	var before []string
	for _, tok := range []string{tokA, tokB, tokC} {
		before = append(before, string(e.do("GET", "/api/v1/credit", tok, nil).want(t, http.StatusOK).body))
	}
	// 1,300,000 × 1.0813 = 1,405,690; 700,000 EUR at the EUR/USD
	// reference 1.0813 = 756,910.
	if !strings.Contains(before[0], `"counterparty":"BANKB","limit":"5000000000","used":"2162600"`) {
		t.Errorf("A's credit: %s", before[0])
	}
	e.restart()
	for i, tok := range []string{tokA, tokB, tokC} {
		if after := string(e.do("GET", "/api/v1/credit", tok, nil).want(t, http.StatusOK).body); after != before[i] {
			t.Errorf("credit counted from events:\n%s\nthe engine's after a restart:\n%s", before[i], after)
		}
	}
}
