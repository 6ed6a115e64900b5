package fixbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the test binary as a fake venue when FIXBENCH_FAKE_VENUE
// is 1: BenchmarkGenerator starts it as a child process, so that the
// benchmark's own getrusage counts the generator alone.
func TestMain(m *testing.M) {
	if os.Getenv("FIXBENCH_FAKE_VENUE") == "1" {
		fakeVenueMain()
		return
	}
	os.Exit(m.Run())
}

// fakeVenueMain listens on 127.0.0.1:0, prints the address, and answers
// every session with Echo until its stdin closes (the parent ended).
func fakeVenueMain() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	if err := Echo(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(1)
}

// startFakeVenue starts the test binary as a fake venue and returns its
// address.
func startFakeVenue(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FIXBENCH_FAKE_VENUE=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("fake venue: %v", err)
	}
	return strings.TrimSpace(line)
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGenerator measures the generator alone against a fake venue in
// another process: its CPU per order (warmup included; the figure `bench
// fix` prints as "generator"), its own send lag, and the latency the fake
// venue allows. Run it with -benchtime 1x:
//
//	go test ./fix/fixbench -run '^$' -bench Generator -benchtime 1x
func BenchmarkGenerator(b *testing.B) {

	for _, tc := range []struct {
		sessions int
		rate     float64
		mix      Mix
	}{
		{1, 10_000, MixCancel},
		{4, 100_000, MixCancel},
		{4, 100_000, MixIOC},
		{4, 200_000, MixIOC},
	} {
		b.Run(fmt.Sprintf("%s-%dk-%ds", tc.mix, int(tc.rate/1000), tc.sessions), func(b *testing.B) {
			addr := startFakeVenue(b)
			parts := []string{"S1", "S2", "S3", "S4"}[:tc.sessions]
			for range b.N {
				o := Options{Addr: addr, Participants: parts, Password: "x", Rate: tc.rate,
					Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Mix: tc.mix}
				// FIXBENCH_MAX_SPIN=0s: the pacer only sleeps.
				if v := os.Getenv("FIXBENCH_MAX_SPIN"); v != "" {
					d, err := time.ParseDuration(v)
					if err != nil {
						b.Fatal(err)
					}
					o.MaxSpin = d
					if d == 0 {
						o.MaxSpin = -1
					}
				}
				c0 := cpuSelf()
				res, err := Run(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				cpu := cpuSelf() - c0
				if res.Acked != res.Sent || len(res.Errors) > 0 {
					b.Fatalf("sent %d acked %d errors %v", res.Sent, res.Acked, res.Errors)
				}
				orders := float64(res.Sent) * 2.5 / 2
				b.ReportMetric(float64(cpu.Microseconds())/orders, "gen-µs/order")
				b.ReportMetric(res.SendLag.P50, "lag-p50-µs")
				b.ReportMetric(res.SendLag.P99, "lag-p99-µs")
				b.ReportMetric(res.Latency.P50, "lat-p50-µs")
				b.ReportMetric(res.Latency.P99, "lat-p99-µs")
				b.ReportMetric(res.AchievedRate, "acks/s")
			}
		})
	}
}

// startFakeVenueHere runs the fake venue in this process.
func startFakeVenueHere(t *testing.T, stall time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go echoSession(conn, stall)
		}
	}()
	return ln.Addr().String()
}

// Both ways of reading the venue's reports count the same: the pacer
// polling detached sockets (the default) and reader goroutines (TLS
// sessions). Every order is answered once and timed once, both mixes.
func TestRunPolledAndGoroutineReaders(t *testing.T) {
	addr := startFakeVenueHere(t, 0)
	for _, detach := range []bool{true, false} {
		for _, mix := range []Mix{MixCancel, MixIOC} {
			t.Run(fmt.Sprintf("detach=%v/%s", detach, mix), func(t *testing.T) {
				defer func(d bool) { detachSessions = d }(detachSessions)
				detachSessions = detach
				res, err := Run(context.Background(), Options{
					Addr: addr, Participants: []string{"S1", "S2"}, Password: "x",
					Rate: 2000, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, Mix: mix,
				})
				if err != nil {
					t.Fatal(err)
				}
				if res.Sent != 1000 || res.Acked != res.Sent || res.Missing != 0 || len(res.Errors) > 0 {
					t.Errorf("sent %d acked %d missing %d errors %v", res.Sent, res.Acked, res.Missing, res.Errors)
				}
				if res.Hist.TotalCount() != res.Acked || res.SendLag.Count != res.Sent {
					t.Errorf("latency samples %d, lag samples %d: want one per ack (%d), one per order (%d)", res.Hist.TotalCount(), res.SendLag.Count, res.Acked, res.Sent)
				}
				// Every cancel request (one per order but the last, warmup
				// included, plus the final one), or every IOC (the echo
				// cancels each at once, as the venue does one that does
				// not trade), warmup included.
				if want := map[Mix]int64{MixCancel: 1200, MixIOC: 1200}[mix]; res.Cancelled != want {
					t.Errorf("%d cancels, want %d", res.Cancelled, want)
				}
				if res.PacerWakes == 0 || res.Writes == 0 {
					t.Errorf("pacer wakes %d, writes %d", res.PacerWakes, res.Writes)
				}
			})
		}
	}
}

// A detached socket's reads carry the kernel's receive time: the time
// the venue's bytes arrived, not the time the pacer looked.
func TestDetachedReceiveTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			conns <- c
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{conn: conn, r: NewReader(conn, 4096), fd: -1}
	if err := c.detach(); err != nil {
		t.Skipf("detach: %v", err)
	}
	defer c.Close()
	venue := <-conns
	defer venue.Close()
	c.fdr.rearm() // as the pacer does before it polls
	if _, err := c.r.Next(); err != errWouldBlock {
		t.Fatalf("nothing sent yet: Next = %v, want errWouldBlock", err)
	}
	msg, _ := AppendMessage(nil, nil, "0", VenueCompID, "BANKA", 1, testTime, nil)
	// Linux turns receive timestamps on for the whole machine a moment
	// after the first socket asks (from a work queue): until then reads
	// carry none, and the pacer uses the read's own time.
	for i := 0; ; i++ {
		if _, err := venue.Write(msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		c.fdr.rearm() // as the pacer does before it polls
		if _, err := c.r.Next(); err != nil {
			t.Fatal(err)
		}
		if c.fdr.at != 0 {
			break
		}
		if i == 1000 {
			t.Fatal("no receive time after a second")
		}
	}
	before := time.Now().UnixNano()
	if _, err := venue.Write(msg); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixNano()
	time.Sleep(30 * time.Millisecond) // the pacer looks later
	c.fdr.rearm()                     // as the pacer does before it polls
	m, err := c.r.Next()
	if err != nil || string(m) != string(msg) {
		t.Fatalf("Next = %q, %v", m, err)
	}
	if at := c.fdr.at; at < before || at > after {
		t.Errorf("receive time %d is not within the venue's write [%d, %d] (read %d ns after)", at, before, after, time.Now().UnixNano()-after)
	}
	// And writes reach the other side.
	if err := c.Send("0", nil); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(venue, 4096).Next()
	if err != nil || got.Type() != "0" {
		t.Fatalf("venue read %q, %v", got, err)
	}
}

// A venue that stops reading fills the socket: the pacer waits for it
// (in poll(2), reading the other sessions meanwhile) and sends the rest
// late, which the send lag shows; nothing is lost, no session ends.
func TestRunVenueStalls(t *testing.T) {
	const stall = 700 * time.Millisecond
	addr := startFakeVenueHere(t, stall)
	res, err := Run(context.Background(), Options{
		Addr: addr, Participants: []string{"S1", "S2"}, Password: "x",
		Rate: 50_000, Duration: time.Second, Mix: MixCancel, Drain: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 50_000 || res.Acked != res.Sent || res.Missing != 0 || len(res.Errors) > 0 {
		t.Errorf("sent %d acked %d missing %d errors %v", res.Sent, res.Acked, res.Missing, res.Errors)
	}
	// Stuck for most of the stall: the sockets hold far less than 700 ms
	// of orders at 50,000 a second (unless the kernel lets them grow past
	// 13 MB, when the stall shows in the latency alone).
	if res.SendLag.Max < float64((stall / 4).Microseconds()) {
		t.Logf("send lag max %.0f µs: the sockets took the stall's orders", res.SendLag.Max)
	}
	if res.Latency.Max < float64((stall / 2).Microseconds()) {
		t.Errorf("latency max %.0f µs: the venue's %v stall does not show", res.Latency.Max, stall)
	}
}

// TestEcho: Echo answers whole sessions of the generator, each order
// acknowledged, and once its listener closes it returns nil after
// closing the sessions still open.
func TestEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Echo(ln) }()
	for _, mix := range []Mix{MixCancel, MixIOC} {
		res, err := Run(context.Background(), Options{Addr: ln.Addr().String(), Participants: []string{"S1", "S2"},
			Password: "x", Rate: 400, Duration: 250 * time.Millisecond, Warmup: 50 * time.Millisecond, Mix: mix})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 100 || res.Acked != res.Sent || len(res.Errors) > 0 {
			t.Errorf("%s: sent %d, acked %d, errors %v: want 100 sent, all acked", mix, res.Sent, res.Acked, res.Errors)
		}
	}
	// A session still open when the listener closes is closed with it.
	open, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	logon, _ := AppendMessage(nil, nil, "A", "S3", VenueCompID, 1, time.Now(), []byte("98=0\x01108=30\x01"))
	if _, err := open.Write(logon); err != nil {
		t.Fatal(err)
	}
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := NewReader(open, 4096)
	if m, err := rd.Next(); err != nil || !strings.Contains(string(m), "\x0135=A\x01") {
		t.Fatalf("the open session's Logon answered %q, %v", m, err) // so Echo serves it
	}
	// An IOC is acknowledged and cancelled, as the venue does with one
	// that does not trade: the same output an order.
	ioc, _ := AppendMessage(nil, nil, "D", "S3", VenueCompID, 2, time.Now(), []byte("11=x1\x0155=USD/CNY\x0154=1\x0138=1000000\x0140=2\x0144=7\x0159=3\x01"))
	if _, err := open.Write(ioc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\x01150=0\x01", "\x01150=4\x01"} {
		if m, err := rd.Next(); err != nil || !strings.Contains(string(m), want) || !strings.Contains(string(m), "\x0111=x1\x01") {
			t.Fatalf("IOC answered %q, %v; want %q for 11=x1", m, err, want)
		}
	}
	ln.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Echo after its listener closed: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Echo did not return after its listener closed")
	}
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := open.Read(make([]byte, 1)); err == nil {
		t.Error("the open session was not closed")
	}
}
