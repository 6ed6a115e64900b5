package fix

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"

	"fxmatch/cmd/fxmatch/venue"
	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/engine/hub"
)

// party is one participant's FIX session and everything around it: its
// hub subscriptions and the goroutines that turn their events into
// messages, its throttle, its market-data subscriptions.
//
// Goroutines: the connection's goroutine (serveConn) calls fromApp and
// the on-methods (one at a time); execPump sends the participant's
// execution reports; dropPump its drop copies (if it has coverage); one
// goroutine per market-data subscription. None is started per message.
// Each sends with send, which numbers, stores and writes under sendMu.
//
// Lock order: party.mu, then the hub's locks; sendMu, then the session
// store's and the connection's locks. p.mu is never held while sending.
type party struct {
	a            *Acceptor
	id           engine.PartyID
	name         string
	cfg          *config.Participant
	sid          quickfix.SessionID
	store        *sessionStore
	throttleRate int
	covered      []bool // drop copy: covered[p]

	loggedOn atomic.Bool
	lastSent atomic.Int64 // unix nanoseconds of the last write (heartbeats)

	// sendMu orders outbound messages: number, store, write (outbound.go).
	sendMu sync.Mutex
	live   bool       // logged on: messages are written to wconn
	wconn  *guardConn // the logged-on connection
	obuf   []byte     // queued messages' bytes (queueLocked)
	hbuf   []byte     // scratch: a message before framing (headerLocked)
	hseq   int        // the MsgSeqNum of the message in hbuf
	// queuedAt is the SendingTime of the last message queued.
	queuedAt time.Time
	// batchAt, if not zero, is the SendingTime of the messages a pump
	// queues now, batchTS its text (stampBatchLocked).
	batchAt time.Time
	batchTS []byte

	// The goroutine of conn (below) only: per-connection state, which
	// attach hands from one connection's goroutine to the next.
	bucket  tokenBucket
	inOut   *out
	execOut *out

	mu sync.Mutex
	// conn is the connection whose goroutine owns the party's
	// per-connection state, from attach until that goroutine has
	// finished with the session (release) — not merely until its socket
	// closes (see attach).
	conn *guardConn
	// ending: conn's goroutine is ending its session (see leaving).
	ending bool
	// released is closed by release, when conn's goroutine is done.
	released chan struct{}
	sc       *sconn // the logged-on connection's session
	src      string // the connection's remote address (pre-trade scoring's Source)
	exec     *hub.Sub
	drop     *hub.Sub
	md       map[string][]*mdSub // by MDReqID
	mass     map[engine.ID]*massPending
	reqs     map[engine.ID]pendingReq
	stopC    chan struct{}
	wg       sync.WaitGroup
}

// pendingReq is what a cancel or replace request asked for, kept until
// its answer so refusal texts can quote it (the engine's refusal event
// describes the order, not the request).
type pendingReq struct {
	qty   engine.Qty
	price engine.Price
}

// massPending collects the per-shard reports of one mass cancel.
type massPending struct {
	typ    string
	symbol string
	want   int
	got    int
	count  int64
}

// Bounds on the per-party request maps (requests the engine has not yet
// answered); beyond them the extra detail is simply not kept.
const (
	pendingReqsMax = 65536
	pendingMassMax = 1024
)

func newParty(a *Acceptor, id engine.PartyID, cfg *config.Participant, sid quickfix.SessionID) *party {
	p := &party{
		a: a, id: id, name: cfg.ID, cfg: cfg, sid: sid, throttleRate: cfg.ThrottlePerSecond,
		inOut: newOut(), execOut: newOut(),
		md: map[string][]*mdSub{}, mass: map[engine.ID]*massPending{}, reqs: map[engine.ID]pendingReq{},
		stopC: make(chan struct{}),
	}
	p.bucket.init(cfg.ThrottlePerSecond)
	if len(cfg.DropCopy) > 0 {
		p.covered = make([]bool, len(a.cfg.Participants)+1)
		for _, who := range cfg.DropCopy {
			if who == "*" {
				for i := 1; i < len(p.covered); i++ {
					p.covered[i] = true
				}
				continue
			}
			if pid, ok := a.cfg.PartyID(who); ok {
				p.covered[pid] = true
			}
		}
		p.covered[id] = false // its own reports come on its own stream
	}
	return p
}

func (p *party) subscribe() (err error) {
	h := p.a.v.Hub()
	if p.exec, err = h.SubscribeParty(p.id, p.a.opts.ExecQueue); err != nil {
		return fmt.Errorf("fix: %s: %w", p.name, err)
	}
	if p.covered != nil {
		if p.drop, err = h.SubscribeDropCopy(p.covered, p.a.opts.ExecQueue); err != nil {
			return fmt.Errorf("fix: %s drop copy: %w", p.name, err)
		}
	}
	return nil
}

func (p *party) startPumps() {
	p.wg.Go(p.execPump)
	if p.drop != nil {
		p.wg.Go(p.dropPump)
	}
}

func (p *party) stop() {
	close(p.stopC)
	h := p.a.v.Hub()
	p.mu.Lock()
	exec, drop := p.exec, p.drop
	var subs []*mdSub
	for _, s := range p.md {
		subs = append(subs, s...)
	}
	p.mu.Unlock()
	h.Unsubscribe(exec)
	if drop != nil {
		h.Unsubscribe(drop)
	}
	for _, s := range subs {
		s.cancel()
	}
	p.wg.Wait()
}

// attach makes g the participant's connection: from now until release,
// g's goroutine alone touches the party's per-connection state (the
// throttle, the reply buffer, the market-data subscriptions), and its end
// of session (logged out, cancel on disconnect) comes before the next
// connection's session begins. It reports false while another
// connection is live (one session per participant). ending attaches a
// connection that only ends the session (a Logon refused for its
// content, answered in the session): a logon meanwhile waits for it as
// for any connection ending its session.
//
// A previous connection that has closed, or is ending its session, is
// waited for, up to handoverMax. A connection is closed from other
// goroutines too — a pump's, cutting off a slow consumer; a sender's,
// whose write failed — while its own goroutine may still be handling a
// message. Attaching at the close, as the first version did, let a
// logon that came at once run beside that goroutine: both used the
// reply buffer and the throttle, and the old session's end landed on
// the new one, marking it logged out and cancelling (cancel on
// disconnect) the orders just entered on it
// (TestRelogonWaitsForOldConnection).
func (p *party) attach(g *guardConn, ending bool) bool {
	var timeout *time.Timer
	p.mu.Lock()
	for p.conn != nil {
		if !p.conn.shut.Load() && !p.ending {
			p.mu.Unlock()
			return false
		}
		released := p.released
		p.mu.Unlock()
		if timeout == nil {
			timeout = time.NewTimer(handoverMax)
			defer timeout.Stop()
		}
		select {
		case <-released:
		case <-timeout.C:
			p.a.log.Warn("fix: the participant's previous connection has not finished ending its session", "comp_id", p.name, "waited", handoverMax)
			return false
		}
		if p.a.closing.Load() {
			return false
		}
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if !g.setOnClose(func() { p.closed(g) }) {
		return false
	}
	p.conn, p.ending, p.released = g, ending, make(chan struct{})
	p.src = g.RemoteAddr().String()
	g.who.Store(&p.name)
	return true
}

// handoverMax bounds how long a logon waits for the participant's
// previous connection to finish (attach). Its goroutine ends a message
// it is handling, then its session: the store's commit, the buffered
// Logout (up to 2 s, guardConn.close), cancel on disconnect (up to 5 s
// if the input ring is full) — microseconds to milliseconds, unless
// something is stuck; then the logon is refused as while a session is
// live, and the dealer's engine logs on again later.
const handoverMax = 5 * time.Second

// closed runs when g's socket closes (from whichever goroutine closes
// it): the target sequence number stops moving at once (the store's
// gate), so a message g's goroutine has read but not yet counted is not
// acted on. The party stays g's until release.
func (p *party) closed(g *guardConn) {
	p.mu.Lock()
	if p.conn == g {
		p.sc = nil
		p.store.setAuthenticated(false)
	}
	p.mu.Unlock()
}

// leaving says that g's goroutine is ending its session: a logon that
// comes meanwhile waits for it (attach) rather than being refused.
func (p *party) leaving(g *guardConn) {
	p.mu.Lock()
	if p.conn == g {
		p.ending = true
	}
	p.mu.Unlock()
}

// release runs last on g's goroutine, when it has finished with the
// session: the party may have its next connection.
func (p *party) release(g *guardConn) {
	p.mu.Lock()
	if p.conn == g {
		p.conn, p.sc, p.ending = nil, nil, false
		// Closed already by closed(g), except after a logon accepted
		// while g closed (authenticated opens the gate).
		p.store.setAuthenticated(false)
		close(p.released)
	}
	p.mu.Unlock()
}

// logoutForClose sends the logged-on session a Logout (the venue is
// stopping); its connection's goroutine ends on the answer.
func (p *party) logoutForClose() {
	p.mu.Lock()
	sc := p.sc
	p.mu.Unlock()
	if sc != nil {
		sc.logout("")
	}
}

func (p *party) onLogon() {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.loggedOn()
	}
	p.bucket.init(p.throttleRate)
	p.loggedOn.Store(true)
	var remote string
	if c != nil {
		remote = c.RemoteAddr().String()
	}
	p.a.log.Info("fix: logged on", "comp_id", p.name, "remote", remote)
}

func (p *party) onLogout() {
	p.loggedOn.Store(false)
	p.mu.Lock()
	var subs []*mdSub
	for id, s := range p.md {
		subs = append(subs, s...)
		delete(p.md, id)
	}
	p.mu.Unlock()
	for _, s := range subs {
		s.cancel()
	}
	p.a.log.Info("fix: logged out", "comp_id", p.name)
	if p.cfg.CancelOnDisconnect {
		p.cancelOnDisconnect()
	}
}

// cancelOnDisconnect submits the participant's mass cancel. A full input
// ring is retried for up to five seconds: giving up silently would leave
// orders resting that the participant relies on being gone.
func (p *party) cancelOnDisconnect() {
	cmd := engine.Command{Kind: engine.CmdMassCancel, Party: p.id, Scope: engine.MassAll, Reason: engine.ReasonDisconnect}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := p.a.v.Submit(&cmd)
		if err == nil {
			p.a.log.Info("fix: cancel on disconnect submitted", "comp_id", p.name)
			return
		}
		if !errors.Is(err, venue.ErrBusy) || time.Now().After(deadline) {
			p.a.log.Error("fix: CANCEL ON DISCONNECT FAILED: the participant's orders may still rest", "comp_id", p.name, "err", err)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// disconnect drops the participant's connection (slow consumer): the
// session sees the socket close, logs out, and cancel on disconnect
// follows if configured.
func (p *party) disconnect(why string) {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c == nil {
		return
	}
	p.a.log.Warn("fix: disconnecting slow consumer", "comp_id", p.name, "why", why)
	_ = c.Close()
}

// execPump turns the participant's hub events into ExecutionReports,
// OrderCancelRejects and OrderMassCancelReports.
func (p *party) execPump() {
	o := p.execOut
	send := p.queueLocked // one method value, not one per event
	each := func(ev *engine.Event) { p.onExecEvent(o, ev, send) }
	for {
		p.mu.Lock()
		sub := p.exec
		p.mu.Unlock()
		for b := range sub.C {
			p.sendBatches(sub, b, each)
		}
		if !errors.Is(sub.Err(), hub.ErrLagged) || p.a.closing.Load() {
			return
		}
		// Cut off by the hub: the reports between the cut and the new
		// subscription are lost to this session.
		p.a.log.Error("fix: slow consumer: execution reports fell behind and were cut off; reports published until the new subscription are not sent; disconnecting",
			"comp_id", p.name, "queue", p.a.opts.ExecQueue)
		next, err := p.a.v.Hub().SubscribeParty(p.id, p.a.opts.ExecQueue)
		if err != nil {
			return // the hub is closed: the venue is stopping
		}
		if !p.replaceSub(&p.exec, next) {
			return
		}
		p.disconnect("execution reports fell behind the hub")
	}
}

// sendBatches sends the messages each queues for the events of b, and of
// the batches already waiting behind it in sub, together: one store write
// and one socket write for all of them (TestExecPumpCoalesces). Nothing
// waits for a batch that has not come: a lone batch goes out at once.
// execBatchMax bounds a write and how long the send lock is held: more
// batches are taken only below it, and a larger batch is written in
// parts.
func (p *party) sendBatches(sub *hub.Sub, b *hub.Batch, each func(*engine.Event)) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	n := 0
	for {
		p.stampBatchLocked()
		for ev := range sub.Events(b) {
			each(ev)
			if n++; n%execBatchMax == 0 {
				p.flushLocked(nil)
			}
		}
		b.Release() // its messages are encoded: nothing points into it
		if n >= execBatchMax || len(sub.C) == 0 {
			break
		}
		var ok bool
		if b, ok = <-sub.C; !ok {
			break // the pump's next range over sub.C ends its loop
		}
	}
	p.flushLocked(nil)
	p.unstampBatchLocked()
}

// execBatchMax bounds the messages a pump sends in one write.
const execBatchMax = 256

// onExecEvent turns one of the participant's events into its message(s),
// handed to send. p.sendMu must be held (execPump holds it for a batch).
func (p *party) onExecEvent(o *out, ev *engine.Event, send func(*quickfix.Message)) {
	a := p.a
	switch ev.Kind {
	case engine.EvAccepted, engine.EvRejected, engine.EvFill, engine.EvCancelled, engine.EvReplaced, engine.EvExpired:
		if ev.Kind == engine.EvReplaced || (ev.Kind == engine.EvCancelled && ev.Reason == engine.ReasonRequested) {
			p.takeReq(ev.ClOrdID)
		}
		// By hand, without allocating (appendExecReport); execPump holds
		// the send lock.
		p.queueExecReportLocked(ev, p, nil)
	case engine.EvCancelRejected:
		req := p.takeReq(ev.ClOrdID)
		a.cancelReject(o, ev, p, req)
		send(o.m)
	case engine.EvMassCancelReport:
		p.onMassReport(o, ev, send)
	}
}

// dropPump sends copies of the covered participants' execution reports,
// while the drop-copy session is logged on. A drop copy is a live feed:
// what happened while it was away is in the journal, which the regulator
// replays.
func (p *party) dropPump() {
	each := func(ev *engine.Event) {
		// Checked again here: batches taken behind the first
		// (sendBatches) may come after a logout.
		if !p.loggedOn.Load() || int(ev.Party) >= len(p.a.byID) || p.a.byID[ev.Party] == nil {
			return
		}
		p.queueExecReportLocked(ev, p.a.byID[ev.Party], p)
	}
	for {
		p.mu.Lock()
		sub := p.drop
		p.mu.Unlock()
		for b := range sub.C {
			if !p.loggedOn.Load() {
				b.Release()
				continue
			}
			// A regulator's drop copy covers every participant: the
			// busiest session of all, which coalesces as execPump does.
			p.sendBatches(sub, b, each)
		}
		if !errors.Is(sub.Err(), hub.ErrLagged) || p.a.closing.Load() {
			return
		}
		p.a.log.Error("fix: slow consumer: drop copies fell behind and were cut off; disconnecting", "comp_id", p.name, "queue", p.a.opts.ExecQueue)
		next, err := p.a.v.Hub().SubscribeDropCopy(p.covered, p.a.opts.ExecQueue)
		if err != nil {
			return
		}
		if !p.replaceSub(&p.drop, next) {
			return
		}
		p.disconnect("drop copies fell behind the hub")
	}
}

// replaceSub installs a pump's new subscription in *slot, unless stop has
// begun: then stop may already have read (and unsubscribed) the old one,
// so the new one is unsubscribed here and false says the pump must
// return. Without this, a pump cut off while the session stopped kept a
// subscription nobody ended, and stop's Wait lasted until the hub closed.
func (p *party) replaceSub(slot **hub.Sub, next *hub.Sub) bool {
	p.mu.Lock()
	select {
	case <-p.stopC:
		p.mu.Unlock()
		p.a.v.Hub().Unsubscribe(next)
		return false
	default:
	}
	*slot = next
	p.mu.Unlock()
	return true
}

func (p *party) putReq(id engine.ID, r pendingReq) {
	p.mu.Lock()
	if len(p.reqs) < pendingReqsMax {
		p.reqs[id] = r
	}
	p.mu.Unlock()
}

func (p *party) takeReq(id engine.ID) pendingReq {
	p.mu.Lock()
	r, ok := p.reqs[id]
	if ok {
		delete(p.reqs, id)
	}
	p.mu.Unlock()
	return r
}

// ---- inbound (the session goroutine) ----

// tokenBucket is the session's throttle: up to rate messages a second,
// with a burst of one second's worth.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) init(rate int) {
	b.rate = float64(rate)
	b.tokens = b.rate
	b.last = time.Time{}
}

func (b *tokenBucket) allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (p *party) allow(now time.Time) bool { return p.bucket.allow(now) }

// throttled refuses a business message over the session's rate: an
// ExecutionReport 150=8 103=3 for an order, the matching refusal for a
// cancel, replace or mass cancel, a BusinessMessageReject otherwise.
// Never silently dropped.
func (p *party) throttled(m *quickfix.Message, mt string) {
	o := p.inOut
	text := reasonText(engine.ReasonThrottle, &textCtx{throttle: p.throttleRate})
	e := readEcho(qfFields{m})
	switch mt {
	case "D":
		p.a.edgeExecReport(o, &e, engine.ReasonThrottle.FIXRejReason(), text)
	case "F", "G":
		p.a.edgeCancelReject(o, &e, mt == "G", 99, text)
	case "q":
		typ, _ := bodyStr(m, tagMassCancelRequestType)
		p.a.massCancelReport(o, e.clOrdID, p.a.edgeExecID(), typ, e.symbol, 0, 99, text)
	default:
		seq, _ := m.Header.GetInt(quickfix.Tag(34))
		ref, _ := bodyStr(m, tagMDReqID)
		if mt == "x" {
			ref, _ = bodyStr(m, tagSecurityReqID)
		}
		businessReject(o, seq, mt, ref, 0, text)
	}
	p.send(o.m)
}

// submitErr is the refusal for a command the venue did not take.
func submitErr(err error) (engine.Reason, string) {
	var block *venue.RiskBlock
	if errors.As(err, &block) {
		// Pre-trade scoring's own words: "risk: <reasons>".
		return engine.ReasonRisk, block.Error()
	}
	r := engine.ReasonUnavailable
	if errors.Is(err, venue.ErrBusy) {
		r = engine.ReasonBusy
	}
	return r, reasonText(r, &textCtx{})
}

// origin is where this session's orders come from, for pre-trade scoring.
func (p *party) origin() venue.Origin {
	o := venue.Origin{Channel: "fix", Session: p.name}
	p.mu.Lock()
	if p.conn != nil {
		o.Source = p.src
	}
	p.mu.Unlock()
	return o
}

// submitCmds holds the commands submitOrder hands to venue.SubmitOrder.
// SubmitOrder passes its command to the Screener interface, so a command
// given to it by address escapes to the heap: an allocation per
// NewOrderSingle and per replace (~100 ns, and the garbage collector's
// work after it). Neither SubmitOrder nor a Screener keeps the command
// once SubmitOrder has returned (the input ring copies it, see
// shard.Input.Offer; venue.Screener says so), so one from the pool,
// returned after the call, does without: sync.Pool rather than one per
// party, so that no two goroutines can ever share one.
var submitCmds = sync.Pool{New: func() any { return new(engine.Command) }}

// submitOrder is venue.SubmitOrder of a copy of *cmd, without an
// allocation (see submitCmds).
func (p *party) submitOrder(cmd *engine.Command) error {
	c := submitCmds.Get().(*engine.Command)
	*c = *cmd
	err := p.a.v.SubmitOrder(context.Background(), c, p.origin())
	submitCmds.Put(c) // the next Get's *c = *cmd overwrites all of it
	return err
}

func (p *party) onNewOrder(m *quickfix.Message) quickfix.MessageRejectError {
	return p.newOrder(qfFields{m})
}

// newOrder decodes a NewOrderSingle and submits it, or refuses it.
func (p *party) newOrder(m fields) quickfix.MessageRejectError {
	cmd, echo, _, rej, srej := decodeNewOrder(m, p.id, p.a.lookup)
	o := p.inOut
	if srej != nil {
		// A missing Price on a limit order, a malformed ExpireTime: a
		// session-level Reject, which the session sends.
		return srej
	}
	if rej != nil {
		p.a.edgeExecReport(o, &echo, rej.code, rej.text)
		p.send(o.m)
		return nil
	}
	if err := p.submitOrder(&cmd); err != nil {
		r, text := submitErr(err)
		p.a.edgeExecReport(o, &echo, r.FIXRejReason(), text)
		p.send(o.m)
	}
	return nil
}

func (p *party) onCancel(m *quickfix.Message, replace bool) quickfix.MessageRejectError {
	return p.cancel(qfFields{m}, replace)
}

// cancel decodes an OrderCancelRequest (replace false) or
// OrderCancelReplaceRequest (replace true) and submits it, or refuses it.
func (p *party) cancel(m fields, replace bool) quickfix.MessageRejectError {
	cmd, echo, _, rej, srej := decodeCancel(m, p.id, replace, p.a.lookup)
	o := p.inOut
	if srej != nil {
		return srej
	}
	if rej == nil && !p.cfg.CanTrade() {
		rej = &edgeReject{99, reasonText(engine.ReasonReadOnly, &textCtx{party: p.name})}
	}
	if rej != nil {
		p.a.edgeCancelReject(o, &echo, replace, rej.code, rej.text)
		p.send(o.m)
		return nil
	}
	if replace {
		p.putReq(cmd.ClOrdID, pendingReq{qty: cmd.Qty, price: cmd.Price})
	}
	// Two calls, not one through a func value: through the func value the
	// command escaped to the heap for every cancel. A cancel goes to
	// venue.Submit, which pre-trade scoring does not see; a replace to
	// submitOrder.
	var err error
	if replace {
		err = p.submitOrder(&cmd)
	} else {
		err = p.a.v.Submit(&cmd)
	}
	if err != nil {
		p.takeReq(cmd.ClOrdID)
		_, text := submitErr(err)
		p.a.edgeCancelReject(o, &echo, replace, 99, text)
		p.send(o.m)
	}
	return nil
}

func (p *party) onMassCancel(m *quickfix.Message) quickfix.MessageRejectError {
	cmd, echo, typ, rej, srej := decodeMassCancel(qfFields{m}, p.id, p.a.lookup)
	o := p.inOut
	if srej != nil {
		return srej
	}
	if rej == nil && !p.cfg.CanTrade() {
		rej = &edgeReject{99, reasonText(engine.ReasonReadOnly, &textCtx{party: p.name})}
	}
	if rej != nil {
		p.a.massCancelReport(o, echo.clOrdID, p.a.edgeExecID(), typ, echo.symbol, 0, rej.code, rej.text)
		p.send(o.m)
		return nil
	}
	want := 1
	if cmd.Scope == engine.MassAll {
		want = p.a.v.Shards()
	}
	p.mu.Lock()
	if _, dup := p.mass[cmd.ClOrdID]; dup || len(p.mass) >= pendingMassMax {
		p.mu.Unlock()
		text := "clordid: a mass cancel with ClOrdID " + strconv.Quote(echo.clOrdID) + " is in progress"
		if !dup {
			text = "busy: too many mass cancels in progress; send again"
		}
		p.a.massCancelReport(o, echo.clOrdID, p.a.edgeExecID(), typ, echo.symbol, 0, 99, text)
		p.send(o.m)
		return nil
	}
	p.mass[cmd.ClOrdID] = &massPending{typ: typ, symbol: echo.symbol, want: want}
	p.mu.Unlock()
	if err := p.a.v.Submit(&cmd); err != nil {
		// A mass cancel of everything goes to every shard; some may have
		// taken it. Their cancels still report (150=4); the request as a
		// whole is refused and late shard reports are ignored.
		p.mu.Lock()
		delete(p.mass, cmd.ClOrdID)
		p.mu.Unlock()
		_, text := submitErr(err)
		p.a.massCancelReport(o, echo.clOrdID, p.a.edgeExecID(), typ, echo.symbol, 0, 99, text)
		p.send(o.m)
	}
	return nil
}

// onMassReport sums the per-shard reports of a mass cancel and answers
// with one OrderMassCancelReport when all have come. Reports without a
// pending request (cancel on disconnect, a request refused meanwhile) are
// logged only.
func (p *party) onMassReport(o *out, ev *engine.Event, send func(*quickfix.Message)) {
	p.mu.Lock()
	mp, ok := p.mass[ev.ClOrdID]
	if ok {
		mp.got++
		mp.count += ev.Count
		if ev.Reason != engine.ReasonNone {
			mp.want = mp.got // refused by the engine: answer now
		}
		if mp.got >= mp.want {
			delete(p.mass, ev.ClOrdID)
		}
	}
	p.mu.Unlock()
	if !ok {
		if ev.ClOrdID.Empty() {
			p.a.log.Info("fix: cancel on disconnect done", "comp_id", p.name, "orders", ev.Count)
		}
		return
	}
	if mp.got < mp.want {
		return
	}
	refuse, text := -1, ""
	if ev.Reason != engine.ReasonNone {
		refuse, text = 1, reasonText(ev.Reason, &textCtx{symbol: mp.symbol, party: p.name})
	}
	p.a.massCancelReport(o, ev.ClOrdID.String(), strconv.FormatUint(ev.ExecID, 10), mp.typ, mp.symbol, mp.count, refuse, text)
	send(o.m)
}

func (p *party) onSecurityList(m *quickfix.Message) {
	o := p.inOut
	reqID, _ := bodyStr(m, tagSecurityReqID)
	typ, _ := bodyStr(m, tagSecurityListRequestType)
	insts := p.a.insts
	result := 0
	switch typ {
	case "4": // all
	case "0": // by Symbol
		sym, _ := bodyStr(m, tagSymbol)
		if in := p.a.lookup(sym); in != nil {
			insts = []*instrument{in}
		} else {
			insts, result = nil, 2 // no instruments found
		}
	default:
		insts, result = nil, 1 // invalid or unsupported request
	}
	p.a.securityList(o, reqID, insts, result)
	p.send(o.m)
}
