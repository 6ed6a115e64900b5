// Package fix is the venue's FIX 4.4 front end: a quickfixgo acceptor that
// serves every section of the Rules of Engagement (shared/spec/FIX-RoE.md)
// and nothing else. It turns FIX messages into engine.Commands for
// venue.Submit and the hub's durable events back into FIX messages; the
// matching rules stay in package engine, so a dealer's question about the
// wire ("which tag carries what") is answered here and one about trading
// ("what fills against what") there. README.md beside this file is the
// venue's FIX document for dealers' engineers: every behaviour, with
// example messages.
//
// # Shape
//
//	dealer ──TCP/TLS──> listener ─ guardConn (framing, limits, bounded writes)
//	                                  │
//	                       quickfixgo session (logon, sequence numbers,
//	                       heartbeats, resend) ── Store (append-only files)
//	                                  │ FromAdmin: logon checks
//	                                  │ FromApp: validate → decode → Submit
//	                                  ▼
//	                        venue.Submit ──> shards ──> journal ──> hub
//	                                                                  │
//	  party.execPump   <── SubscribeParty (own reports) ──────────────┤
//	  party.dropPump   <── SubscribeDropCopy (regulator) ─────────────┤
//	  mdSub.run        <── SubscribeMarket (per subscribed symbol) ───┘
//	        │
//	        └── quickfix.SendToTarget ──> store ──> guardConn ──> dealer
//
// Everything an ExecutionReport says has been journaled before it is
// sent: the reports come from hub events, which the venue publishes only
// after the journal made them durable.
//
// # Goroutines and bounds
//
// quickfixgo runs a reader, a writer and a session goroutine per
// connection; the package adds one writer per connection (guardConn), one
// execution-report pump per participant, one drop-copy pump per drop-copy
// participant and one goroutine per subscribed market-data symbol (at
// most MDSubscriptionsMax a session). Nothing is started per message.
// Every queue is bounded: the hub's subscriber queues (ExecQueue,
// MarketQueue), the bytes waiting for a socket (OutboundBytesMax), the
// bytes before logon (PreLogonBytesMax), one inbound message (64 KiB), the
// connections (ConnectionsMax). A session that falls behind any of them is
// disconnected as a slow consumer, with a log line saying so.
//
// # Why quickfixgo, and what it costs
//
// The session layer (logon, sequence numbers, resend, gap fill, test
// requests) is where FIX engines disagree in corner cases, and quickfixgo
// has met many counterparties. Three of its behaviours are worked around
// here, each at the place it bites: its message parser panics on some
// malformed frames, so guardConn frames and checks every message first
// (BodyLength, CheckSum, no empty values) — FuzzInbound found them; its
// writer hand-off spins while a socket write is in flight, so guardConn's
// Write never blocks; and it drops an unknown CompID or a Logon that fails
// validation without a word, so unknown CompIDs get a dynamic session that
// exists only to say why, and validation runs in FromAdmin/FromApp against
// the embedded dictionary. Its costs are allocations per message and two
// goroutine hand-offs per outbound message: on this 2-core machine a
// NewOrderSingle→ExecutionReport round trip measures 0.2–0.3 ms against
// ~10 µs for the venue alone (BenchmarkNewOrderAck,
// BenchmarkVenueSubmitToHub). The DESIGN's tens of microseconds need the
// hand-written, append-style codec and session layer this package was
// first sketched with; the decode and encode functions here are the seam
// for it.
package fix
