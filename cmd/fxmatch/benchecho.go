package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"

	"fxmatch/config"
	"fxmatch/fix/fixbench"
	"fxmatch/internal/threads"
)

const benchEchoUsage = `usage: fxmatch bench echo [--addr HOST:PORT] [--procs N] [--cpus LIST] [--realtime N]

A FIX echo for calibrating a machine, not a venue: it logs any session on
without a password, acknowledges each NewOrderSingle (150=0) and
OrderCancelRequest (150=4) at once, with no matching, journal or checks,
and writes the answers to everything one read brought in with one write.
Driven by "fxmatch bench fix", it shows the floor the machine, its
loopback and the generator put under any venue's latency and
throughput: "fxmatch bench fix --echo" starts it in the venue's place,
pinned and sized as the venue would be. It prints its address, then runs
until interrupted.

Flags:
  --addr HOST:PORT   where to listen (default 127.0.0.1:0); a loopback
                     address only, as it checks no password
  --procs N          Go scheduler processors (GOMAXPROCS); 0: Go's default
  --cpus LIST        pin every thread to these CPUs (Linux CPU list: 1, 0,2, 2-3)
  --realtime N       run every thread under SCHED_FIFO at this priority (1-99)
                     once listening; 0: the normal policy
`

// runBenchEcho is `fxmatch bench echo`.
func runBenchEcho(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, benchEchoUsage)
		return exitOK
	}
	fs := flag.NewFlagSet("fxmatch bench echo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:0", "")
	procs := fs.Int("procs", 0, "")
	cpuList := fs.String("cpus", "", "")
	realtime := fs.Int("realtime", 0, "")
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fxmatch bench echo: "+format+"\n\n%s", append(a, benchEchoUsage)...)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, benchEchoUsage)
			return exitOK
		}
		return bad("%v", err)
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return bad("--addr %q is not a host:port address (e.g. 127.0.0.1:0)", *addr)
	}
	if !config.IsLoopback(*addr) {
		return bad("--addr %q: a loopback address only (the echo logs anyone on without a password)", *addr)
	}
	if *procs < 0 || *procs > 1024 {
		return bad("--procs %d: want 0 (Go's default) to 1024", *procs)
	}
	if *realtime < 0 || *realtime > threads.MaxRealtime {
		return bad("--realtime %d: want 0 (the normal policy) or a SCHED_FIFO priority 1 to %d", *realtime, threads.MaxRealtime)
	}
	var cpus []int
	if *cpuList != "" {
		var err error
		if cpus, err = parseCPUList(*cpuList); err != nil {
			return bad("--cpus %q: %v", *cpuList, err)
		}
		if err := pinProcess(cpus); err != nil {
			fmt.Fprintf(stderr, "fxmatch bench echo: --cpus %s: %v\n", formatCPUList(cpus), err)
			return exitFail
		}
	}
	setProcs(*procs, cpus)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench echo: %v\n", err)
		return exitFail
	}
	if *realtime > 0 {
		if err := setRealtime(*realtime); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "fxmatch bench echo: --realtime %d: %v\n", *realtime, err)
			return exitFail
		}
	}
	// The lines bench fix reads from a venue's banner.
	fmt.Fprintf(stdout, "FIX 4.4 %s (echo: no matching, no journal, no password check)\n", ln.Addr())
	fmt.Fprintf(stdout, "fxmatch: running (echo, GOMAXPROCS %d); Ctrl-C stops it\n", runtime.GOMAXPROCS(0))
	done := make(chan error, 1)
	go func() { done <- fixbench.Echo(ln) }()
	select {
	case <-ctx.Done():
		ln.Close()
		<-done
		return exitOK
	case err := <-done:
		fmt.Fprintf(stderr, "fxmatch bench echo: %v\n", err)
		return exitFail
	}
}
