package main

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"fxmatch/config"
)

func TestBenchFixFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "fast"}, `--rate "fast"`},
		{[]string{"--rate", "-3"}, `--rate "-3"`},
		{[]string{"--rate", "0"}, `--rate "0"`},
		{[]string{"--sessions", "5"}, "--sessions 5: want 1 to 4"},
		{[]string{"--sessions", "0"}, "--sessions 0"},
		{[]string{"--duration", "0s"}, "--duration 0s"},
		{[]string{"--duration", "soon"}, `invalid value "soon" for flag -duration`},
		{[]string{"--mix", "spray"}, `--mix "spray"`},
		{[]string{"--tick", "0s"}, "--tick 0s"},
		{[]string{"--tick", "1s"}, "--tick 1s"},
		{[]string{"--spin", "2ms"}, "--spin 2ms"},
		{[]string{"--durability", "fsync"}, `--durability "fsync"`},
		{[]string{"--risk", "maybe"}, `--risk "maybe"`},
		{[]string{"--addr", "127.0.0.1:9878", "--risk", "on"}, `--risk "on": only without --addr`},
		{[]string{"--addr", "127.0.0.1:9878", "--durability", "none"}, `--durability "none": only without --addr`},
		{[]string{"--addr", "nowhere"}, `--addr "nowhere"`},
		{[]string{"--addr", "127.0.0.1:9878", "--pin", "on"}, `--pin "on": only without --addr`},
		{[]string{"--pin", "yes"}, `--pin "yes": want on or off`},
		{[]string{"--latency-log", "l.csv", "--find-max"}, `--latency-log "l.csv": one run only, not with --find-max`},
		{[]string{"--latency-log", "l.csv"}, `--latency-log "l.csv": one run only: give --durability none or sync`},
		{[]string{"--factor", "1"}, "--factor 1"},
		{[]string{"--participants", "A,,B"}, `--participants "A,,B"`},
		{[]string{"--participants", "A", "--sessions", "2"}, "--sessions 2: only 1 --participants"},
		{[]string{"--echo", "--addr", "127.0.0.1:9878"}, `--echo: not with --addr "127.0.0.1:9878"`},
		{[]string{"--echo", "--durability", "none"}, `--durability "none": not with --echo`},
		{[]string{"--echo", "--risk", "on"}, `--risk "on": not with --echo`},
		{[]string{"--echo", "--venue-flag=--no-assistant"}, `--venue-flag "--no-assistant": with --echo only --procs, --cpus and --realtime`},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		checkUsageError(t, "fix", tc.args, tc.want)
	}
	code, out, _ := runCmd(t, "", "bench", "fix", "--help")
	if code != exitOK || !strings.Contains(out, "--find-max") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// runBenchFixJSON runs the real binary's `bench fix args --json` and
// returns its output, failing the test (with its stderr) if it fails.
func runBenchFixJSON(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(buildBinary(t), append(append([]string{"bench", "fix"}, args...), "--json")...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("bench fix %q: %v\n%s\n%s", args, err, out, stderr)
	}
	return out
}

// checkUsageError runs `fxmatch bench <bench> args` and wants the usage
// exit, a message naming want, then the bench's usage.
func checkUsageError(t *testing.T, bench string, args []string, want string) {
	t.Helper()
	code, _, errs := runCmd(t, "", append([]string{"bench", bench}, args...)...)
	if code != exitUsage || !strings.Contains(errs, want) || !strings.Contains(errs, "usage: fxmatch bench "+bench) {
		t.Errorf("%q: exit %d, stderr %q; want exit %d naming %q, then the usage", args, code, errs, exitUsage, want)
	}
}

// The bench's venue configuration is the demo with its three changes,
// and still valid: a change in the demo text that breaks the rewrite is
// caught here, not by a failed benchmark.
func TestBenchVenueConfig(t *testing.T) {
	text, err := benchVenueConfig(config.DurabilityNone, false, 50_000_000)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(text, "bench.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RiskPolicy().Enabled {
		t.Error("pre-trade scoring is on in the --risk off configuration")
	}
	if on, err := benchVenueConfig(config.DurabilitySync, true, 1000); err != nil {
		t.Fatal(err)
	} else if c, err := config.Parse(on, "on.toml"); err != nil || !c.RiskPolicy().Enabled || !c.Durable() {
		t.Errorf("--risk on, sync: %v", err)
	}
	if cfg.Durable() || cfg.Venue.OrdersPerDayExpected != 4_000_000 {
		t.Errorf("durable %v, orders_per_day_expected %d", cfg.Durable(), cfg.Venue.OrdersPerDayExpected)
	}
	for _, p := range cfg.Participants {
		if p.ThrottlePerSecond != 10_000_000 {
			t.Errorf("%s throttle %d", p.ID, p.ThrottlePerSecond)
		}
	}
}

// TestBenchFixSpawned: the real binary runs the bench against venues it
// starts itself as child processes (none, then sync), and the JSON adds
// up.
func TestBenchFixSpawned(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts venues")
	}
	out := runBenchFixJSON(t, "--sessions", "2", "--rate", "100", "--duration", "1s", "--warmup", "200ms")
	var rep struct {
		Target        string   `json:"target"`
		VenueFlags    []string `json:"venue_flags"`
		GeneratorCPUs string   `json:"generator_cpus"`
		Runs          []struct {
			Durability string `json:"durability"`
			Result     struct {
				Sessions, Sent, Acked, Rejected, Missing int64
				Latency                                  struct{ Count int64 } `json:"latency_us"`
			} `json:"result"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, out)
	}
	if rep.Target != "spawned" || len(rep.Runs) != 2 || rep.Runs[0].Durability != "none" || rep.Runs[1].Durability != "sync" {
		t.Fatalf("want runs with durability none then sync on a spawned venue:\n%s", out)
	}
	// --pin is on by default: on a machine of 2 CPUs or more the venue
	// got --cpus and the generator the CPUs it left.
	if allowed, err := allowedCPUs(); err == nil && len(allowed) >= 2 && runtime.GOOS == "linux" {
		if !slices.ContainsFunc(rep.VenueFlags, func(f string) bool { return strings.HasPrefix(f, "--cpus=") }) || rep.GeneratorCPUs == "" {
			t.Errorf("venue flags %q, generator CPUs %q: want the venue and the generator pinned apart", rep.VenueFlags, rep.GeneratorCPUs)
		}
	}
	for _, r := range rep.Runs {
		res := r.Result
		if res.Sessions != 2 || res.Sent != 100 || res.Acked+res.Rejected+res.Missing != res.Sent || res.Acked != 100 || res.Latency.Count != res.Acked {
			t.Errorf("%s: %+v: want 100 sent on 2 sessions, all acked, one latency sample each", r.Durability, res)
		}
	}
}

// TestBenchEchoFlags: bench echo refuses what it cannot do, naming the
// value, and listens on loopback only (it checks no password).
func TestBenchEchoFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "0.0.0.0:0"}, `--addr "0.0.0.0:0": a loopback address only`},
		{[]string{"--addr", "nowhere"}, `--addr "nowhere" is not a host:port address`},
		{[]string{"--procs", "-1"}, "--procs -1: want 0"},
		{[]string{"--realtime", "100"}, "--realtime 100: want 0"},
		{[]string{"--cpus", "x"}, `--cpus "x"`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
	} {
		checkUsageError(t, "echo", tc.args, tc.want)
	}
	code, out, _ := runCmd(t, "", "bench", "echo", "--help")
	if code != exitOK || !strings.Contains(out, "floor") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// TestBenchFixEcho: --echo starts bench echo in the venue's place, pinned
// and sized as the venue would be, and measures it as it would the venue.
func TestBenchFixEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the echo")
	}
	out := runBenchFixJSON(t, "--echo", "--sessions", "2", "--rate", "200", "--duration", "1s", "--warmup", "200ms")
	var rep struct {
		Target     string   `json:"target"`
		VenueFlags []string `json:"venue_flags"`
		Runs       []struct {
			Durability string `json:"durability"`
			Result     struct {
				Sessions, Sent, Acked int64
				Latency               struct{ Count int64 } `json:"latency_us"`
			} `json:"result"`
			CPU []struct {
				Venue *float64 `json:"venue_us_per_order"`
			} `json:"cpu"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, out)
	}
	if rep.Target != "echo" || len(rep.Runs) != 1 || rep.Runs[0].Durability != "echo" {
		t.Fatalf("want one run labelled echo:\n%s", out)
	}
	if !slices.ContainsFunc(rep.VenueFlags, func(f string) bool { return strings.HasPrefix(f, "--procs=") }) {
		t.Errorf("venue flags %q: want the venue's --procs passed to the echo", rep.VenueFlags)
	}
	r := rep.Runs[0]
	if res := r.Result; res.Sessions != 2 || res.Sent != 200 || res.Acked != 200 || res.Latency.Count != 200 {
		t.Errorf("%+v: want 200 sent on 2 sessions, all acked, one latency sample each", res)
	}
	// Present, as a venue's; its value may be 0 here (/proc counts in
	// 10 ms ticks, and 240 orders cost the echo a few ms).
	if len(r.CPU) != 1 || r.CPU[0].Venue == nil || *r.CPU[0].Venue < 0 {
		t.Errorf("CPU %+v: want the echo's CPU per order measured, as a venue's", r.CPU)
	}
}
