// Command fxmatch is the venue: one binary that runs the matching engine
// and, as they are built, its FIX, HTTP and NATS front ends, and that also
// carries the operator's tools (configuration, benchmarks).
//
// With no command it serves the built-in demo configuration, so that
// `go run ./cmd/fxmatch` is all a newcomer needs. Everything is reachable
// in-process through run, which takes its arguments, streams and a
// context instead of reading os.Args and signals, so the tests drive the
// real command line without building a binary.
//
// Exit codes: 0 success, 1 the command failed (bad configuration, refused
// listener, I/O), 2 the command line was wrong.
package main

import (
	"context"
	"fmt"
	"fxmatch/cmd/fxmatch/venue"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// First of all: the venue may run this program as a shard's snapshot
	// process (venue/snapchild.go), which never returns here.
	venue.RunSnapshotChildIfAsked()
	// Before anything else: serve may replace the process with itself,
	// the Go runtime's sysmon kept awake (sysmon.go).
	reexecForSysmon()
	// The first SIGINT or SIGTERM cancels the context and serve shuts down
	// cleanly; stop() then restores the default handling, so a second one
	// kills a shutdown that hangs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: fxmatch [command] [arguments]

Commands:
  serve [flags]          run the venue (the default when no command is given)
  config example         print a fully commented example configuration (the demo)
  config check FILE      validate a configuration file and summarise it
  config hash-password   read a password from standard input, print its bcrypt hash
  config hash-token      print a fresh random HTTP API token and its api_token_hash
  config nats-server     print a nats-server configuration with the venue's users and
                         permissions, for an external NATS (fxmatch config nats-server -h)
  bench [arguments]      run the benchmarks (fxmatch bench -h)
  replay COMMAND [flags] the regulator's read-only tools on a journal: book,
                         order, trades, verify, export (fxmatch replay -h)
  journal checkpoint     copy a stopped venue's journal (fxmatch journal -h)
  assistant [flags]      run the trading assistant alone on a NATS server
                         (fxmatch assistant -h)
  score [flags]          score a stream of orders for pre-trade fraud, JSON lines in and out
                         (fxmatch score -h)
  sim KIND [flags]       run a simulator (fxmatch sim -h lists the kinds)
  eval fraud [flags]     evaluate the fraud scorer against baselines on labelled streams
  help                   print this help

Flags of serve:
  --config FILE          configuration file (default: the built-in demo configuration)
  --data DIR             data directory (default: the configuration's data_dir,
                         ./fxmatch-data for the demo; created if missing)
  --fix-addr ADDR        FIX listen address, host:port (overrides listen.fix)
  --http-addr ADDR       HTTP listen address (overrides listen.http)
  --nats-listen ADDR     embedded NATS listen address (overrides listen.nats)
  --nats-url URL         connect to this NATS server instead of embedding one
                         (overrides [nats] url; credentials from [nats])
  --no-assistant         no in-process trading assistant: a standalone
                         "fxmatch assistant" on the bus answers instead
  --snapshot-every N     commands between engine snapshots, bounding recovery
                         time (default 100000)
  --snapshotter process|inline
                         process (the default): each shard's snapshots are
                         encoded and written by a child process (this
                         program) at the kernel's idle priority, raised
                         while it falls behind; inline: by a goroutine of
                         the venue, which shares its processors
  --cpuprofile FILE      write a CPU profile of the whole run to FILE (read it
                         with go tool pprof; for finding where time goes
                         under fxmatch bench fix --addr)
  --memprofile FILE      write the run's allocation profile to FILE when serve
                         stops (go tool pprof -sample_index=alloc_space)
  --ring-spin D          how long an idle shard polls its input before its
                         goroutine sleeps (default 10µs; 0: sleep at once).
                         Longer holds a core per shard between commands for
                         a quicker pick-up: worth it only with cores to spare
  --trace FILE           write a runtime execution trace of the whole run to
                         FILE (go tool trace; -pprof=sched: where goroutines
                         waited to run)
  --procs N              Go scheduler processors for the venue (GOMAXPROCS;
                         default: Go's, one per CPU). On a 2-core machine
                         shared with a load generator, 1 measured lower
                         latency and CPU per order (fewer thread wake-ups)
  --cpus LIST            pin every thread of the venue to these CPUs (Linux
                         CPU list: 1, 0,2, 2-3), e.g. away from a load
                         generator or other busy processes (default: not
                         pinned)
  --spare-proc auto|on|off
                         on: the Go scheduler gets one more processor for
                         as long as background work (the journal's flushes
                         and compactions, an engine snapshot's table, the
                         FIX store's janitor) waits for the disk, so the
                         others run meanwhile instead of waiting for the
                         runtime to take the blocked one back (up to 10
                         ms); auto (the default): on when the venue runs on
                         one processor
  --sysmon awake|park    awake (the default): serve re-executes itself at
                         start (same PID) with GODEBUG=schedtrace=2147483647,
                         which keeps the Go runtime's sysmon thread from
                         parking whenever the venue is idle; waking it again
                         cost about a third of the venue's CPU per order at
                         10,000 orders/s. An existing GODEBUG schedtrace is
                         kept as it is. park: Go's default behaviour
  --realtime N           once started, run every thread of the venue under
                         the kernel's real-time policy SCHED_FIFO at priority
                         N (1-99; default 0, the normal policy), so that no
                         normal-priority work (kernel threads, other
                         processes) takes the CPU from a venue thread ready
                         to run; a snapshot process keeps its idle policy
                         and is raised to the venue's while it falls
                         behind; start-up and recovery run at the normal
                         one. Needs CAP_SYS_NICE or RLIMIT_RTPRIO >= N,
                         checked before the venue opens. Costs: normal-
                         priority kernel work on the venue's CPU waits
                         until it idles, and the venue's threads are not
                         time-sliced against each other (README)

Run with no arguments to start the demo venue on loopback.
`

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// run is the whole command line: it dispatches args (without the program
// name) to a command and returns the exit code. ctx ending asks a running
// command (serve) to stop.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-' && !isHelp(args[0])) {
		return runServe(ctx, args, stdout, stderr)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "config":
		return runConfig(rest, stdin, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "replay":
		return runReplay(rest, stdout, stderr)
	case "journal":
		return runJournal(rest, stdout, stderr)
	case "assistant":
		return runAssistant(ctx, rest, stdout, stderr)
	case "score":
		return runScore(rest, stdin, stdout, stderr)
	case "sim":
		return runSim(rest, stdout, stderr)
	case "eval":
		return runEval(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		return usageError(stderr, "unknown command %q", cmd)
	}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// usageError reports a wrong command line: what was wrong, then the usage.
func usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "fxmatch: "+format+"\n\n", args...)
	fmt.Fprint(stderr, usage)
	return exitUsage
}
