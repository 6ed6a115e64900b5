// Package service is the trading assistant as a NATS micro service
// (github.com/nats-io/nats.go/micro), name fxmatch-assistant: pre-trade
// fraud scoring (assistant/fraud), quote recommendations for brokers'
// listings (assistant/quotes) and chat orders (assistant/chat), fed from
// the venue's events on the bus. `fxmatch serve` runs it in-process by
// default, on its own connection to the embedded server; `fxmatch
// assistant --nats-url URL` runs it alone. The venue and the gateway find
// it the same way in both cases: by its subjects.
//
// # Endpoints (request-reply, JSON in and out)
//
//	fxmatch.assistant.score      ScoreRequest → ScoreResponse   (the venue's gate; the gateway's preview)
//	fxmatch.assistant.recommend  RecommendRequest → Recommendation
//	fxmatch.assistant.chat       ChatRequest → ChatResponse
//
// Errors are micro errors: headers Nats-Service-Error-Code and
// Nats-Service-Error, the latter a sentence naming the field and the value
// ("score: side \"up\" is not buy or sell"). Codes: 400 a request the
// service cannot take as sent, 403 a participant asking for another
// broker's recommendation (its reply subject, in its own inbox, says who
// asks: bus.RequesterOf), 404 nothing to answer yet (no two-sided book for
// the pair), 500 the service failed.
//
// score:
//
//	→ {"participant":"BANKA","account":"","cl_ord_id":"o-17","orig_cl_ord_id":"",
//	   "symbol":"USD/CNY","side":"buy","ord_type":"limit","tif":"day",
//	   "qty":"5000000","price":"7.1020","mid":"7.10205",
//	   "channel":"fix","source":"10.1.2.3","session":"BANKA",
//	   "time":"2026-11-24T09:30:00.123456Z","preview":false}
//	← {"order_id":"o-17","score":0.0012,"action":"allow","reasons":[]}
//
// The score is the probability of fraud under the scorer's calibration
// (0–1); reasons are the strongest pieces of evidence in words ("size 6.4×
// the account's 30-day p95", "order from a source new to the account
// (198.51.100.7, first seen 4 min ago)"); action is the service's own
// thresholds' verdict (the venue's gate applies the configured ones to the
// score). A replace carries orig_cl_ord_id: the order it replaces counts
// as pulled and the new terms are scored as an order. preview scores
// without learning. time defaults to the assistant's clock, mid to the
// mid of the last book it saw.
//
// recommend:
//
//	→ {"broker":"BROKER1","symbol":"USD/CNY","qty":"5000000"}
//	← {"broker":"BROKER1","symbol":"USD/CNY","qty":"5000000","bid":"7.1016","ask":"7.1024",
//	   "fair":"7.10203","inventory":"0","rationale":["fair 7.10203: microprice of …", …],"time":"…"}
//
// chat:
//
//	→ {"text":"best bid usdcny"}
//	← {"kind":"question","lang":"en","question":{"kind":"best-bid","symbol":"USD/CNY"},
//	   "answer":"USD/CNY best bid 7.1018 for 5,000,000","book":{"symbol":"USD/CNY","bids":[…],"asks":[]}}
//	→ {"text":"buy 5m usdcny at 7.1020"}
//	← {"kind":"order","lang":"en","order":{"side":1,"symbol":"USD/CNY","qty":5000000,"ord_type":2,
//	   "price":"7.1020","tif":0,"confirm":"Buy 5,000,000 USD/CNY at 7.1020, Day limit — confirm?"}}
//
// A parsed order is never sent: the caller shows confirm and submits the
// order itself on a yes. Anything ambiguous comes back as kind "clarify"
// with a question.
//
// # What it reads and publishes
//
//   - fxmatch.exec.> (wire.ExecEvent): fills and cancels feed the fraud
//     profiles (with the orders it scores); a broker's fills move its
//     inventory.
//   - fxmatch.md.> (wire.Book) and fxmatch.trades.> (wire.Trade): the
//     recommender's fair value and volatility, and the books the chat
//     answers from.
//   - In the venue's process (`fxmatch serve`, Options.Hub) the execution
//     events and trades come from the venue's hub instead of
//     fxmatch.exec.> and fxmatch.trades.>: the same durable events, taken
//     the same way (TestHubFeedMatchesBus), without a NATS round per
//     event; and the books are handed to it by the bus's publisher as it
//     publishes them (Options.BooksInProcess, bus.Bus.SetBookSink).
//   - fxmatch.quotes.<BROKER>.<SYM> (Quotes): for every broker (role broker)
//     and pair, the recommendation for each size tier, published when the
//     pair's market or the broker's inventory moves, at most once per
//     QuoteInterval (250 ms) per broker and pair; the last move of an
//     interval is published at its end.
//
// # State, restarts, concurrency
//
// The scorer and the recommender are single-owner state machines; the
// handlers and subscriptions (nats.go's delivery goroutines) take a mutex
// for each. After a restart Rebuild replays the recent past of the
// venue's journal (30 days, at most 5 million records per shard, shards
// merged by time) before the venue takes orders: the profiles and the
// brokers' inventories are as they were, except that the journal does not
// record where orders came from (see assistant/fraud: a source-blind
// history adopts its first source). Several assistants on one bus share
// the endpoints' queue group, so each scores part of the orders and their
// profiles diverge: run one.
//
// The venue side — deadline, thresholds, fail-open or fail-closed, the
// circuit breaker, alerts — is assistant/risk.
//
// # Speed
//
//	go test ./assistant/service -run XXX -bench Score -benchtime 20000x
//	go test ./assistant/risk -run XXX -bench Screen -benchtime 20000x
//
// Measured 2026-11-26 on the project's 2-core VM shared with other work
// (load average 13–16): the endpoint's work in-process p50 2.0 µs, p99
// 52 µs, 3 allocations; the round trip over TCP loopback to an in-process
// nats-server p50 59 µs, p99 235 µs; the venue's whole gate (Screen:
// request built, asked, answered, policy applied, alerts published) p50
// 68 µs, p99 318 µs. The p99s are the machine's load: the scorer itself is
// about 2 µs at p99 (assistant/fraud's BenchmarkScore), and the 2 ms
// default deadline is several times the measured round trip.
package service
