package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"fxmatch/assistant/service"
	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/bus"
	"fxmatch/internal/natstest"
)

// fakeClock is a clock tests move by hand (the breaker's cooldown).
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testGate(t *testing.T, ns *server.Server, policy config.RiskPolicy, clock func() time.Time) *Gate {
	t.Helper()
	var opts service.Options
	cfg := config.Demo()
	if err := service.FromConfig(cfg, &opts); err != nil {
		t.Fatal(err)
	}
	return newGate(natstest.Connect(t, ns), policy, Options{Clock: clock}, cfg, opts.Instruments)
}

func policy(closed bool, deadline time.Duration) config.RiskPolicy {
	return config.RiskPolicy{Enabled: true, Review: 0.05, Block: 0.5, Deadline: deadline, FailClosed: closed}
}

var ids atomic.Int64

// newOrder is a USD/CNY limit order of BANKA (PartyID 1 in the demo).
func newOrder(qty engine.Qty, side engine.Side) *engine.Command {
	return &engine.Command{
		Kind: engine.CmdNewOrder, Party: 1, Instrument: 0, Side: side, OrdType: engine.Limit, TIF: engine.Day,
		Price: 710_100_000, Qty: qty, ClOrdID: engine.MustID(fmt.Sprintf("c%d", ids.Add(1))),
	}
}

var fix = venue.Origin{Channel: "fix", Source: "10.0.0.1:50123", Session: "BANKA"}

// alerts collects the alerts published about BANKA.
func alerts(t *testing.T, ns *server.Server) func() []service.Alert {
	nc := natstest.Connect(t, ns)
	var mu sync.Mutex
	var got []service.Alert
	if _, err := nc.Subscribe("fxmatch.risk.alerts.BANKA", func(m *nats.Msg) {
		var a service.Alert
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Errorf("alert %q: %v", m.Data, err)
		}
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	return func() []service.Alert {
		mu.Lock()
		defer mu.Unlock()
		return append([]service.Alert(nil), got...)
	}
}

func TestAssistantDownFailOpen(t *testing.T) {
	ns := natstest.Run(t)
	g := testGate(t, ns, policy(false, 50*time.Millisecond), nil)
	got := alerts(t, ns)
	cmd := newOrder(5_000_000, engine.Buy)
	if err := g.Screen(context.Background(), cmd, fix); err != nil {
		t.Fatalf("fail-open with no assistant: %v, want the order through", err)
	}
	natstest.CheckFor(t, 2*time.Second, func() error {
		a := got()
		if len(a) != 1 {
			return fmt.Errorf("%d alerts", len(a))
		}
		if a[0].Action != "unscored" || a[0].ClOrdID != cmd.ClOrdID.String() || a[0].Participant != "BANKA" ||
			len(a[0].Reasons) != 1 || !strings.Contains(a[0].Reasons[0], "scoring unavailable (no assistant is listening") {
			return fmt.Errorf("alert %+v", a[0])
		}
		return nil
	})
	if s := g.Stats(); s.Failed.Load() != 1 || s.Scored.Load() != 0 {
		t.Errorf("stats: failed %d scored %d", s.Failed.Load(), s.Scored.Load())
	}
}

func TestAssistantDownFailClosed(t *testing.T) {
	ns := natstest.Run(t)
	g := testGate(t, ns, policy(true, 50*time.Millisecond), nil)
	err := g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix)
	var block *venue.RiskBlock
	if !errors.As(err, &block) || !errors.Is(err, venue.ErrRiskBlocked) {
		t.Fatalf("fail-closed: %v, want a RiskBlock", err)
	}
	const want = "risk: scoring unavailable (no assistant is listening on fxmatch.assistant.score)"
	if err.Error() != want {
		t.Fatalf("text %q, want %q", err.Error(), want)
	}
}

// slowAssistant answers every score request after delay, counting them.
func slowAssistant(t *testing.T, ns *server.Server, delay time.Duration) *atomic.Int32 {
	nc := natstest.Connect(t, ns)
	var n atomic.Int32
	if _, err := nc.Subscribe(bus.AssistantScore, func(m *nats.Msg) {
		n.Add(1)
		go func() {
			time.Sleep(delay)
			m.Respond([]byte(`{"order_id":"x","score":0.01,"action":"allow","reasons":[]}`))
		}()
	}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	return &n
}

func TestDeadlineAndBreaker(t *testing.T) {
	ns := natstest.Run(t)
	asked := slowAssistant(t, ns, 2*time.Second)
	clk := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	const deadline = 20 * time.Millisecond
	g := testGate(t, ns, policy(true, deadline), clk.now)

	// Each order waits for the deadline, no longer, and is refused
	// (fail-closed) with the reason.
	for k := 0; k < breakerFailures; k++ {
		t0 := time.Now()
		err := g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix)
		took := time.Since(t0)
		if err == nil || !strings.Contains(err.Error(), "risk: scoring unavailable (no score within 20ms)") {
			t.Fatalf("order %d: %v", k, err)
		}
		if took < deadline || took > deadline+time.Second {
			t.Errorf("order %d waited %v with a %v deadline", k, took, deadline)
		}
	}
	// The breaker is open: the next orders are answered at once, without
	// asking.
	before := asked.Load()
	t0 := time.Now()
	for k := 0; k < 100; k++ {
		if err := g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix); err == nil ||
			!strings.Contains(err.Error(), "not asking again for a moment") {
			t.Fatalf("breaker open, order %d: %v", k, err)
		}
	}
	// Waiting for the deadline would take 100 × 20ms; the bound leaves a
	// shared CI machine room and still catches a single wait per order.
	if took := time.Since(t0); took > 100*deadline/4 {
		t.Errorf("100 orders with the breaker open took %v", took)
	}
	if asked.Load() != before {
		t.Errorf("the assistant was asked %d more times with the breaker open", asked.Load()-before)
	}
	if g.Stats().BreakerOpen.Load() != 1 {
		t.Errorf("breaker opened %d times", g.Stats().BreakerOpen.Load())
	}
	// After the cooldown one order probes (and fails again: still slow).
	clk.add(breakerCooldown)
	g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix)
	natstest.CheckFor(t, time.Second, func() error {
		if asked.Load() != before+1 {
			return fmt.Errorf("asked %d times after the cooldown, want one probe", asked.Load()-before)
		}
		return nil
	})
}

func TestContextDeadlineShortensTheWait(t *testing.T) {
	ns := natstest.Run(t)
	slowAssistant(t, ns, 3*time.Second)
	g := testGate(t, ns, policy(false, 10*time.Second), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := g.Screen(ctx, newOrder(5_000_000, engine.Buy), fix); err != nil {
		t.Fatalf("fail-open: %v", err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("waited %v past a 20ms context deadline", took)
	}
}

// TestPolicyWithTheRealAssistant: history makes 5M normal for BANKA; a
// huge order from a new source is blocked with the scorer's reasons; the
// breaker stays closed; a request the assistant refuses is not a breaker
// failure.
func TestPolicyWithTheRealAssistant(t *testing.T) {
	ns := natstest.Run(t)
	var opts service.Options
	if err := service.FromConfig(config.Demo(), &opts); err != nil {
		t.Fatal(err)
	}
	opts.Conn = natstest.Connect(t, ns)
	clk := &fakeClock{t: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	opts.Clock = clk.now
	svc, err := service.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	g := testGate(t, ns, policy(false, time.Second), clk.now)
	got := alerts(t, ns)
	for k := 0; k < 40; k++ {
		clk.add(10 * time.Minute)
		if err := g.Screen(context.Background(), newOrder(engine.Qty(4_000_000+100_000*(k%20)), engine.Buy), fix); err != nil {
			t.Fatalf("history order %d: %v", k, err)
		}
	}
	clk.add(5 * time.Minute)
	huge := newOrder(300_000_000, engine.Sell)
	huge.TIF = engine.IOC
	err = g.Screen(context.Background(), huge, venue.Origin{Channel: "fix", Source: "198.51.100.7:4000", Session: "BANKA"})
	var block *venue.RiskBlock
	if !errors.As(err, &block) || block.Score < 0.5 || len(block.Reasons) == 0 {
		t.Fatalf("takeover-like order: %v, want a block with reasons", err)
	}
	if !strings.HasPrefix(err.Error(), "risk: size ") || !strings.Contains(err.Error(), "198.51.100.7") {
		t.Errorf("block text %q: want the size reason first and the new source named", err.Error())
	}
	natstest.CheckFor(t, 2*time.Second, func() error {
		for _, a := range got() {
			if a.Action == "block" && a.ClOrdID == huge.ClOrdID.String() && a.Score >= 0.5 {
				return nil
			}
		}
		return fmt.Errorf("no block alert among %+v", got())
	})
	// A quantity of zero is refused by the assistant (400), which is not
	// a sign of a dead assistant.
	for k := 0; k < 2*breakerFailures; k++ {
		g.Screen(context.Background(), newOrder(0, engine.Buy), fix)
	}
	if err := g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix); err != nil {
		t.Fatalf("after refused requests: %v", err)
	}
	if s := g.Stats(); s.BreakerOpen.Load() != 0 || s.Blocked.Load() != 1 {
		t.Errorf("breaker opened %d times, blocked %d", s.BreakerOpen.Load(), s.Blocked.Load())
	}
}

func TestDisabledGateScoresNothing(t *testing.T) {
	ns := natstest.Run(t)
	asked := slowAssistant(t, ns, 0)
	p := policy(true, time.Second)
	p.Enabled = false
	g := testGate(t, ns, p, nil)
	if err := g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix); err != nil {
		t.Fatal(err)
	}
	if asked.Load() != 0 {
		t.Fatal("a disabled gate asked the assistant")
	}
}

// fixedAssistant answers every score request with body.
func fixedAssistant(t *testing.T, ns *server.Server, body string) {
	nc := natstest.Connect(t, ns)
	if _, err := nc.Subscribe(bus.AssistantScore, func(m *nats.Msg) { m.Respond([]byte(body)) }); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
}

// TestThresholds: the gate applies its own thresholds to the score, not
// the assistant's action: review trades and alerts, block refuses with
// the assistant's reasons, below review nothing is published.
func TestThresholds(t *testing.T) {
	for _, c := range []struct {
		score  string
		action string // alert action, "" for none
		block  bool
	}{
		{"0.01", "", false},
		{"0.2", "review", false},
		{"0.7", "block", true},
	} {
		ns := natstest.Run(t)
		fixedAssistant(t, ns, `{"order_id":"x","score":`+c.score+`,"action":"allow","reasons":["reason one","reason two"]}`)
		g := testGate(t, ns, config.RiskPolicy{Enabled: true, Review: 0.1, Block: 0.6, Deadline: time.Second}, nil)
		got := alerts(t, ns)
		cmd := newOrder(5_000_000, engine.Buy)
		err := g.Screen(context.Background(), cmd, fix)
		if c.block {
			if err == nil || err.Error() != "risk: reason one; reason two" {
				t.Errorf("score %s: %v, want a block with the assistant's reasons", c.score, err)
			}
		} else if err != nil {
			t.Errorf("score %s: %v, want the order through", c.score, err)
		}
		if c.action == "" {
			time.Sleep(50 * time.Millisecond)
			if a := got(); len(a) != 0 {
				t.Errorf("score %s: alerts %+v, want none", c.score, a)
			}
			continue
		}
		natstest.CheckFor(t, 2*time.Second, func() error {
			a := got()
			if len(a) != 1 || a[0].Action != c.action || a[0].ClOrdID != cmd.ClOrdID.String() || a[0].Symbol != "USD/CNY" || len(a[0].Reasons) != 2 {
				return fmt.Errorf("score %s: alerts %+v, want one %s", c.score, a, c.action)
			}
			return nil
		})
	}
}

// TestAssistantErrorIsAFailure: an error answer other than a refused
// request (a 500) is a failure of scoring, under the policy.
func TestAssistantErrorIsAFailure(t *testing.T) {
	ns := natstest.Run(t)
	nc := natstest.Connect(t, ns)
	nc.Subscribe(bus.AssistantScore, func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set("Nats-Service-Error-Code", "500")
		r.Header.Set("Nats-Service-Error", "boom")
		m.RespondMsg(r)
	})
	nc.Flush()
	g := testGate(t, ns, policy(true, time.Second), nil)
	err := g.Screen(context.Background(), newOrder(5_000_000, engine.Buy), fix)
	if err == nil || err.Error() != "risk: scoring unavailable (assistant error 500: boom)" {
		t.Fatalf("%v", err)
	}
}
