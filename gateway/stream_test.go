package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"fxmatch/config"
)

// wsClient is a test's WebSocket connection.
type wsClient struct {
	c   *websocket.Conn
	buf []string // messages read but not yet expected
}

// dialWS connects; mode "" sends the token in the header, "query" as
// ?token=, "message" as the first message.
func (e *env) dialWS(t *testing.T, token, mode string) *wsClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(e.base, "http") + "/api/v1/stream"
	var opts websocket.DialOptions
	switch mode {
	case "":
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	case "query":
		u += "?token=" + token
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, u, &opts)
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, res)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	w := &wsClient{c: c}
	if mode == "message" {
		w.write(t, map[string]any{"op": "auth", "token": token})
		w.expect(t, "authenticated")
	}
	return w
}

func (w *wsClient) write(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("ws write: %v", err)
	}
}

func (w *wsClient) read(t *testing.T, d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	return string(b), err
}

// expect returns the first message of the channel containing every want.
// Messages of other channels read meanwhile are kept for later expects
// (frames of different channels may arrive in either order: a conflated
// book can overtake the trade that caused it); messages of this channel
// that do not match are skipped.
func (w *wsClient) expect(t *testing.T, channel string, want ...string) string {
	t.Helper()
	prefix := `{"channel":"` + channel + `"`
	matches := func(m string) bool {
		if !strings.HasPrefix(m, prefix) {
			return false
		}
		for _, s := range want {
			if !strings.Contains(m, s) {
				return false
			}
		}
		return true
	}
	var seen []string
	kept := w.buf[:0:0]
	found := ""
	for i, m := range w.buf {
		if found == "" && matches(m) {
			found = m
			kept = append(kept, w.buf[i+1:]...)
			break
		}
		seen = append(seen, m)
		if !strings.HasPrefix(m, prefix) {
			kept = append(kept, m)
		}
	}
	w.buf = kept
	if found != "" {
		return found
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m, err := w.read(t, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %s %q: %v; seen:\n%s", channel, want, err, strings.Join(seen, "\n"))
		}
		seen = append(seen, m)
		if matches(m) {
			return m
		}
		if !strings.HasPrefix(m, prefix) {
			w.buf = append(w.buf, m)
		}
	}
	t.Fatalf("no %s message with %q; seen:\n%s", channel, want, strings.Join(seen, "\n"))
	return ""
}

func (w *wsClient) subscribe(t *testing.T, channel, sym string) {
	t.Helper()
	m := map[string]any{"op": "subscribe", "channel": channel}
	if sym != "" {
		m["symbol"] = sym
	}
	w.write(t, m)
	w.expect(t, "subscribed", `"subscribed":"`+channel+`"`)
}

func TestStreamAuth(t *testing.T) {
	e := newEnv(t)
	for _, mode := range []string{"", "query", "message"} {
		w := e.dialWS(t, tokA, mode)
		w.subscribe(t, "book", "USDCNY")
		w.expect(t, "book", `"symbol":"USD/CNY"`)
	}
	// A bad token in the header or the query: 401 before the upgrade.
	for _, u := range []string{"/api/v1/stream?token=nope", "/api/v1/stream"} {
		tok := ""
		if !strings.Contains(u, "?") {
			tok = "nope"
		}
		e.do("GET", u, tok, nil).wantProblem(t, http.StatusUnauthorized, "", "not valid")
	}
	// A bad token in the first message: closed with the reason.
	u := "ws" + strings.TrimPrefix(e.base, "http") + "/api/v1/stream"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"op":"auth","token":"demo-nobody"}`))
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != closeAuthError {
		t.Errorf("bad first-message token: %v", err)
	}
	// No message at all: a subscribe first is refused too.
	c2, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	c2.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribe","channel":"exec"}`))
	if _, _, err = c2.Read(ctx); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "authenticate first") {
		t.Errorf("subscribe before auth: %v", err)
	}
}

func TestStreamErrors(t *testing.T) {
	e := newEnv(t)
	w := e.dialWS(t, tokA, "")
	for _, tc := range []struct {
		msg  string
		want string
	}{
		{`{"op":"subscribe","channel":"weather"}`, `unknown channel \"weather\"`},
		{`{"op":"subscribe","channel":"book","symbol":"GBPUSD"}`, `needs a symbol the venue lists`},
		{`{"op":"subscribe","channel":"exec","symbol":"USDCNY"}`, `takes no symbol`},
		{`{"op":"subscribe","channel":"quotes","symbol":"USDCNY"}`, `not available: the venue runs without its message bus`},
		{`{"op":"subscribe","channel":"alerts"}`, `not available`},
		{`{"op":"dance"}`, `unknown op \"dance\"`},
		{`{"op":"subscribe","colour":"red"}`, `unknown member \"colour\"`},
		{`{"op":"subscribe","channel":5}`, `channel must be a string`},
		{`not json`, `must be a JSON object`},
		{`{"op":"unsubscribe","channel":"trades","symbol":"USDCNY"}`, `not subscribed to trades USD/CNY`},
	} {
		if err := w.c.Write(context.Background(), websocket.MessageText, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		w.expect(t, "error", tc.want)
	}
	w.subscribe(t, "trades", "USD/CNY")
	w.write(t, map[string]any{"op": "subscribe", "channel": "trades", "symbol": "USDCNY"})
	w.expect(t, "error", "already subscribed")
	w.write(t, map[string]any{"op": "unsubscribe", "channel": "trades", "symbol": "USDCNY"})
	w.expect(t, "unsubscribed", `"symbol":"USD/CNY"`)
}

// TestStreamExecIsOwn: a participant's exec channel carries only its own
// events.
func TestStreamExecIsOwn(t *testing.T) {
	e := newEnv(t)
	wB := e.dialWS(t, tokB, "")
	wB.subscribe(t, "exec", "")
	e.do("POST", "/api/v1/orders", tokA, order("mine", "USD/CNY", "buy", "1000000", "7.0500")).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/orders", tokB, order("b-own", "USD/CNY", "buy", "1000000", "7.0400")).want(t, http.StatusCreated)
	m := wB.expect(t, "exec")
	if !strings.Contains(m, `"cl_ord_id":"b-own"`) || strings.Contains(m, "mine") {
		t.Errorf("B's first exec message: %s", m)
	}
}

// TestSlowConsumer: a connection whose queue is full is dropped with the
// reason, without blocking the sender.
func TestSlowConsumer(t *testing.T) {
	c := &wsConn{out: make(chan []byte, 2), gone: make(chan struct{})}
	var ss streamSet
	ss.init()
	ss.add(chBook, c)
	done := make(chan struct{})
	go func() {
		for range 5 {
			ss.send(chBook, []byte("{}"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("send blocked on a full queue")
	}
	select {
	case <-c.gone:
	default:
		t.Fatal("a full queue did not drop the connection")
	}
	if c.code != websocket.StatusPolicyViolation || c.reason != slowConsumer {
		t.Errorf("dropped with %v %q", c.code, c.reason)
	}
}

// TestBookConflation: a connection holds only the latest unsent book of
// each instrument.
func TestBookConflation(t *testing.T) {
	c := &wsConn{out: make(chan []byte, 2), gone: make(chan struct{}), bookSig: make(chan struct{}, 1)}
	for _, m := range []string{"b1", "b2", "b3"} {
		c.sendBook(0, []byte(m))
	}
	c.sendBook(1, []byte("other"))
	got := c.takeBooks()
	if len(got) != 2 || string(got[0]) != "b3" || string(got[1]) != "other" {
		t.Errorf("pending books %v", got)
	}
	if c.takeBooks() != nil {
		t.Error("books were taken twice")
	}
	select {
	case <-c.gone:
		t.Error("conflated books dropped the connection")
	default:
	}
}

func TestStreamsPerParticipant(t *testing.T) {
	e := newEnv(t, func(_ *config.Config, o *Options) { o.StreamsPerParticipant = 2 })
	e.dialWS(t, tokA, "")
	w := e.dialWS(t, tokA, "query")
	e.do("GET", "/api/v1/stream", tokA, nil).wantProblem(t, http.StatusTooManyRequests, "", "BANKA has 2 streams open already")
	e.dialWS(t, tokB, "")
	// A closed stream frees its place.
	w.c.Close(websocket.StatusNormalClosure, "")
	if !checkFor(5*time.Second, func() bool { return e.gw.parties[1].conns.Load() == 1 }) {
		t.Fatalf("open streams of BANKA: %d", e.gw.parties[1].conns.Load())
	}
	e.dialWS(t, tokA, "message")
}
