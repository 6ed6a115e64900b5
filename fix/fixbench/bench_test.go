package fixbench_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/fix"
	"fxmatch/fix/fixbench"
)

// startVenue runs the demo venue in-process (durability none, throttle
// as given) with its FIX acceptor on 127.0.0.1:0, and returns the FIX
// address.
func startVenue(t testing.TB, throttle int) string {
	t.Helper()
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	for i := range cfg.Participants {
		cfg.Participants[i].ThrottlePerSecond = throttle
	}
	dir := t.TempDir()
	var logw io.Writer = io.Discard
	if os.Getenv("FIX_TEST_LOG") == "1" {
		logw = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a, err := fix.Start(context.Background(), v, "127.0.0.1:0", fix.Options{DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	t.Cleanup(func() {
		a.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("venue Run: %v", err)
		}
	})
	return a.Addr().String()
}

// TestRunCounts: a short low-rate run against the real venue, both
// mixes, two sessions. Every order is answered, the counts add up, the
// histogram has one sample per ack, the JSON form parses.
func TestRunCounts(t *testing.T) {
	addr := startVenue(t, 50_000)
	for _, tc := range []struct {
		mix  fixbench.Mix
		busy bool
	}{{fixbench.MixCancel, false}, {fixbench.MixIOC, false}, {fixbench.MixIOC, true}} {
		mix := tc.mix
		name := string(mix)
		if tc.busy {
			name += "-busy"
		}
		t.Run(name, func(t *testing.T) {
			res, err := fixbench.Run(context.Background(), fixbench.Options{
				Addr: addr, Participants: []string{"BANKA", "BANKB"}, Password: config.DemoPassword,
				Rate: 100, Duration: time.Second, Warmup: 200 * time.Millisecond, Mix: mix, Busy: tc.busy,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 100 {
				t.Errorf("sent %d measured orders, want 100 (100/s for 1s)", res.Sent)
			}
			if res.Acked+res.Rejected+res.Missing != res.Sent {
				t.Errorf("acked %d + rejected %d + missing %d != sent %d", res.Acked, res.Rejected, res.Missing, res.Sent)
			}
			if res.Acked != res.Sent || res.Rejected != 0 || res.Missing != 0 {
				t.Errorf("acked %d of %d (rejected %d %v, missing %d)", res.Acked, res.Sent, res.Rejected, res.RejectReasons, res.Missing)
			}
			if res.Hist.TotalCount() != res.Acked || res.Latency.Count != res.Acked {
				t.Errorf("histogram has %d samples (summary %d), want one per ack (%d)", res.Hist.TotalCount(), res.Latency.Count, res.Acked)
			}
			if res.SendLag.Count != res.Sent {
				t.Errorf("send lag has %d samples, want one per measured order (%d)", res.SendLag.Count, res.Sent)
			}
			if res.SessionRejects != 0 || res.CancelRejects != 0 {
				t.Errorf("%d session rejects (%s), %d cancel rejects: the generator sent something wrong", res.SessionRejects, res.FirstReject, res.CancelRejects)
			}
			// Every order is cancelled: by its cancel request (mix cancel,
			// warmup included, the last one at the end) or by IOC.
			if total := res.Sent + 20; res.Cancelled < res.Sent || res.Cancelled > total {
				t.Errorf("%d cancels reported, want between %d and %d", res.Cancelled, res.Sent, total)
			}
			if res.Fills != 0 {
				t.Errorf("%d fills: the mix must never trade", res.Fills)
			}
			if !(res.Latency.P50 > 0 && res.Latency.P50 <= res.Latency.P99 && res.Latency.P99 <= res.Latency.P999 && res.Latency.P999 <= res.Latency.Max) {
				t.Errorf("percentiles out of order: %+v", res.Latency)
			}
			// At most the offered rate; how close depends on the venue's
			// speed on a shared machine, which a test does not judge.
			if res.AchievedRate <= 0 || res.AchievedRate > 100 {
				t.Errorf("achieved %v acks/s at 100 offered", res.AchievedRate)
			}
			b, err := fixbench.MarshalIndent(res)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("JSON does not parse: %v\n%s", err, b)
			}
			for _, k := range []string{"sent", "acked", "rejected", "missing", "latency_us", "send_lag_us", "achieved_rate"} {
				if _, ok := back[k]; !ok {
					t.Errorf("JSON lacks %q: %s", k, b)
				}
			}
			var sb strings.Builder
			fixbench.WriteTextHeader(&sb)
			fixbench.WriteTextRow(&sb, "none", res)
			t.Logf("\n%s", sb.String())
		})
	}
}

// TestRunRejects: with the venue's throttle far below the offered rate,
// rejects are counted by reason and the counts still add up.
func TestRunRejects(t *testing.T) {
	addr := startVenue(t, 100)
	res, err := fixbench.Run(context.Background(), fixbench.Options{
		Addr: addr, Participants: []string{"BANKA"}, Password: config.DemoPassword,
		Rate: 500, Duration: time.Second, Mix: fixbench.MixIOC,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected == 0 || res.RejectReasons["103=3 throttle"] != res.Rejected {
		t.Errorf("rejected %d, reasons %v: want throttle rejects (103=3)", res.Rejected, res.RejectReasons)
	}
	if res.Acked+res.Rejected+res.Missing != res.Sent || res.Hist.TotalCount() != res.Acked {
		t.Errorf("counts: sent %d acked %d rejected %d missing %d, histogram %d", res.Sent, res.Acked, res.Rejected, res.Missing, res.Hist.TotalCount())
	}
}

// TestRunLatencyLog: the log has every order of the schedule, warmup
// included, in order; the measured ones with a latency are exactly the
// acknowledged ones (a throttled venue rejects some), and their latencies
// are those of the histogram.
func TestRunLatencyLog(t *testing.T) {
	addr := startVenue(t, 100) // the throttle per session, well under its 500/s
	var log bytes.Buffer
	res, err := fixbench.Run(context.Background(), fixbench.Options{
		Addr: addr, Participants: []string{"BANKA", "BANKB"}, Password: config.DemoPassword,
		Rate: 1000, Duration: time.Second, Warmup: 250 * time.Millisecond, Mix: fixbench.MixIOC, LatencyLog: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&log).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+1250 || strings.Join(rows[0], ",") != "order,session,warmup,intended_us,lag_us,latency_us" {
		t.Fatalf("%d rows, header %q: want the header and 1250 orders (1000/s for 1.25 s)", len(rows), rows[0])
	}
	var acked, unanswered, warm int64
	var maxLat float64
	for i, r := range rows[1:] {
		if r[0] != strconv.Itoa(i) || r[1] != []string{"BANKA", "BANKB"}[i%2] {
			t.Fatalf("row %d: %q: want order %d of session %d", i+1, r, i, i%2)
		}
		if want := strconv.FormatFloat(float64(i)*1000, 'f', 1, 64); r[3] != want {
			t.Errorf("order %d intended at %s µs, want %s", i, r[3], want)
		}
		if r[4] == "" {
			t.Errorf("order %d: no send lag, but every order was sent", i)
		}
		if r[2] == "true" {
			warm++
			continue
		}
		if r[5] == "" {
			unanswered++
			continue
		}
		acked++
		v, err := strconv.ParseFloat(r[5], 64)
		if err != nil || v <= 0 {
			t.Errorf("order %d: latency %q", i, r[5])
		}
		maxLat = max(maxLat, v)
	}
	if warm != 250 || acked != res.Acked || unanswered != res.Rejected+res.Missing || res.Rejected == 0 {
		t.Errorf("warmup %d, with a latency %d, without %d; want 250, %d acked, %d rejected + %d missing (some rejected)",
			warm, acked, unanswered, res.Acked, res.Rejected, res.Missing)
	}
	// The log has 0.1 µs; the histogram keeps a value to within its
	// bucket's width (3 significant figures: a part in 1,000 at most).
	if d, tol := math.Abs(maxLat*1000-float64(res.Hist.Max())), float64(res.Hist.Max())/1000+100; d > tol {
		t.Errorf("the log's largest latency %.1f µs, the histogram's %d ns: %.0f ns apart, more than %.0f", maxLat, res.Hist.Max(), d, tol)
	}
}

// TestRunLogonRefused: a wrong password is an error naming the session
// and the venue's reason.
func TestRunLogonRefused(t *testing.T) {
	addr := startVenue(t, 100)
	_, err := fixbench.Run(context.Background(), fixbench.Options{
		Addr: addr, Participants: []string{"BANKA"}, Password: "wrong", Rate: 10, Duration: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "BANKA") || !strings.Contains(err.Error(), "Password") {
		t.Fatalf("err = %v, want the logon refusal naming BANKA and the password", err)
	}
}

func TestOptionsErrors(t *testing.T) {
	base := fixbench.Options{Addr: "127.0.0.1:1", Participants: []string{"BANKA"}, Rate: 10, Duration: time.Second}
	for _, tc := range []struct {
		name string
		mod  func(*fixbench.Options)
		want string
	}{
		{"rate", func(o *fixbench.Options) { o.Rate = -5 }, "rate -5"},
		{"duration", func(o *fixbench.Options) { o.Duration = 0 }, "duration 0s"},
		{"mix", func(o *fixbench.Options) { o.Mix = "spray" }, `mix "spray"`},
		{"participants", func(o *fixbench.Options) { o.Participants = nil }, "no participants"},
	} {
		o := base
		tc.mod(&o)
		_, err := fixbench.Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to name %q", tc.name, err, tc.want)
		}
	}
}

// BenchmarkOpenLoop profiles the venue and the generator together:
//
//	FIXBENCH_RATE=2000 go test ./fix/fixbench -run '^$' -bench OpenLoop -benchtime 1x -cpuprofile cpu.out
func BenchmarkOpenLoop(b *testing.B) {
	rate := 2000.0
	if s := os.Getenv("FIXBENCH_RATE"); s != "" {
		if _, err := fmtSscan(s, &rate); err != nil {
			b.Fatal(err)
		}
	}
	addr := startVenue(b, 10_000_000)
	for range b.N {
		res, err := fixbench.Run(context.Background(), fixbench.Options{
			Addr: addr, Participants: []string{"BANKA"}, Password: config.DemoPassword,
			Rate: rate, Duration: 3 * time.Second, Warmup: 500 * time.Millisecond, Mix: fixbench.MixIOC,
		})
		if err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		fixbench.WriteTextHeader(&sb)
		fixbench.WriteTextRow(&sb, "none", res)
		b.Logf("\n%s", sb.String())
	}
}

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }

// TestRunSessionEnds: a venue that drops the session mid-run does not end
// the run: the result says which session ended and why, the orders it
// never answered are missing, and the counts still add up.
func TestRunSessionEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := fixbench.NewReader(conn, 64<<10)
		var out []byte
		for n := 0; ; n++ {
			m, err := r.Next()
			if err != nil {
				return
			}
			switch m.Type() {
			case "A":
				out, _ = fixbench.AppendMessage(out[:0], nil, "A", "FXMATCH", "BANKA", 1, time.Now(), []byte("98=0\x01108=30\x01"))
				conn.Write(out)
			case "D":
				if n > 10 {
					return // drop the connection without a Logout
				}
				id, _ := m.Get(11)
				body := fixbench.AppendFieldBytes(nil, 11, id)
				body = fixbench.AppendField(body, 150, "0")
				out, _ = fixbench.AppendMessage(out[:0], nil, "8", "FXMATCH", "BANKA", n+2, time.Now(), body)
				conn.Write(out)
			}
		}
	}()
	res, err := fixbench.Run(context.Background(), fixbench.Options{
		Addr: ln.Addr().String(), Participants: []string{"BANKA"}, Password: "x",
		Rate: 200, Duration: 500 * time.Millisecond, Mix: fixbench.MixIOC, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "BANKA: ") {
		t.Errorf("errors %q: want the session that ended", res.Errors)
	}
	if res.Acked == 0 || res.Missing == 0 || res.Acked+res.Rejected+res.Missing != res.Sent || res.Hist.TotalCount() != res.Acked {
		t.Errorf("sent %d acked %d rejected %d missing %d histogram %d", res.Sent, res.Acked, res.Rejected, res.Missing, res.Hist.TotalCount())
	}
}
