package gateway

import (
	"net/http"
	"testing"

	"fxmatch/config"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/api/v1/instruments", "", nil).wantProblem(t, http.StatusUnauthorized, "", "no Authorization header")
	e.do("GET", "/api/v1/instruments", "demo-nobody", nil).wantProblem(t, http.StatusUnauthorized, "", "not valid")
	e.do("GET", "/api/v1/instruments", "demo-bankA", nil).wantProblem(t, http.StatusUnauthorized, "", "not valid")
	r := e.do("GET", "/api/v1/instruments", tokA, nil).want(t, http.StatusOK)
	insts := r.json["instruments"].([]any)
	if len(insts) != 4 || insts[0].(map[string]any)["tick"] != "0.0001" || insts[0].(map[string]any)["code"] != "USDCNY" {
		t.Errorf("instruments: %s", r.body)
	}
}

// TestConfiguredToken: a participant with api_token_hash uses that token;
// its demo token no longer works.
func TestConfiguredToken(t *testing.T) {
	tok, hash, err := config.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *config.Config, _ *Options) { c.Participants[0].APITokenHash = hash })
	e.do("GET", "/api/v1/instruments", tok, nil).want(t, http.StatusOK)
	e.do("GET", "/api/v1/instruments", tokA, nil).want(t, http.StatusUnauthorized)
	e.do("GET", "/api/v1/instruments", tokB, nil).want(t, http.StatusOK)
}

// TestDemoTokensOffLoopback: demo tokens are refused when the gateway is
// not served on loopback, whatever the configuration says.
func TestDemoTokensOffLoopback(t *testing.T) {
	cfg := config.Demo()
	toks := cfg.APITokenHashes()
	if !toks[0].Demo || toks[0].Hash != config.HashAPIToken("demo-banka") {
		t.Fatalf("demo token of BANKA: %+v", toks[0])
	}
	cfg.Listen.HTTP = "0.0.0.0:8080"
	for i, tk := range cfg.APITokenHashes() {
		if tk.Hash != "" {
			t.Errorf("participant %d has a token off loopback: %+v", i, tk)
		}
	}
	// A real password and no api_token_hash: no HTTP access at all.
	cfg = config.Demo()
	cfg.Participants[1].PasswordHash = "$2a$04$GKZ2twRSerrplM1wQAbNB.z3qZFrL2YhOEous/8SZMBwf5LuF8KaS"
	if tk := cfg.APITokenHashes()[1]; tk.Hash != "" {
		t.Errorf("BANKB with a real password got a token: %+v", tk)
	}
	// The server's second guard.
	e := newEnv(t)
	e.gw.demoOff.Store(true)
	e.do("GET", "/api/v1/instruments", tokA, nil).want(t, http.StatusUnauthorized)
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(_ *config.Config, o *Options) { o.RatePerSecond, o.RateBurst = 1, 3 })
	for i := 0; i < 3; i++ {
		e.do("GET", "/api/v1/instruments", tokA, nil).want(t, http.StatusOK)
	}
	r := e.do("GET", "/api/v1/instruments", tokA, nil).wantProblem(t, http.StatusTooManyRequests, "", "BANKA", "retry after")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Another participant's budget is its own.
	e.do("GET", "/api/v1/instruments", tokB, nil).want(t, http.StatusOK)
}
