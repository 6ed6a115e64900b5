package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fxmatch/internal/metrics"
)

// TestServeOpsEndpoints: `fxmatch serve` wires the FIX acceptor and the
// NATS bus into /readyz and /metrics, and the regulator's API reads the
// running venue's journal.
func TestServeOpsEndpoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"},
			strings.NewReader(""), &out, &errb)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	if !checkFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		t.Fatalf("serve did not start:\n%s\n%s", out.String(), errb.String())
	}
	m := regexp.MustCompile(`HTTP +(http://127\.0\.0\.1:\d+)/api/v1`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no HTTP address in the banner:\n%s", out.String())
	}
	base := m[1]
	get := func(path, token string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	var body []byte
	if !checkFor(t, 10*time.Second, func() bool {
		var code int
		code, body = get("/readyz", "")
		return code == 200
	}) {
		t.Fatalf("/readyz: %s", body)
	}
	var ready struct {
		Checks []struct {
			Name, Detail string
			OK           bool
		}
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatal(err)
	}
	details := map[string]string{}
	for _, c := range ready.Checks {
		details[c.Name] = c.Detail
	}
	if details["fix"] != "listening" || !strings.HasPrefix(details["nats"], "connected") {
		t.Fatalf("serve's readiness does not see FIX and NATS: %s", body)
	}
	_, body = get("/metrics", "")
	fams, err := metrics.Parse(string(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fxmatch_fix_listening", "fxmatch_nats_configured", "fxmatch_nats_connected", "fxmatch_venue_running"} {
		if v, ok := metrics.Value(fams, name); !ok || v != 1 {
			t.Errorf("%s = %v (%v)", name, v, ok)
		}
	}
	code, body := get("/api/v1/regulator/verify", "demo-regulator")
	if code != 200 || !strings.Contains(string(body), `"intact":true`) {
		t.Fatalf("verify on the running venue: %d %s", code, body)
	}
}
