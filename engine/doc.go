// Package engine is the venue's matching core: a deterministic state
// machine holding one central limit order book per currency pair of a
// shard, the shard's bilateral credit lines, and every matching rule of the
// Rules of Engagement (shared/spec/FIX-RoE.md section 3).
//
// # Shape
//
// The engine has no goroutines, reads no clock, draws no random numbers and
// does no I/O (the habit of etcd-io/raft). Its only input is a sequenced
// Command — the sequencer stamps Seq and Time — and its only output is the
// events Apply appends to a caller's slice. Replaying the same commands
// into an engine built from the same Config yields byte-identical events;
// the journal relies on that to prove the record was not altered.
//
// Prices are Price (int64, 10^-8 units) and quantities Qty (int64 base
// currency units). shopspring/decimal lives at the edges only. The book is
// a slab of pointer-free order structs linked into price levels; levels are
// sorted slices with the best level last. Apply allocates nothing once its
// buffers have grown to their working size.
//
// # Matching rules
//
//   - Price-time priority per instrument; a fill prints at the resting
//     order's price.
//   - An incoming order meets resting orders best level first and in time
//     order within a level. A resting order is passed over (and keeps its
//     place) when: either order is directed at another participant; it
//     belongs to the same participant and the participant's self-match
//     mode is "off"; its MinQty is not yet met and the fill would be
//     smaller; or the bilateral credit room between the two owners (the
//     smaller of the two directed limits, minus today's usage) cannot pay
//     for one lot at the fill price.
//   - A fill is min(incoming leaves, resting displayed quantity), cut down
//     to the whole lots the credit room pays for. Fills consume the line's
//     usage by their USD notional (rounded up to a whole dollar), in both
//     directions.
//   - USD notional: a USD-based pair's quantity; a USD-termed pair's
//     quantity times the fill price; a cross pair through the reference
//     price of its BASE/USD (or USD/BASE) book in the same engine, else the
//     instrument's configured USD rate.
//   - Self-match prevention (the incoming order's participant's mode):
//     cancel-resting (default) cancels the own resting order and goes on;
//     cancel-incoming cancels the incoming remainder; cancel-both cancels
//     both; off passes over own orders. Own orders never trade.
//   - Limit orders rest (Day, GTC, GTD) or cancel their remainder (IOC).
//     Market orders trade as IOC up to the price band's edge, never beyond.
//     FOK fills completely at once or is cancelled with no fill.
//   - MinQty: an incoming order trades only if it can fill at least MinQty
//     at once; otherwise IOC/FOK/market orders are cancelled and resting
//     orders rest without trading. While resting with no fill yet, it only
//     takes single fills of at least MinQty.
//   - Iceberg (MaxFloor): only MaxFloor is displayed; when the displayed
//     part is used up, a new one is displayed at the back of the level (new
//     time priority).
//   - Post-only: rejected if any resting order could trade with it at once
//     (its own MinQty is not considered); post-only needs a resting limit
//     order (Day, GTC, GTD). A post-only replace that loses priority is
//     checked the same way.
//   - Directed orders: checked before self-match prevention, so a directed
//     order passes over its own orders without cancelling them.
//   - Every order's accepted event comes first, even if it fills at once.
//   - Cancel and replace find the order by the participant's current
//     ClOrdID. A replace that changes the price or raises the quantity
//     loses time priority (and trades at once if it now crosses); lowering
//     the quantity keeps it. A replace to a quantity not above CumQty is
//     refused.
//   - Validation: every rule has its own Reason (tick, lot, min, max, band
//     around the reference price — which moves to each trade's price —,
//     duplicate ClOrdID for the trading day, unknown pair, …).
//   - Time: GTD orders expire when a command's Time reaches their
//     ExpireTime (CmdTick carries time when nothing else does), before the
//     command acts, in (ExpireTime, OrderID) order; CmdRollDay expires Day
//     orders, restores credit usage and starts a new ClOrdID day. Orders a
//     command cancels or expires itself (mass cancel, roll) go in OrderID
//     order. Market orders trade up to the band edge as it was when their
//     matching began.
//   - ClOrdIDs: accepted orders and accepted cancel/replace requests use
//     up their ClOrdID for the trading day; rejected ones do not. After a
//     replace the old ClOrdID answers "too late".
//   - Uncrossing: resting orders may be crossed without trading (no
//     credit, MinQty unmet, own orders with SMP off). After a command that
//     raises or restores credit (SetCredit, RollDay) or meets a resting
//     order's MinQty, each crossed resting order of the affected books, in
//     time-priority order, trades as the aggressor against the orders that
//     rested before it (at their prices), keeping its own place; passes
//     repeat until nothing changes. So no two resting orders of those
//     books that may trade stay crossed — except an order stopped by its
//     own order under self-match prevention, and cross pairs whose credit
//     conversion rate (a BASE/USD reference price) moved: those wait for
//     the next command that marks the book. Uncrossing can make a resting
//     post-only order the aggressor; it keeps its place and displayed
//     part, so an iceberg's uncrossing fills come from its hidden part.
//   - Time priority: an order gets a new one whenever it joins the back of
//     a level (resting, a priority-losing replace, an iceberg refresh).
//   - After a command's own events come its L2 changes: one EvLevel per
//     price level whose displayed quantity or order count changed, in the
//     order the levels were first touched.
package engine
