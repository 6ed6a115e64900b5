package fix_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fxmatch/config"
	"fxmatch/fix"
)

// TestLoad is an open-loop load run for working on the FIX path's speed
// (the product's load generator is `fxmatch bench fix`): NewOrderSingles
// at a fixed rate over raw TCP sessions, each timed from the moment its
// bytes were handed to the socket to the moment its ExecutionReport 150=0
// was read, into an HdrHistogram. The sender never waits for answers, so
// a slow venue shows as latency, not as a lower rate (no coordinated
// omission). It runs only when FIX_LOAD is set:
//
//	FIX_LOAD='rate=10000 sessions=1 dur=5s durable=0' go test ./fix -run TestLoad -v
//
// rate is the total over all sessions. Orders rest far from the market
// (buys at 7.0000), so every order gets exactly one report.
func TestLoad(t *testing.T) {
	spec := os.Getenv("FIX_LOAD")
	if spec == "" {
		t.Skip("FIX_LOAD not set")
	}
	rate, sessions, dur, durable := 10000, 1, 5*time.Second, false
	for _, kv := range strings.Fields(spec) {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "rate":
			rate, err = strconv.Atoi(v)
		case "sessions":
			sessions, err = strconv.Atoi(v)
		case "dur":
			dur, err = time.ParseDuration(v)
		case "durable":
			durable = v == "1"
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			t.Fatalf("FIX_LOAD %s: %v", kv, err)
		}
	}
	e := newEnv(t, func(c *config.Config, _ *fix.Options) {
		if durable {
			c.Venue.Durability = config.DurabilitySync
		}
		for i := range c.Participants {
			c.Participants[i].ThrottlePerSecond = 1 << 30
		}
	})
	names := []string{"BANKA", "BANKB", "BANKC", "BROKER1"}
	if sessions > len(names) {
		t.Fatalf("at most %d sessions", len(names))
	}
	per := rate / sessions
	n := int(dur.Seconds() * float64(per))
	type result struct {
		h        *hdrhistogram.Histogram
		got      int
		lastRecv time.Time
		behind   time.Duration
		early    int // acks in the first 300 ms (the start-up ramp)
	}
	results := make([]result, sessions)
	var wg sync.WaitGroup
	start := time.Now().Add(100 * time.Millisecond)
	for si := range sessions {
		c := dialRaw(t, e.a.Addr().String())
		c.logon(names[si], config.DemoPassword)
		sent := make([]atomic.Int64, n)
		res := &results[si]
		res.h = hdrhistogram.New(1, int64(10*time.Second/time.Microsecond*1000), 3)
		wg.Go(func() { // reader
			r := bufio.NewReaderSize(c.conn, 1<<20)
			_ = c.conn.SetReadDeadline(time.Now().Add(dur + 30*time.Second))
			var clo []byte
			var et byte
			for res.got < n {
				f, err := r.ReadSlice(1)
				if err != nil {
					t.Errorf("%s: read after %d reports: %v", names[si], res.got, err)
					return
				}
				switch {
				case bytes.HasPrefix(f, []byte("11=L")):
					clo = append(clo[:0], f[4:len(f)-1]...)
				case bytes.HasPrefix(f, []byte("150=")):
					et = f[4]
				case bytes.HasPrefix(f, []byte("10=")):
					if et == '0' && len(clo) > 0 {
						now := time.Now().UnixNano()
						i, _ := strconv.Atoi(string(clo))
						_ = res.h.RecordValue((now - sent[i].Load()))
						res.got++
						res.lastRecv = time.Now()
						if res.lastRecv.Sub(start) < 300*time.Millisecond {
							res.early++
						}
					} else if et != 0 {
						t.Errorf("%s: unexpected report 150=%c for %s", names[si], et, clo)
					}
					clo, et = clo[:0], 0
				}
			}
		})
		wg.Go(func() { // sender: open loop
			interval := time.Second / time.Duration(per)
			seq := c.seq
			var buf []byte
			i := 0
			t0 := start.Add(time.Duration(si) * interval / time.Duration(sessions))
			for i < n {
				due := t0.Add(time.Duration(i) * interval)
				now := time.Now()
				if d := due.Sub(now); d > 0 {
					if d > 2*time.Millisecond {
						time.Sleep(d - time.Millisecond)
					} else {
						runtime.Gosched()
					}
					continue
				}
				if lag := now.Sub(due); lag > res.behind {
					res.behind = lag
				}
				buf = buf[:0]
				first := i
				for ; i < n && i-first < 64 && !t0.Add(time.Duration(i)*interval).After(now); i++ {
					ts := now.UTC().Format("20060102-15:04:05.000")
					body := "35=D\x0149=" + names[si] + "\x0156=FXMATCH\x0134=" + strconv.Itoa(seq) + "\x0152=" + ts +
						"\x0111=L" + strconv.Itoa(i) + "\x0155=USD/CNY\x0154=1\x0138=100000\x0140=2\x0144=7.0000\x0160=" + ts + "\x01"
					buf = append(buf, frame([]byte(body))...)
					seq++
				}
				ts := time.Now().UnixNano()
				for k := first; k < i; k++ {
					sent[k].Store(ts)
				}
				if _, err := c.conn.Write(buf); err != nil {
					t.Errorf("%s: write: %v", names[si], err)
					return
				}
			}
		})
	}
	wg.Wait()
	all := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond*1000), 3)
	got, early := 0, 0
	var last time.Time
	for si := range results {
		all.Merge(results[si].h)
		got += results[si].got
		early += results[si].early
		if results[si].lastRecv.After(last) {
			last = results[si].lastRecv
		}
		t.Logf("%s: sender fell behind schedule by at most %v", names[si], results[si].behind)
	}
	us := func(q float64) float64 { return float64(all.ValueAtQuantile(q)) / 1e3 }
	t.Logf("load: rate=%d/s sessions=%d dur=%v durable=%v: %d acks in %v (%.0f/s; %d in the first 300 ms); µs p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f",
		rate, sessions, dur, durable, got, last.Sub(start).Round(time.Millisecond), float64(got)/last.Sub(start).Seconds(), early,
		us(50), us(90), us(99), us(99.9), float64(all.Max())/1e3)
}
