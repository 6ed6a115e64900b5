package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/internal/syncbuf"
)

// TestMain lets serve, run in-process by the tests, use this test binary
// as its snapshot processes (serve --snapshotter process, the default).
func TestMain(m *testing.M) {
	venue.RunSnapshotChildIfAsked()
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer that code under test may write while the
// test reads.
type syncBuffer = syncbuf.Buffer

// checkFor polls cond until it holds or the timeout passes (no fixed
// sleeps: the test is as fast as the code under it).
func checkFor(t *testing.T, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

// runCmd runs the command line to completion with a background context.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestServeStartsAndStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(dir string) []string
	}{
		{"no command", func(dir string) []string {
			return []string{"--data", dir, "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}
		}},
		{"serve", func(dir string) []string {
			return []string{"serve", "--data", dir, "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}
		}},
		{"serve -data", func(dir string) []string {
			return []string{"serve", "-data=" + dir, "-fix-addr=127.0.0.1:0", "-http-addr=127.0.0.1:0", "-nats-listen=127.0.0.1:0"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "nested", "data")
			args := tc.args(dir)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb syncBuffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errb) }()
			if !checkFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
				cancel()
				t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
			}
			banner := out.String()
			for _, want := range []string{
				dir, "shard 0       USD/CNY EUR/USD USD/JPY EUR/CNY",
				"FIX 4.4       127.0.0.1:", "TargetCompID FXMATCH", "HTTP          http://127.0.0.1:", "NATS          nats://127.0.0.1:", "embedded (participants: user=CompID",
				"REGULATOR (regulator, read-only, drop copy of all)", "BANKC (bank, cancel on disconnect)",
				"assistant     in-process; 0 fraud profiles rebuilt from the journal", "pre-trade scoring: review ≥ 0.05, block ≥ 0.5, deadline 2ms, fail-open",
			} {
				if !strings.Contains(banner, want) {
					t.Errorf("banner lacks %q:\n%s", want, banner)
				}
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				t.Errorf("data dir %s not created: %v", dir, err)
			}
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Errorf("exit code %d after cancel, want 0; stderr:\n%s", code, errb.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop after its context was cancelled")
			}
			if !strings.Contains(out.String(), "fxmatch: stopped") {
				t.Errorf("no stop message:\n%s", out.String())
			}
		})
	}
}

func TestServeWithConfigFileAndOverrides(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "two.toml")
	src, err := os.ReadFile("../../config/testdata/two-shards.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, src, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := []string{"serve", "--config", file, "--data", filepath.Join(dir, "d"), "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}
	go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errb) }()
	if !checkFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		cancel()
		t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	for _, want := range []string{"shard 0       EUR/USD:", "shard 1       EUR/CNY:", "FIX 4.4       127.0.0.1:", "HTTP          http://127.0.0.1:", "trade date 2026-11-25", "durability    none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit code %d", code)
	}
}

func TestServeRefusesDemoOnNonLoopback(t *testing.T) {
	for _, flag := range []string{"--fix-addr", "--http-addr", "--nats-listen"} {
		code, out, errs := runCmd(t, "", "serve", "--data", t.TempDir(), flag, "0.0.0.0:7000")
		if code != exitFail {
			t.Errorf("%s 0.0.0.0:7000: exit %d, want %d", flag, code, exitFail)
		}
		for _, want := range []string{`"0.0.0.0:7000" is not a loopback address`, "BANKA (demo password)"} {
			if !strings.Contains(errs, want) {
				t.Errorf("%s: refusal does not say %q:\n%s", flag, want, errs)
			}
		}
		if strings.Contains(out, "running") {
			t.Errorf("%s: it started anyway:\n%s", flag, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr, besides the usage
	}{
		{[]string{"serve", "--bogus"}, "-bogus"},
		{[]string{"--bogus"}, "-bogus"},
		{[]string{"serve", "--fix-addr"}, "-fix-addr"},
		{[]string{"serve", "--fix-addr", "9878"}, `--fix-addr "9878" is not a host:port address`},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--ring-spin", "-1us"}, `--ring-spin -1µs: want 0 (park at once) to 1s`},
		{[]string{"serve", "--ring-spin", "2s"}, `--ring-spin 2s: want 0 (park at once) to 1s`},
		{[]string{"serve", "--ring-spin", "fast"}, `-ring-spin`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"config"}, "config: missing subcommand"},
		{[]string{"config", "frob"}, `config: unknown subcommand "frob"`},
		{[]string{"config", "example", "x"}, `config example: unexpected argument "x"`},
		{[]string{"config", "check"}, "config check: want exactly one FILE"},
		{[]string{"config", "hash-password", "secret"}, `unexpected argument "secret"`},
	} {
		code, _, errs := runCmd(t, "", tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errs, tc.want) || !strings.Contains(errs, "usage: fxmatch") {
			t.Errorf("%q: stderr lacks %q or the usage:\n%s", tc.args, tc.want, errs)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, _ := runCmd(t, "", args...)
		if code != exitOK || !strings.Contains(out, "usage: fxmatch") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
	if code, _, errs := runCmd(t, "", "serve", "-h"); code != exitOK || !strings.Contains(errs, "--nats-listen") {
		t.Errorf("serve -h: exit %d, stderr %q", code, errs)
	}
}

// TestConfigExampleRoundTrip: the printed example loads, equals the demo
// and passes `config check`.
func TestConfigExampleRoundTrip(t *testing.T) {
	code, out, errs := runCmd(t, "", "config", "example")
	if code != exitOK {
		t.Fatalf("config example: exit %d: %s", code, errs)
	}
	file := filepath.Join(t.TempDir(), "fxmatch.toml")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("the printed example does not load: %v", err)
	}
	demo := config.Demo()
	if cfg.Participants[2].ID != demo.Participants[2].ID || len(cfg.Instruments) != len(demo.Instruments) || cfg.Credit[1].LimitUSD != 0 {
		t.Errorf("the printed example is not the demo")
	}
	code, out, errs = runCmd(t, "", "config", "check", file)
	if code != exitOK {
		t.Fatalf("config check: exit %d: %s", code, errs)
	}
	for _, want := range []string{"valid", "BANKA-BANKC            0 USD", "BANKA-BROKER1          5,000,000,000 USD", "USD/JPY  tick 0.001", "shards        1"} {
		if !strings.Contains(out, want) {
			t.Errorf("check summary lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigCheckFailures(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	example := string(config.Example())
	if err := os.WriteFile(bad, []byte(strings.Replace(example, `smp = "cancel-resting"`, `smp = "cancel-all"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "", "config", "check", bad)
	if code != exitFail || !strings.Contains(errs, `participant[0].smp: unknown mode "cancel-all"`) || !strings.Contains(errs, "bad.toml:") {
		t.Errorf("bad smp: exit %d, stderr %s", code, errs)
	}
	exposed := filepath.Join(dir, "exposed.toml")
	if err := os.WriteFile(exposed, []byte(strings.Replace(example, `fix = "127.0.0.1:9878"`, `fix = "0.0.0.0:9878"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCmd(t, "", "config", "check", exposed)
	if code != exitFail || !strings.Contains(errs, `listen.fix "0.0.0.0:9878" is not a loopback address`) {
		t.Errorf("demo passwords on 0.0.0.0: exit %d, stderr %s", code, errs)
	}
	code, _, errs = runCmd(t, "", "config", "check", filepath.Join(dir, "missing.toml"))
	if code != exitFail || !strings.Contains(errs, "missing.toml") {
		t.Errorf("missing file: exit %d, stderr %s", code, errs)
	}
}

func TestConfigHashPassword(t *testing.T) {
	code, out, errs := runCmd(t, "correct horse\n", "config", "hash-password")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	c := config.Demo()
	c.Participants[0].PasswordHash = strings.TrimSpace(out)
	if !c.VerifyPassword("BANKA", "correct horse") {
		t.Errorf("the printed hash %q is not of the password read", out)
	}
	if code, _, errs := runCmd(t, "", "config", "hash-password"); code != exitFail || !strings.Contains(errs, "empty password") {
		t.Errorf("empty stdin: exit %d, stderr %s", code, errs)
	}
}

// TestBenchIsDispatched only checks that bench reaches runBench (which
// bench.go owns) rather than the unknown-command path.
func TestBenchIsDispatched(t *testing.T) {
	_, _, errs := runCmd(t, "", "bench", "-h")
	if strings.Contains(errs, "unknown command") {
		t.Errorf("bench is not dispatched: %s", errs)
	}
}

func TestBenchJournalFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "journal", "--durability", "maybe"}, `--durability "maybe"`},
		{[]string{"bench", "journal", "--events", "5"}, "--events 5"},
		{[]string{"bench", "journal", "--shards", "0"}, "--shards 0"},
		{[]string{"bench", "journal", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errs := runCmd(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d naming %q", tc.args, code, errs, exitUsage, tc.want)
		}
	}
}

func TestBenchJournalRuns(t *testing.T) {
	code, out, errs := runCmd(t, "", "bench", "journal", "--dir", t.TempDir(), "--events", "30000", "--rate", "20000", "--duration", "200ms", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `"durable_events_per_sec"`) || !strings.Contains(out, `"replay`) {
		t.Fatalf("no durable throughput in the JSON:\n%s", out)
	}
}

// TestServeExternalNATSDown: with --nats-url pointing at a server that is
// not there, the venue starts anyway (matching does not depend on NATS)
// and says so; a malformed URL is refused naming it.
func TestServeExternalNATSDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "nats://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := []string{"serve", "--data", t.TempDir(), "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-url", down}
	go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errb) }()
	if !checkFor(t, 15*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		cancel()
		t.Fatalf("serve did not start; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	if want := "NATS          external " + down + " (NOT connected yet"; !strings.Contains(out.String(), want) {
		t.Errorf("banner lacks %q:\n%s", want, out.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit code %d; stderr:\n%s", code, errb.String())
	}

	code, _, errs := runCmd(t, "", "serve", "--data", t.TempDir(), "--nats-url", "localhost:4222")
	if code != exitFail || !strings.Contains(errs, `nats.url: "localhost:4222" is not a NATS URL`) {
		t.Errorf("--nats-url localhost:4222: exit %d, stderr:\n%s", code, errs)
	}
}

// TestServeCPUProfile: a --cpuprofile file that cannot be created is
// refused, named, before anything starts.
func TestServeCPUProfile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.prof")
	code, out, errs := runCmd(t, "", "serve", "--data", t.TempDir(), "--cpuprofile", bad)
	if code != exitFail || !strings.Contains(errs, `--cpuprofile "`+bad+`"`) || strings.Contains(out, "running") {
		t.Fatalf("unwritable profile: exit %d, stderr:\n%s\nstdout:\n%s", code, errs, out)
	}
}

// TestServeMemProfile: an unwritable --memprofile is refused before
// anything starts; a writable one holds a gzipped pprof profile once
// serve has stopped.
func TestServeMemProfile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "mem.prof")
	code, out, errs := runCmd(t, "", "serve", "--data", t.TempDir(), "--memprofile", bad)
	if code != exitFail || !strings.Contains(errs, `--memprofile "`+bad+`"`) || strings.Contains(out, "running") {
		t.Fatalf("unwritable profile: exit %d, stderr:\n%s\nstdout:\n%s", code, errs, out)
	}
	prof := filepath.Join(t.TempDir(), "mem.prof")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sout, serr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", t.TempDir(), "--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--nats-listen", "127.0.0.1:0", "--memprofile", prof}, strings.NewReader(""), &sout, &serr)
	}()
	if !checkFor(t, 10*time.Second, func() bool { return strings.Contains(sout.String(), "fxmatch: running") }) {
		cancel()
		<-done
		t.Fatalf("serve did not start:\n%s\n%s", sout.String(), serr.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, serr.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile after stop: %d bytes, err %v (want a gzipped pprof profile)", len(b), err)
	}
}

// TestServeProcsFlag: --procs reaches serve's settings; out of range is
// a usage error naming the value.
func TestServeProcsFlag(t *testing.T) {
	if f, code, ok := parseServeFlags([]string{"--procs", "1", "--trace", "t.out"}, io.Discard); !ok || code != exitOK || f.procs != 1 || f.traceFile != "t.out" {
		t.Errorf("--procs 1 --trace t.out: procs %d, trace %q (ok %v, exit %d)", f.procs, f.traceFile, ok, code)
	}
	for _, bad := range []string{"-1", "5000"} {
		var stderr strings.Builder
		if _, code, ok := parseServeFlags([]string{"--procs", bad}, &stderr); ok || code != exitUsage || !strings.Contains(stderr.String(), "--procs "+bad) {
			t.Errorf("--procs %s: ok %v, exit %d, stderr %q", bad, ok, code, stderr.String())
		}
	}
}

// TestServeRingSpinFlag: --ring-spin reaches serve's settings (0 is a
// setting of its own, parking at once, not "the default").
func TestServeRingSpinFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, venue.DefaultRingSpin},
		{[]string{"--ring-spin", "0"}, 0},
		{[]string{"--ring-spin", "25us"}, 25 * time.Microsecond},
	} {
		f, code, ok := parseServeFlags(tc.args, io.Discard)
		if !ok || code != exitOK || f.ringSpin != tc.want {
			t.Errorf("%q: ring spin %v (ok %v, exit %d), want %v", tc.args, f.ringSpin, ok, code, tc.want)
		}
	}
}
