// Package fraud is the venue's pre-trade fraud scorer: every order gets a
// score from 0 to 1, the reasons behind it in words, and an action (allow,
// review, block) before it may trade. It catches account takeover (an
// account suddenly breaking from its own history), spoofing and layering,
// wash trades between accounts sharing a device, and momentum ignition,
// and leaves alone the honest look-alikes: a first trade in a new pair, a
// quarter-end size spike, everyone trading more on a volatile day.
//
// # Shape
//
// Scorer is a state machine in the manner of the engine: Score takes one
// event (a login, an order, a cancel or a fill, with its timestamp) and,
// for an order, returns its Result computed from the events before it
// only, then learns from it. There is no clock, no goroutine, no I/O and
// no randomness; the same events give the same results, so a restarted
// assistant rebuilds its state by replaying the journal's events. One
// goroutine owns a Scorer: behind a NATS micro endpoint, the handler that
// answers scoring requests also consumes the venue's execution events, in
// sequence order, and calls Score for both. Scoring an order of a known
// account does not allocate; it takes about a microsecond (p99 under 2 µs
// in BenchmarkScore).
//
// Memory is bounded by Config: at most MaxAccounts account profiles of a
// fixed size (about 2.4 KB: decayed histograms of sizes, hours and order
// types, small sets of pairs, sources, recent and open orders, recent
// fills), the least recently active evicted; at most MaxSources entries
// of the source-to-accounts table; at most MaxSymbols pairs tracked one by
// one. Nothing grows with the length of the stream.
//
// # Features and score
//
// Each order yields NumFeatures features, each 0 when nothing is unusual
// (features.go lists them): size against the account's own 30-day
// distribution, a pair or an hour or a source new to the account, a burst
// against its usual pace, its order-to-trade ratio, large passive orders
// opposite its own resting order, orders pulled right after a fill on the
// other side, a source shared with another participant's account. Every
// feature is read net of the population's context: the calendar (quarter
// and month ends), the market-wide order rate against the usual for the
// hour, the market-wide volatility against the usual, and how much larger
// than their own usual everyone's orders are right now.
//
// The score is a logistic combination of the features (Weights): each
// weighted feature is the log of a likelihood ratio, so the score is the
// probability of fraud under the weights' calibration and the reasons are
// the largest contributions, rendered in words.
//
// # Around it
//
// Simulate writes a labelled stream (`fxmatch sim fraud`), Replay and
// Measure evaluate the scorer against labels and against two baselines
// (`fxmatch eval fraud`), and FitWeights fits the weights on a training
// stream. README.md documents the input and output formats, the weights
// and the figures the evaluation reaches.
package fraud
