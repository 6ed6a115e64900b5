package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub"
	"fxmatch/engine/shard"
	"fxmatch/gateway/wire"
)

// Bounds of the embedded server (and of the configuration ServerConfig
// writes for an external one). Every client's resources are capped so
// that one careless or hostile client cannot take the venue's memory.
const (
	// MaxConnections is the most client connections at once.
	MaxConnections = 1024
	// MaxPayload is the largest message a client may publish. The venue's
	// own documents are far smaller (a top-10 book is under 2 KB).
	MaxPayload = 64 << 10
	// MaxPending is how many bytes may wait for one client; a client that
	// reads slower than that is disconnected as a slow consumer.
	MaxPending = 8 << 20
	// MaxSubs is the most subscriptions per connection.
	MaxSubs = 1000
	// WriteDeadline is how long the server waits on a client's socket
	// before it disconnects it.
	WriteDeadline = 2 * time.Second
)

// ErrClosed is returned by the publishing helpers after Close.
var ErrClosed = errors.New("bus: closed")

// ErrUnknownParticipant is returned by PublishAlert for a participant the
// configuration does not have.
var ErrUnknownParticipant = errors.New("bus: unknown participant")

// Venue is what the bus needs of the venue (*venue.Venue has it). An
// interface rather than the type, so that the venue's own packages (its
// pre-trade hook) may use the bus's subjects without an import cycle.
type Venue interface {
	Hub() *hub.Hub
	Instruments() []engine.Instrument
	Book(id engine.InstrumentID) *shard.BookSnapshot
}

// Options configures Start.
type Options struct {
	// Logger gets the bus's log lines (connection changes, drops) and the
	// embedded server's warnings and errors. Default slog.Default().
	Logger *slog.Logger
	// HubQueue is the bound of the bus's hub subscription (default
	// 65536 events). A bus that falls this far behind is cut off by the
	// hub, counts the gap, and resubscribes; matching never waits.
	HubQueue int
	// ReconnectBuffer is how many bytes of events are held while the
	// connection to NATS is down (0: 8 MiB; negative: none); beyond it
	// events are dropped from the bus and counted (Stats.Dropped).
	ReconnectBuffer int
	// ConnectTimeout bounds the first connection (default 5 s).
	ConnectTimeout time.Duration
	// BookRefresh republishes every book this often even when it did not
	// change (default 5 s; negative: never), so that a subscriber who
	// arrives on a quiet market gets the book without asking elsewhere,
	// and a consumer can tell a quiet book from a dead feed. A republished
	// book keeps the seq and time of its last change.
	BookRefresh time.Duration
	// Linger spaces the publisher's wake-ups when events come faster than
	// one per Linger (default 1 ms; negative: never): having published, it
	// waits until Linger has passed since it last woke, then takes
	// everything that arrived meanwhile in one round. At a few events a
	// second nothing waits; under load, NATS gets one flush, the embedded
	// server one read and each subscriber one delivery per round instead
	// of one per event. A bus event can so be published up to Linger
	// later than without it; no FIX or HTTP answer waits for the bus.
	Linger time.Duration
}

// defaultLinger is Options.Linger's default: measured under `fxmatch bench
// fix` at 10,000 orders/s, the NATS path (publish, the embedded server's
// routing, the in-process assistant's delivery) woke up to three
// goroutines per event and was a quarter of the venue's CPU.
const defaultLinger = time.Millisecond

// Bus is the venue's connection to NATS and the publisher of its durable
// events. See the package documentation.
type Bus struct {
	v     Venue
	cfg   *config.Config
	log   *slog.Logger
	names *wire.Names
	opts  Options

	srv         *server.Server // nil when NATS is external
	nc          *nats.Conn
	clientURL   string
	assistantPW string
	// connect options for another in-process client of the same server
	// (AssistantConnect): credentials and how to reach the server.
	assistantOpts []nats.Option
	assistantErr  error // why AssistantConnect cannot connect

	// Subjects, made once: publishing builds no strings.
	execSubj  []string // by PartyID
	mdSubj    []string // by InstrumentID
	tradeSubj []string // by InstrumentID
	alertSubj map[string]string

	books []l2 // by InstrumentID; publisher goroutine only
	buf   []byte
	// bookSink, when set, receives every book as it is published (see
	// SetBookSink).
	bookSink atomic.Pointer[func(*wire.Book)]
	// heard reports whether anyone is subscribed to a subject now (the
	// embedded server's account); nil with an external server, where
	// every event is published. See publishHeard.
	heard func(subject string) bool

	mu      sync.Mutex // guards sub and closing
	sub     *hub.Sub
	closing bool
	done    chan struct{}

	published, dropped, gaps, rounds, unheard atomic.Int64
	lastDropLog                               atomic.Int64 // unix nanos
	stopping                                  atomic.Bool  // Close has begun: a disconnect is expected
}

// Stats are the bus's counters.
type Stats struct {
	// Published counts messages handed to NATS.
	Published int64
	// Dropped counts messages NATS refused (the connection was down and
	// its reconnect buffer full, or closed): they are not on the bus; the
	// journal has them.
	Dropped int64
	// Gaps counts the times the hub cut the bus off for falling behind.
	Gaps int64
	// Rounds counts the publisher's rounds: each takes every event queued
	// when it began (see Options.Linger).
	Rounds int64
	// Unheard counts the events not handed to the embedded server
	// because nobody was subscribed to their subject at that moment: the
	// server would have discarded them (see publishHeard).
	Unheard int64
	// Connected is whether the connection to NATS is up now.
	Connected bool
}

// Start brings the bus up for venue v: it starts the embedded NATS server
// (cfg.NATS.URL empty) or connects to the external one, subscribes to the
// venue's hub, and publishes every durable event from then on until
// Close. Call it before v.Run so that no event is missed; it may be called
// later (the books are seeded from the venue's snapshots). ctx bounds the
// start only.
func Start(ctx context.Context, v Venue, cfg *config.Config, opts Options) (*Bus, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HubQueue <= 0 {
		opts.HubQueue = 1 << 16
	}
	if opts.ReconnectBuffer == 0 {
		opts.ReconnectBuffer = 8 << 20
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.Linger == 0 {
		opts.Linger = defaultLinger
	}
	if opts.BookRefresh == 0 {
		opts.BookRefresh = 5 * time.Second
	}
	b := &Bus{
		v: v, cfg: cfg, log: opts.Logger.With("component", "nats"), opts: opts,
		names: wire.NamesFor(cfg, v.Instruments()),
		done:  make(chan struct{}),
		buf:   make([]byte, 0, 4096),
	}
	b.execSubj = make([]string, len(cfg.Participants)+1)
	b.alertSubj = make(map[string]string, len(cfg.Participants))
	for i := range cfg.Participants {
		id := cfg.Participants[i].ID
		b.execSubj[i+1] = ExecSubject(id)
		b.alertSubj[id] = RiskAlertSubject(id)
	}
	insts := v.Instruments()
	b.mdSubj = make([]string, len(insts))
	b.tradeSubj = make([]string, len(insts))
	b.books = make([]l2, len(insts))
	for i := range insts {
		code := wire.SymbolCode(insts[i].Symbol)
		b.mdSubj[i] = MDSubject(code)
		b.tradeSubj[i] = TradesSubject(code)
	}

	var err error
	if cfg.NATS.External() {
		err = b.connectExternal(ctx)
	} else {
		err = b.startEmbedded(ctx)
	}
	if err != nil {
		b.shutdownServer()
		return nil, err
	}
	if err := b.subscribe(); err != nil {
		b.nc.Close()
		b.shutdownServer()
		return nil, err
	}
	go b.run()
	return b, nil
}

// randomPassword is a per-run password for an internal user.
func randomPassword() string {
	var k [24]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(k[:])
}

// hashInternal bcrypts an internal user's password for the server's user
// list, so that the server holds no plain password (it warns otherwise).
// The lowest cost is enough: the password is 192 random bits, not a
// guessable word, and a higher cost would only slow each connect.
func hashInternal(pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		panic(fmt.Sprintf("bus: bcrypt of a 48-byte password: %v", err)) // only fails for >72 bytes
	}
	return string(h)
}

func (b *Bus) startEmbedded(ctx context.Context) error {
	addr := b.cfg.Listen.NATS
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bus: listen.nats %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("bus: listen.nats %q: bad port", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as "the default 4222"
	} else {
		// The server would report a busy port only after its start
		// timeout; try it first for a prompt, clear error.
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("bus: NATS listener %s: %w", addr, err)
		}
		ln.Close()
	}
	venuePW := randomPassword()
	b.assistantPW = randomPassword()
	sopts := &server.Options{
		ServerName:     "fxmatch",
		Host:           host,
		Port:           port,
		NoSigs:         true, // the venue handles signals
		MaxConn:        MaxConnections,
		MaxPayload:     MaxPayload,
		MaxPending:     MaxPending,
		MaxSubs:        MaxSubs,
		WriteDeadline:  WriteDeadline,
		MaxControlLine: 4096,
		AuthTimeout:    2, // seconds
		Users:          users(b.cfg, hashInternal(venuePW), hashInternal(b.assistantPW)),
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return fmt.Errorf("bus: embedded NATS server: %w", err)
	}
	srv.SetLoggerV2(&serverLog{log: b.log}, false, false, false)
	b.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(b.opts.ConnectTimeout) {
		return fmt.Errorf("bus: embedded NATS server on %s did not start within %s", addr, b.opts.ConnectTimeout)
	}
	b.clientURL = srv.ClientURL()
	// Every user of the embedded server is in its global account (users
	// has no accounts), so its subscriptions are all the interest there is.
	b.heard = srv.GlobalAccount().SubscriptionInterest
	common := []nats.Option{nats.InProcessServer(srv), nats.Timeout(b.opts.ConnectTimeout)}
	b.assistantOpts = append(common, nats.UserInfo(userAssistant, b.assistantPW), nats.CustomInboxPrefix(inboxAssistant))
	nc, err := nats.Connect(b.clientURL, append(b.connOptions("fxmatch-venue", inboxVenue),
		append(common, nats.UserInfo(userVenue, venuePW))...)...)
	if err != nil {
		return fmt.Errorf("bus: venue connection to the embedded NATS server: %w", err)
	}
	b.nc = nc
	return nil
}

// connOptions are the venue connection's options in both modes: reconnect
// forever with a capped, jittered backoff, hold a bounded buffer while
// disconnected, and say in the log what happens.
func (b *Bus) connOptions(name, inbox string) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.CustomInboxPrefix(inbox),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ReconnectBufSize(b.opts.ReconnectBuffer),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.FlusherTimeout(2 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if b.stopping.Load() {
				return
			}
			b.log.Warn("NATS connection lost; matching goes on, events are held (bounded) and then dropped from the bus until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("NATS connection back", "url", nc.ConnectedUrlRedacted(), "dropped_so_far", b.dropped.Load())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			b.log.Warn("NATS asynchronous error", "subject", subj, "err", err)
		}),
	}
}

// reconnectDelay is the wait before reconnect attempt n: 50 ms doubling to
// 5 s, with up to 20% jitter so that many clients do not come back at the
// same instant.
func reconnectDelay(attempts int) time.Duration {
	d := 50 * time.Millisecond << min(attempts, 7)
	d = min(d, 5*time.Second)
	return d + time.Duration(mrand.Int64N(int64(d)/5+1))
}

// externalCredentials are the options that authenticate to an external
// server: a user and the password from its file (first line), or a
// creds file, or none (what (a) says: key names the configuration keys).
func externalCredentials(key, user, pwFile, creds string) ([]nats.Option, error) {
	switch {
	case creds != "":
		if _, err := os.Stat(creds); err != nil {
			return nil, fmt.Errorf("bus: %screds_file: %w", key, err)
		}
		return []nats.Option{nats.UserCredentials(creds)}, nil
	case user != "":
		data, err := os.ReadFile(pwFile)
		if err != nil {
			return nil, fmt.Errorf("bus: %spassword_file: %w", key, err)
		}
		pw, _, _ := strings.Cut(string(data), "\n")
		pw = strings.TrimRight(pw, "\r")
		if pw == "" {
			return nil, fmt.Errorf("bus: %spassword_file %s: the first line is empty", key, pwFile)
		}
		return []nats.Option{nats.UserInfo(user, pw)}, nil
	}
	return nil, nil
}

func (b *Bus) connectExternal(ctx context.Context) error {
	n := &b.cfg.NATS
	creds, err := externalCredentials("nats.", n.User, n.PasswordFile, n.CredsFile)
	if err != nil {
		return err
	}
	b.clientURL = n.URL
	// The in-process assistant needs its own user: the venue's may publish
	// execution events, and an assistant answers on reply subjects that
	// its clients choose. Only a server without authentication (the
	// venue has no credentials either) lets it connect without them.
	switch {
	case n.AssistantUser != "" || n.AssistantCredsFile != "":
		ac, err := externalCredentials("nats.assistant_", n.AssistantUser, n.AssistantPasswordFile, n.AssistantCredsFile)
		if err != nil {
			return err
		}
		b.assistantOpts = append(ac, nats.Timeout(b.opts.ConnectTimeout), nats.CustomInboxPrefix(inboxAssistant))
	case len(creds) == 0:
		b.assistantOpts = []nats.Option{nats.Timeout(b.opts.ConnectTimeout), nats.CustomInboxPrefix(inboxAssistant)}
	default:
		b.assistantErr = errors.New("bus: the in-process assistant has no credentials for the external NATS server: set [nats] assistant_user and assistant_password_file (or assistant_creds_file)")
	}
	opts := append(b.connOptions("fxmatch-venue", inboxVenue), creds...)
	opts = append(opts, nats.Timeout(b.opts.ConnectTimeout))
	nc, err := nats.Connect(b.clientURL, opts...)
	if err == nil {
		b.nc = nc
		return nil
	}
	if isAuthError(err) {
		// Wrong credentials do not heal by retrying: refuse to start.
		return fmt.Errorf("bus: NATS at %s refused the venue's credentials: %w", redact(b.clientURL), err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The server is not reachable now. The venue starts anyway, because
	// matching does not depend on NATS; the connection keeps trying in
	// the background.
	b.log.Warn("NATS server not reachable; the venue starts without it and keeps trying", "url", redact(b.clientURL), "err", err)
	nc, err = nats.Connect(b.clientURL, append(opts, nats.RetryOnFailedConnect(true))...)
	if err != nil {
		return fmt.Errorf("bus: NATS at %s: %w", redact(b.clientURL), err)
	}
	b.nc = nc
	return nil
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired) ||
		strings.Contains(strings.ToLower(err.Error()), "authorization violation")
}

// redact removes credentials from a URL for log lines.
func redact(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "[REDACTED]" + u[i:]
		}
	}
	return u
}

// subscribe (re)subscribes to the hub and seeds the books from the
// venue's snapshots. The subscription comes first: an event between the
// two is either in the snapshot (its Seq is not above the snapshot's, and
// it is skipped) or after it.
func (b *Bus) subscribe() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return ErrClosed
	}
	sub, err := b.v.Hub().SubscribeAll(b.opts.HubQueue)
	if err != nil {
		return fmt.Errorf("bus: hub: %w", err)
	}
	b.sub = sub
	for i := range b.books {
		b.books[i].seed(b.v.Book(engine.InstrumentID(i)))
	}
	return nil
}

// run is the publisher goroutine.
func (b *Bus) run() {
	defer close(b.done)
	for {
		b.mu.Lock()
		sub := b.sub
		b.mu.Unlock()
		err := b.pump(sub)
		if !errors.Is(err, hub.ErrLagged) {
			return // the hub closed (the venue stopped) or Close
		}
		b.gaps.Add(1)
		b.log.Error("the bus fell behind the venue and was cut off by the hub; events in the gap are not on the bus (the journal has them); resubscribing", "hub_queue", b.opts.HubQueue)
		if err := b.subscribe(); err != nil {
			return
		}
		// Every book may have changed in the gap: publish them all.
		for i := range b.books {
			b.books[i].dirty = true
		}
		b.flushBooks()
	}
}

// maxDrain bounds how many events one md coalescing round takes, so a
// continuous stream still publishes books regularly.
const maxDrain = 4096

// pump publishes events from sub until it is closed, returning why. Each
// round takes what is already queued (at least one batch of the venue's,
// then more while fewer than maxDrain events were taken) and then
// publishes each book it changed once; every BookRefresh it republishes
// all books.
func (b *Bus) pump(sub *hub.Sub) error {
	var refresh <-chan time.Time
	if b.opts.BookRefresh > 0 {
		t := time.NewTicker(b.opts.BookRefresh)
		defer t.Stop()
		refresh = t.C
	}
	// woke is when the last round began; busy says it began less than
	// two Lingers after the one before (events come faster than one per
	// Linger or so), and only then does the next round wait.
	var woke time.Time
	busy := false
	for {
		if busy {
			// Let more gather (see Options.Linger). The hub queues them
			// meanwhile; only at its bound (HubQueue events, 65,536 by
			// default) would the bus be cut off.
			if wait := b.opts.Linger - time.Since(woke); wait > 0 {
				time.Sleep(wait)
			}
		}
		var batch *hub.Batch
		var ok bool
		select {
		case batch, ok = <-sub.C:
			now := time.Now()
			busy = b.opts.Linger > 0 && !woke.IsZero() && now.Sub(woke) < 2*b.opts.Linger
			woke = now
			b.rounds.Add(1)
		case <-refresh:
			for i := range b.books {
				// Books nothing has happened to yet stay unpublished.
				b.books[i].dirty = b.books[i].seq > 0
			}
			b.flushBooks()
			continue
		}
		if !ok {
			return sub.Err()
		}
		n := b.handleBatch(sub, batch)
		for n < maxDrain && len(sub.C) > 0 {
			if batch, ok = <-sub.C; !ok {
				b.flushBooks()
				return sub.Err()
			}
			n += b.handleBatch(sub, batch)
		}
		b.flushBooks()
	}
}

// handleBatch handles the events of a hub batch, releases it, and says
// how many there were.
func (b *Bus) handleBatch(sub *hub.Sub, batch *hub.Batch) (n int) {
	for ev := range sub.Events(batch) {
		b.handle(ev)
		n++
	}
	batch.Release()
	return n
}

func (b *Bus) handle(ev *engine.Event) {
	switch {
	case ev.Kind == engine.EvLevel:
		if int(ev.Instrument) < len(b.books) {
			b.books[ev.Instrument].apply(ev)
		}
	case ev.Kind == engine.EvTrade:
		if int(ev.Instrument) < len(b.tradeSubj) && b.isHeard(b.tradeSubj[ev.Instrument]) {
			b.buf, _ = b.names.AppendTrade(b.buf[:0], ev)
			b.publish(b.tradeSubj[ev.Instrument], b.buf)
		}
	case int(ev.Party) < len(b.execSubj) && ev.Party != engine.NoParty && wire.ExecType(ev.Kind) != "":
		if b.isHeard(b.execSubj[ev.Party]) {
			b.buf, _ = b.names.AppendExecEvent(b.buf[:0], ev)
			b.publish(b.execSubj[ev.Party], b.buf)
		}
	}
}

// isHeard reports whether a message on subject is to be published: on the
// embedded server, only while someone is subscribed to it; on an external
// one, always. An unheard message is counted (Stats.Unheard) and neither
// encoded nor handed to NATS.
//
// Why: the server discards a message nobody is subscribed to, after
// parsing it and checking the venue's publish permission (an allocation
// per message); with the in-process assistant on the hub feed, that is
// every execution event of a venue without outside subscribers. Under
// `fxmatch bench fix` (4 sessions, 25,000 orders/s) encoding and the
// server's share were about 14% of the venue's CPU.
//
// Why it changes nothing a subscriber can see: the subscription is in the
// server's table from the moment the server has read its SUB, which is
// before the server answers the subscriber's next PING (a flush). An
// event caused after that (an order the subscriber, or anyone who heard
// from it, sent afterwards) is checked later still and is published. An
// event checked before the SUB was read happened before the subscription
// was complete; without this check it might or might not have reached
// the subscriber (its message could reach the server after the SUB,
// within the Linger round and the write), as NATS promises nothing for
// messages published while a subscription is being made.
func (b *Bus) isHeard(subject string) bool {
	if b.heard == nil || b.heard(subject) {
		return true
	}
	b.unheard.Add(1)
	return false
}

func (b *Bus) flushBooks() {
	for i := range b.books {
		bk := &b.books[i]
		if !bk.dirty {
			continue
		}
		bk.dirty = false
		if sink := b.bookSink.Load(); sink != nil {
			doc := b.names.BookOf(engine.InstrumentID(i), bk.seq, bk.time, bk.bids, bk.asks, wire.BookDepth)
			(*sink)(&doc)
		}
		if !b.isHeard(b.mdSubj[i]) {
			// A subscriber that comes later gets the book at its next
			// change or refresh (BookRefresh), as one that came just
			// after this round would.
			continue
		}
		b.buf = b.names.AppendBook(b.buf[:0], engine.InstrumentID(i), bk.seq, bk.time, bk.bids, bk.asks, wire.BookDepth)
		b.publish(b.mdSubj[i], b.buf)
	}
}

// publish hands one message to NATS. nats.go copies it into its write
// buffer (or, while reconnecting, into the bounded reconnect buffer), so
// data may be reused at once. A refusal is counted and logged at most
// once every 10 seconds.
func (b *Bus) publish(subject string, data []byte) {
	if err := b.nc.Publish(subject, data); err != nil {
		n := b.dropped.Add(1)
		now := time.Now().UnixNano()
		if last := b.lastDropLog.Load(); now-last > int64(10*time.Second) && b.lastDropLog.CompareAndSwap(last, now) {
			b.log.Warn("events dropped from the bus (NATS unavailable); matching and FIX go on, the journal has them", "dropped_total", n, "err", err)
		}
		return
	}
	b.published.Add(1)
}

// PublishAlert publishes a risk alert about participant's flow on
// fxmatch.risk.alerts.<participant> (payload: the alert's JSON, see the
// package documentation). Like the venue's events it never waits for
// NATS: a refusal is counted as dropped and returned.
func (b *Bus) PublishAlert(participant string, payload []byte) error {
	subj, ok := b.alertSubj[participant]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownParticipant, participant)
	}
	if err := b.nc.Publish(subj, payload); err != nil {
		b.dropped.Add(1)
		return fmt.Errorf("bus: risk alert for %s: %w", participant, err)
	}
	b.published.Add(1)
	return nil
}

// SetBookSink hands f every book the bus publishes on fxmatch.md.<SYM>
// from now on, when it publishes it (and also when nobody is subscribed
// there), as the document's Go value: what a subscriber decodes from the
// message (TestBookSinkMatchesBus). It is for a consumer in the venue's
// process — the in-process assistant — which so takes the same books,
// coalesced the same way, without a NATS round per book: under `fxmatch
// bench fix` at 10,000 orders/s (cancel mix) the assistant's NATS book
// feed (the server's routing, nats.go's delivery, encoding/json's
// decoding) was about a tenth of the venue's CPU. f runs on the
// publisher goroutine: it must be quick and must not call the bus; doc
// is f's to keep. nil stops it.
func (b *Bus) SetBookSink(f func(doc *wire.Book)) {
	if f == nil {
		b.bookSink.Store(nil)
		return
	}
	b.bookSink.Store(&f)
}

// Conn is the venue's own connection (publish venue subjects, subscribe
// to them, request the assistant). Do not close it: Close does.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Names is the venue's naming for wire documents.
func (b *Bus) Names() *wire.Names { return b.names }

// ClientURL is where outside clients connect: the embedded server's
// client URL (nats://127.0.0.1:4222) or the external server's URL.
func (b *Bus) ClientURL() string { return b.clientURL }

// Embedded reports whether the bus runs its own NATS server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Server is the embedded NATS server (nil when NATS is external).
func (b *Bus) Server() *server.Server { return b.srv }

// AssistantCredentials are the in-process assistant's URL, user and
// password on the embedded server (user "_assistant", a random password
// made for this run). On an external server they are empty: use
// AssistantConnect, which uses [nats] assistant_user there.
func (b *Bus) AssistantCredentials() (url, user, password string) {
	if b.srv == nil {
		return b.clientURL, "", ""
	}
	return b.clientURL, userAssistant, b.assistantPW
}

// AssistantConnect opens the in-process assistant's own connection, with
// the assistant's permissions: in process (no TCP) as the internal
// assistant user on the embedded server; with [nats] assistant_user's
// credentials on an external one (an error says so when they are not
// configured). It reconnects forever. extra options (a name, handlers)
// are applied after the bus's. The caller closes it, before Close.
//
// The assistant should answer only requests whose reply subject is under
// _INBOX (the embedded server's permissions enforce it; an external
// server's may not).
func (b *Bus) AssistantConnect(extra ...nats.Option) (*nats.Conn, error) {
	if b.assistantErr != nil {
		return nil, b.assistantErr
	}
	opts := []nats.Option{
		nats.Name("fxmatch-assistant"),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.RetryOnFailedConnect(true),
	}
	opts = append(opts, b.assistantOpts...)
	opts = append(opts, extra...)
	return nats.Connect(b.clientURL, opts...)
}

// Stats returns the bus's counters.
func (b *Bus) Stats() Stats {
	return Stats{Published: b.published.Load(), Dropped: b.dropped.Load(), Gaps: b.gaps.Load(), Rounds: b.rounds.Load(),
		Unheard: b.unheard.Load(), Connected: b.nc.IsConnected()}
}

// Close stops publishing, flushes what NATS holds (for at most a second),
// closes the venue's connection and shuts the embedded server down. Call
// it after the venue's Run has returned, so every durable event has been
// published; called earlier, it stops at once and the rest is not
// published (the journal has it).
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		<-b.done
		return nil
	}
	b.closing = true
	b.stopping.Store(true)
	sub := b.sub
	b.mu.Unlock()
	b.v.Hub().Unsubscribe(sub) // a no-op for the pump if the hub closed already
	<-b.done
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(time.Second)
	}
	b.nc.Close()
	b.shutdownServer()
	return nil
}

func (b *Bus) shutdownServer() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

// serverLog passes the embedded server's notices, warnings and errors to
// slog. Fatalf must not exit the venue: it logs an error.
type serverLog struct{ log *slog.Logger }

func (l *serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLog) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(format string, v ...any)  {}
func (l *serverLog) Tracef(format string, v ...any)  {}
