package fix

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// idleAcceptor is an acceptor on the demo venue (durability none) that
// does not run: what the test submits waits in its rings, what it
// publishes to the hub goes only to the sessions. At the test's end the
// venue runs just long enough for the acceptor to close.
func idleAcceptor(t *testing.T) *Acceptor {
	t.Helper()
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Start(context.Background(), v, "127.0.0.1:0", Options{DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- v.Run(ctx) }()
		_ = a.Close()
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("venue Run: %v", err)
		}
	})
	return a
}

// pumpEnv is an acceptor on a venue that does not run (the test
// publishes to its hub itself), with who's session live on a loopback
// connection whose socket writes are counted; the peer's end reads.
func pumpEnv(t *testing.T, who string) (*Acceptor, *party, *countingConn, *bufio.Reader) {
	t.Helper()
	a := idleAcceptor(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: sc}
	g := newGuardConn(cc, a.ln)
	p := a.parties[who]
	p.sendMu.Lock()
	p.live, p.wconn = true, g
	p.sendMu.Unlock()
	p.loggedOn.Store(true)
	t.Cleanup(func() { // before idleAcceptor's
		p.loggedOn.Store(false)
		p.sendMu.Lock()
		p.live, p.wconn = false, nil
		p.sendMu.Unlock()
		g.abort()
		peer.Close()
	})
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	return a, p, cc, bufio.NewReader(peer)
}

// readReports reads n messages from r and returns their ClOrdIDs.
func readReports(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		// Each message ends with its CheckSum field, "10=ddd\x01".
		var msg strings.Builder
		for !strings.Contains(msg.String(), "\x0110=") || !strings.HasSuffix(msg.String(), "\x01") {
			s, err := r.ReadString(1)
			if err != nil {
				t.Fatalf("reading report %d: %v (so far %q)", len(ids)+1, err, msg.String())
			}
			msg.WriteString(s)
		}
		for _, f := range strings.Split(msg.String(), "\x01") {
			if v, ok := strings.CutPrefix(f, "11="); ok {
				ids = append(ids, v)
			}
		}
	}
	return ids
}

// TestExecPumpCoalesces: hub batches that wait in a session's
// subscription while the pump is busy go out together, in one socket
// write (and so one commit of the store); a batch that comes alone goes
// out alone, at once. The same for a regulator's drop copies.
func TestExecPumpCoalesces(t *testing.T) {
	for _, who := range []string{"BANKA", "REGULATOR"} {
		t.Run(who, func(t *testing.T) { testPumpCoalesces(t, who) })
	}
}

func testPumpCoalesces(t *testing.T, who string) {
	a, p, cc, r := pumpEnv(t, who)
	sub := p.exec
	if p.drop != nil {
		sub = p.drop
	}
	h := a.v.Hub()
	accepted := func(id string, oid engine.OrderID) []engine.Event {
		return []engine.Event{{Kind: engine.EvAccepted, Party: a.parties["BANKA"].id, OrderID: oid, ClOrdID: engine.MustID(id), ExecID: uint64(oid),
			Side: engine.Buy, OrdType: engine.Limit, Price: 705000000, OrderQty: 1000000, LeavesQty: 1000000, Time: time.Now().UnixNano()}}
	}

	// Alone: one batch, one write.
	h.Publish(accepted("lone", 1))
	if ids := readReports(t, r, 1); ids[0] != "lone" {
		t.Fatalf("got %v, want [lone]", ids)
	}
	if n := cc.writes.Load(); n != 1 {
		t.Fatalf("a lone report took %d socket writes, want 1", n)
	}

	// Busy: the pump takes the first batch and waits for the send lock,
	// which the test holds until the other three are queued behind it.
	seq := p.store.NextSenderMsgSeqNum()
	p.sendMu.Lock()
	h.Publish(accepted("b1", 2))
	for len(sub.C) > 0 { // the pump has taken b1
		time.Sleep(time.Millisecond)
	}
	h.Publish(accepted("b2", 3))
	h.Publish(accepted("b3", 4))
	h.Publish(accepted("b4", 5))
	if len(sub.C) != 3 {
		t.Fatalf("%d batches queued, want 3", len(sub.C))
	}
	p.sendMu.Unlock()
	ids := readReports(t, r, 4)
	if strings.Join(ids, ",") != "b1,b2,b3,b4" {
		t.Fatalf("got %v, want b1..b4 in order", ids)
	}
	if n := cc.writes.Load(); n != 2 {
		t.Fatalf("four queued batches took %d socket writes, want 1", n-1)
	}
	if got := p.store.NextSenderMsgSeqNum(); got != seq+4 {
		t.Fatalf("next sender number %d, want %d: the four reports are not all stored", got, seq+4)
	}
}
