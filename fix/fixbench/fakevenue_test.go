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
// every session until its stdin closes (the parent ended).
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
	for {
		conn, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go serveFake(conn)
	}
}

// serveFake is a venue reduced to what the generator needs, as cheap as
// it can be so that the generator's cost stands out: it logs any
// session on, acknowledges each NewOrderSingle (150=0) and each
// OrderCancelRequest (150=4), answers a Logout, and writes its answers
// to everything one read brought in with one write.
func serveFake(conn net.Conn) {
	defer conn.Close()
	rd := NewReader(conn, 1<<20)
	var out, scratch, body []byte
	var sender []byte
	seq := 0
	now := time.Now()
	send := func(typ string, body []byte) {
		seq++
		out, scratch = AppendMessage(out, scratch, typ, VenueCompID, string(sender), seq, now, body)
	}
	for {
		if rd.start == rd.end && len(out) > 0 {
			if _, err := conn.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
		m, err := rd.Next()
		if err != nil {
			return
		}
		now = time.Now()
		var typ, id, orig []byte
		for tag, v := range m.Fields() {
			switch tag {
			case 35:
				typ = v
			case 49:
				if sender == nil {
					sender = append([]byte(nil), v...)
				}
			case 11:
				id = v
			case 41:
				orig = v
			}
		}
		switch string(typ) {
		case "A":
			send("A", []byte("98=0\x01108=30\x01"))
		case "D":
			body = AppendFieldBytes(body[:0], 11, id)
			body = append(body, "37=1\x0117=1\x01150=0\x0139=0\x0155=USD/CNY\x0154=1\x0138=1000000\x0114=0\x01151=1000000\x016=0\x01"...)
			send("8", body)
		case "F":
			body = AppendFieldBytes(body[:0], 11, id)
			body = AppendFieldBytes(body, 41, orig)
			body = append(body, "37=1\x0117=2\x01150=4\x0139=4\x0155=USD/CNY\x0154=1\x0138=1000000\x0114=0\x01151=0\x016=0\x01"...)
			send("8", body)
		case "5":
			send("5", nil)
			conn.Write(out)
			return
		}
	}
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
