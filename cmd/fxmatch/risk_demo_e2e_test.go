package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHTTPDemoLoopbackNotBlocked is the demo venue as people use it:
// `fxmatch serve` with everything on loopback, scoring on (fail-closed,
// with a deadline long enough that only a decision can refuse), BANKA
// places three orders over HTTP, then BANKA and BANKB, both fresh
// accounts, place 30 orders each, interleaved and as fast as the
// gateway takes them — faster than a dealer, some of BANKB's crossing
// BANKA's bids. Both come from 127.0.0.1, which is no shared device, and
// neither has history to make a burst of: no order may be refused.
func TestHTTPDemoLoopbackNotBlocked(t *testing.T) {
	dir := t.TempDir()
	cfgFile, _ := writeRiskConfig(t, dir)
	banner, errb := serveLoopback(t, cfgFile, filepath.Join(dir, "data"))
	if !strings.Contains(banner, "deadline 2s, fail-closed") {
		t.Fatalf("banner:\n%s", banner)
	}
	m := regexp.MustCompile(`HTTP\s+(http://127\.0\.0\.1:\d+/api/v1)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no HTTP address in the banner:\n%s", banner)
	}
	api := m[1]
	n := 0
	place := func(token, side, price string) {
		t.Helper()
		n++
		body := fmt.Sprintf(`{"symbol":"USD/CNY","side":%q,"type":"limit","qty":"1000000","price":%q,"tif":"day"}`, side, price)
		req, _ := http.NewRequest("POST", api+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("order %d (%s %s at %s): %s %s", n, token, side, price, resp.Status, b)
		}
	}
	for i := 0; i < 3; i++ {
		place("demo-banka", "buy", "7.0500")
	}
	for i := 0; i < 30; i++ {
		place("demo-banka", "buy", "7.0500")
		price := "7.1500"
		if i%5 == 4 {
			price = "7.0500" // crosses one of BANKA's bids
		}
		place("demo-bankb", "sell", price)
	}
	if strings.Contains(errb.String(), "risk: order blocked") {
		t.Errorf("a block was logged:\n%s", errb.String())
	}
}
