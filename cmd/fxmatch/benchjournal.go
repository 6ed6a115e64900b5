package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"fxmatch/journal"
)

const benchJournalUsage = `usage: fxmatch bench journal [flags]

Measures the journal (package fxmatch/journal) on a real directory with
realistic records (about one command and three events each): durable
events a second with group commit, the enqueue-to-durable latency
p50/p99 at a fixed offered rate, and replay with the hash chain checked.

Flags:
  --dir DIR          where the temporary journal goes (default the system
                     temp dir; point it at the venue's disk — a tmpfs
                     measures memory, not durability)
  --durability MODE  sync (default) or none
  --events N         events in the throughput phase (default 6000000)
  --rate R           offered events/s in the latency phase (default 300000)
  --duration D       length of the latency phase (default 3s)
  --shards N         concurrent producers, one shard each (default 1)
  --json             one JSON object instead of the summary
`

func runBenchJournal(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fxmatch bench journal", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "")
	dur := fs.String("durability", "sync", "")
	events := fs.Int("events", 6_000_000, "")
	rate := fs.Int("rate", 300_000, "")
	duration := fs.Duration("duration", 3*time.Second, "")
	shards := fs.Int("shards", 1, "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, benchJournalUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "fxmatch bench journal: %v\n\n%s", err, benchJournalUsage)
		return exitUsage
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fxmatch bench journal: "+format+"\n\n%s", append(a, benchJournalUsage)...)
		return exitUsage
	}
	d, err := journal.ParseDurability(*dur)
	switch {
	case err != nil:
		return bad("--durability %q: want sync or none", *dur)
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case *events < 1000 || *events > 1_000_000_000:
		return bad("--events %d: want 1000 to 1000000000", *events)
	case *rate < 0 || *rate > 100_000_000:
		return bad("--rate %d: want 0 to 100000000", *rate)
	case *duration <= 0 || *duration > time.Hour:
		return bad("--duration %v: want more than 0 and at most 1h", *duration)
	case *shards < 1 || *shards > 64:
		return bad("--shards %d: want 1 to 64", *shards)
	}
	res, err := journal.Bench(journal.BenchOptions{
		Dir: *dir, Durability: d, Events: *events, Rate: *rate,
		LatencyDuration: *duration, LatencySkip: *rate == 0, Shards: *shards,
	})
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench journal: %v\n", err)
		return exitFail
	}
	if *asJSON {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch bench journal: %v\n", err)
		return exitFail
	}
	return exitOK
}
