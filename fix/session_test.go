package fix_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/fix"
)

// Section 6: malformed messages get a session Reject(3) with 45, 371 and
// 373; unsupported message types a BusinessMessageReject 380=3; garbage
// on a raw socket stops neither the venue nor other sessions.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	seqOf := func(id string) string {
		t.Helper()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, l := range a.lines {
			if strings.HasPrefix(l, "sent ") && strings.Contains(l, "|11="+id+"|") {
				return parseMsg(strings.TrimPrefix(l, "sent ")).get("34")
			}
		}
		t.Fatalf("did not send %s", id)
		return ""
	}
	// Required tag missing (Side).
	a.send(nos("m1", "55=USD/CNY|38=1000000|40=2|44=7.1000"))
	r := a.expect("35=3|371=54|373=1")
	if r.get("45") != seqOf("m1") || r.get("372") != "D" {
		t.Errorf("reject %s: RefSeqNum must be %s", r, seqOf("m1"))
	}
	// OrderQty missing (it sits in an optional component of the stock
	// dictionary, the venue requires it).
	a.send(nos("m2", "55=USD/CNY|54=1|40=2|44=7.1000"))
	if r := a.expect("35=3|371=38|373=1"); r.get("45") != seqOf("m2") {
		t.Errorf("reject %s", r)
	}
	// Price missing on a limit order.
	a.send(nos("m3", "55=USD/CNY|54=1|38=1000000|40=2"))
	if r := a.expect("35=3|371=44|373=1"); r.get("45") != seqOf("m3") {
		t.Errorf("reject %s", r)
	}
	// A value of the wrong type.
	a.send(nos("m4", "55=USD/CNY|54=1|38=lots|40=2|44=7.1000"))
	if r := a.expect("35=3|371=38|373=6"); r.get("45") != seqOf("m4") {
		t.Errorf("reject %s", r)
	}
	// A value outside the enumeration.
	a.send(nos("m5", "55=USD/CNY|54=Z|38=1000000|40=2|44=7.1000"))
	a.expect("35=3|371=54|373=5")
	// A tag the message type does not have.
	a.send(nos("m6", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000|262=x"))
	a.expect("35=3|371=262|373=2")
	// A message type FIX 4.4 has but the venue does not serve.
	a.send("35=H|11=st1|55=USD/CNY|54=1")
	if j := a.expect("35=j|380=3|372=H"); !j.has("45") || !strings.Contains(j.get("58"), "not supported") {
		t.Errorf("business reject %s", j)
	}

	// Raw sockets: garbage, then a flood that is no FIX at all.
	g := dialRaw(t, e.a.Addr().String())
	g.conn.Write([]byte("GET / HTTP/1.1\r\nHost: fxmatch\r\n\r\n8=FIX.4.4\x019=5\x0135=A\x01garbage\x01"))
	if !g.closed(15 * time.Second) {
		t.Error("garbage connection not closed")
	}
	f := dialRaw(t, e.a.Addr().String())
	junk := make([]byte, 16<<10)
	for i := range junk {
		junk[i] = 'x'
	}
	for range 8 { // 128 KiB, twice the pre-logon budget
		if _, err := f.conn.Write(junk); err != nil {
			break
		}
	}
	if !f.closed(15 * time.Second) {
		t.Error("flooding connection not closed")
	}
	// After logon, a garbled message (wrong CheckSum; an empty MsgSeqNum,
	// which would panic quickfixgo's parser) is discarded and the session
	// goes on; the gap it leaves is recovered by a ResendRequest.
	gr := dialRaw(t, e.a.Addr().String())
	gr.logon("BANKC", config.DemoPassword)
	bad := gr.build(nos("g1", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	bad[len(bad)-2]++ // the CheckSum's last digit
	gr.conn.Write(bad)
	gr.conn.Write(frame([]byte("35=0\x0149=BANKC\x0156=FXMATCH\x0134=\x0152=20261125-10:00:00\x01")))
	gr.send(nos("g2", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000")) // MsgSeqNum one too high now
	gr.expect("35=2|7=2", 5*time.Second)                           // the venue asks for the garbled one
	if !strings.Contains(e.logs.String(), "garbled message discarded") {
		t.Error("no log line for the garbled message")
	}
	// The venue and the session go on.
	a.send(nos("ok1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	a.expect("35=8|11=ok1|150=0")
	b := e.client("BANKB")
	b.send(nos("ok2", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1000"))
	b.expect("35=8|11=ok2|150=F")
}

// Cancel on disconnect: BANKC's orders go when its session drops (here
// without a logout: the process is killed); BANKA's (no flag) stay.
func TestCancelOnDisconnect(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	cstore := t.TempDir()
	c := e.client("BANKC", withStore(cstore))
	a.send(nos("a1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900"))
	a.expect("35=8|11=a1|150=0")
	c.send(nos("c1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1100"))
	c.expect("35=8|11=c1|150=0")
	c.kill()
	id, _ := e.v.Instrument("USD/CNY")
	waitBook(t, e, id, func(bids, asks int) bool { return asks == 0 && bids == 1 })
	// Back again (same store, no reset): the cancel reaches BANKC through
	// the FIX resend of what it missed.
	c = e.client("BANKC", withStore(cstore))
	if m := c.expect("35=8|11=c1|150=4|39=4"); !strings.HasPrefix(m.get("58"), "cancel on disconnect") {
		t.Errorf("cancel text %q", m.get("58"))
	}
	a.kill()
	time.Sleep(200 * time.Millisecond)
	if b := e.v.Book(id); len(b.Bids) != 1 {
		t.Errorf("BANKA's bid went with its session: %+v", b.Bids)
	}
	if !strings.Contains(e.logs.String(), "cancel on disconnect") {
		t.Error("no log line for the cancel on disconnect")
	}
}

func waitBook(t *testing.T, e *env, id engine.InstrumentID, ok func(bids, asks int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b := e.v.Book(id)
		if ok(len(b.Bids), len(b.Asks)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("book never got there: %d bids %d asks", len(b.Bids), len(b.Asks))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Throttle: over the session's rate, business messages are refused
// (150=8 103=3 for orders, BusinessMessageReject otherwise), never dropped.
func TestThrottle(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *fix.Options) {
		c.Participants[0].ThrottlePerSecond = 5 // BANKA
	})
	a := e.client("BANKA")
	const n = 20
	var batch strings.Builder
	for i := range n {
		batch.WriteString("send " + nos("t"+strconv.Itoa(i), "55=USD/CNY|54=1|38=100000|40=2|44=7.0000") + "\n")
	}
	batch.WriteString("send 35=x|320=slt|559=4\n")
	a.stdin.Write([]byte(batch.String()))
	acked, throttled := 0, 0
	for i := range n {
		m := a.expect("35=8|11=t" + strconv.Itoa(i))
		switch {
		case m.is("150=0"):
			acked++
		case m.is("150=8|103=3") && strings.HasPrefix(m.get("58"), "throttle: more than 5 messages a second"):
			throttled++
		default:
			t.Errorf("unexpected %s", m)
		}
	}
	if acked < 5 || acked > 7 || throttled != n-acked {
		t.Errorf("%d accepted, %d throttled of %d", acked, throttled, n)
	}
	if j := a.expect("35=j|372=x|379=slt|380=0"); !strings.HasPrefix(j.get("58"), "throttle: ") {
		t.Errorf("business reject %s", j)
	}
	// A second later the bucket has refilled.
	time.Sleep(1100 * time.Millisecond)
	a.send(nos("late", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	a.expect("35=8|11=late|150=0")
}

// Section 7: after a restart on the same data directory, sessions resume
// with their sequence numbers (no reset) and resting orders survive.
func TestRestart(t *testing.T) {
	e := newEnv(t, func(c *config.Config, _ *fix.Options) { c.Venue.Durability = config.DurabilitySync })
	astore := t.TempDir()
	a := e.client("BANKA", withStore(astore))
	a.send(nos("r1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900"))
	a.expect("35=8|11=r1|150=0")
	a.send(nos("r2", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0800"))
	a.expect("35=8|11=r2|150=0")
	lastSeq := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		n, _ := strconv.Atoi(a.recv[len(a.recv)-1].get("34"))
		return n
	}
	// Stop everything: the venue logs the session out on its way down.
	e.stop()
	a.waitEvent("logout", 10*time.Second)
	a.quit()
	before := lastSeq() // the venue's Logout
	e.restartOn("127.0.0.1:0")
	// The dealer's engine comes back with its own stored numbers.
	a = e.client("BANKA", withStore(astore))
	a.mu.Lock()
	logon := a.recv[0]
	a.mu.Unlock()
	if s, _ := strconv.Atoi(logon.get("34")); logon.typ() != "A" || s != before+1 || logon.has("141") {
		t.Fatalf("logon after restart %s: want MsgSeqNum %d and no reset", logon, before+1)
	}
	// The resting orders survived: BANKB's sell fills r1, then r2.
	b := e.client("BANKB")
	b.send(nos("s1", "55=USD/CNY|54=2|38=2000000|40=2|44=7.0800"))
	a.expect("35=8|11=r1|150=F|31=7.0900")
	a.expect("35=8|11=r2|150=F|31=7.0800")
	a.send(nos("r1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900"))
	a.expect("35=8|11=r1|150=8|103=6") // and remembers today's ClOrdIDs
	// The venue expected the dealer's numbers to continue too: it may ask
	// for a resend of what the dealer's engine counted but never
	// delivered (QuickFIX retries its logon while the venue goes down),
	// never from the start.
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.recv {
		if m.typ() == "2" {
			if n, _ := strconv.Atoi(m.get("7")); n < 4 { // 2 and 3 were acknowledged
				t.Errorf("venue asked for a resend from %d: it lost the dealer's sequence numbers", n)
			}
		}
		if m.typ() == "5" {
			t.Errorf("logout after restart: %s", m)
		}
	}
}

// restartOn starts a new venue and acceptor on the env's data dir,
// listening on addr.
func (e *env) restartOn(addr string) *env {
	e.t.Helper()
	e.start2(addr)
	return e
}

// Slow consumer: a session that stops reading is disconnected with a log
// line, and its orders are cancelled if it has cancel on disconnect.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, func(_ *config.Config, o *fix.Options) {
		o.OutboundBytesMax = 64 << 10
		o.MarketQueue = 256
	})
	// BANKC (cancel on disconnect) logs on over a raw socket with a small
	// receive buffer, rests an order, subscribes to market data, and never
	// reads again.
	d := net.Dialer{Control: smallRecvBuf}
	conn, err := d.Dial("tcp", e.a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newRaw(t, conn)
	c.logon("BANKC", config.DemoPassword)
	c.send(nos("c1", "55=EUR/USD|54=1|38=1000000|40=2|44=1.07000"))
	c.expect("35=8|11=c1|150=0", 5*time.Second)
	c.send("35=V|262=md|263=1|264=0|265=1|267=2|269=0|269=1|146=1|55=USD/CNY")
	c.expect("35=W", 5*time.Second)
	// Flood USD/CNY with new levels straight into the venue.
	party, _ := e.cfg.PartyID("BANKA")
	inst, _ := e.v.Instrument("USD/CNY")
	eur, _ := e.v.Instrument("EUR/USD")
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; !strings.Contains(e.logs.String(), "slow consumer"); i++ {
		if time.Now().After(deadline) {
			t.Fatal("never disconnected")
		}
		cmd := engine.Command{Kind: engine.CmdNewOrder, Party: party, Instrument: inst, Side: engine.Buy, OrdType: engine.Limit,
			Qty: 100000, Price: engine.Price(7_00000000 + (i%2000)*10000), ClOrdID: engine.MustID("f" + strconv.Itoa(i))}
		if i%2 == 1 {
			cmd.Kind, cmd.OrigClOrdID, cmd.ClOrdID = engine.CmdCancel, cmd.ClOrdID, engine.MustID("x"+strconv.Itoa(i))
			cmd.OrigClOrdID = engine.MustID("f" + strconv.Itoa(i-1))
		}
		if err := e.v.Submit(&cmd); err != nil {
			time.Sleep(time.Millisecond)
		}
		if i%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	waitBook(t, e, eur, func(bids, _ int) bool { return bids == 0 })
	// Everyone else is fine.
	b := e.client("BANKB")
	b.send(nos("b1", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	b.expect("35=8|11=b1|150=0")
}

// TLS as a listener option.
func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	e := newEnv(t, func(_ *config.Config, o *fix.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	conn, err := tls.Dial("tcp", e.a.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newRaw(t, conn)
	c.logon("BANKA", config.DemoPassword)
	c.send(nos("t1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.0900"))
	c.expect("35=8|11=t1|150=0", 5*time.Second)
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fxmatch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Cancelling Start's context stops the acceptor (and cancels BANKC's
// orders on the way: it has cancel on disconnect).
func TestStopByContext(t *testing.T) {
	e := newEnv(t)
	e.a.Close() // one acceptor per process: quickfixgo's session registry is global
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	a, err := fix.Start(ctx, e.v, "127.0.0.1:0", fix.Options{DataDir: dir, Logger: e.log})
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, a.Addr().String())
	c.logon("BANKC", config.DemoPassword)
	c.send(nos("c1", "55=USD/CNY|54=2|38=1000000|40=2|44=7.1100"))
	c.expect("35=8|11=c1|150=0", 5*time.Second)
	cancel()
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("acceptor did not stop")
	}
	id, _ := e.v.Instrument("USD/CNY")
	waitBook(t, e, id, func(_, asks int) bool { return asks == 0 })
}

// Demo credentials are accepted on loopback only: Start refuses another
// address while a participant has the demo password.
func TestDemoPasswordsOnlyOnLoopback(t *testing.T) {
	e := newEnv(t)
	_, err := fix.Start(context.Background(), e.v, "0.0.0.0:0", fix.Options{DataDir: t.TempDir(), Logger: e.log})
	if !errors.Is(err, config.ErrInsecureListener) {
		t.Fatalf("Start on 0.0.0.0 with demo passwords: %v", err)
	}
}

// ResetSeqNumFlag(141)=Y on Logon starts both sides over at 1; without it
// a dealer engine that lost its numbers is refused.
func TestResetSeqNumFlag(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	a.send(nos("r1", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	a.expect("35=8|11=r1|150=0")
	a.quit()
	// A fresh engine (MsgSeqNum 1) without a reset: too low.
	b := e.client("BANKA", noWait())
	if lo := b.expect("35=5"); !strings.Contains(lo.get("58"), "MsgSeqNum too low") {
		t.Fatalf("logout %s", lo)
	}
	b.kill()
	// With 141=Y: accepted, both sides at 1.
	c := e.client("BANKA", withSettings("ResetOnLogon=Y"))
	c.expect("35=A|34=1|141=Y")
	c.send(nos("r2", "55=USD/CNY|54=1|38=100000|40=2|44=7.0000"))
	c.expect("35=8|11=r2|150=0|34=2")
}
