package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/internal/syncbuf"
)

// env is a running demo venue with the gateway served on a real loopback
// listener.
type env struct {
	t      testing.TB
	dir    string
	cfg    *config.Config
	opts   Options
	logs   *syncBuf
	v      *venue.Venue
	gw     *Server
	base   string
	cancel context.CancelFunc
	runErr chan error
	srvErr chan error
}

// syncBuf is a log sink the tests can read while the code writes it.
type syncBuf = syncbuf.Buffer

type envOpt func(*config.Config, *Options)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), cfg: config.Demo(), logs: &syncBuf{}}
	e.cfg.Venue.Durability = config.DurabilityNone
	e.cfg.Listen = config.Listen{FIX: "127.0.0.1:0", HTTP: "127.0.0.1:0", NATS: "127.0.0.1:0"}
	for _, o := range opts {
		o(e.cfg, &e.opts)
	}
	e.start()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("venue log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) start() {
	e.t.Helper()
	var w io.Writer = e.logs
	if os.Getenv("GW_TEST_LOG") == "1" {
		w = io.MultiWriter(e.logs, os.Stderr)
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := venue.Open(venue.Options{Config: e.cfg, DataDir: e.dir, Logger: log})
	if err != nil {
		e.t.Fatalf("venue.Open: %v", err)
	}
	o := e.opts
	o.Logger = log
	gw, err := New(v, o)
	if err != nil {
		e.t.Fatalf("gateway.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.v, e.gw, e.cancel = v, gw, cancel
	e.base = "http://" + ln.Addr().String()
	e.runErr, e.srvErr = make(chan error, 1), make(chan error, 1)
	go func() { e.runErr <- v.Run(ctx) }()
	go func() { e.srvErr <- gw.Serve(ln) }()
}

// stop closes the gateway, then the venue (idempotent).
func (e *env) stop() {
	if e.gw == nil {
		return
	}
	if err := e.gw.Close(); err != nil {
		e.t.Errorf("gateway Close: %v", err)
	}
	if err := <-e.srvErr; err != nil {
		e.t.Errorf("Serve: %v", err)
	}
	e.cancel()
	select {
	case err := <-e.runErr:
		if err != nil {
			e.t.Errorf("venue Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Error("venue did not stop")
	}
	e.gw = nil
}

// restart stops everything and starts again on the same data directory.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r *resp) str(k string) string {
	s, _ := r.json[k].(string)
	return s
}

// do sends a request; body may be a string (sent as is) or a value (sent
// as JSON). token "" sends no Authorization header.
func (e *env) do(method, path, token string, body any) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &resp{status: res.StatusCode, header: res.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r
}

// want checks the status, printing the body otherwise.
func (r *resp) want(t testing.TB, status int) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// wantProblem checks a problem response: status, content type, and that
// the detail and field say what they should.
func (r *resp) wantProblem(t testing.TB, status int, field string, detail ...string) *resp {
	t.Helper()
	r.want(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if int(r.json["status"].(float64)) != status || r.str("type") == "" || r.str("title") == "" {
		t.Errorf("problem lacks type/title/status: %s", r.body)
	}
	if r.str("field") != field {
		t.Errorf("field %q, want %q; body: %s", r.str("field"), field, r.body)
	}
	for _, d := range detail {
		if !strings.Contains(r.str("detail"), d) {
			t.Errorf("detail %q lacks %q", r.str("detail"), d)
		}
	}
	return r
}

const (
	tokA   = "demo-banka"
	tokB   = "demo-bankb"
	tokC   = "demo-bankc"
	tokReg = "demo-regulator"
)

// bookShows waits for GET /books/{code} to contain want. The book is
// built from the market's own feed of durable events, which runs beside
// the participant's: an order's answer does not wait for it, so a book
// read right after may be a moment behind (as market data is on any venue).
func (e *env) bookShows(t *testing.T, code, want string) {
	t.Helper()
	var last []byte
	if !checkFor(5*time.Second, func() bool {
		last = e.do("GET", "/api/v1/books/"+code, tokA, nil).want(t, http.StatusOK).body
		return strings.Contains(string(last), want)
	}) {
		t.Errorf("book %s: want %s, have %s", code, want, last)
	}
}

// orderShows waits until the order clid, as its owner (token) reads it,
// has the status want. A passive side's fill reaches its owner's feed
// after the aggressor's request has been answered: that feed, not the
// aggressor's, updates the owner's order table and credit usage (both
// under one lock, in one event), so a test reading the owner's credit
// waits here first.
func (e *env) orderShows(t *testing.T, token, clid, want string) {
	t.Helper()
	var last *resp
	if !checkFor(5*time.Second, func() bool {
		last = e.do("GET", "/api/v1/orders/"+clid, token, nil).want(t, http.StatusOK)
		return last.str("status") == want
	}) {
		t.Errorf("order %s: want status %s, have %s", clid, want, last.body)
	}
}

// checkFor polls cond until it holds or d passes.
func checkFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send sends a prepared request.
func (e *env) send(req *http.Request) *resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &resp{status: res.StatusCode, header: res.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r
}
