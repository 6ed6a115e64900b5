// Package gateway is the venue's HTTP and WebSocket API and the brokers'
// storefront, served by `fxmatch serve` on listen.http (127.0.0.1:8080,
// --http-addr). It holds no matching logic: orders become engine.Commands
// submitted through venue.SubmitOrder (pre-trade scoring's seam), and
// everything the API reports comes from the hub's durable events, so an
// answer never shows what a crash could take back.
//
// # Shape
//
// Base /api/v1; the OpenAPI 3.1 document is served at /openapi.json
// (openapi.json, held equal to the registered routes by a test). Route
// groups, one file each, all registering through Server.public and
// Server.authed: core_api.go (instruments, books, trades, orders, credit,
// the stream), store_api.go (stores, listings, the assistant),
// ops_api.go and regulator_api.go (health, metrics, the regulator's
// replay), web_routes.go (the storefront's files).
//
// Symbols are "USD/CNY" in JSON bodies and "USDCNY" in paths; prices and
// quantities are decimal strings converted exactly (gateway/wire); 64-bit
// ids are strings. POST /orders, DELETE and PATCH /orders/{id} answer once
// the outcome is durable (waiters.go): 201/200 with the order as it stands
// after the command and the fills the command made, or a problem. GET
// /orders lists the caller's live orders and today's finished ones
// (bounded; after a restart the live ones come from the recovered engines,
// Venue.LiveOrders). Books and the recent-trades ring are built from
// durable L2 and trade events (feeds.go). The stream
// (GET /api/v1/stream, stream.go) carries book, trades, the caller's own
// exec events, and — from the NATS bus when it runs — its quotes and risk
// alerts; a connection that falls behind is closed ("slow consumer"),
// never waited for.
//
// # Authentication and authorization
//
// Every route but health, metrics, /openapi.json, the storefront's files
// and the stream's upgrade (which takes the token in the header, in
// ?token= or in a first {"op":"auth"} message) needs "Authorization:
// Bearer <token>". Tokens are configured as SHA-256 hashes
// (participant.api_token_hash, `fxmatch config hash-token`) and compared
// in constant time against all participants at once. Demo participants
// (demo or empty password) have the token "demo-<id in lower case>", but
// only while every listener is on loopback (config.CheckListeners refuses
// to start otherwise) and only when the gateway itself is served on
// loopback. A participant sees and touches only its own orders, executions
// and credit lines: its order table is fed only by its own hub feed, so
// another participant's id is simply unknown (404). The regulator's role
// may not trade (403). Each participant has a token-bucket request budget
// (429 with Retry-After).
//
// # Errors
//
// Every error is an RFC 9457 problem (application/problem+json) with a
// type URN (urn:fxmatch:problem:<kind>), the status, a detail naming the
// bad value, "field" naming the member, and for refused orders "reason",
// the engine's stable reason name (price-not-tick, qty-not-lot,
// duplicate-clordid, risk with risk_reasons, …). Bodies are decoded
// strictly (decodeJSON): wrong Content-Type 415, over 64 KiB 413, unknown
// members, wrong types, trailing data and missing required members 400.
// The edge checks only syntax and names; every trading rule is the
// engine's, and its reject comes back as 422 — a refused request changes
// nothing.
package gateway
