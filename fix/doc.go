// Package fix is the venue's FIX 4.4 front end: an acceptor that serves
// every section of the Rules of Engagement (shared/spec/FIX-RoE.md) and
// nothing else. It turns FIX messages into engine.Commands for
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
//	                 serveConn: the connection's goroutine (session.go):
//	                 logon, sequence numbers, heartbeats, resend, rejects
//	                                  │ validate → decode → SubmitOrder
//	                                  ▼
//	                        venue.Submit ──> shards ──> journal ──> hub
//	                                                                  │
//	  party.execPump   <── SubscribeParty (own reports) ──────────────┤
//	  party.dropPump   <── SubscribeDropCopy (regulator) ─────────────┤
//	  mdSub.run        <── SubscribeMarket (per subscribed symbol) ───┘
//	        │
//	        └── party.send: number, store (append-only log), write ──> dealer
//
// Everything an ExecutionReport says has been journaled before it is
// sent: the reports come from hub events, which the venue publishes only
// after the journal made them durable.
//
// # Goroutines and bounds
//
// One goroutine per connection reads, frames and handles its messages —
// a NewOrderSingle is submitted on the goroutine that read it — and one
// more per connection keeps its heartbeats and test requests. The package
// adds one execution-report pump per participant, one drop-copy pump per
// drop-copy participant and one goroutine per subscribed market-data
// symbol (at most MDSubscriptionsMax a session). Whoever sends a message
// writes it to the socket itself (party.send, under the party's send
// lock, which keeps the wire in MsgSeqNum order); the connection's writer
// goroutine only sends what gathered while a write was in flight. Nothing
// is started per message. Every queue is bounded: the hub's subscriber
// queues (ExecQueue, MarketQueue), the bytes waiting for a socket
// (OutboundBytesMax), the bytes before logon (PreLogonBytesMax), one
// inbound message (64 KiB), the messages held behind a sequence gap
// (stashMax), the connections (ConnectionsMax). A session that falls
// behind any of them is disconnected as a slow consumer, with a log line
// saying so. One connection's goroutine at a time owns a participant's
// per-connection state (throttle, reply buffer, market-data
// subscriptions): a logon waits for the previous connection's goroutine
// to finish with the session, at most handoverMax (party.attach).
//
// # Why not quickfixgo's session layer, and what is left of quickfixgo
//
// The first version ran on quickfixgo's acceptor. Its session layer cost
// what the venue could not afford: a reader, a session and a writer
// goroutine per connection, so a NewOrderSingle→ExecutionReport round
// trip crossed four goroutine hand-offs inside quickfixgo alone, 219
// allocations per order (BenchmarkNewOrderAck, client included), and a
// session loop that spent most of a core in select and timer resets
// under load: 0.2 ms per round trip one at a time, and a ceiling of about
// 3,000 orders a second on this 2-core machine however fast they came
// (TestLoad at 10,000/s: 2,900–3,200 acks/s). The session layer is now
// this package's own (session.go, outbound.go), written to the same
// rules; the QuickFIX C++ end-to-end tests that proved the quickfixgo
// version prove this one.
//
// The order path allocates little and hands off only where the venue's
// design does (ring → shard → journal writer → hub → execPump):
//
//   - fastpath.go: a NewOrderSingle, OrderCancelRequest or
//     OrderCancelReplaceRequest of the common shape is read straight from
//     the wire and checked by hand against the dictionary's rules for
//     exactly the fields that shape allows; only messages the full path
//     would also take go this way, and both decode with decodeNewOrder or
//     decodeCancel (FuzzInbound holds the two paths to each other).
//   - encode.go appendExecReport: ExecutionReports are appended by hand
//     (TestAppendExecReportMatches holds them to the quickfix.Message
//     encoder, field for field).
//   - outbound.go, party.go: execPump and dropPump send every report
//     already waiting as one batch (sendBatches) — one store write(2),
//     one socket write(2), one reading of the clock per hub batch for
//     their SendingTime; a lone report goes out at once.
//   - conn.go, session.go: a live session reads up to 16 KiB per
//     read(2) and reads the clock once per read, not per message.
//   - session.go: the connection's goroutine writes nothing to the
//     session store: the target MsgSeqNum's record goes out with the
//     store's next write (the answer's, or the timers' within a second).
//
// 32 allocations per round trip are left in BenchmarkNewOrderAck and 29
// in BenchmarkCancelAck, most of them the benchmark's own client. The
// FIX layer's own, in steady state: none for a NewOrderSingle, a cancel
// or a replace (TestSubmitAllocs; the command venue.SubmitOrder would
// let escape comes from a pool, see submitCmds) and none for the reports
// of an order's usual life, an IOC's rest included
// (TestAppendExecReportMatches). The rest are the venue's (the shard's
// book snapshot) and the rare paths. What is left of
// quickfixgo is its Message type and parser and its dictionary
// validator, for every message the fast path does not take, and for the
// exact wording of session-level rejects. guardConn frames and checks
// every message before anything parses it (BodyLength, CheckSum, no
// empty values, no XmlData): the parser panics on some malformed frames,
// which FuzzInbound found.
package fix
