package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"fxmatch/assistant/fraud"
)

// This file holds the pre-trade fraud scorer's commands: `score`, `sim`
// and `eval`. `sim` and `eval` take a kind (`sim fraud`, `eval fraud`);
// other kinds register themselves in simKinds and evalKinds from their
// own files, in an init function:
//
//	func init() { simKinds["quotes"] = subcommand{runSimQuotes, "…"} }

// subcommand is one kind of `sim` or `eval`.
type subcommand struct {
	run     func(args []string, stdout, stderr io.Writer) int
	summary string
}

var (
	simKinds  = map[string]subcommand{"fraud": {runSimFraud, "a labelled event stream for the pre-trade fraud scorer"}}
	evalKinds = map[string]subcommand{"fraud": {runEvalFraud, "the fraud scorer against the baselines on a labelled stream"}}
)

// runKind dispatches `fxmatch NAME KIND …` to the registered kind.
func runKind(name string, kinds map[string]subcommand, args []string, stdout, stderr io.Writer) int {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	help := func(w io.Writer) {
		fmt.Fprintf(w, "usage: fxmatch %s KIND [flags]   (fxmatch %s KIND -h for its flags)\n\nKinds:\n", name, name)
		for _, k := range names {
			fmt.Fprintf(w, "  %-10s %s\n", k, kinds[k].summary)
		}
	}
	if len(args) > 0 && isHelp(args[0]) {
		help(stdout)
		return exitOK
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "fxmatch %s: which kind?\n\n", name)
		help(stderr)
		return exitUsage
	}
	k, ok := kinds[args[0]]
	if !ok {
		if name == "sim" && args[0] == "quotes" {
			fmt.Fprintf(stderr, "fxmatch sim quotes: not built yet\n")
			return exitFail
		}
		fmt.Fprintf(stderr, "fxmatch %s: unknown kind %q\n\n", name, args[0])
		help(stderr)
		return exitUsage
	}
	return k.run(args[1:], stdout, stderr)
}

func runSim(args []string, stdout, stderr io.Writer) int {
	return runKind("sim", simKinds, args, stdout, stderr)
}

func runEval(args []string, stdout, stderr io.Writer) int {
	return runKind("eval", evalKinds, args, stdout, stderr)
}

// parseFlags parses a flag set whose errors are reported with the usage;
// done is true when the caller should return code.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK, true
		}
		fmt.Fprintf(stderr, "%s: %v\n\n%s", fs.Name(), err, usage)
		return exitUsage, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n\n%s", fs.Name(), fs.Arg(0), usage)
		return exitUsage, true
	}
	return 0, false
}

const scoreUsage = `usage: fxmatch score [flags] < events.jsonl > scores.jsonl

Scores every order of a time-ordered stream of JSON lines (the format is in
assistant/fraud/README.md) with the pre-trade fraud scorer, each order
against the lines before it only, and writes one line per order:

  {"order_id":"o1","score":0.93,"action":"block","reasons":["size 4.2× the account's 30-day p95", …]}

A line that is not a usable event stops the run with its line number.

Flags:
  --review X        score at or above which an order is reviewed (default 0.05)
  --block X         score at or above which an order is blocked (default 0.5)
  --max-accounts N  account profiles kept, least recently active evicted (default 16384)
`

func runScore(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fxmatch score", flag.ContinueOnError)
	def := fraud.DefaultConfig()
	review := fs.Float64("review", def.Review, "")
	block := fs.Float64("block", def.Block, "")
	maxAccts := fs.Int("max-accounts", def.MaxAccounts, "")
	if code, done := parseFlags(fs, args, scoreUsage, stdout, stderr); done {
		return code
	}
	cfg := def
	cfg.Review, cfg.Block, cfg.MaxAccounts = *review, *block, *maxAccts
	s, err := fraud.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch score: %v\n\n%s", err, scoreUsage)
		return exitUsage
	}
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	out := bufio.NewWriterSize(stdout, 1<<16)
	var ev fraud.Event
	var line []byte
	for n := 1; in.Scan(); n++ {
		if len(bytes.TrimSpace(in.Bytes())) == 0 {
			continue
		}
		if err := fraud.ParseEvent(in.Bytes(), &ev); err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "fxmatch score: line %d: %v\n", n, err)
			return exitFail
		}
		res := s.Score(&ev)
		if !res.Scored {
			continue
		}
		line = res.AppendJSON(line[:0], ev.OrderID)
		if _, err := out.Write(line); err != nil {
			fmt.Fprintf(stderr, "fxmatch score: %v\n", err)
			return exitFail
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(stderr, "fxmatch score: reading: %v\n", err)
		return exitFail
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "fxmatch score: %v\n", err)
		return exitFail
	}
	return exitOK
}

const simFraudUsage = `usage: fxmatch sim fraud [flags] --out events.jsonl --labels labels.jsonl

Generates a seeded interbank FX event stream (logins, orders, cancels,
fills) with labelled fraud episodes (account takeover, spoofing, wash
trades, momentum ignition) and labelled hard negatives (first trades in a
new pair, quarter-end size spikes, a volatile day, new devices). The same
flags give the same bytes. The stream is what fxmatch score reads; the
labels are for fxmatch eval fraud only. A summary goes to standard error.

Flags:
  --seed N       seed (default 1)
  --accounts N   accounts (default 2000)
  --days N       trading days (default 20)
  --out FILE     the event stream ("-" for standard output)
  --labels FILE  the labels: one line per labelled order
                 {"order_id","kind","episode","fraud"}
`

func runSimFraud(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fxmatch sim fraud", flag.ContinueOnError)
	seed := fs.Uint64("seed", 1, "")
	accounts := fs.Int("accounts", 2000, "")
	days := fs.Int("days", 20, "")
	outPath := fs.String("out", "", "")
	labelsPath := fs.String("labels", "", "")
	if code, done := parseFlags(fs, args, simFraudUsage, stdout, stderr); done {
		return code
	}
	if *outPath == "" || *labelsPath == "" {
		fmt.Fprintf(stderr, "fxmatch sim fraud: --out and --labels are required\n\n%s", simFraudUsage)
		return exitUsage
	}
	var out io.Writer = stdout
	if *outPath != "-" {
		f, err := os.Create(*outPath)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch sim fraud: %v\n", err)
			return exitFail
		}
		defer f.Close()
		out = f
	}
	lf, err := os.Create(*labelsPath)
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch sim fraud: %v\n", err)
		return exitFail
	}
	defer lf.Close()
	st, err := fraud.Simulate(fraud.SimParams{Seed: *seed, Accounts: *accounts, Days: *days}, out, lf)
	if err == nil {
		if f, ok := out.(*os.File); ok && f != os.Stdout {
			err = f.Close()
		}
	}
	if err == nil {
		err = lf.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "fxmatch sim fraud: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "fxmatch sim fraud: seed %d: %d accounts, %d days (%s to %s): %d events, %d orders; %s\n",
		*seed, *accounts, *days, st.Start.Format(time.DateOnly), st.End.Format(time.DateOnly), st.Events, st.Orders, simSummary(st))
	return exitOK
}

func simSummary(st fraud.SimStats) string {
	var parts []string
	for _, k := range append(slices.Clone(fraud.FraudKinds), fraud.HardNegativeKinds...) {
		parts = append(parts, fmt.Sprintf("%s %d episodes/%d orders", k, st.Episodes[k], st.Labelled[k]))
	}
	return strings.Join(parts, ", ")
}

const evalFraudUsage = `usage: fxmatch eval fraud --events FILE --labels FILE [flags]
       fxmatch eval fraud --seed N[,N…] [--accounts N] [--days N] [flags]

Replays a labelled stream through the pre-trade fraud scorer and two
baselines (fixed pre-trade rules; a per-account z-score of size), each
order scored on the lines before it only, and prints ROC-AUC, PR-AUC,
recall at 1% false positives (overall, per fraud kind, per episode), the
share of account takeovers caught on their first order, how many
fraudulent orders pass before an episode's first alert, and the share of
hard negatives flagged. With --seed it simulates the stream itself (as
fxmatch sim fraud would) for each seed, then prints a summary line per seed.

Flags:
  --events FILE   event stream (with --labels)
  --labels FILE   labels of the stream
  --seed LIST     simulate these seeds instead (comma-separated)
  --accounts N    simulated accounts (default 2000)
  --days N        simulated trading days (default 20)
  --review X      the scorer's review threshold (default 0.05)
  --block X       the scorer's block threshold (default 0.5)
  --fit           also fit the logistic weights on this stream and print
                  them (how the default weights were derived, on a seed the
                  evaluation does not report)
`

func runEvalFraud(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fxmatch eval fraud", flag.ContinueOnError)
	def := fraud.DefaultConfig()
	eventsPath := fs.String("events", "", "")
	labelsPath := fs.String("labels", "", "")
	seeds := fs.String("seed", "", "")
	accounts := fs.Int("accounts", 2000, "")
	days := fs.Int("days", 20, "")
	review := fs.Float64("review", def.Review, "")
	block := fs.Float64("block", def.Block, "")
	fit := fs.Bool("fit", false, "")
	if code, done := parseFlags(fs, args, evalFraudUsage, stdout, stderr); done {
		return code
	}
	cfg := def
	cfg.Review, cfg.Block = *review, *block
	if _, err := fraud.New(cfg); err != nil {
		fmt.Fprintf(stderr, "fxmatch eval fraud: %v\n\n%s", err, evalFraudUsage)
		return exitUsage
	}
	if (*seeds == "") == (*eventsPath == "" || *labelsPath == "") {
		if *seeds == "" && (*eventsPath != "" || *labelsPath != "") {
			fmt.Fprintf(stderr, "fxmatch eval fraud: --events and --labels go together\n\n%s", evalFraudUsage)
		} else {
			fmt.Fprintf(stderr, "fxmatch eval fraud: give --events and --labels, or --seed\n\n%s", evalFraudUsage)
		}
		return exitUsage
	}
	report := func(e *fraud.Evaluation) {
		e.Report(stdout)
		if *fit {
			w, err := fraud.FitWeights(e, 1)
			if err != nil {
				fmt.Fprintf(stderr, "fxmatch eval fraud: %v\n", err)
				return
			}
			fmt.Fprintf(stdout, "\nfitted weights (L2 1):\n")
			fraud.PrintWeights(stdout, w)
		}
	}
	if *seeds == "" {
		lf, err := os.Open(*labelsPath)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch eval fraud: %v\n", err)
			return exitFail
		}
		labels, err := fraud.ReadLabels(lf)
		lf.Close()
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch eval fraud: %s: %v\n", *labelsPath, err)
			return exitFail
		}
		ef, err := os.Open(*eventsPath)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch eval fraud: %v\n", err)
			return exitFail
		}
		defer ef.Close()
		e, err := fraud.Replay(ef, cfg, *fit)
		if err == nil {
			err = e.Measure(labels)
		}
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch eval fraud: %s: %v\n", *eventsPath, err)
			return exitFail
		}
		fmt.Fprintf(stdout, "fxmatch eval fraud: %s with %s\n", *eventsPath, *labelsPath)
		report(e)
		return exitOK
	}
	var list []uint64
	for _, f := range strings.Split(*seeds, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch eval fraud: --seed %q: not a list of seeds\n\n%s", *seeds, evalFraudUsage)
			return exitUsage
		}
		list = append(list, v)
	}
	var summary strings.Builder
	fmt.Fprintf(&summary, "\nsummary, the scorer at its 1%%-FPR threshold (ROC-AUC of the rules and z-score baselines at the end;\n"+
		"HN-3: hard negatives of the issue's three kinds, new pair, quarter end and volatile day):\n")
	fmt.Fprintf(&summary, "%-6s %8s %8s %9s %9s %7s %8s %8s %8s %8s %8s %8s %16s\n",
		"seed", "ROC-AUC", "PR-AUC", "recall", "ATO-1st", "before", "HN-all", "HN-3", "newpair", "qtr-end", "volday", "newdev", "rules/z-score")
	for _, seed := range list {
		p := fraud.SimParams{Seed: seed, Accounts: *accounts, Days: *days}
		e, st, err := simulateAndReplay(p, cfg, *fit)
		if err != nil {
			fmt.Fprintf(stderr, "fxmatch eval fraud: seed %d: %v\n", seed, err)
			return exitFail
		}
		fmt.Fprintf(stdout, "fxmatch eval fraud: seed %d, %d accounts, %d days (%s to %s), %d events\n",
			seed, *accounts, *days, st.Start.Format(time.DateOnly), st.End.Format(time.DateOnly), st.Events)
		report(e)
		fmt.Fprintln(stdout)
		a := e.AtFPR[fraud.MethodScorer]
		fmt.Fprintf(&summary, "%-6d %8.4f %8.4f %8.1f%% %8.1f%% %7.2f %7.1f%% %7.1f%% %7.1f%% %7.1f%% %7.1f%% %7.1f%% %8.4f/%.4f\n",
			seed, e.AUC[fraud.MethodScorer], e.PRAUC[fraud.MethodScorer], 100*a.Recall, 100*a.FirstOrder, a.BeforeMean,
			100*a.HardNegFlag, 100*a.HardNegIssue, 100*a.HardNegKind[fraud.LabelNewPair], 100*a.HardNegKind[fraud.LabelQuarterEnd],
			100*a.HardNegKind[fraud.LabelVolatileDay], 100*a.HardNegKind[fraud.LabelNewDevice],
			e.AUC[fraud.MethodRules], e.AUC[fraud.MethodZScore])
	}
	if len(list) > 1 {
		fmt.Fprint(stdout, summary.String())
	}
	return exitOK
}

// simulateAndReplay generates a stream and replays it as it is generated,
// without writing it anywhere.
func simulateAndReplay(p fraud.SimParams, cfg fraud.Config, keep bool) (*fraud.Evaluation, fraud.SimStats, error) {
	pr, pw := io.Pipe()
	var labels bytes.Buffer
	type simDone struct {
		st  fraud.SimStats
		err error
	}
	done := make(chan simDone, 1)
	go func() {
		st, err := fraud.Simulate(p, pw, &labels)
		pw.CloseWithError(err)
		done <- simDone{st, err}
	}()
	e, err := fraud.Replay(pr, cfg, keep)
	pr.CloseWithError(errors.New("replay stopped")) // unblocks the simulator if the replay failed
	sd := <-done
	if err == nil {
		err = sd.err
	}
	if err != nil {
		return nil, sd.st, err
	}
	l, err := fraud.ReadLabels(&labels)
	if err != nil {
		return nil, sd.st, err
	}
	return e, sd.st, e.Measure(l)
}
