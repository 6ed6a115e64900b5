// Package wire is the JSON shape of the venue's events for the world
// outside FIX: the NATS subjects (gateway/bus) and the HTTP and WebSocket
// API (gateway) both send exactly these documents, so a consumer written
// against one works against the other.
//
// Three documents:
//
//	ExecEvent  one participant's execution event (accepted, rejected, fill,
//	           cancelled, replaced, expired, cancel_rejected, mass_cancel)
//	Trade      a public print, anonymous
//	Book       L2: the top levels of both sides of one instrument
//
// Conventions, shared with the HTTP API (see the contracts):
//
//   - Symbols are written "USD/CNY" in JSON bodies; "USDCNY" (SymbolCode)
//     in URL paths and NATS subject tokens.
//   - Prices and quantities are decimal strings ("7.1020", "5000000"),
//     converted exactly: engine.Price is an int64 of 10^-8 units and no
//     value ever passes through a float. Prices are written with at least
//     the instrument's tick decimals ("7.1000", never "7.1") and as many
//     more as needed (an average price "7.10005").
//   - Identifiers that are 64-bit (order_id, exec_id, trade_id) are
//     strings: the engine puts the shard number in their top 16 bits, and
//     JavaScript numbers lose integers above 2^53.
//   - Times are RFC 3339 in UTC with up to nanoseconds
//     ("2026-11-25T14:03:07.123456789Z"); dates are "2026-11-27".
//
// Encoding runs once per event on the venue's publishing path, so it is
// append-style and allocation-free (Names.AppendExecEvent, AppendTrade,
// AppendBook: AllocsPerRun is 0 in the tests). The Go structs (ExecEvent,
// Trade, Book) are the same documents for readers, built with the From
// methods or decoded with encoding/json; a test holds each Append output
// equal to its struct.
package wire
