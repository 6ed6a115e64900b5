// Package gateway will be the venue's HTTP and WebSocket front end and the
// brokers' storefront: participants log on with the same CompIDs and
// passwords as on FIX; brokers list two-way quotes with size tiers in
// their flagship stores; buy-side participants browse the stores and hit
// listings; everyone can follow their orders and executions live. It
// validates requests at the edge, maps engine reject reasons to HTTP
// problem bodies (the same reasons as FIX OrdRejReason), asks the
// assistant for a pre-trade risk score before an order may reach the
// sequencer, and serves no matching logic of its own, so that the
// storefront can change without touching the matcher. Not built yet:
// nothing listens on the configured HTTP address, and `fxmatch serve` says
// so in its banner.
package gateway
