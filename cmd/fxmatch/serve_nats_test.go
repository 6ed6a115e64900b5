package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"fxmatch/gateway/bus"
	"fxmatch/gateway/wire"
)

// TestConfigNATSServer: the printed configuration is one nats-server
// reads, with every participant and the two internal users, the
// documented permissions, and only bcrypt hashes of the passwords.
func TestConfigNATSServer(t *testing.T) {
	dir := t.TempDir()
	vpw, apw := filepath.Join(dir, "v"), filepath.Join(dir, "a")
	os.WriteFile(vpw, []byte("venue-password-123\n"), 0o600)
	os.WriteFile(apw, []byte("assistant-password-456\n"), 0o600)
	code, out, errs := runCmd(t, "", "config", "nats-server", "--venue-password-file", vpw, "--assistant-password-file", apw, "--listen", "10.0.0.1:4222")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "venue-password-123") || strings.Contains(out, "assistant-password-456") {
		t.Fatal("a password appears in the output")
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats-server cannot read it: %v\n%s", err, out)
	}
	if opts.Host != "10.0.0.1" || opts.Port != 4222 {
		t.Errorf("listen %s:%d", opts.Host, opts.Port)
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	for _, id := range []string{"BANKA", "BANKB", "BANKC", "BROKER1", "REGULATOR", "venue", "assistant"} {
		if users[id] == nil {
			t.Fatalf("no user %s", id)
		}
	}
	if bcrypt.CompareHashAndPassword([]byte(users["venue"].Password), []byte("venue-password-123")) != nil ||
		bcrypt.CompareHashAndPassword([]byte(users["BANKA"].Password), []byte("demo")) != nil {
		t.Error("password hashes do not match")
	}
	a := users["BANKA"].Permissions
	if !slices.Equal(a.Publish.Allow, []string{"fxmatch.assistant.recommend", "fxmatch.assistant.chat"}) ||
		!slices.Contains(a.Subscribe.Allow, "fxmatch.exec.BANKA") || slices.Contains(a.Subscribe.Allow, "fxmatch.exec.>") ||
		!slices.Contains(a.Subscribe.Allow, "_INBOX.BANKA.>") {
		t.Errorf("BANKA's permissions: %+v %+v", a.Publish, a.Subscribe)
	}
	if !slices.Contains(users["REGULATOR"].Permissions.Subscribe.Allow, "fxmatch.exec.>") {
		t.Error("the regulator's drop copy of all is not granted")
	}

	code, _, errs = runCmd(t, "", "config", "nats-server", "--venue-password-file", vpw)
	if code != exitFail || !strings.Contains(errs, "--assistant-password-file") {
		t.Errorf("without the assistant's password: exit %d, %s", code, errs)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	code, _, errs = runCmd(t, "", "config", "nats-server", "--venue-password-file", short, "--assistant-password-file", apw)
	if code != exitFail || !strings.Contains(errs, "shorter than 12 characters") {
		t.Errorf("short password: exit %d, %s", code, errs)
	}
}

// TestServeFIXToNATS is the whole path in `fxmatch serve`: a FIX order of
// BANKA → venue → journal → hub → bus → the embedded NATS server → BANKA's
// own NATS connection over TCP (its execution event and the book), while
// BANKB's connection is refused BANKA's subject.
func TestServeFIXToNATS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := []string{"serve", "--data", t.TempDir(), "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--no-assistant"}
	go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errb) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("exit code %d; stderr:\n%s", code, errb.String())
		}
	}()
	if !checkFor(t, 15*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	fixAddr := regexp.MustCompile(`FIX 4\.4\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String())
	natsURL := regexp.MustCompile(`NATS\s+(nats://127\.0\.0\.1:\d+)\s+embedded`).FindStringSubmatch(out.String())
	if fixAddr == nil || natsURL == nil {
		t.Fatalf("banner without FIX or NATS address:\n%s", out.String())
	}

	a, err := nats.Connect(natsURL[1], nats.UserInfo("BANKA", "demo"), nats.CustomInboxPrefix(bus.InboxPrefix("BANKA")))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	execA, _ := a.SubscribeSync(bus.ExecSubject("BANKA"))
	md, _ := a.SubscribeSync(bus.MDSubject("USDCNY"))
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	denied := make(chan error, 1)
	b, err := nats.Connect(natsURL[1], nats.UserInfo("BANKB", "demo"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case denied <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, _ = b.SubscribeSync(bus.ExecSubject("BANKA"))
	select {
	case err := <-denied:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("BANKB's subscription to BANKA's executions: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BANKB's subscription to BANKA's executions was not refused")
	}

	f := dialFIX(t, fixAddr[1], "BANKA")
	defer f.c.Close()
	if err := f.send("D", "11=nats-1|55=USD/CNY|54=1|60="+time.Now().UTC().Format("20060102-15:04:05.000")+"|38=2000000|40=2|44=7.0950|59=1"); err != nil {
		t.Fatal(err)
	}
	m, err := execA.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no execution event on NATS after a FIX order: %v\nstderr:\n%s", err, errb.String())
	}
	var x wire.ExecEvent
	if err := json.Unmarshal(m.Data, &x); err != nil || x.Type != "accepted" || x.ClOrdID != "nats-1" || x.Price != "7.0950" || x.Qty != "2000000" || x.TIF != "gtc" {
		t.Fatalf("execution event %s: %v", m.Data, err)
	}
	for {
		m, err := md.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no book with the bid: %v", err)
		}
		var bk wire.Book
		if err := json.Unmarshal(m.Data, &bk); err != nil {
			t.Fatal(err)
		}
		if len(bk.Bids) > 0 && bk.Bids[0] == (wire.Level{Px: "7.0950", Qty: "2000000", Orders: 1}) {
			break
		}
	}
}
