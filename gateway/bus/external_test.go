package bus

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub/hubtest"
)

var (
	natsServerOnce sync.Once
	natsServerBin  string
	natsServerErr  error
)

// natsServerBinary builds the real nats-server (the module's own main
// package, the version go.mod pins) once per test binary.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsServerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fxmatch-nats-server")
		if err != nil {
			natsServerErr = err
			return
		}
		natsServerBin = filepath.Join(dir, "nats-server")
		out, err := exec.Command("go", "build", "-o", natsServerBin, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsServerErr = fmt.Errorf("go build nats-server: %v\n%s", err, out)
		}
	})
	if natsServerErr != nil {
		t.Fatal(natsServerErr)
	}
	return natsServerBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if natsServerBin != "" {
		os.RemoveAll(filepath.Dir(natsServerBin))
	}
	os.Exit(code)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// natsProcess is a nats-server process.
type natsProcess struct {
	cmd  *exec.Cmd
	addr string
}

func startNATSProcess(t *testing.T, bin, conf, addr string) *natsProcess {
	t.Helper()
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if !testing.Verbose() {
		cmd.Stdout, cmd.Stderr = nil, nil
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &natsProcess{cmd: cmd, addr: addr}
	t.Cleanup(p.kill)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return p
}

func (p *natsProcess) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// TestExternalServer runs the venue against a real nats-server process
// configured with ServerConfig's output: the venue starts while the server
// is still down, connects when it comes up, participants get their events
// through it, the server is killed mid-run and the venue keeps matching
// (events dropped from the bus and counted), and the bus reconnects when
// the server is back.
func TestExternalServer(t *testing.T) {
	bin := natsServerBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const venuePW, assistantPW = "venue-s3cret-pw", "assistant-s3cret-pw"
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg := demoConfig()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, ServerConfig(cfg, addr, "venue", hash(venuePW), "assistant", hash(assistantPW)), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "venue-pw")
	if err := os.WriteFile(pwFile, []byte(venuePW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	asPWFile := filepath.Join(dir, "assistant-pw")
	if err := os.WriteFile(asPWFile, []byte(assistantPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.NATS = config.NATS{URL: "nats://" + addr, User: "venue", PasswordFile: pwFile, AssistantUser: "assistant", AssistantPasswordFile: asPWFile}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	v := openVenue(t, cfg)

	// The server is down: the venue starts anyway and keeps trying.
	b, err := Start(context.Background(), v, cfg, Options{ReconnectBuffer: -1, ConnectTimeout: time.Second, Logger: tlog(t)})
	if err != nil {
		t.Fatalf("Start with the server down: %v", err)
	}
	defer b.Close()
	if b.Embedded() || b.ClientURL() != "nats://"+addr || b.Stats().Connected {
		t.Fatalf("external bus: embedded %v url %q stats %+v", b.Embedded(), b.ClientURL(), b.Stats())
	}
	stop := run(t, v)
	defer stop()
	srv := startNATSProcess(t, bin, conf, addr)
	checkFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		if !b.Stats().Connected {
			return fmt.Errorf("the venue has not connected to %s", addr)
		}
		return nil
	})

	// Wrong credentials are refused at start, with the URL named.
	bad := *cfg
	badPW := filepath.Join(dir, "bad-pw")
	_ = os.WriteFile(badPW, []byte("nope\n"), 0o600)
	bad.NATS.PasswordFile = badPW
	if b2, err := Start(context.Background(), v, &bad, Options{Logger: tlog(t)}); err == nil || !strings.Contains(err.Error(), "refused the venue's credentials") || !strings.Contains(err.Error(), addr) {
		if b2 != nil {
			b2.Close()
		}
		t.Fatalf("Start with a wrong password: %v", err)
	}

	usdcny, _ := v.Instrument("USD/CNY")
	pa := party(t, cfg, "BANKA")
	a := mustConnect(t, "nats://"+addr, "BANKA", config.DemoPassword, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	execA, _ := a.SubscribeSync(ExecSubject("BANKA"))
	_ = a.Flush()
	_, _ = a.SubscribeSync(ExecSubject("BANKB"))
	a.waitErr(t, `permissions violation for subscription to "fxmatch.exec.BANKB"`)
	if err := v.Submit(limit(pa, usdcny, "before", engine.Buy, 100_000, 700_000_000)); err != nil {
		t.Fatal(err)
	}
	if x := nextExec(t, execA); x.ClOrdID != "before" || x.Type != "accepted" {
		t.Fatalf("through the external server: %+v", x)
	}

	// Kill the server: matching goes on, acknowledged through the hub.
	hs, err := v.Hub().SubscribeParty(pa, 1024)
	if err != nil {
		t.Fatal(err)
	}
	hubA := hubtest.New(hs)
	srv.kill()
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if b.Stats().Connected {
			return fmt.Errorf("the bus still reports a connection")
		}
		return nil
	})
	dropped := b.Stats().Dropped
	for i := range 20 {
		clid := fmt.Sprintf("down%d", i)
		if err := v.Submit(limit(pa, usdcny, clid, engine.Buy, 100_000, 700_000_000)); err != nil {
			t.Fatal(err)
		}
		ev, err := hubA.Next(5 * time.Second)
		if err != nil {
			t.Fatalf("order %s not acknowledged while NATS is down: %v", clid, err)
		}
		if ev.Kind != engine.EvAccepted || ev.ClOrdID.String() != clid {
			t.Fatalf("while NATS is down: %+v", ev)
		}
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if d := b.Stats().Dropped; d < dropped+20 {
			return fmt.Errorf("dropped %d, want at least %d (20 orders, an exec event and a book each)", d, dropped+20)
		}
		return nil
	})

	// The server comes back on the same address: the bus reconnects and
	// publishes again.
	startNATSProcess(t, bin, conf, addr)
	checkFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		if !b.Stats().Connected || !a.IsConnected() {
			return fmt.Errorf("not reconnected yet (venue %v, BANKA %v)", b.Stats().Connected, a.IsConnected())
		}
		return nil
	})
	_ = a.Flush()
	if err := v.Submit(limit(pa, usdcny, "after", engine.Buy, 100_000, 700_000_000)); err != nil {
		t.Fatal(err)
	}
	for {
		x := nextExec(t, execA)
		if strings.HasPrefix(x.ClOrdID, "down") {
			t.Fatalf("an event published while NATS was down arrived later, though the reconnect buffer is off: %+v", x)
		}
		if x.ClOrdID == "after" {
			break
		}
	}
	// The in-process assistant connects as the assistant's user, which
	// may serve requests but not publish execution events.
	as, err := b.AssistantConnect()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	if _, err := as.Subscribe(AssistantChat, func(m *nats.Msg) { _ = m.Respond([]byte(`{}`)) }); err != nil {
		t.Fatal(err)
	}
	_ = as.Flush()
	if _, err := a.Request(AssistantChat, []byte(`{"text":"x"}`), 5*time.Second); err != nil {
		t.Fatalf("chat through the external server: %v", err)
	}
	_ = as.Publish(ExecSubject("BANKA"), []byte(`{}`))
	_ = as.Flush()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if err := as.LastError(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			return fmt.Errorf("the assistant's user published an execution event unopposed (%v)", err)
		}
		return nil
	})

	// Without assistant credentials the in-process assistant is refused
	// by the bus, not connected as the venue.
	noAs := *cfg
	noAs.NATS.AssistantUser, noAs.NATS.AssistantPasswordFile = "", ""
	b3, err := Start(context.Background(), v, &noAs, Options{Logger: tlog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b3.Close()
	if _, err := b3.AssistantConnect(); err == nil || !strings.Contains(err.Error(), "assistant_user") {
		t.Fatalf("AssistantConnect without assistant credentials: %v", err)
	}
}
