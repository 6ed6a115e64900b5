package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"

	"fxmatch/assistant/quotes/quotesim"
)

func init() {
	simKinds["quotes"] = subcommand{runSimQuotes, "the quote recommender against a fixed spread and Avellaneda–Stoikov in a market simulator"}
}

const simQuotesUsage = `usage: fxmatch sim quotes [flags]

Plays three ways of quoting a broker's USD/CNY storefront listings (1m, 5m
and 20m) through a simulated market, seed by seed, and prints them side by
side: the assistant's quote recommender (package fxmatch/assistant/quotes),
a fixed spread around the mid, and plain Avellaneda–Stoikov. The market
(package fxmatch/assistant/quotes/quotesim) has volatility regimes, jumps,
a venue book whose queue imbalance says a little about the next move, and
uninformed and informed clients whose orders fill with a probability that
decays with the quote's distance from fair value. Every strategy faces the
same market and the same clients on a seed; the same seed gives the same
output.

Risk-adjusted P&L is P&L minus the inventory variance carried, priced at
the evaluation's risk aversion. The baselines' parameters are the best of
a grid on training seeds 1001–1020 (see --tune).

Flags:
  --seed N     first seed (default 1)
  --seeds K    number of seeds, 1 to 1000 (default 20)
  --hours H    measured hours per seed, after a 30-minute warm-up, 0.1 to 24
               (default 2)
  --ablate     also run the recommender with each of its inputs taken away
               (microprice, volatility estimate, size tiers)
  --tune       rerun the baselines' grid search on the training seeds and
               print it instead
`

// runSimQuotes is `fxmatch sim quotes`.
func runSimQuotes(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fxmatch sim quotes", flag.ContinueOnError)
	seed := fs.Uint64("seed", 1, "")
	seeds := fs.Int("seeds", 20, "")
	hours := fs.Float64("hours", 2, "")
	ablate := fs.Bool("ablate", false, "")
	tune := fs.Bool("tune", false, "")
	if code, done := parseFlags(fs, args, simQuotesUsage, stdout, stderr); done {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fxmatch sim quotes: "+format+"\n\n%s", append(a, simQuotesUsage)...)
		return exitUsage
	}
	switch {
	case *seeds < 1 || *seeds > 1000:
		return bad("--seeds %d: want 1 to 1000", *seeds)
	case !(*hours >= 0.1 && *hours <= 24):
		return bad("--hours %v: want 0.1 to 24", *hours)
	case *seed > 1<<63:
		return bad("--seed %d: too large", *seed)
	}
	p := quotesim.DefaultParams()
	p.Session = *hours * 3600
	workers := runtime.GOMAXPROCS(0)
	if *tune {
		fmt.Fprintf(stdout, "Grid search of the baselines on training seeds 1001–1020, %.1f h each: best mean risk-adjusted P&L\namong the settings that fill at least %.0f%% of the clients.\n\n",
			*hours, 100*quotesim.MinFillRate)
		tr := quotesim.Tune(p, quotesim.TrainingSeeds(), workers)
		tr.Write(stdout, &p)
		if tr.Fixed != quotesim.DefaultFixed || tr.AS != quotesim.DefaultAS {
			fmt.Fprintf(stdout, "The defaults (fixed %+v, AS %+v) are not this search's best: with these flags the search\nfinds fixed %+v, AS %+v.\n",
				quotesim.DefaultFixed, quotesim.DefaultAS, tr.Fixed, tr.AS)
		}
		return exitOK
	}
	list := make([]uint64, *seeds)
	for i := range list {
		list[i] = *seed + uint64(i)
	}
	strategies := []quotesim.Factory{
		quotesim.Recommender(quotesim.RecommenderOptions{}),
		quotesim.Fixed(quotesim.DefaultFixed),
		quotesim.AvellanedaStoikov(quotesim.DefaultAS),
	}
	if *ablate {
		strategies = append(strategies,
			quotesim.Recommender(quotesim.RecommenderOptions{NoMicroprice: true}),
			quotesim.Recommender(quotesim.RecommenderOptions{NoVolatility: true}),
			quotesim.Recommender(quotesim.RecommenderOptions{NoSizeTiers: true}))
	}
	rep := quotesim.Run(p, list, strategies, workers)
	rep.Write(stdout)
	return exitOK
}
