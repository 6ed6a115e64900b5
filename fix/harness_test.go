package fix_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/fix"
	"fxmatch/internal/syncbuf"
)

// The end-to-end tests drive the venue with qfclient, a scripted QuickFIX
// C++ initiator (testdata/qfclient): an independent FIX engine, so the
// session layer on the other side of the wire is not quickfixgo's, and it
// validates everything the venue sends against the venue's published
// dictionary.

var qfclientPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("FIX_STORE_CHILD") != "" {
		return m.Run() // a child process of TestStoreSurvivesSIGKILL
	}
	dir, err := os.MkdirTemp("", "qfclient")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "qfclient")
	cmd := exec.Command("g++", "-std=gnu++14", "-O1", "-o", bin, "testdata/qfclient/qfclient.cpp", "-lquickfix", "-lpthread")
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("\n*** fix: cannot build the QuickFIX C++ test client (%v):\n%s\n*** The end-to-end FIX tests are SKIPPED. Install g++ and libquickfix-dev (Debian) to run them.\n", err, out)
		if os.Getenv("FXMATCH_REQUIRE_QUICKFIX") == "1" {
			fmt.Fprint(os.Stderr, msg+"*** FXMATCH_REQUIRE_QUICKFIX=1: failing.\n")
			return 1
		}
		fmt.Fprint(os.Stderr, msg)
	} else {
		qfclientPath = bin
	}
	return m.Run()
}

func needQuickFIX(t testing.TB) {
	t.Helper()
	if qfclientPath == "" {
		t.Skip("QuickFIX C++ test client not built (see TestMain's message)")
	}
}

// syncBuf is a log sink the tests can read while the code writes it.
type syncBuf = syncbuf.Buffer

// env is a running venue with its FIX acceptor.
type env struct {
	t      testing.TB
	dir    string
	cfg    *config.Config
	logs   *syncBuf
	log    *slog.Logger
	v      *venue.Venue
	a      *fix.Acceptor
	fopts  fix.Options
	cancel context.CancelFunc
	runErr chan error
}

type envOpt func(*config.Config, *fix.Options)

// newEnv starts the demo venue (changed by opts) on a fresh data dir.
func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), cfg: config.Demo(), logs: &syncBuf{}}
	e.cfg.Venue.Durability = config.DurabilityNone // the restart test uses sync
	for _, o := range opts {
		o(e.cfg, &e.fopts)
	}
	e.log = slog.New(slog.NewTextHandler(io.MultiWriter(e.logs, logSink()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.start2("127.0.0.1:0")
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("venue log:\n%s", e.logs.String())
		}
	})
	return e
}

func logSink() io.Writer {
	if os.Getenv("FIX_TEST_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}

// start2 opens the venue on the env's data dir and starts the acceptor
// on addr.
func (e *env) start2(addr string) {
	e.t.Helper()
	v, err := venue.Open(venue.Options{Config: e.cfg, DataDir: e.dir, Logger: e.log})
	if err != nil {
		e.t.Fatalf("venue.Open: %v", err)
	}
	fo := e.fopts
	fo.DataDir = e.dir
	fo.Logger = e.log
	a, err := fix.Start(context.Background(), v, addr, fo)
	if err != nil {
		e.t.Fatalf("fix.Start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.v, e.a, e.cancel, e.runErr = v, a, cancel, make(chan error, 1)
	go func() { e.runErr <- v.Run(ctx) }()
}

// stop stops the acceptor, then the venue (idempotent).
func (e *env) stop() {
	if e.a == nil {
		return
	}
	if err := e.a.Close(); err != nil {
		e.t.Errorf("acceptor Close: %v", err)
	}
	e.cancel()
	select {
	case err := <-e.runErr:
		if err != nil {
			e.t.Errorf("venue Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Errorf("venue did not stop")
	}
	e.a = nil
}

func (e *env) port() string {
	_, p, _ := strings.Cut(e.a.Addr().String(), ":")
	return p[strings.LastIndexByte(p, ':')+1:]
}

// msg is a FIX message as qfclient printed it.
type msg struct {
	raw    string
	fields [][2]string
}

func parseMsg(s string) *msg {
	m := &msg{raw: s}
	for _, f := range strings.Split(s, "|") {
		if k, v, ok := strings.Cut(f, "="); ok {
			m.fields = append(m.fields, [2]string{k, v})
		}
	}
	return m
}

func (m *msg) get(tag string) string {
	for _, f := range m.fields {
		if f[0] == tag {
			return f[1]
		}
	}
	return ""
}

func (m *msg) has(tag string) bool {
	for _, f := range m.fields {
		if f[0] == tag {
			return true
		}
	}
	return false
}

func (m *msg) all(tag string) []string {
	var out []string
	for _, f := range m.fields {
		if f[0] == tag {
			out = append(out, f[1])
		}
	}
	return out
}

func (m *msg) typ() string { return m.get("35") }

// is reports whether m has every tag=value of want ("35=8|150=0|11=a").
func (m *msg) is(want string) bool {
	for _, f := range strings.Split(want, "|") {
		k, v, _ := strings.Cut(f, "=")
		if m.get(k) != v {
			return false
		}
	}
	return true
}

func (m *msg) String() string { return m.raw }

// client is one qfclient process: one participant's FIX session.
type client struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	store string

	mu      sync.Mutex
	cond    *sync.Cond
	recv    []*msg
	taken   []bool
	events  []string // logon, logout, error …
	lines   []string
	exited  bool
	exitErr error
}

type clientOpt struct {
	password string
	store    string   // reuse a store dir (sequence numbers)
	settings []string // extra QuickFIX settings
	noWait   bool     // do not wait for the logon
}

// client starts qfclient for participant name and waits for its logon.
func (e *env) client(name string, opts ...func(*clientOpt)) *client {
	e.t.Helper()
	needQuickFIX(e.t)
	o := clientOpt{password: config.DemoPassword}
	for _, f := range opts {
		f(&o)
	}
	if o.store == "" {
		o.store = e.t.TempDir()
	}
	args := []string{"127.0.0.1", e.port(), name, o.password, o.store, "spec/FIX44-fxmatch.xml"}
	args = append(args, o.settings...)
	c := &client{t: e.t, name: name, store: o.store}
	c.cond = sync.NewCond(&c.mu)
	c.cmd = exec.Command(qfclientPath, args...)
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		e.t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go c.read(stdout)
	e.t.Cleanup(func() {
		c.kill() // quit waits up to a second for QuickFIX's threads
		if e.t.Failed() {
			c.mu.Lock()
			e.t.Logf("qfclient %s output:\n%s", c.name, strings.Join(c.lines, "\n"))
			c.mu.Unlock()
		}
	})
	if !o.noWait {
		c.waitEvent("logon", 10*time.Second)
	}
	return c
}

func withPassword(pw string) func(*clientOpt) { return func(o *clientOpt) { o.password = pw } }
func withStore(dir string) func(*clientOpt)   { return func(o *clientOpt) { o.store = dir } }
func withSettings(kv ...string) func(*clientOpt) {
	return func(o *clientOpt) { o.settings = append(o.settings, kv...) }
}
func noWait() func(*clientOpt) { return func(o *clientOpt) { o.noWait = true } }

func (c *client) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		c.mu.Lock()
		c.lines = append(c.lines, line)
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "recv":
			c.recv = append(c.recv, parseMsg(rest))
			c.taken = append(c.taken, false)
		case "sent":
		default:
			c.events = append(c.events, line)
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
	err := c.cmd.Wait()
	c.mu.Lock()
	c.exited, c.exitErr = true, err
	c.cond.Broadcast()
	c.mu.Unlock()
}

// waitFor waits until cond (called under the lock) is true or the
// deadline passes, waking on every line and every 50 ms.
func (c *client) waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				c.mu.Lock()
				c.cond.Broadcast()
				c.mu.Unlock()
			}
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		c.cond.Wait()
	}
	return true
}

// waitEvent waits for an event line starting with prefix (logon, logout,
// error …) that has not been waited for yet.
func (c *client) waitEvent(prefix string, d time.Duration) string {
	c.t.Helper()
	var got string
	if !c.waitFor(d, func() bool {
		for i, ev := range c.events {
			if strings.HasPrefix(ev, prefix) {
				got = ev
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				return true
			}
		}
		return false
	}) {
		c.mu.Lock()
		evs := strings.Join(c.events, "; ")
		c.mu.Unlock()
		c.t.Fatalf("%s: no %q event within %v (events: %s)", c.name, prefix, d, evs)
	}
	return got
}

// expect waits for a received message that has every tag=value of want
// and has not been returned before; it returns it.
func (c *client) expect(want string) *msg {
	c.t.Helper()
	return c.expectWithin(want, 10*time.Second)
}

func (c *client) expectWithin(want string, d time.Duration) *msg {
	c.t.Helper()
	return c.expectFunc(want, d, func(m *msg) bool { return m.is(want) })
}

// expectEntry waits for a message with want that also contains every
// substring of entries in its raw text ("279=0|269=2|270=7.1100"), for
// repeating groups, where get sees only the first entry.
func (c *client) expectEntry(want string, entries ...string) *msg {
	c.t.Helper()
	desc := want + " containing " + strings.Join(entries, " and ")
	return c.expectFunc(desc, 10*time.Second, func(m *msg) bool {
		if !m.is(want) {
			return false
		}
		for _, e := range entries {
			if !strings.Contains(m.raw, "|"+e+"|") {
				return false
			}
		}
		return true
	})
}

func (c *client) expectFunc(want string, d time.Duration, pred func(*msg) bool) *msg {
	c.t.Helper()
	var got *msg
	if !c.waitFor(d, func() bool {
		for i, m := range c.recv {
			if !c.taken[i] && pred(m) {
				c.taken[i] = true
				got = m
				return true
			}
		}
		return false
	}) {
		c.t.Fatalf("%s: no message with %s within %v; received:\n%s", c.name, want, d, c.dump())
	}
	return got
}

// none checks that no message with want arrives within d.
func (c *client) none(want string, d time.Duration) {
	c.t.Helper()
	if c.waitFor(d, func() bool {
		for i, m := range c.recv {
			if !c.taken[i] && m.is(want) {
				return true
			}
		}
		return false
	}) {
		c.t.Fatalf("%s: unexpected message with %s; received:\n%s", c.name, want, c.dump())
	}
}

func (c *client) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for i, m := range c.recv {
		mark := " "
		if c.taken[i] {
			mark = "x"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, m.raw)
	}
	if len(c.events) > 0 {
		fmt.Fprintf(&b, "  events: %s\n", strings.Join(c.events, "; "))
	}
	return b.String()
}

func (c *client) send(fields string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, "send "+fields+"\n"); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

func (c *client) logout() {
	_, _ = io.WriteString(c.stdin, "logout\n")
}

// quit stops the process and waits for it.
func (c *client) quit() {
	_, _ = io.WriteString(c.stdin, "quit\n")
	_ = c.stdin.Close()
	if !c.waitFor(5*time.Second, func() bool { return c.exited }) {
		_ = c.cmd.Process.Kill()
		c.waitFor(5*time.Second, func() bool { return c.exited })
	}
}

// kill ends the process at once, without a logout.
func (c *client) kill() {
	_ = c.cmd.Process.Kill()
	c.waitFor(5*time.Second, func() bool { return c.exited })
}

// now is a TransactTime for messages.
func now() string { return time.Now().UTC().Format("20060102-15:04:05.000") }

// nos is a NewOrderSingle: "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000" plus
// the ClOrdID and TransactTime.
func nos(clOrdID, rest string) string {
	return "35=D|11=" + clOrdID + "|60=" + now() + "|" + rest
}

// smallRecvBuf shrinks a test socket's receive buffer before it connects,
// so a client that stops reading backs the venue up quickly.
func smallRecvBuf(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return serr
}
