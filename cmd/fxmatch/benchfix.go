package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fxmatch/config"
	"fxmatch/fix/fixbench"
)

const benchFixUsage = `usage: fxmatch bench fix [flags]

A FIX 4.4 load generator (package fxmatch/fix/fixbench) against a venue
over loopback: each session sends NewOrderSingles open-loop on a fixed
schedule at the offered rate, and the latency of each order is taken from
its INTENDED send time (no coordinated omission) to the ExecutionReport
150=0 acknowledging it (its arrival as the kernel stamped it, not when
the generator got round to reading it): HdrHistogram p50/p99/p99.9/max,
the orders sent, acknowledged, rejected (by 103 and Text) and missing,
and the achieved rate. "lag" is how late the generator itself sent: its
pacer sleeps between orders (it does not spin a core; it spins at most
--spin before an order) and sends the orders of each wake-up together,
so it is late by its wake-up latency, and at rates above one order per
--tick by up to a tick. Under each row, the CPU time per order (warmup
included) of the venue, when the bench started it, and of the
generator: steadier than latency on a shared machine.

Without --addr the bench starts the venue itself: this binary's "serve" as
a child process on a temporary data directory, with the demo
configuration changed in three ways — durability as --durability says; the
per-session throttle raised to 10,000,000 messages a second, so that it
measures the venue, not its throttle; and pre-trade scoring off unless
--risk on (the fraud scorer rightly blocks a machine's sudden burst of
orders from a new source, and its own benchmark is separate) — on
127.0.0.1 port 0; it stops the venue and removes the directory at the end.
The venue gets --procs=N, half the machine's CPUs (at least 1), unless a
--venue-flag gives --procs: the generator needs the other half.

Sessions log on as the demo participants BANKA, BANKB, BROKER1 and BANKC
(password demo, ResetSeqNumFlag 141=Y): at most 4 sessions in the demo
configuration (a participant has one session at a time; REGULATOR may not
trade). Orders are USD/CNY 1m, buys at 7.0500 and sells at 7.1500, so they
never trade; with --mix cancel each rests until the session's next order
carries its cancel (2 messages per order), with --mix ioc the venue
cancels it at once (1 message per order). Either way the book stays
bounded for any duration.

Flags:
  --sessions N       sessions, 1 to 4 (default 1)
  --rate R           offered orders a second over all sessions (default 10000);
                     with --find-max, the first step's rate
  --duration D       measured length of each run (default 5s)
  --warmup D         sent at the same rate before each run, not measured (default 1s)
  --mix M            cancel (default) or ioc
  --tick D           the least time between two of the generator's wake-ups
                     (default 100µs, at most 10ms): each wake-up costs CPU,
                     and above one order a tick the orders of a tick go out
                     together, up to a tick late (the lag columns show it)
  --spin D           the most the generator spins before an order is due
                     (default 200µs, at most 1ms; 0s: it only sleeps). It
                     wakes early by its median oversleep and spins the rest,
                     trading CPU for a smaller lag
  --busy             the generator never sleeps: it spins between orders and
                     sends each on time (no send lag to speak of), taking a
                     whole CPU; meant for --pin, where that CPU is its own.
                     Its CPU per order then means nothing
  --durability MODE  sync, none or both (default both: none, then sync);
                     only without --addr (a running venue has its own)
  --risk on|off      pre-trade scoring in the started venue (default off);
                     only without --addr
  --addr HOST:PORT   a running venue's FIX address instead of starting one;
                     it must run the demo participants (or see --participants),
                     and its throttle applies
  --participants L   comma-separated CompIDs to log on as instead of the demo's
                     (with --password)
  --password P       their password (default demo)
  --find-max         raise the rate ×--factor per run until p99 exceeds
                     10× the first run's p99 or --p99-limit, or more than 1%
                     of orders are rejected, missing or behind; report the
                     highest rate sustained
  --factor F         the find-max step factor (default 1.5)
  --p99-limit D      the find-max p99 ceiling (default 5ms)
  --max-rate R       the find-max search's upper bound (default 2000000)
  --json             one JSON object instead of the table
  --venue-flag F     a flag for the started venue's serve command line,
                     repeatable: --venue-flag=--cpuprofile=FILE profiles the
                     venue's whole run, --venue-flag=--no-assistant runs it
                     without the in-process assistant; only without --addr; the venue
                     gets --procs=N (half the CPUs) unless one of these sets it
  --latency-log FILE every order of the run, warmup included, as CSV: its
                     session, intended send time, send lag and latency (µs),
                     to see when the slow ones were; one run only (not with
                     --find-max or --durability both)
  --echo             start, in the venue's place, "fxmatch bench echo": a FIX
                     echo that acknowledges each order at once, with no
                     matching, journal or checks, pinned and sized as the
                     venue would be (--procs, --cpus, --realtime pass through
                     --venue-flag). Its figures are the floor that this
                     machine, its loopback and the generator put under any
                     venue's; not with --addr, --durability or --risk
  --pin on|off       pin the generator to the first half of the CPUs this
                     process may use and the started venue (serve --cpus) to
                     the others (default on when the bench starts the venue
                     on a Linux machine of 2 or more CPUs; only without
                     --addr). A --venue-flag=--cpus=LIST is kept, the
                     generator then gets the CPUs it leaves
`

// benchFixFlags is the parsed command line of `fxmatch bench fix`.
type benchFixFlags struct {
	sessions     int
	rate         float64
	duration     time.Duration
	warmup       time.Duration
	mix          string
	tick         time.Duration
	spin         time.Duration
	durability   string
	risk         string
	addr         string
	participants []string
	password     string
	findMax      bool
	factor       float64
	p99Limit     time.Duration
	maxRate      float64
	json         bool
	venueFlags   []string
	pin          string
	latencyLog   string
	busy         bool
	echo         bool
	// genCPUs: the CPUs the generator pins itself to (--pin); nil: none.
	genCPUs []int
}

// demoBenchParticipants are the demo's trading participants in the order
// sessions take them.
var demoBenchParticipants = []string{"BANKA", "BANKB", "BROKER1", "BANKC"}

func parseBenchFixFlags(args []string) (benchFixFlags, error) {
	var f benchFixFlags
	fs := flag.NewFlagSet("fxmatch bench fix", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&f.sessions, "sessions", 1, "")
	rate := fs.String("rate", "10000", "")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "")
	fs.StringVar(&f.mix, "mix", string(fixbench.MixCancel), "")
	fs.DurationVar(&f.tick, "tick", fixbench.DefaultTick, "")
	fs.DurationVar(&f.spin, "spin", fixbench.DefaultMaxSpin, "")
	fs.StringVar(&f.durability, "durability", "", "")
	fs.StringVar(&f.risk, "risk", "", "")
	fs.StringVar(&f.addr, "addr", "", "")
	parts := fs.String("participants", "", "")
	fs.StringVar(&f.password, "password", config.DemoPassword, "")
	fs.BoolVar(&f.findMax, "find-max", false, "")
	fs.Float64Var(&f.factor, "factor", 1.5, "")
	fs.DurationVar(&f.p99Limit, "p99-limit", 5*time.Millisecond, "")
	maxRate := fs.String("max-rate", "2000000", "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.StringVar(&f.pin, "pin", "", "")
	fs.StringVar(&f.latencyLog, "latency-log", "", "")
	fs.BoolVar(&f.busy, "busy", false, "")
	fs.BoolVar(&f.echo, "echo", false, "")
	fs.Func("venue-flag", "", func(v string) error {
		if !strings.HasPrefix(v, "-") {
			return fmt.Errorf("%q is not a flag (want e.g. --no-assistant)", v)
		}
		f.venueFlags = append(f.venueFlags, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if f.rate, err = strconv.ParseFloat(*rate, 64); err != nil || !(f.rate > 0) || f.rate > 10_000_000 {
		return f, fmt.Errorf("--rate %q: want a number of orders a second above 0 and at most 10000000", *rate)
	}
	if f.maxRate, err = strconv.ParseFloat(*maxRate, 64); err != nil || !(f.maxRate > 0) || f.maxRate > 10_000_000 {
		return f, fmt.Errorf("--max-rate %q: want a number of orders a second above 0 and at most 10000000", *maxRate)
	}
	switch {
	case f.duration <= 0 || f.duration > 10*time.Minute:
		return f, fmt.Errorf("--duration %v: want more than 0 and at most 10m", f.duration)
	case f.warmup < 0 || f.warmup > time.Minute:
		return f, fmt.Errorf("--warmup %v: want 0 to 1m", f.warmup)
	case f.mix != string(fixbench.MixCancel) && f.mix != string(fixbench.MixIOC):
		return f, fmt.Errorf("--mix %q: want cancel or ioc", f.mix)
	case f.tick <= 0 || f.tick > 10*time.Millisecond:
		return f, fmt.Errorf("--tick %v: want more than 0 and at most 10ms", f.tick)
	case f.spin < 0 || f.spin > time.Millisecond:
		return f, fmt.Errorf("--spin %v: want 0 to 1ms", f.spin)
	case !(f.factor > 1) || f.factor > 10:
		return f, fmt.Errorf("--factor %v: want more than 1 and at most 10", f.factor)
	case f.p99Limit <= 0:
		return f, fmt.Errorf("--p99-limit %v: want more than 0", f.p99Limit)
	}
	if f.latencyLog != "" && f.findMax {
		return f, fmt.Errorf("--latency-log %q: one run only, not with --find-max", f.latencyLog)
	}
	if *parts != "" {
		for _, p := range strings.Split(*parts, ",") {
			if p = strings.TrimSpace(p); p == "" {
				return f, fmt.Errorf("--participants %q: an empty CompID", *parts)
			}
			f.participants = append(f.participants, p)
		}
		if f.sessions > len(f.participants) {
			return f, fmt.Errorf("--sessions %d: only %d --participants given", f.sessions, len(f.participants))
		}
	} else {
		if f.sessions < 1 || f.sessions > len(demoBenchParticipants) {
			return f, fmt.Errorf("--sessions %d: want 1 to 4 (the demo has four trading participants, one session each)", f.sessions)
		}
		f.participants = demoBenchParticipants
	}
	if f.sessions < 1 {
		return f, fmt.Errorf("--sessions %d: want at least 1", f.sessions)
	}
	f.participants = f.participants[:f.sessions]
	if f.echo {
		switch {
		case f.addr != "":
			return f, fmt.Errorf("--echo: not with --addr %q (the bench starts the echo itself)", f.addr)
		case f.durability != "":
			return f, fmt.Errorf("--durability %q: not with --echo (the echo has no journal)", f.durability)
		case f.risk != "":
			return f, fmt.Errorf("--risk %q: not with --echo (the echo scores nothing)", f.risk)
		}
		for _, v := range f.venueFlags {
			name, _, _ := strings.Cut(strings.TrimLeft(v, "-"), "=")
			if name != "procs" && name != "cpus" && name != "realtime" {
				return f, fmt.Errorf("--venue-flag %q: with --echo only --procs, --cpus and --realtime (the echo has no other flags)", v)
			}
		}
	}
	if f.addr != "" {
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			return f, fmt.Errorf("--addr %q is not a host:port address (e.g. 127.0.0.1:9878)", f.addr)
		}
		if f.durability != "" {
			return f, fmt.Errorf("--durability %q: only without --addr (a running venue has its own durability)", f.durability)
		}
		if f.risk != "" {
			return f, fmt.Errorf("--risk %q: only without --addr (a running venue has its own [risk])", f.risk)
		}
		if len(f.venueFlags) > 0 {
			return f, fmt.Errorf("--venue-flag %q: only without --addr (the bench passes flags only to a venue it starts)", f.venueFlags[0])
		}
		if f.pin != "" {
			return f, fmt.Errorf("--pin %q: only without --addr (the bench pins a venue it starts, and itself away from it)", f.pin)
		}
	} else {
		switch f.durability {
		case "":
			f.durability = "both"
			if f.echo {
				f.durability = benchEchoMode
			}
		case config.DurabilitySync, config.DurabilityNone, "both":
		default:
			return f, fmt.Errorf("--durability %q: want sync, none or both", f.durability)
		}
		if f.latencyLog != "" && f.durability == "both" {
			return f, fmt.Errorf("--latency-log %q: one run only: give --durability none or sync", f.latencyLog)
		}
		switch f.risk {
		case "":
			if !f.echo {
				f.risk = "off"
			}
		case "on", "off":
		default:
			return f, fmt.Errorf("--risk %q: want on or off", f.risk)
		}
		f.venueFlags = withBenchProcs(f.venueFlags, runtime.NumCPU())
		if f.pin == "" {
			f.pin = "on"
			if runtime.GOOS != "linux" {
				f.pin = "off" // pinning is Linux only
			}
		}
		if f.pin != "on" && f.pin != "off" {
			return f, fmt.Errorf("--pin %q: want on or off", f.pin)
		}
		if f.pin == "on" {
			allowed, err := allowedCPUs()
			if err != nil {
				return f, fmt.Errorf("--pin on: %v", err)
			}
			if f.venueFlags, f.genCPUs, err = withBenchCPUs(f.venueFlags, allowed); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

// withBenchCPUs splits the CPUs the bench may use (allowed, ascending)
// between the generator and the venue it starts (see cpus.go for why):
// the venue gets serve --cpus with the second half, the generator the
// first, the smaller one when they are odd (the generator is one busy
// thread; the venue has the shard, the sessions and the journal's
// background work). A --cpus the venue flags already give is kept, and
// the generator gets the CPUs it leaves. With fewer than 2 CPUs, or none
// left for the generator, nothing is pinned.
func withBenchCPUs(flags []string, allowed []int) (venueFlags []string, gen []int, err error) {
	if fl, val, ok := venueFlag(flags, "cpus"); ok {
		venue, err := parseCPUList(val)
		if err != nil {
			return nil, nil, fmt.Errorf("--venue-flag %q: %v", fl, err)
		}
		for _, c := range allowed {
			if !slices.Contains(venue, c) {
				gen = append(gen, c)
			}
		}
		return flags, gen, nil
	}
	if len(allowed) < 2 {
		return flags, nil, nil
	}
	half := len(allowed) / 2
	return append(slices.Clip(flags), "--cpus="+formatCPUList(allowed[half:])), allowed[:half:half], nil
}

// withBenchProcs adds --procs to the started venue's flags unless they
// have one: half the machine's CPUs (at least 1), because the generator
// runs on the same machine and needs the rest. On the project's 2-core
// machine that is --procs=1, which measured better than Go's default for
// the venue in every run (bench fix, 1 session at 10k/s, load ~2: p50
// 66-111 µs against 170-350 µs; 4 sessions find-max: 16,875 orders/s
// against 5,000).
func withBenchProcs(flags []string, cpus int) []string {
	if _, _, ok := venueFlag(flags, "procs"); ok {
		return flags
	}
	return append(slices.Clip(flags), fmt.Sprintf("--procs=%d", max(1, cpus/2)))
}

// venueFlag finds the first of the venue's flags (--venue-flag, one
// "-name=value" or "--name=value" each) named name, and its value.
func venueFlag(flags []string, name string) (flag, value string, ok bool) {
	for _, f := range flags {
		if n, v, _ := strings.Cut(strings.TrimLeft(f, "-"), "="); n == name {
			return f, v, true
		}
	}
	return "", "", false
}

// benchFixReport is the --json output.
type benchFixReport struct {
	// Target is "spawned" (the bench started the venue), "echo" (it
	// started bench echo in the venue's place, --echo) or the --addr.
	Target string `json:"target"`
	// Risk is the started venue's pre-trade scoring, "on" or "off" (""
	// with --addr or --echo).
	Risk string `json:"risk,omitempty"`
	// LoadAvg is /proc/loadavg's 1-minute figure when the bench started:
	// the machine is shared, and figures mean little without it.
	LoadAvg string `json:"loadavg_1m,omitempty"`
	// VenueFlags are the flags the started venue's serve got beyond its
	// listeners and configuration (--venue-flag, and --procs by default).
	VenueFlags []string `json:"venue_flags,omitempty"`
	// GeneratorCPUs is the CPU list the generator pinned itself to
	// (--pin on), "" when it did not.
	GeneratorCPUs string        `json:"generator_cpus,omitempty"`
	Runs          []benchFixRun `json:"runs"`
}

type benchFixRun struct {
	// Durability is the spawned venue's ("sync", "none"), "echo" for
	// --echo, or "" for --addr.
	Durability string                  `json:"durability,omitempty"`
	Result     *fixbench.Result        `json:"result,omitempty"`
	FindMax    *fixbench.FindMaxResult `json:"find_max,omitempty"`
	// CPU has one entry per run (per find-max step, in order).
	CPU []cpuFigure `json:"cpu"`
}

// cpuFigure is the CPU time spent per order sent (warmup included) by the
// venue (only when the bench started it) and by the generator. On a
// shared machine it is steadier than the latency: other processes'
// load stretches wall time, not these.
type cpuFigure struct {
	OfferedRate       float64  `json:"offered_rate"`
	VenueUSPerOrder   *float64 `json:"venue_us_per_order,omitempty"`
	GeneratorUSPerOrd float64  `json:"generator_us_per_order"`
	// The generator's wake-ups and writes per order, what most of its
	// CPU goes to (a wake-up costs some 20 µs on this kind of VM).
	WakesPerOrder  float64 `json:"generator_wakes_per_order"`
	WritesPerOrder float64 `json:"generator_writes_per_order"`
}

func (c cpuFigure) String() string {
	v := "not measured (--addr)"
	if c.VenueUSPerOrder != nil {
		v = fmt.Sprintf("%.1f µs", *c.VenueUSPerOrder)
	}
	return fmt.Sprintf("venue %s, generator %.1f µs (%.2f wake-ups, %.2f writes an order)", v, c.GeneratorUSPerOrd, c.WakesPerOrder, c.WritesPerOrder)
}

// cpuMeter reads the CPU time of the venue child (from /proc) and of this
// process between runs.
type cpuMeter struct {
	pid          int // 0: no child
	venue, bench time.Duration
}

func newCPUMeter(child *benchVenue) *cpuMeter {
	m := &cpuMeter{}
	if child != nil {
		m.pid = child.cmd.Process.Pid
	}
	m.venue, _ = procCPU(m.pid)
	m.bench = selfCPU()
	return m
}

func (m *cpuMeter) take(res *fixbench.Result, warmup, duration time.Duration) cpuFigure {
	c := cpuFigure{OfferedRate: res.OfferedRate}
	orders := float64(res.Sent) * (warmup + duration).Seconds() / duration.Seconds()
	if orders <= 0 {
		return c
	}
	now := selfCPU()
	c.GeneratorUSPerOrd = math.Round(float64((now-m.bench).Microseconds())/orders*10) / 10
	c.WakesPerOrder = math.Round(float64(res.PacerWakes)/orders*100) / 100
	c.WritesPerOrder = math.Round(float64(res.Writes)/orders*100) / 100
	m.bench = now
	if v, ok := procCPU(m.pid); ok {
		per := math.Round(float64((v-m.venue).Microseconds())/orders*10) / 10
		c.VenueUSPerOrder = &per
		m.venue = v
	}
	return c
}

// procCPU is a process's user+system CPU time from /proc/PID/stat (in
// clock ticks of 1/100 s, Linux's USER_HZ).
func procCPU(pid int) (time.Duration, bool) {
	if pid == 0 {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis are plain: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runBenchFix(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, benchFixUsage)
		return exitOK
	}
	f, err := parseBenchFixFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, benchFixUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "fxmatch bench fix: %v\n\n%s", err, benchFixUsage)
		return exitUsage
	}
	var latLog *os.File
	if f.latencyLog != "" {
		var err error
		if latLog, err = os.Create(f.latencyLog); err != nil {
			fmt.Fprintf(stderr, "fxmatch bench fix: --latency-log: %v\n", err)
			return exitFail
		}
		defer latLog.Close()
	}
	rep := benchFixReport{Target: f.addr, Risk: f.risk, LoadAvg: loadAvg(), VenueFlags: f.venueFlags}
	if f.genCPUs != nil {
		// Keep the generator's processors as they are: pinned to fewer
		// CPUs, the runtime would lower GOMAXPROCS to match, and a --busy
		// pacer would then spin on the only one while the goroutines that
		// read the venue's output wait for the scheduler's preemption.
		runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
		if err := pinProcess(f.genCPUs); err != nil {
			fmt.Fprintf(stderr, "fxmatch bench fix: --pin on: pinning the generator to CPUs %s: %v (--pin off runs unpinned)\n", formatCPUList(f.genCPUs), err)
			return exitFail
		}
		rep.GeneratorCPUs = formatCPUList(f.genCPUs)
	}
	var modes []string
	switch f.durability {
	case "":
		modes = []string{""}
	case "both":
		modes = []string{config.DurabilityNone, config.DurabilitySync}
		rep.Target = "spawned"
	case benchEchoMode:
		modes = []string{benchEchoMode}
		rep.Target = "echo"
	default:
		modes = []string{f.durability}
		rep.Target = "spawned"
	}
	if !f.json {
		venueNote := "venue " + f.addr
		switch {
		case f.echo:
			venueNote = "in the venue's place an echo started here (bench echo " + strings.Join(f.venueFlags, " ") + "): no matching, no journal"
		case f.addr == "":
			venueNote = "venue started here (serve " + strings.Join(f.venueFlags, " ") + "), pre-trade scoring " + f.risk
		}
		if rep.GeneratorCPUs != "" {
			venueNote += "; generator pinned to CPUs " + rep.GeneratorCPUs
		}
		fmt.Fprintf(stdout, "fxmatch bench fix: %d session(s) %s, mix %s, %v per run after %v warmup; %s; load average %s\n",
			f.sessions, strings.Join(f.participants, " "), f.mix, f.duration, f.warmup, venueNote, rep.LoadAvg)
		fixbench.WriteTextHeader(stdout)
	}
	failed := false
	for _, mode := range modes {
		addr := f.addr
		var child *benchVenue
		if addr == "" {
			exe, err := os.Executable()
			if err != nil {
				fmt.Fprintf(stderr, "fxmatch bench fix: %v\n", err)
				return exitFail
			}
			expected := int(f.rate * (f.warmup + f.duration).Seconds() * 2)
			if f.findMax {
				expected = 1_000_000
			}
			if mode == benchEchoMode {
				child, err = startBenchEcho(exe, f.venueFlags)
			} else {
				child, err = startBenchVenue(exe, mode, f.risk == "on", expected, f.venueFlags)
			}
			if err != nil {
				fmt.Fprintf(stderr, "fxmatch bench fix: %v\n", err)
				return exitFail
			}
			addr = child.fix
		}
		o := fixbench.Options{
			Addr: addr, Participants: f.participants, Password: f.password,
			Rate: f.rate, Duration: f.duration, Warmup: f.warmup, Mix: fixbench.Mix(f.mix), Tick: f.tick,
		}
		o.MaxSpin = f.spin
		if f.spin == 0 {
			o.MaxSpin = -1 // only sleep
		}
		if latLog != nil {
			o.LatencyLog = latLog
		}
		o.Busy = f.busy
		label := mode
		if label == "" {
			label = "-"
		}
		run := benchFixRun{Durability: mode}
		meter := newCPUMeter(child)
		// cpu notes the CPU the venue and the generator spent on res's
		// run (since the last call), per order sent, warmup included.
		cpu := func(res *fixbench.Result) {
			c := meter.take(res, f.warmup, f.duration)
			run.CPU = append(run.CPU, c)
			if !f.json {
				fmt.Fprintf(stdout, "           ↳ CPU per order: %s\n", c)
			}
		}
		if f.findMax {
			run.FindMax, err = fixbench.FindMax(ctx, o, fixbench.FindMaxOptions{
				Factor: f.factor, P99Limit: f.p99Limit, MaxRate: f.maxRate,
				Progress: func(st fixbench.Step) {
					if !f.json {
						fixbench.WriteTextRow(stdout, label, st.Result)
					}
					cpu(st.Result)
					if !f.json && !st.Sustained {
						fmt.Fprintf(stdout, "           ↳ not sustained: %s\n", st.Why)
					}
				},
			})
			if err == nil && !f.json {
				fmt.Fprintf(stdout, "%-10s max sustained %.0f orders/s (%s)\n", label, run.FindMax.MaxSustainedRate, run.FindMax.StoppedBecause)
			}
		} else {
			run.Result, err = fixbench.Run(ctx, o)
			if err == nil {
				if !f.json {
					fixbench.WriteTextRow(stdout, label, run.Result)
				}
				cpu(run.Result)
			}
		}
		// A session that ended early fails a plain run (its figures are
		// printed all the same); in a find-max search it ends the search.
		ended := err == nil && run.Result != nil && len(run.Result.Errors) > 0
		if ended {
			failed = true
			fmt.Fprintf(stderr, "fxmatch bench fix: %s: sessions ended before the run did: %s\n", label, strings.Join(run.Result.Errors, "; "))
		}
		if child != nil {
			if err != nil || ended || (run.FindMax != nil && lastEnded(run.FindMax)) {
				// The venue's side of the story (a disconnect says why
				// in its log).
				fmt.Fprintf(stderr, "the venue's log ends:\n%s\n", lastLines(child.stderr.String(), 15))
			}
			if serr := child.stop(); serr != nil && err == nil {
				err = serr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch bench fix: %v\n", err)
			return exitFail
		}
		rep.Runs = append(rep.Runs, run)
	}
	if f.json {
		b, err := fixbench.MarshalIndent(rep)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch bench fix: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	if failed {
		return exitFail
	}
	return exitOK
}

// lastEnded reports whether the search's last step lost a session.
func lastEnded(fm *fixbench.FindMaxResult) bool {
	return len(fm.Steps) > 0 && len(fm.Steps[len(fm.Steps)-1].Errors) > 0
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(b), " ")
	return first
}

// benchVenue is a venue the bench started as a child process.
type benchVenue struct {
	cmd    *exec.Cmd
	dir    string
	fix    string
	stderr *tailBuffer
	done   chan error
}

// benchVenueConfig is the demo configuration with the bench's changes:
// durability, throttle out of the way, the ClOrdID index sized for the
// run's orders so it does not grow while measured, scoring on or off.
func benchVenueConfig(durability string, risk bool, expectedOrders int) ([]byte, error) {
	text := string(config.Example())
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{`durability = "sync"`, fmt.Sprintf("durability = %q", durability), 1},
		{"throttle_per_second = 50_000", "throttle_per_second = 10_000_000", -1},
		{"orders_per_day_expected = 100_000", fmt.Sprintf("orders_per_day_expected = %d", min(max(expectedOrders, 100_000), 4_000_000)), 1},
	} {
		c := strings.Count(text, r.old)
		if c == 0 || (r.n > 0 && c != r.n) {
			return nil, fmt.Errorf("the demo configuration no longer has %q once (found %d); update benchVenueConfig", r.old, c)
		}
		text = strings.ReplaceAll(text, r.old, r.new)
	}
	if !risk {
		text += "\n# fxmatch bench fix: pre-trade scoring off (--risk off)\n[risk]\nenabled = false\n"
	}
	// The listeners are the command line's (port 0); check the text still
	// parses before starting a process on it.
	if _, err := config.Parse([]byte(text), "bench.toml"); err != nil {
		return nil, err
	}
	return []byte(text), nil
}

// startBenchVenue starts `exe serve` on a temporary data directory and a
// temporary configuration, every listener on 127.0.0.1 port 0, and returns
// once its banner names the FIX address and says it runs.
func startBenchVenue(exe, durability string, risk bool, expectedOrders int, extra []string) (*benchVenue, error) {
	cfg, err := benchVenueConfig(durability, risk, expectedOrders)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fxmatch-bench-fix-")
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	v := &benchVenue{dir: dir, stderr: &tailBuffer{max: 64 << 10}, done: make(chan error, 1)}
	v.cmd = exec.Command(exe, "serve", "--config", cfgFile, "--data", filepath.Join(dir, "data"),
		"--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	v.cmd.Args = append(v.cmd.Args, extra...)
	if err := v.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return v, nil
}

// benchEchoMode is the run's label (and --durability's value inside) when
// --echo starts "bench echo" in the venue's place.
const benchEchoMode = "echo"

// startBenchEcho starts `exe bench echo` on 127.0.0.1 port 0 with the
// venue's --procs, --cpus and --realtime (extra), and returns once it
// names its address.
func startBenchEcho(exe string, extra []string) (*benchVenue, error) {
	v := &benchVenue{stderr: &tailBuffer{max: 64 << 10}, done: make(chan error, 1)}
	v.cmd = exec.Command(exe, append([]string{"bench", "echo", "--addr", "127.0.0.1:0"}, extra...)...)
	if err := v.start(); err != nil {
		return nil, err
	}
	return v, nil
}

// start starts v.cmd and waits until its banner names the FIX address and
// says it runs (serve's banner, or bench echo's two lines).
func (v *benchVenue) start() error {
	exe := v.cmd.Path
	v.cmd.Stderr = v.stderr
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := v.cmd.Start(); err != nil {
		return fmt.Errorf("starting the venue %s: %w", exe, err)
	}
	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var fixAddr string
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if rest, ok := strings.CutPrefix(line, "FIX 4.4"); ok && fixAddr == "" {
				if fields := strings.Fields(rest); len(fields) > 0 {
					fixAddr = fields[0]
				}
			}
			if strings.HasPrefix(line, "fxmatch: running") {
				banner <- fixAddr
			}
		}
		io.Copy(io.Discard, out)
		close(banner)
		v.done <- v.cmd.Wait()
	}()
	select {
	case a, ok := <-banner:
		if ok && a != "" {
			v.fix = a
			return nil
		}
		v.kill()
		return fmt.Errorf("the venue did not name its FIX address:\n%s", v.stderr.String())
	case <-time.After(60 * time.Second):
		v.kill()
		return fmt.Errorf("the venue did not start within 60s:\n%s", v.stderr.String())
	}
}

func (v *benchVenue) kill() {
	v.cmd.Process.Kill()
	<-v.done
	os.RemoveAll(v.dir)
}

// stop asks the venue to stop (SIGINT, as an operator would), waits, and
// removes its directory.
func (v *benchVenue) stop() error {
	defer os.RemoveAll(v.dir)
	v.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-v.done:
		if err != nil {
			return fmt.Errorf("the venue exited with %v:\n%s", err, v.stderr.String())
		}
		return nil
	case <-time.After(30 * time.Second):
		v.cmd.Process.Kill()
		<-v.done
		return fmt.Errorf("the venue did not stop within 30s of SIGINT; killed")
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
