// Package assistant holds the venue's advisory services, reached over
// NATS rather than called in-process so that they can run, fail and be
// replaced apart from the matcher:
//
//   - fraud: the pre-trade fraud scorer (account takeover, spoofing and
//     layering, wash trades, momentum ignition), a state machine;
//   - quotes: quote recommendations for brokers' storefront listings;
//   - chat: dealers' chat messages parsed into orders to confirm or
//     market-data questions;
//   - service: the three behind a NATS micro service, fxmatch-assistant,
//     fed from the venue's events on the bus (in `fxmatch serve`, or alone
//     as `fxmatch assistant`);
//   - risk: the venue's side of pre-trade scoring, the gate
//     venue.SubmitOrder calls: a deadline, thresholds, fail-open or
//     fail-closed, a circuit breaker, alerts.
//
// The assistant reads the venue's market data, trades and execution events
// from NATS and never writes to the book: a score decides whether an order
// may be sequenced, and the venue's configured policy decides what an
// order without a score in time gets.
package assistant
