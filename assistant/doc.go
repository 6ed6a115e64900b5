// Package assistant will hold the venue's advisory services, reached over
// NATS rather than called in-process so that they can run, fail and be
// replaced apart from the matcher: the pre-trade risk score every order
// must pass before it may trade (account takeover, spoofing and wash
// trading patterns, answered well under a millisecond including the NATS
// round trip), and quote recommendations for brokers' storefront listings.
// It reads the venue's market data, trades and execution events from NATS
// and never writes to the book. Since every order must be scored before it
// may trade, one whose score does not arrive in time is refused (a named
// reject the gateways report), never let through unscored. Not built yet:
// no order is scored today.
package assistant
