package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"fxmatch/engine/enginebench"
)

const benchUsage = `usage: fxmatch bench engine [flags]
       fxmatch bench journal [flags]   (fxmatch bench journal --help)
       fxmatch bench fix [flags]       (fxmatch bench fix --help)
       fxmatch bench echo [flags]      (fxmatch bench echo --help)
       fxmatch bench http [flags]      (fxmatch bench http --help)
       fxmatch bench ws [flags]        (fxmatch bench ws --help)

Measures the matching engine on a seeded, realistic interbank FX workload
(package fxmatch/engine/enginebench): the matching core alone (throughput,
per-message latency, allocations), then the same workload end to end
through a shard fed by the lock-free ring and by a buffered channel, and
the ratio between the two. Progress goes to standard error. The default
run takes about 20 seconds.

Flags:
  --orders N      messages in the workload (default 1000000)
  --seed S        workload seed: the same seed, the same commands (default 1)
  --json          print one JSON object instead of the summary
  --capacity N    ring and channel capacity, a power of two (default 4096)
  --batch N       the shard's batch bound (default 256)
  --repeat N      runs per throughput figure, the best reported
                  (default 3 for the core, 2 per input)
`

// runBench is `fxmatch bench`: engine, journal or fix.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, benchUsage)
		return exitOK
	}
	if len(args) > 0 && args[0] == "journal" {
		return runBenchJournal(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "fix" {
		return runBenchFix(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "echo" {
		return runBenchEcho(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "http" {
		return runBenchHTTP(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "ws" {
		return runBenchWS(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "engine" {
		if len(args) == 0 {
			fmt.Fprintf(stderr, "fxmatch bench: which benchmark? (engine, journal, fix, echo, http, ws)\n\n")
		} else {
			fmt.Fprintf(stderr, "fxmatch bench: unknown benchmark %q (want engine, journal, fix, echo, http or ws)\n\n", args[0])
		}
		fmt.Fprint(stderr, benchUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("fxmatch bench engine", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, with the usage
	def := enginebench.DefaultParams()
	orders := fs.Int("orders", def.Orders, "")
	seed := fs.Uint64("seed", def.Seed, "")
	asJSON := fs.Bool("json", false, "")
	capacity := fs.Int("capacity", 4096, "")
	batch := fs.Int("batch", 256, "")
	repeat := fs.Int("repeat", 0, "")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, benchUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "fxmatch bench engine: %v\n\n%s", err, benchUsage)
		return exitUsage
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fxmatch bench engine: "+format+"\n\n%s", append(a, benchUsage)...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case *orders < 1000 || *orders > 100_000_000:
		return bad("--orders %d: want 1000 to 100000000", *orders)
	case *capacity < 2 || *capacity > 1<<24 || *capacity&(*capacity-1) != 0:
		return bad("--capacity %d: want a power of two from 2 to 16777216", *capacity)
	case *batch < 1 || *batch > 65536:
		return bad("--batch %d: want 1 to 65536", *batch)
	case *repeat < 0 || *repeat > 20:
		return bad("--repeat %d: want 1 to 20", *repeat)
	}
	p := def
	p.Orders, p.Seed = *orders, *seed
	rep, err := enginebench.Run(enginebench.Options{
		Params: p, RingCapacity: *capacity, MaxBatch: *batch, Repeat: *repeat, Progress: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench engine: %v\n", err)
		return exitFail
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench engine: %v\n", err)
		return exitFail
	}
	return exitOK
}
