package fix

import (
	"bytes"
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/datadictionary"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
)

// VenueCompID is the venue's CompID: clients send TargetCompID(56)=FXMATCH.
const VenueCompID = "FXMATCH"

// BeginString is the only FIX version the venue speaks.
const BeginString = quickfix.BeginStringFIX44

// Dictionary is the venue's published data dictionary (FIX 4.4 plus
// MinPriceIncrement(969) in Instrument). The acceptor validates every
// inbound message against it.
//
//go:embed spec/FIX44-fxmatch.xml
var Dictionary []byte

// Options configures the acceptor. The zero value of every field but
// DataDir is a sensible default.
type Options struct {
	// DataDir holds the session store (DataDir/fix-sessions). Required:
	// sequence numbers must survive restarts.
	DataDir string
	// Logger gets the acceptor's log lines (nil: slog.Default()).
	Logger *slog.Logger
	// TLS, if not nil, makes the listener speak TLS (FIX over TLS, as
	// dealers' engines do with SocketUseSSL / stunnel).
	TLS *tls.Config
	// Store configures the session store (fsync or not, messages kept).
	Store StoreOptions
	// ExecQueue is the capacity, in events, of each participant's
	// execution-report subscription to the hub (default 16384). A
	// participant whose reports cannot be sent that fast is cut off.
	ExecQueue int
	// MarketQueue is the capacity of each market-data subscription
	// (default 4096 events).
	MarketQueue int
	// OutboundBytesMax bounds what may wait for one connection's socket;
	// a session whose peer lets more pile up is disconnected as a slow
	// consumer (default 8 MiB, some 30,000 ExecutionReports).
	OutboundBytesMax int
	// LogonTimeout bounds the time from connecting to a successful logon
	// (default 10s).
	LogonTimeout time.Duration
	// PreLogonBytesMax bounds what a connection may send before it has
	// logged on (default 64 KiB).
	PreLogonBytesMax int
	// ConnectionsMax bounds the connections open at once (default 1024).
	ConnectionsMax int
	// WriteTimeout bounds one socket write; a peer that reads nothing for
	// that long is disconnected (default 30s) — at the latest half as long
	// again after (see guardConn.sockWrite).
	WriteTimeout time.Duration
	// MDSubscriptionsMax bounds the market-data subscriptions of one
	// session (default 64).
	MDSubscriptionsMax int
	// Now is the clock for throttling (nil: time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ExecQueue <= 0 {
		o.ExecQueue = 16384
	}
	if o.MarketQueue <= 0 {
		o.MarketQueue = 4096
	}
	if o.OutboundBytesMax <= 0 {
		o.OutboundBytesMax = 8 << 20
	}
	if o.LogonTimeout <= 0 {
		o.LogonTimeout = 10 * time.Second
	}
	if o.PreLogonBytesMax <= 0 {
		o.PreLogonBytesMax = 64 << 10
	}
	if o.ConnectionsMax <= 0 {
		o.ConnectionsMax = 1024
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.MDSubscriptionsMax <= 0 {
		o.MDSubscriptionsMax = 64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Store.Logger == nil {
		o.Store.Logger = o.Logger
	}
}

// Acceptor is the venue's FIX 4.4 front end. It is safe for concurrent use.
type Acceptor struct {
	v       *venue.Venue
	cfg     *config.Config
	log     *slog.Logger
	opts    Options
	store   *Store
	ln      *listener
	dd      *datadictionary.DataDictionary
	valid   quickfix.Validator
	insts   []*instrument // by global InstrumentID
	bySym   map[string]*instrument
	parties map[string]*party // by CompID
	byID    []*party          // by engine.PartyID
	started int64
	edgeSeq atomic.Uint64
	// realClock: Options.Now is time.Now, so a time the caller has just
	// read will do for the throttle (see clock).
	realClock bool

	conns     sync.WaitGroup // serveConn goroutines
	acceptWG  sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	closing   atomic.Bool
	done      chan struct{}
}

// ErrNoDataDir is returned by Start without Options.DataDir.
var ErrNoDataDir = errors.New("fix: Options.DataDir is required (the session store lives there)")

// Start listens on addr ("127.0.0.1:9878"; port 0 picks a free one, see
// Addr) and serves FIX for venue v until ctx ends or Close is called.
// opts.DataDir is required (the session store lives in
// DataDir/fix-sessions); everything else has a default.
//
// Order matters, both ways. Call Start after venue.Open and before v.Run,
// so the reports of everything Run does (GTD expiries at start included)
// reach the sessions. Stop the acceptor before the venue: Close logs the
// sessions out and submits the cancel-on-disconnect mass cancels, which
// the venue must still be running to take. In fxmatch serve:
//
//	a, err := fix.Start(ctx, v, cfg.Listen.FIX, fix.Options{DataDir: dataDir, Logger: logger})
//	if err != nil { … }
//	runCtx, stopVenue := context.WithCancel(context.Background())
//	go func() { <-ctx.Done(); a.Close(); stopVenue() }()
//	err = v.Run(runCtx)
//
// (When ctx ends, the acceptor also closes itself; Done is closed once it
// has.) Demo passwords on a non-loopback address are the configuration's
// concern (config.CheckListeners); Start refuses them too, for callers
// that did not check.
func Start(ctx context.Context, v *venue.Venue, addr string, opts Options) (*Acceptor, error) {
	realClock := opts.Now == nil
	opts.defaults()
	if opts.DataDir == "" {
		return nil, ErrNoDataDir
	}
	cfg := v.Config()
	if !config.IsLoopback(addr) {
		c := *cfg
		c.Listen.FIX = addr
		if err := c.CheckListeners(); err != nil {
			return nil, err
		}
	}
	dd, err := datadictionary.ParseSrc(bytes.NewReader(Dictionary))
	if err != nil {
		return nil, fmt.Errorf("fix: the embedded dictionary: %w", err)
	}
	a := &Acceptor{
		v: v, cfg: cfg, log: opts.Logger, opts: opts, dd: dd,
		valid: quickfix.NewValidator(quickfix.ValidatorSettings{
			CheckFieldsOutOfOrder: true, RejectInvalidMessage: true,
			AllowUnknownMessageFields: false, CheckUserDefinedFields: true, CheckFieldsHaveValues: true,
		}, dd, nil),
		bySym: map[string]*instrument{}, parties: map[string]*party{},
		started: time.Now().Unix(), done: make(chan struct{}), realClock: realClock,
	}
	for i, in := range v.Instruments() {
		inst := newInstrument(engine.InstrumentID(i), in)
		a.insts = append(a.insts, inst)
		a.bySym[in.Symbol] = inst
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fix: listen %s: %w", addr, err)
	}
	var inner net.Listener = ln
	if opts.TLS != nil {
		inner = tls.NewListener(ln, opts.TLS)
	}
	a.ln = &listener{Listener: inner, log: a.log, opts: &a.opts}
	ok := false
	defer func() {
		if !ok {
			a.ln.Close()
			if a.store != nil {
				a.store.Close()
			}
		}
	}()

	if a.store, err = OpenStore(filepath.Join(opts.DataDir, "fix-sessions"), opts.Store); err != nil {
		return nil, err
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())

	for i := range cfg.Participants {
		pc := &cfg.Participants[i]
		id, _ := cfg.PartyID(pc.ID)
		// The store's file is named after the session as quickfixgo named
		// it, so data directories of earlier versions keep their numbers.
		sid := quickfix.SessionID{BeginString: BeginString, SenderCompID: VenueCompID, TargetCompID: pc.ID}
		p := newParty(a, id, pc, sid)
		a.parties[pc.ID] = p
		for int(id) >= len(a.byID) {
			a.byID = append(a.byID, nil)
		}
		a.byID[id] = p
		if p.store, err = a.store.Session(sid); err != nil {
			return nil, err
		}
		p.store.gated = true
	}
	// Subscriptions before the sessions run, so nothing published from
	// now on is missed.
	for _, p := range a.parties {
		if err := p.subscribe(); err != nil {
			return nil, err
		}
	}
	for _, p := range a.parties {
		p.startPumps()
	}
	a.acceptWG.Go(a.acceptLoop)
	ok = true
	a.log.Info("fix: acceptor listening", "addr", a.ln.Addr().String(), "tls", opts.TLS != nil, "comp_id", VenueCompID, "participants", len(a.parties))
	go func() { // not waited for by Close, which it calls
		select {
		case <-ctx.Done():
			_ = a.Close()
		case <-a.ctx.Done():
		}
	}()
	return a, nil
}

// clock is the throttle's time for a message read at now: now itself
// unless Options.Now is a clock of the caller's (tests), which is asked.
func (a *Acceptor) clock(now time.Time) time.Time {
	if a.realClock {
		return now
	}
	return a.opts.Now()
}

// Addr is the address the acceptor listens on.
func (a *Acceptor) Addr() net.Addr { return a.ln.Addr() }

// Close logs every session out, submits the cancel-on-disconnect mass
// cancels of the participants that have it, stops the acceptor and closes
// the session store. It is safe to call more than once.
func (a *Acceptor) Close() error {
	a.closeOnce.Do(func() {
		a.closing.Store(true)
		_ = a.ln.Close()
		a.acceptWG.Wait()
		// Log every session out and give the dealers' engines a moment to
		// answer; then close what is left. Each connection's goroutine
		// runs cancel on disconnect as it ends.
		for _, p := range a.parties {
			p.logoutForClose()
		}
		ended := make(chan struct{})
		go func() { a.conns.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(2 * time.Second):
			a.ln.abortAll()
			<-ended
		}
		a.cancel()
		for _, p := range a.parties {
			p.stop()
		}
		a.closeErr = a.store.Close()
		a.log.Info("fix: acceptor stopped")
		close(a.done)
	})
	return a.closeErr
}

// Done is closed when the acceptor has stopped.
func (a *Acceptor) Done() <-chan struct{} { return a.done }

// acceptLoop serves each accepted connection on its own goroutine.
func (a *Acceptor) acceptLoop() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return // closed (temporary errors are retried by Accept)
		}
		g := c.(*guardConn)
		a.conns.Go(func() { a.serveConn(g) })
	}
}

func (a *Acceptor) partyName(id engine.PartyID) string {
	if int(id) < len(a.byID) && a.byID[id] != nil {
		return a.byID[id].name
	}
	return "UNKNOWN"
}

func (a *Acceptor) lookup(sym string) *instrument { return a.bySym[sym] }

// writeRawLogout writes a Logout outside any session (sequence number 1),
// for a connection refused before its session exists.
func writeRawLogout(c net.Conn, to, text string) {
	m := quickfix.NewMessage()
	m.Header.SetString(quickfix.Tag(8), BeginString)
	m.Header.SetString(quickfix.Tag(35), "5")
	m.Header.SetString(tagSenderCompID, VenueCompID)
	m.Header.SetString(tagTargetCompID, to)
	m.Header.SetInt(quickfix.Tag(34), 1)
	m.Header.SetField(quickfix.Tag(52), quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Millis})
	m.Body.SetString(tagText, text)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(m.Bytes())
}

// checkLogon checks a Logon from participant p: the dictionary, the
// password, EncryptMethod 0 and a HeartBtInt of 1 to 300. It returns why
// the logon is refused, or "". It changes nothing: it runs before the
// connection takes the participant (attach).
func (a *Acceptor) checkLogon(m *quickfix.Message, p *party) string {
	pw, _ := bodyStr(m, tagPassword)
	if rej := a.validate(m); rej != nil {
		return "invalid Logon: " + rej.Error() + tagSuffix(rej)
	}
	if !m.Body.Has(tagPassword) {
		a.cfg.VerifyPassword(p.name, "\x00missing") // same time as a wrong password
		return "Password(554) missing"
	}
	if !a.cfg.VerifyPassword(p.name, pw) {
		return "wrong Password(554) for " + p.name
	}
	if em, _ := bodyStr(m, tagEncryptMethod); em != "0" {
		return "EncryptMethod(98) must be 0 (use TLS for encryption)"
	}
	hb, err := m.Body.GetInt(tagHeartBtInt)
	if err != nil || hb < 1 || hb > 300 {
		return "HeartBtInt(108) must be between 1 and 300 seconds"
	}
	return ""
}

// authenticated runs once a Logon passed checkLogon and its connection is
// p's (attach).
func (a *Acceptor) authenticated(p *party) {
	// Authenticated: from here on the session's target sequence number may
	// move (see sessionStore's gate), and the connection's pre-logon limits
	// go — now, before the Logon reply is sent, since the dealer may send
	// the moment it has the reply.
	p.store.setAuthenticated(true)
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.loggedOn()
	}
}

func tagSuffix(rej quickfix.MessageRejectError) string {
	if t := rej.RefTagID(); t != nil {
		return " (tag " + strconv.Itoa(int(*t)) + ")"
	}
	return ""
}

// validate checks a message against the venue's dictionary: required
// tags, tags allowed in the message type, value types and enumerations,
// repeating groups. Failures become session-level Rejects (3) with
// RefSeqNum(45), RefTagID(371) and SessionRejectReason(373).
func (a *Acceptor) validate(m *quickfix.Message) quickfix.MessageRejectError {
	return a.valid.Validate(m)
}

// fromApp handles a business message of type mt from logged-on p. A
// non-nil result is sent back as a Reject or BusinessMessageReject.
func (a *Acceptor) fromApp(m *quickfix.Message, p *party, mt string) quickfix.MessageRejectError {
	if rej := a.validate(m); rej != nil {
		return rej
	}
	switch mt {
	case "D", "F", "G", "q", "V", "x":
	default:
		return quickfix.NewBusinessMessageRejectError("MsgType "+string(mt)+" is not supported by the venue: it takes D, F, G, q, V and x", 3, nil)
	}
	if !p.allow(a.opts.Now()) {
		p.throttled(m, mt)
		return nil
	}
	switch mt {
	case "D":
		return p.onNewOrder(m)
	case "F":
		return p.onCancel(m, false)
	case "G":
		return p.onCancel(m, true)
	case "q":
		return p.onMassCancel(m)
	case "V":
		p.onMarketData(m)
	case "x":
		p.onSecurityList(m)
	}
	return nil
}
