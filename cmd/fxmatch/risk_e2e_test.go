package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub/hubtest"
)

// TestFIXRiskBlockAfterRestart is the pre-trade row end to end: a venue
// journals two weeks of BANKA's ordinary orders (5M or so, working hours);
// `fxmatch serve` restarts on that data directory, its in-process
// assistant rebuilds BANKA's profile from the journal, and then over FIX
// (fixbench's raw client) an ordinary order is accepted while a
// takeover-like one — 40 times the account's usual size, IOC — is refused
// with 103=99 and Text "risk: size …", never reaching the book.
func TestFIXRiskBlockAfterRestart(t *testing.T) {
	dir := t.TempDir()
	cfgFile, text := writeRiskConfig(t, dir)
	cfg, err := config.Parse([]byte(text), cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	journalHistory(t, cfg, dataDir, 60)

	banner, errb := serveLoopback(t, cfgFile, dataDir)
	if !strings.Contains(banner, "assistant     in-process; 2 fraud profiles rebuilt from the journal") ||
		!strings.Contains(banner, "deadline 2s, fail-closed") {
		t.Fatalf("banner:\n%s", banner)
	}
	fixAddr := regexp.MustCompile(`FIX 4.4\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
	if fixAddr == nil {
		t.Fatalf("no FIX address in the banner:\n%s", banner)
	}
	f := dialFIX(t, fixAddr[1], "BANKA")
	defer f.c.Close()
	report := func(clOrdID string) map[int]string {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m, ok := <-f.in:
				if !ok {
					t.Fatal("FIX session closed")
				}
				if m[35] == "8" && m[11] == clOrdID {
					return m
				}
			case <-deadline:
				t.Fatalf("no ExecutionReport for %s", clOrdID)
			}
		}
	}
	now := func() string { return time.Now().UTC().Format("20060102-15:04:05.000") }

	if err := f.send("D", "11=ok-1|55=USD/CNY|54=1|60="+now()+"|38=5000000|40=2|44=7.0900|59=0"); err != nil {
		t.Fatal(err)
	}
	if m := report("ok-1"); m[150] != "0" {
		t.Fatalf("ordinary order after the restart: %v, want 150=0 (stderr:\n%s)", m, errb.String())
	}
	if err := f.send("D", "11=take-1|55=USD/CNY|54=2|60="+now()+"|38=200000000|40=2|44=7.0900|59=3"); err != nil {
		t.Fatal(err)
	}
	m := report("take-1")
	if m[150] != "8" || m[39] != "8" || m[103] != "99" || !strings.HasPrefix(m[58], "risk: size ") {
		t.Fatalf("takeover-like order: %v, want 150=8 39=8 103=99 58=risk: size …", m)
	}
	t.Logf("refused: 58=%s", m[58])
	if !strings.Contains(errb.String(), "risk: order blocked") {
		t.Errorf("the block was not logged:\n%s", errb.String())
	}
}

// journalHistory runs the venue on dataDir with a clock in the recent
// past and journals n ordinary orders of BANKA: 4 to 6 million USD/CNY,
// every 40 minutes of weekday working hours, a third of them taken by
// BANKB.
func journalHistory(t *testing.T, cfg *config.Config, dataDir string, n int) {
	t.Helper()
	start := time.Now().UTC().AddDate(0, 0, -14).Truncate(24 * time.Hour).Add(8 * time.Hour)
	var now atomic.Int64
	now.Store(start.UnixNano())
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: dataDir, Clock: func() int64 { return now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- v.Run(ctx) }()
	a, _ := cfg.PartyID("BANKA")
	b, _ := cfg.PartyID("BANKB")
	usdcny, _ := v.Instrument("USD/CNY")
	hs, _ := v.Hub().SubscribeParty(a, 1<<14)
	sub := hubtest.New(hs)
	wait := func(kind engine.EventKind) {
		for {
			ev, err := sub.Next(5 * time.Second)
			switch {
			case err != nil:
				t.Fatalf("history: no %v: %v", kind, err)
			case ev.Kind == kind:
				return
			case ev.Kind == engine.EvRejected:
				t.Fatalf("history order rejected: %v", ev.Reason)
			}
		}
	}
	for k := 0; k < n; k++ {
		now.Add(int64(40 * time.Minute))
		if tm := time.Unix(0, now.Load()).UTC(); tm.Hour() >= 16 || tm.Weekday() == time.Saturday || tm.Weekday() == time.Sunday {
			next := time.Date(tm.Year(), tm.Month(), tm.Day()+1, 8, 0, 0, 0, time.UTC)
			for next.Weekday() == time.Saturday || next.Weekday() == time.Sunday {
				next = next.AddDate(0, 0, 1)
			}
			now.Store(next.UnixNano())
		}
		qty := engine.Qty([]int64{4_000_000, 5_000_000, 6_000_000, 5_000_000}[k%4])
		if err := v.Submit(&engine.Command{Kind: engine.CmdNewOrder, Party: a, Instrument: usdcny, Side: engine.Buy,
			OrdType: engine.Limit, TIF: engine.GTC, Qty: qty, Price: 709_000_000, ClOrdID: engine.MustID(fmt.Sprintf("hist-%d", k))}); err != nil {
			t.Fatal(err)
		}
		wait(engine.EvAccepted)
		if k%3 == 0 {
			if err := v.Submit(&engine.Command{Kind: engine.CmdNewOrder, Party: b, Instrument: usdcny, Side: engine.Sell,
				OrdType: engine.Limit, TIF: engine.IOC, Qty: qty, Price: 709_000_000, ClOrdID: engine.MustID(fmt.Sprintf("histb-%d", k))}); err != nil {
				t.Fatal(err)
			}
			wait(engine.EvFill)
		}
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// writeRiskConfig writes the example configuration with pre-trade scoring
// on, fail-closed, under a generous deadline (these tests are about the
// decision, not the latency, and the CI machine is shared), and returns
// the file's name and text.
func writeRiskConfig(t *testing.T, dir string) (file, text string) {
	t.Helper()
	file = filepath.Join(dir, "venue.toml")
	text = string(config.Example()) + "\n[risk]\ndeadline = \"2s\"\non_failure = \"closed\"\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, text
}

// serveLoopback runs `fxmatch serve` on cfgFile and dataDir with every
// listener on loopback port 0 until the test ends, and returns its banner
// once it is running, and its standard error (its log) to read later.
func serveLoopback(t *testing.T, cfgFile, dataDir string) (banner string, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	errb := new(syncBuffer)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfgFile, "--data", dataDir, "--fix-addr", "127.0.0.1:0",
			"--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, strings.NewReader(""), &out, errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	if !checkFor(t, 20*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	return out.String(), errb
}
