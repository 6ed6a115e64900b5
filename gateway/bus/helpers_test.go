package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/gateway/wire"
)

// tlog sends the bus's and the server's log lines to the test's log, so
// they show only for a failing test or with -v (the permission tests make
// the server log every violation).
func tlog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// checkFor polls f until it returns nil or the time is up (nats-server's
// habit: no sleeps standing in for synchronisation).
func checkFor(t testing.TB, total, every time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(every)
	}
	t.Fatalf("after %s: %v", total, err)
}

type testVenue struct {
	v    *venue.Venue
	cfg  *config.Config
	stop func()
}

// openVenue opens a venue on a fresh data directory; run starts it.
func openVenue(t testing.TB, cfg *config.Config) *venue.Venue {
	t.Helper()
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: t.TempDir(), Logger: tlog(t)})
	if err != nil {
		t.Fatalf("venue.Open: %v", err)
	}
	return v
}

// run runs v until the returned function is called, which returns once
// Run has.
func run(t testing.TB, v *venue.Venue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("venue.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// runningBus is a bus (opts, with the test's logger and no periodic
// book refresh) on a running demo venue; both stop at the test's end.
func runningBus(t *testing.T, opts Options) (*config.Config, *venue.Venue, *Bus) {
	t.Helper()
	cfg := demoConfig()
	v := openVenue(t, cfg)
	opts.Logger, opts.BookRefresh = tlog(t), -1
	b, err := Start(context.Background(), v, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, v)
	t.Cleanup(func() { stop(); b.Close() })
	return cfg, v, b
}

func demoConfig() *config.Config {
	cfg := config.Demo()
	cfg.Listen.NATS = "127.0.0.1:0"
	return cfg
}

func party(t testing.TB, cfg *config.Config, id string) engine.PartyID {
	p, ok := cfg.PartyID(id)
	if !ok {
		t.Fatalf("no participant %s", id)
	}
	return p
}

func limit(p engine.PartyID, inst engine.InstrumentID, clid string, side engine.Side, qty engine.Qty, px engine.Price) *engine.Command {
	return &engine.Command{Kind: engine.CmdNewOrder, Party: p, Instrument: inst, ClOrdID: engine.MustID(clid),
		Side: side, OrdType: engine.Limit, TIF: engine.GTC, Qty: qty, Price: px}
}

// client is a participant's NATS connection that records the asynchronous
// errors the server sends it (permission violations).
type client struct {
	*nats.Conn
	mu   sync.Mutex
	errs []string
}

func (c *client) asyncErrs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.errs, "\n")
}

// waitErr waits for an asynchronous error containing want.
func (c *client) waitErr(t testing.TB, want string) {
	t.Helper()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if s := c.asyncErrs(); !strings.Contains(strings.ToLower(s), strings.ToLower(want)) {
			return fmt.Errorf("no asynchronous error %q yet (have %q)", want, s)
		}
		return nil
	})
}

func connect(t testing.TB, url, user, password string, opts ...nats.Option) (*client, error) {
	c := &client{}
	all := []nats.Option{
		nats.UserInfo(user, password),
		nats.CustomInboxPrefix(InboxPrefix(user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.errs = append(c.errs, err.Error())
			c.mu.Unlock()
		}),
		nats.Timeout(5 * time.Second),
	}
	nc, err := nats.Connect(url, append(all, opts...)...)
	if err != nil {
		return nil, err
	}
	c.Conn = nc
	t.Cleanup(nc.Close)
	return c, nil
}

func mustConnect(t testing.TB, url, user, password string, opts ...nats.Option) *client {
	t.Helper()
	c, err := connect(t, url, user, password, opts...)
	if err != nil {
		t.Fatalf("connect %s as %s: %v", url, user, err)
	}
	return c
}

// nextExec reads the next ExecEvent from a subscription.
func nextExec(t testing.TB, s *nats.Subscription) wire.ExecEvent {
	t.Helper()
	m, err := s.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("%s: %v", s.Subject, err)
	}
	var x wire.ExecEvent
	if err := json.Unmarshal(m.Data, &x); err != nil {
		t.Fatalf("%s: %s: %v", s.Subject, m.Data, err)
	}
	return x
}

// nextBook reads books from a subscription until one satisfies ok.
func waitBook(t testing.TB, s *nats.Subscription, ok func(wire.Book) bool) wire.Book {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last wire.Book
	for time.Now().Before(deadline) {
		m, err := s.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		if err := json.Unmarshal(m.Data, &last); err != nil {
			t.Fatalf("%s: %s: %v", s.Subject, m.Data, err)
		}
		if ok(last) {
			return last
		}
	}
	t.Fatalf("%s: no matching book; last %+v", s.Subject, last)
	return last
}
