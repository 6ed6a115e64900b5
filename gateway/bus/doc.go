// Package bus is the venue's NATS bus: it embeds a NATS server in the
// venue's process (or connects to an external NATS deployment) and
// publishes every durable event of the venue on documented subjects, for
// a standalone assistant, the gateway's request-reply and outside
// consumers (the nats CLI, a bank's own systems). Consumers in the
// venue's process do not take the venue's events through NATS: the
// gateway's feeds and the in-process assistant subscribe to the hub, and
// the assistant gets the bus's books from SetBookSink.
//
//	venue hub ──SubscribeAll (bounded)──> publisher goroutine ──> NATS
//	(durable events only)                 encode (gateway/wire),    │
//	                                      coalesce books per round  ├─ embedded server (default)
//	                                      (and hand them to the     │  in process + 127.0.0.1:4222
//	                                      book sink)                └─ or --nats-url (external)
//
// # Subjects
//
// All payloads are JSON; <SYM> is the symbol code ("USDCNY"), <PARTY>
// and <BROKER> a participant's CompID. subjects.go holds them as Go
// constants and functions: take them from there.
//
//	subject                         payload                          published by
//	fxmatch.md.<SYM>                wire.Book, top 10 levels         the venue, after each round of
//	                                                                 events that changed a level,
//	                                                                 and every 5 s (BookRefresh)
//	fxmatch.trades.<SYM>            wire.Trade, anonymous            the venue, per trade
//	fxmatch.exec.<PARTY>            wire.ExecEvent                   the venue, per execution event
//	fxmatch.risk.alerts.<PARTY>     risk alert                       the venue/assistant (PublishAlert)
//	fxmatch.quotes.<BROKER>.<SYM>   quote recommendation             the assistant
//	fxmatch.assistant.score         request-reply: pre-trade score   the assistant serves; the venue asks
//	fxmatch.assistant.recommend     request-reply: a quote           the assistant serves; brokers ask
//	fxmatch.assistant.chat          request-reply: chat parse        the assistant serves; dealers ask
//
// Examples:
//
//	fxmatch.exec.BANKA  {"type":"fill","seq":17,"exec_id":"9","time":"2026-11-25T14:03:07.123456Z",
//	                     "participant":"BANKA","order_id":"3","cl_ord_id":"a1","symbol":"USD/CNY",
//	                     "side":"buy","ord_type":"limit","tif":"gtc","price":"7.1000","qty":"1000000",
//	                     "leaves_qty":"0","cum_qty":"1000000","avg_px":"7.1000","last_qty":"1000000",
//	                     "last_px":"7.1000","trade_id":"1","aggressor":false,"counterparty":"BANKB",
//	                     "trade_date":"2026-11-25","settl_date":"2026-11-27"}
//	fxmatch.trades.USDCNY {"symbol":"USD/CNY","trade_id":"1","px":"7.1000","qty":"1000000",
//	                     "aggressor_side":"sell","time":"2026-11-25T14:03:07.123456Z","seq":17}
//	fxmatch.md.USDCNY   {"symbol":"USD/CNY","seq":17,"time":"2026-11-25T14:03:07.123456Z",
//	                     "bids":[{"px":"7.0990","qty":"2000000","orders":2}],"asks":[]}
//	fxmatch.risk.alerts.BANKA {"participant":"BANKA","cl_ord_id":"a7","score":0.93,"action":"review",
//	                     "reasons":["size 12x the account's usual"],"time":"…"}
//
// A book is published from the durable level events (the bus keeps its
// own copy of each book), never from the shards' live snapshots, which
// may be one batch ahead of the journal: nothing on the bus can be taken
// back by a crash. The books start from the venue's snapshots when the
// bus starts (Start before the venue runs, as serve does, and they are
// exact) and again after a gap (see below), when the shard's snapshot can
// be up to one batch ahead of the journal.
//
// # Users and permissions (embedded server)
//
// Every participant logs on with user = its CompID and its venue password
// (the bcrypt hash in the configuration is the server's password entry;
// the demo password is "demo", accepted only while every listener is on
// loopback: config.CheckListeners). A participant may
//
//	subscribe  fxmatch.md.>  fxmatch.trades.>
//	           fxmatch.exec.<self>  fxmatch.risk.alerts.<self>  fxmatch.quotes.<self>.>
//	           fxmatch.exec.<X> for each X in its drop_copy (["*"]: fxmatch.exec.>)
//	           _INBOX.<self>.>   (replies: use nats.CustomInboxPrefix(bus.InboxPrefix(self)))
//	publish    fxmatch.assistant.recommend  fxmatch.assistant.chat   (requests only)
//
// Scoping the inbox to the participant (the contract said _INBOX.>)
// keeps one participant from reading the replies another receives, and
// tells the assistant who asked: RequesterOf(reply subject). The venue
// and the assistant connect in process (no TCP) as internal users with
// random passwords made at each start; a standalone `fxmatch assistant`
// logs on as "assistant" (or [nats] assistant_user) when [nats]
// assistant_password_hash is set. The server is bounded: at most
// MaxConnections clients, MaxPayload bytes per message, MaxSubs
// subscriptions per client, MaxPending bytes queued per client (a slower
// reader is disconnected as a slow consumer), WriteDeadline per write.
//
// # External NATS (--nats-url, [nats] url)
//
// With an external server no server is embedded and users and
// permissions are the operator's: `fxmatch config nats-server` prints a
// nats-server configuration granting exactly the permissions above
// (ServerConfig), plus a "venue" user for the venue (which also serves
// the in-process assistant) and an "assistant" user for a standalone
// `fxmatch assistant`. The venue authenticates with [nats] user and
// password_file, or creds_file.
//
// # NATS never slows matching
//
// The hub hands the bus durable events through a bounded queue and never
// waits for it; a bus that falls behind is cut off, counts a gap
// (Stats.Gaps), resubscribes and republishes every book. Publishing is
// asynchronous (nats.go's buffered writer). On the embedded server an
// event is encoded and published only while someone is subscribed to its
// subject: the server would discard it (Stats.Unheard counts these;
// Bus.isHeard says why no subscriber can tell). While the connection is down
// nats.go holds up to Options.ReconnectBuffer bytes and reconnects
// forever with a capped backoff; beyond the buffer, events are dropped
// from the bus with a counter (Stats.Dropped) and a log line at most
// every 10 s. Matching and FIX go on; the journal is the record, and a
// consumer that needs every event replays it or asks the HTTP API.
package bus
