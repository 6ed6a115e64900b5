package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/fix"
	"fxmatch/internal/threads"
	"fxmatch/internal/yield"
	"fxmatch/journal"
)

// serveFlags are serve's command-line settings. Empty strings mean "not
// given": the configuration's value stands.
type serveFlags struct {
	configFile string
	dataDir    string
	fixAddr    string
	httpAddr   string
	natsListen string
	natsURL    string
	// noAssistant: no in-process assistant (a standalone one serves).
	noAssistant bool
	// snapshotEvery: commands between engine snapshots (recovery time).
	snapshotEvery uint64
	// cpuProfile: a file for a CPU profile of the whole run (for finding
	// where an order's microseconds go under `fxmatch bench fix --addr`).
	cpuProfile string
	// memProfile: a file for the allocation profile of the whole run,
	// written when serve stops (what the garbage collector is fed with).
	memProfile string
	// ringSpin: how long an idle shard polls its input before it parks
	// (venue.DefaultRingSpin unless given; 0 parks at once).
	ringSpin time.Duration
	// traceFile: a file for a runtime execution trace of the whole run
	// (go tool trace; -pprof=sched shows where goroutines waited to run).
	traceFile string
	// procs: the Go scheduler's processors (runtime.GOMAXPROCS) for the
	// run; 0 leaves Go's choice (GOMAXPROCS, else the CPUs available).
	procs int
	// sysmon: "awake" (main has re-executed the process with sysmon kept
	// awake, sysmon.go) or "park" (Go's default behaviour).
	sysmon string
	// cpus: the CPUs serve pins every thread to (--cpus); nil: not pinned.
	cpus []int
	// spareProc: "auto", "on" or "off" (see yield.Blocking).
	spareProc string
	// snapshotter: "process" (a child process at idle priority per shard,
	// venue.Options.SnapshotProcess) or "inline" (a goroutine).
	snapshotter string
	// realtime: the SCHED_FIFO priority every thread of the venue takes
	// once it has started (--realtime); 0: the normal policy.
	realtime int
}

func parseServeFlags(args []string, stderr io.Writer) (serveFlags, int, bool) {
	var f serveFlags
	fs := flag.NewFlagSet("fxmatch serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, "\n"+usage) }
	fs.StringVar(&f.configFile, "config", "", "configuration file")
	fs.StringVar(&f.dataDir, "data", "", "data directory")
	fs.StringVar(&f.fixAddr, "fix-addr", "", "FIX listen address")
	fs.StringVar(&f.httpAddr, "http-addr", "", "HTTP listen address")
	fs.StringVar(&f.natsListen, "nats-listen", "", "NATS listen address")
	fs.StringVar(&f.natsURL, "nats-url", "", "external NATS server URL (no embedded server)")
	fs.BoolVar(&f.noAssistant, "no-assistant", false, "do not run the trading assistant in-process")
	fs.Uint64Var(&f.snapshotEvery, "snapshot-every", 100_000, "commands between engine snapshots")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&f.memProfile, "memprofile", "", "write the run's allocation profile to this file when serve stops")
	fs.DurationVar(&f.ringSpin, "ring-spin", venue.DefaultRingSpin, "how long an idle shard polls its input before it parks")
	fs.StringVar(&f.traceFile, "trace", "", "write a runtime execution trace of the run to this file")
	fs.IntVar(&f.procs, "procs", 0, "Go scheduler processors (GOMAXPROCS) for the venue; 0: Go's default")
	fs.StringVar(&f.sysmon, sysmonFlag, "awake", "awake: keep the Go runtime's sysmon from parking when idle; park: Go's default")
	cpus := fs.String("cpus", "", "pin every thread of the venue to these CPUs (Linux CPU list: 1, 0,2, 2-3)")
	fs.StringVar(&f.spareProc, "spare-proc", "auto", "auto, on or off: one more Go processor while a goroutine waits for the disk")
	fs.StringVar(&f.snapshotter, "snapshotter", "process", "process: engine snapshots taken in a child process at idle priority; inline: on a goroutine of the venue")
	fs.IntVar(&f.realtime, "realtime", 0, "run the venue's threads under SCHED_FIFO at this priority (1-99) once it has started; 0: the normal policy")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, exitOK, false
		}
		return f, exitUsage, false // the flag package has named the flag and printed the usage
	}
	if fs.NArg() > 0 {
		return f, usageError(stderr, "serve: unexpected argument %q (flags only)", fs.Arg(0)), false
	}
	if f.ringSpin < 0 || f.ringSpin > time.Second {
		return f, usageError(stderr, "serve: --ring-spin %v: want 0 (park at once) to 1s", f.ringSpin), false
	}
	if f.sysmon != "awake" && f.sysmon != "park" {
		return f, usageError(stderr, "serve: --sysmon %q: want awake or park", f.sysmon), false
	}
	if *cpus != "" {
		list, err := parseCPUList(*cpus)
		if err != nil {
			return f, usageError(stderr, "serve: --cpus %q: %v", *cpus, err), false
		}
		f.cpus = list
	}
	if f.spareProc != "auto" && f.spareProc != "on" && f.spareProc != "off" {
		return f, usageError(stderr, "serve: --spare-proc %q: want auto, on or off", f.spareProc), false
	}
	if f.snapshotter != "process" && f.snapshotter != "inline" {
		return f, usageError(stderr, "serve: --snapshotter %q: want process or inline", f.snapshotter), false
	}
	if f.procs < 0 || f.procs > 1024 {
		return f, usageError(stderr, "serve: --procs %d: want 0 (Go's default) to 1024", f.procs), false
	}
	if f.realtime < 0 || f.realtime > threads.MaxRealtime {
		return f, usageError(stderr, "serve: --realtime %d: want 0 (the normal policy) or a SCHED_FIFO priority 1 to %d", f.realtime, threads.MaxRealtime), false
	}
	if f.snapshotEvery < 1 || f.snapshotEvery > 1<<40 {
		return f, usageError(stderr, "serve: --snapshot-every %d: want 1 to %d commands", f.snapshotEvery, uint64(1)<<40), false
	}
	for _, a := range []struct{ flag, value string }{
		{"--fix-addr", f.fixAddr}, {"--http-addr", f.httpAddr}, {"--nats-listen", f.natsListen},
	} {
		if a.value == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.value); err != nil {
			return f, usageError(stderr, "serve: %s %q is not a host:port address (e.g. 127.0.0.1:9878)", a.flag, a.value), false
		}
	}
	return f, exitOK, true
}

// loadServeConfig is the configuration serve runs: the file or the demo,
// with the flags' overrides applied, validated, and checked against the
// listener policy.
func loadServeConfig(f serveFlags) (*config.Config, error) {
	cfg, err := loadConfigOrDemo(f.configFile)
	if err != nil {
		return nil, err
	}
	if f.dataDir != "" {
		cfg.Venue.DataDir = f.dataDir
	}
	if f.fixAddr != "" {
		cfg.Listen.FIX = f.fixAddr
	}
	if f.httpAddr != "" {
		cfg.Listen.HTTP = f.httpAddr
	}
	if f.natsListen != "" {
		cfg.Listen.NATS = f.natsListen
	}
	if f.natsURL != "" {
		cfg.NATS.URL = f.natsURL
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckListeners(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// runServe runs the venue until ctx ends: the configuration is loaded and
// checked, the state is recovered from the data directory's journal
// (snapshot + replay, compared event for event), and every shard runs
// behind its input ring with the journal's group commit. Front ends not
// built yet are named as such in the banner.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, ok := parseServeFlags(args, stderr)
	if !ok {
		return code
	}
	cfg, err := loadServeConfig(f)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	if f.realtime > 0 {
		// Asked now, not found out after a recovery and with the front
		// ends up.
		if err := checkRealtime(f.realtime); err != nil {
			fmt.Fprintf(stderr, "fxmatch: serve: --realtime %d: %v\n", f.realtime, err)
			return exitFail
		}
	}
	if f.cpus != nil {
		if err := pinProcess(f.cpus); err != nil {
			fmt.Fprintf(stderr, "fxmatch: serve: --cpus %s: %v\n", formatCPUList(f.cpus), err)
			return exitUsage
		}
	}
	setProcs(f.procs, f.cpus)
	yield.Boost(f.spareProc == "on" || f.spareProc == "auto" && runtime.GOMAXPROCS(0) == 1)
	if f.cpuProfile != "" {
		fh, err := os.Create(f.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(fh)
		}
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch: --cpuprofile %q: %v\n", f.cpuProfile, err)
			return exitFail
		}
		defer func() { pprof.StopCPUProfile(); fh.Close() }()
	}
	if f.memProfile != "" {
		// Created now, so that a path that cannot be written is refused
		// before the venue starts, not found out when it stops.
		fh, err := os.Create(f.memProfile)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch: --memprofile %q: %v\n", f.memProfile, err)
			return exitFail
		}
		defer func() {
			// "allocs": every allocation sampled since the start, the
			// garbage collector's whole diet (go tool pprof
			// -sample_index=alloc_space). The profile holds what the
			// last completed collection saw: collect once more first,
			// or the run's end is missing.
			runtime.GC()
			if err := pprof.Lookup("allocs").WriteTo(fh, 0); err != nil {
				fmt.Fprintf(stderr, "fxmatch: --memprofile %q: %v\n", f.memProfile, err)
			}
			fh.Close()
		}()
	}
	if f.traceFile != "" {
		fh, err := os.Create(f.traceFile)
		if err == nil {
			err = trace.Start(fh)
		}
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch: --trace %q: %v\n", f.traceFile, err)
			return exitFail
		}
		defer func() { trace.Stop(); fh.Close() }()
	}
	fixTLS, err := cfg.FIXTLS() // before the journal opens: a bad file is a refusal to start
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	dataDir, err := filepath.Abs(cfg.Venue.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: data directory %q: %v\n", cfg.Venue.DataDir, err)
		return exitFail
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		fmt.Fprintf(stderr, "fxmatch: data directory: %v\n", err)
		return exitFail
	}
	if !cfg.Durable() {
		fmt.Fprintln(stderr, "fxmatch: WARNING: durability is none: acknowledgements are NOT durable; a crash of the process or the machine can lose acknowledged orders. Benchmarks only.")
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	spin := f.ringSpin
	if spin == 0 {
		spin = -1 // venue.Options: negative parks at once, 0 is the default
	}
	v, err := venue.Open(venue.Options{Config: cfg, DataDir: dataDir, Logger: logger, SnapshotEvery: f.snapshotEvery, RingSpin: spin, SnapshotProcess: f.snapshotter == "process"})
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	nb, err := startNATS(ctx, v, cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	defer nb.Close() // deferred first, so it runs after the gateway's Close
	// The assistant and the pre-trade gate come before the front ends, so
	// that no order is taken unscored (serve_assistant.go).
	ast, err := startAssistant(v, cfg, !f.noAssistant, func() (*nats.Conn, error) { return nb.AssistantConnect() }, nb.Conn(), nb.SetBookSink, logger)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	defer ast.Close()
	// The FIX front end starts before the venue runs, so every execution
	// report reaches its session, and stops before it, so that sessions are
	// logged out and cancel-on-disconnect orders still reach the shards.
	// Its lifetime is managed here (Close below), not through ctx.
	acc, err := fix.Start(context.Background(), v, cfg.Listen.FIX, fix.Options{DataDir: dataDir, Logger: logger, TLS: fixTLS})
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch: FIX listener %s: %v\n", cfg.Listen.FIX, err)
		return exitFail
	}
	httpf, err := startHTTP(v, cfg.Listen.HTTP, nb.Conn(), func() uint64 { return uint64(nb.Stats().Dropped) }, acc, logger)
	if err != nil {
		acc.Close()
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	defer httpf.Close()
	// Real-time priority last, once recovery and start-up are done: they
	// run at the normal policy and cannot hold a CPU from the rest of the
	// machine for long. Threads made later inherit it; the snapshot
	// processes, started by Open, keep their idle policy, and are raised
	// to the venue's while they fall behind (Venue.SetRealtime). The
	// right to it was checked before Open.
	if f.realtime > 0 {
		v.SetRealtime(f.realtime) // a lagging snapshot process is raised to it
		if err := setRealtime(f.realtime); err != nil {
			acc.Close()
			fmt.Fprintf(stderr, "fxmatch: serve: --realtime %d: %v\n", f.realtime, err)
			return exitFail
		}
		if !rtThrottled() {
			fmt.Fprintln(stderr, "fxmatch: WARNING: --realtime with the kernel's real-time throttling off (kernel.sched_rt_runtime_us = -1): a venue thread that never blocked could hold its CPU from other processes for as long as it ran")
		}
	}
	printBanner(stdout, cfg, f.configFile, dataDir, time.Now(), v, acc.Addr().String(), httpf.Addr(), natsBanner(nb)+"\n  assistant     "+ast.line+"\n  go runtime    "+runtimeLine(f.sysmon, f.cpus, f.realtime))
	stopCheckpoints := checkpointOnSignal(ctx, v, dataDir, logger)
	defer stopCheckpoints()
	vctx, stopVenue := context.WithCancel(context.Background())
	defer stopVenue()
	go func() {
		select {
		case <-ctx.Done():
		case <-vctx.Done():
		}
		httpf.Close()
		acc.Close()
		stopVenue()
	}()
	if err := v.Run(vctx); err != nil {
		acc.Close()
		fmt.Fprintf(stderr, "fxmatch: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, "fxmatch: stopped; the journal is closed")
	return exitOK
}

// checkpointOnSignal takes a consistent copy of the running venue's
// journal on every SIGUSR1, into <data>/checkpoints/<UTC time> (on the data
// filesystem: Pebble hard-links its tables into a checkpoint), and logs the
// directory and each shard's head so the operator can note them; `fxmatch
// replay verify --journal DIR` then proves the copy. A running venue holds
// its journal locked, so this is the only way to copy it live.
func checkpointOnSignal(ctx context.Context, v *venue.Venue, dataDir string, logger *slog.Logger) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-quit:
				return
			case <-sig:
			}
			dir := filepath.Join(dataDir, "checkpoints", time.Now().UTC().Format("20060102T150405.000000Z"))
			if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
				logger.Error("checkpoint failed", "dir", dir, "err", err)
				continue
			}
			if err := v.Journal().Checkpoint(dir); err != nil {
				logger.Error("checkpoint failed", "dir", dir, "err", err)
				continue
			}
			args := []any{"dir", dir}
			if rd, err := journal.OpenReader(dir, journal.ReaderOptions{}); err == nil {
				if shards, err := rd.Shards(); err == nil {
					for _, sh := range shards {
						if h, err := rd.Head(sh); err == nil {
							args = append(args, fmt.Sprintf("shard%d", sh), h.String())
						}
					}
				}
				rd.Close()
			}
			logger.Info("checkpoint written; prove it with: fxmatch replay verify --journal DIR", args...)
		}
	}()
	return func() {
		signal.Stop(sig)
		close(quit)
		<-done
	}
}

// runtimeLine is the banner's Go runtime line: processors, CPUs and sysmon.
func runtimeLine(mode string, cpus []int, realtime int) string {
	line := fmt.Sprintf("GOMAXPROCS %d; ", yield.Procs())
	if cpus != nil {
		line += "pinned to CPUs " + formatCPUList(cpus) + "; "
	}
	if realtime > 0 {
		line += fmt.Sprintf("SCHED_FIFO priority %d (--realtime); ", realtime)
	}
	if yield.Boosting() {
		line += "one more while waiting for the disk (--spare-proc); "
	}
	switch {
	case sysmonAwake():
		return line + "sysmon kept awake (GODEBUG " + os.Getenv("GODEBUG") + ")"
	case mode == "park":
		return line + "sysmon parks when idle (--sysmon=park)"
	default:
		// Run in-process (tests) or the re-execution failed (main said why).
		return line + "sysmon parks when idle (serve did not re-execute itself)"
	}
}

// printBanner says what runs where, and what does not run yet.
func printBanner(w io.Writer, cfg *config.Config, configFile, dataDir string, now time.Time, v *venue.Venue, fixAddr, httpAddr, natsLine string) {
	source := "built-in demo (`fxmatch config example` prints it)"
	if configFile != "" {
		source = configFile
	}
	durability := "sync (nothing is acknowledged before it is on disk)"
	if !cfg.Durable() {
		durability = "none (benchmarks only: a crash loses acknowledged orders)"
	}
	roll := cfg.NextRoll(now) // in the roll zone

	fmt.Fprintln(w, "fxmatch: starting the venue")
	fmt.Fprintf(w, "  config        %s\n", source)
	fmt.Fprintf(w, "  data dir      %s (journal in %s)\n", dataDir, filepath.Join(dataDir, "journal"))
	fmt.Fprintf(w, "  durability    %s\n", durability)
	fmt.Fprintf(w, "  snapshots     %s\n", v.SnapshotLine())
	fmt.Fprintf(w, "  trading day   rolls at %s %s (next %s)\n", cfg.Venue.RollTime, cfg.Venue.RollZone, roll.Format("Mon 2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "  participants  %s\n", participantSummary(cfg))
	for i, sh := range cfg.Shards {
		date, seq := v.Recovered(i)
		fmt.Fprintf(w, "  shard %-7d %s: matching; trade date %04d-%02d-%02d; journal at seq %d\n",
			i, strings.Join(sh.Instruments, " "), date/10000, date/100%100, date%100, seq)
	}
	fmt.Fprintf(w, "  FIX 4.4       %s  TargetCompID FXMATCH; dictionary: fix/spec/FIX44-fxmatch.xml; %s\n", fixAddr, cfg.FIXTLSSummary())
	fmt.Fprintf(w, "  HTTP          http://%s/api/v1  Bearer tokens; API described at /openapi.json\n", httpAddr)
	fmt.Fprintf(w, "  storefront    http://%s/  brokers' stores, browsing and hits, market, regulator (demo tokens listed on the login page on loopback)\n", httpAddr)
	fmt.Fprintf(w, "  NATS          %s\n", natsLine)
	fmt.Fprintln(w, "fxmatch: running; stop with Ctrl-C (SIGINT) or SIGTERM")
}

// participantSummary lists the participants with what sets them apart.
func participantSummary(cfg *config.Config) string {
	parts := make([]string, 0, len(cfg.Participants))
	for _, p := range cfg.Participants {
		notes := []string{p.Role}
		if !p.CanTrade() {
			notes = append(notes, "read-only")
		}
		if p.CancelOnDisconnect {
			notes = append(notes, "cancel on disconnect")
		}
		switch {
		case len(p.DropCopy) == 1 && p.DropCopy[0] == "*":
			notes = append(notes, "drop copy of all")
		case len(p.DropCopy) > 0:
			notes = append(notes, "drop copy of "+strings.Join(p.DropCopy, " "))
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", p.ID, strings.Join(notes, ", ")))
	}
	return strings.Join(parts, ", ")
}
