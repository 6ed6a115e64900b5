package fix

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
)

// The session layer: logon, sequence numbers, heartbeats and test
// requests, resend and gap fill, sequence reset, logout, and session-level
// rejects. It runs on the connection's own goroutine (serveConn): a
// message is framed, checked and handled — a NewOrderSingle submitted to
// the venue — on the goroutine that read it, with no hand-off. Outbound
// messages are numbered, stored and written by whoever sends them
// (party.send, under the party's send lock), also without a hand-off.
//
// The rules are FIX 4.4's session protocol as quickfixgo and QuickFIX C++
// implement it (the venue's tests drive it with QuickFIX C++):
//
//   - A message with MsgSeqNum above the expected one is kept (up to
//     stashMax) and a ResendRequest for the gap is sent, once per gap;
//     kept messages are handled when the gap has been filled.
//   - Below the expected one: ignored with PossDupFlag=Y, else a Logout
//     "MsgSeqNum too low, expecting N but received M" and the connection
//     is closed.
//   - SequenceReset: GapFill moves the expected number forward (never
//     back); Reset sets it, whatever the message's own MsgSeqNum.
//   - A wrong CompID (373=9) or a SendingTime more than maxLatency away
//     from the venue's clock (373=10): Reject, then Logout.
//   - Anything that fails the dictionary: Reject with RefSeqNum(45),
//     RefTagID(371), RefMsgType(372), SessionRejectReason(373), Text(58);
//     the expected number moves past it.
//   - ResendRequest: stored business messages again with PossDupFlag=Y and
//     OrigSendingTime, session messages and anything no longer stored as
//     SequenceReset-GapFill.

// maxLatency bounds the difference between a message's SendingTime and the
// venue's clock.
const maxLatency = 120 * time.Second

// stashMax bounds the messages kept while a gap is being filled; a peer
// that sends more is disconnected.
const stashMax = 4096

var errSessionEnd = errors.New("fix: session ended")

// sconn is one connection's session state, owned by its goroutine.
type sconn struct {
	a *Acceptor
	g *guardConn
	p *party // nil until the Logon names a known participant

	hb           time.Duration
	lastRecv     atomic.Int64 // unix nanoseconds
	testReqSent  atomic.Bool
	loggingOut   atomic.Bool // the venue sent a Logout and waits for the answer
	resendTarget int         // while > 0: a ResendRequest is out up to this seq
	stash        map[int][]byte
	now          time.Time // when the message being handled was read
	msg          *quickfix.Message
	out          *out
	rm           rawMsg
}

// serveConn runs one accepted connection until it closes.
func (a *Acceptor) serveConn(g *guardConn) {
	c := &sconn{a: a, g: g, msg: quickfix.NewMessage(), out: newOut()}
	defer func() {
		// Last of all: this goroutine is done with the party (see
		// party.attach).
		if c.p != nil {
			c.p.release(g)
		}
	}()
	defer g.Close()
	raw, err := g.next()
	if err != nil {
		return
	}
	if !c.logon(raw) {
		if c.p != nil {
			c.p.leaving(g)
		}
		return
	}
	p := c.p
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); c.timers(stop) }()
	defer func() {
		p.leaving(g)
		close(stop)
		<-done
		if err := p.store.commit(); err != nil {
			a.log.Error("fix: session store", "comp_id", p.name, "err", err)
		}
		p.endSession(g)
	}()
	for {
		// The target number of what is handled here is not written here:
		// its record waits in the store (incrTargetQueued) for the next
		// commit, which is the one that stores the venue's next outbound
		// message — the answer to these messages, typically — before it
		// is written to the socket, or else the timers' goroutine's
		// within a second (see incrTargetQueued). A write(2) per socket
		// read was ~2% of the venue's CPU under bench fix.
		fresh := !g.buffered() // next reads the socket
		raw, err := g.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, errSessionEnd) && !c.loggingOut.Load() && !a.closing.Load() {
				a.log.Info("fix: connection ended", "comp_id", p.name, "err", err)
			}
			return
		}
		// One reading of the clock per socket read, for the heartbeats,
		// the SendingTime check and the throttle (each was a time.Now of
		// its own: ~70-200 ns apiece on this VM's kvm-clock; then one per
		// message). The messages of one read arrived together: under
		// load a read brings dozens.
		if fresh {
			c.now = time.Now()
			c.lastRecv.Store(c.now.UnixNano())
			c.testReqSent.Store(false)
		}
		if !c.incoming(raw) {
			return
		}
	}
}

// parse reads raw (a whole, framed message) into c.msg. The message
// aliases raw.
func (c *sconn) parse(raw []byte) error {
	return quickfix.ParseMessage(c.msg, bytes.NewBuffer(raw))
}

func headerStr(m *quickfix.Message, tag quickfix.Tag) string {
	b, err := m.Header.GetBytes(tag)
	if err != nil {
		return ""
	}
	return string(b)
}

// logon handles the connection's first message, which must be a Logon.
// It reports whether the session is now logged on.
func (c *sconn) logon(raw []byte) bool {
	a := c.a
	if err := c.parse(append([]byte(nil), raw...)); err != nil {
		return false
	}
	m := c.msg
	if headerStr(m, quickfix.Tag(35)) != "A" {
		return false // no session to answer in: close without a word
	}
	sender, target := headerStr(m, tagSenderCompID), headerStr(m, tagTargetCompID)
	refuse := func(why string) bool {
		a.log.Warn("fix: logon refused", "comp_id", sender, "target_comp_id", target, "why", why, "remote", c.g.RemoteAddr())
		writeRawLogout(c.g, sender, why)
		return false
	}
	if target != VenueCompID {
		return refuse("TargetCompID(56) must be " + VenueCompID)
	}
	p := a.parties[sender]
	if p == nil {
		pw, _ := bodyStr(m, tagPassword)
		a.cfg.VerifyPassword(sender, pw) // same time as a wrong password
		return refuse("unknown SenderCompID(49) " + strconv.Quote(sender) + ": not a participant of this venue")
	}
	// The credentials first, before the connection takes the participant
	// (attach): the password's check (bcrypt, milliseconds) holds nothing,
	// so a wrong password cannot keep the participant's own logon out.
	why := a.checkLogon(m, p)
	if !p.attach(c.g, why != "") {
		if why != "" {
			// The participant is logged on from another connection: the
			// refusal stays outside that session, which it must not
			// disturb.
			return refuse(why)
		}
		a.log.Warn("fix: connection refused: participant already connected", "comp_id", p.name, "remote", c.g.RemoteAddr())
		writeRawLogout(c.g, sender, p.name+" is already logged on from another connection; one session per participant")
		return false
	}
	c.p = p
	if why != "" {
		// Refused inside the session: its Logout takes the venue's next
		// outbound number. FIX engines count a Logout as the session's
		// next message whatever its MsgSeqNum (QuickFIX does): one
		// outside the session left the dealer's engine a number ahead of
		// the venue, refusing its next Logon reply as "MsgSeqNum too low"
		// (TestRefusedLogonKeepsQuickFIXInStep). Attached as ending, so
		// that the participant's logon meanwhile waits for this
		// connection instead of being refused.
		a.log.Warn("fix: logon refused", "comp_id", p.name, "why", why, "remote", c.g.RemoteAddr())
		c.logout(why)
		return false
	}
	a.authenticated(p)
	hb, _ := m.Body.GetInt(tagHeartBtInt)
	c.hb = time.Duration(hb) * time.Second
	seq, err := m.Header.GetInt(quickfix.Tag(34))
	if err != nil {
		c.logout("MsgSeqNum(34) missing or not a number")
		return false
	}
	reset := false
	if f, err := m.Body.GetBytes(tagResetSeqNumFlag); err == nil && string(f) == "Y" {
		reset = true
		if err := p.store.Reset(); err != nil {
			a.log.Error("fix: session store reset failed", "comp_id", p.name, "err", err)
			return false
		}
	}
	expected := p.store.NextTargetMsgSeqNum()
	if seq < expected {
		why := fmt.Sprintf("MsgSeqNum too low, expecting %d but received %d", expected, seq)
		a.log.Warn("fix: logon refused", "comp_id", p.name, "why", why)
		c.logout(why)
		return false
	}
	if reason, ok := c.checkTime(m); !ok {
		a.log.Warn("fix: logon refused", "comp_id", p.name, "why", reason)
		c.logout(reason)
		return false
	}
	c.lastRecv.Store(time.Now().UnixNano())

	// Accepted. The reply, and from then on everything the session sends,
	// goes on the wire: p.live is set under the send lock together with
	// the reply, so no report numbered after it is only stored.
	o := c.out
	o.reset("A")
	o.str(tagEncryptMethod, "0")
	o.int(tagHeartBtInt, int64(hb))
	if reset {
		o.str(tagResetSeqNumFlag, "Y")
	}
	// The Logon is counted before its reply is sent, as every message is
	// before its answer (see handle): a crash in between must not leave
	// the dealer with a reply to a message the venue would ask for again.
	if seq == expected {
		if err := p.store.IncrNextTargetMsgSeqNum(); err != nil {
			a.log.Error("fix: session store", "comp_id", p.name, "err", err)
			return false
		}
	}
	p.onLogon()
	if !p.goLive(o.m, c.g) {
		return false
	}
	p.mu.Lock()
	p.sc = c
	p.mu.Unlock()
	if seq > expected {
		c.gap(expected, seq, nil)
	}
	return true
}

// checkTime checks SendingTime(52) against the venue's clock.
func (c *sconn) checkTime(m *quickfix.Message) (string, bool) {
	t, err := m.Header.GetTime(quickfix.Tag(52))
	if err != nil {
		return "SendingTime(52) missing or malformed", false
	}
	if d := time.Since(t); d <= -maxLatency || d >= maxLatency {
		return "SendingTime accuracy problem", false
	}
	return "", true
}

// logout sends a Logout (numbered and stored like any message) and ends
// the session: the caller closes the connection, which sends what is
// buffered first.
func (c *sconn) logout(text string) {
	o := newOut() // also called from Acceptor.Close's goroutine
	o.reset("5")
	if text != "" {
		o.str(tagText, text)
	}
	c.loggingOut.Store(true)
	c.p.sendTo(o.m, c.g)
}

// gap records that messages from expected to seq-1 are missing: it asks
// for them once per gap and keeps raw (the message that showed the gap)
// until they have come.
func (c *sconn) gap(expected, seq int, raw []byte) bool {
	if raw != nil {
		if c.stash == nil {
			c.stash = map[int][]byte{}
		}
		if len(c.stash) >= stashMax {
			c.a.log.Warn("fix: disconnecting: too many messages held while waiting for a resend", "comp_id", c.p.name, "max", stashMax)
			return false
		}
		c.stash[seq] = append([]byte(nil), raw...)
	}
	if c.resendTarget == 0 { // one request per gap
		o := c.out
		o.reset("2")
		o.int(quickfix.Tag(7), int64(expected))
		o.int(quickfix.Tag(16), 0)
		c.p.send(o.m)
		c.resendTarget = seq
	}
	return true
}

// incoming handles one message after logon; false ends the session.
func (c *sconn) incoming(raw []byte) bool {
	r := &c.rm
	seq, ok := 0, r.load(raw)
	if ok {
		seq, ok = r.seq()
	}
	if !ok {
		// Too many fields to look at here, or no usable MsgSeqNum: the
		// full path reads it.
		return c.full(raw)
	}
	return c.sequence(raw, seq, string(r.mt), false)
}

// full reads a message the raw reading could not (more than
// rawFieldsMax fields, or a MsgSeqNum that is not a plain positive
// number) with the parser, and puts it through the same MsgSeqNum rules
// as any other: a long message is no exception to the too-low Logout or
// to the gap's ResendRequest and stash.
func (c *sconn) full(raw []byte) bool {
	if err := c.parse(raw); err != nil {
		c.a.log.Info("fix: unparsable message discarded", "comp_id", c.p.name, "err", err)
		return true
	}
	m := c.msg
	seq, err := m.Header.GetInt(quickfix.Tag(34))
	if err != nil {
		c.reject(m, quickfix.RequiredTagMissing(quickfix.Tag(34)))
		return true
	}
	return c.sequence(raw, seq, headerStr(m, quickfix.Tag(35)), true)
}

// flagY reports whether tag is Y in the message being sequenced: read
// from c.msg if it was parsed (c.rm then holds only its first
// rawFieldsMax fields), else from c.rm.
func (c *sconn) flagY(parsed bool, tag int) bool {
	if parsed {
		return isY(c.msg, quickfix.Tag(tag))
	}
	return c.rm.isY(tag)
}

// sequence applies the MsgSeqNum rules (see the top of this file) to a
// message of type mt numbered seq, and handles it, or the messages kept
// behind a gap it fills, when its turn has come. parsed: the message is
// in c.msg and c.rm may not hold all its fields (see full).
func (c *sconn) sequence(raw []byte, seq int, mt string, parsed bool) bool {
	p := c.p
	if mt == "4" && !c.flagY(parsed, 123) {
		// SequenceReset-Reset: whatever its own MsgSeqNum says.
		if err := c.parse(raw); err != nil {
			return true
		}
		return c.seqReset(c.msg, false)
	}
	expected := p.store.NextTargetMsgSeqNum()
	switch {
	case seq > expected:
		switch mt {
		case "5":
			if err := c.parse(raw); err != nil {
				return true
			}
			return c.onLogout(c.msg)
		case "2":
			// Served at once (the peer may be waiting for it before it
			// fills our gap); the gap, this message included, is asked
			// for, and the peer gap-fills it.
			if err := c.parse(raw); err == nil && !c.resendReq(c.msg) {
				return false
			}
			return c.gap(expected, seq, nil)
		}
		return c.gap(expected, seq, raw)
	case seq < expected:
		if c.flagY(parsed, 43) {
			return true // a duplicate we have had
		}
		why := fmt.Sprintf("MsgSeqNum too low, expecting %d but received %d", expected, seq)
		c.a.log.Warn("fix: logging out", "comp_id", p.name, "why", why)
		c.logout(why)
		return false
	}
	if !c.dispatch(raw, !parsed) {
		return false
	}
	// Messages kept behind a gap that is now filled.
	for len(c.stash) > 0 {
		next := p.store.NextTargetMsgSeqNum()
		kept, ok := c.stash[next]
		if !ok {
			break
		}
		delete(c.stash, next)
		if !c.dispatch(kept, c.rm.load(kept)) {
			return false
		}
	}
	for seq := range c.stash {
		if seq < p.store.NextTargetMsgSeqNum() {
			delete(c.stash, seq) // filled by a gap fill that skipped it
		}
	}
	if c.resendTarget > 0 && p.store.NextTargetMsgSeqNum() > c.resendTarget {
		c.resendTarget = 0
	}
	return true
}

// dispatch handles a message with the expected MsgSeqNum. loaded: c.rm
// holds all its fields (false: it has more than rawFieldsMax, and only
// the full path may take it — a fast shape judged on its first fields
// would ignore the rest). A NewOrderSingle, OrderCancelRequest or
// OrderCancelReplaceRequest of the common shape takes the fast path,
// everything else the full one.
func (c *sconn) dispatch(raw []byte, loaded bool) bool {
	if loaded {
		if mt := c.rm.fastShape(); mt != 0 && c.fast(mt, raw) {
			return true
		}
	}
	if err := c.parse(raw); err != nil {
		c.a.log.Info("fix: unparsable message discarded", "comp_id", c.p.name, "err", err)
		c.p.store.incrTargetQueued()
		return true
	}
	return c.handle(c.msg, headerStr(c.msg, quickfix.Tag(35)))
}

// fast handles a message of a fast shape (mt, from fastShape) as handle
// and fromApp would, unless a session-level check needs the full path's
// answer (it then reports false and has done nothing): the same CompID,
// SendingTime and throttle checks, in the same order, then the same
// party method the full path calls.
func (c *sconn) fast(mt byte, raw []byte) bool {
	p, r := c.p, &c.rm
	if s, _ := r.get(49); string(s) != p.name {
		return false
	}
	if t, _ := r.get(56); string(t) != VenueCompID {
		return false
	}
	if d := c.now.Sub(r.sent); d <= -maxLatency || d >= maxLatency { // 52, read by fastShape
		return false
	}
	if !p.allow(c.a.clock(c.now)) {
		return false // the full path answers: throttled
	}
	// Counted before the submit, so that the record of the new target
	// number is in the store no later than the answer to this message
	// (see incrTargetQueued). Not counted: the connection has closed in
	// the meantime, and the message is dropped unanswered, as next drops
	// the ones after it (the dealer resends it).
	if !p.store.incrTargetQueued() {
		return true
	}
	var srej quickfix.MessageRejectError
	switch mt {
	case 'D':
		srej = p.newOrder(r)
	case 'F', 'G':
		srej = p.cancel(r, mt == 'G')
	}
	if srej != nil {
		// The shapes leave the decoders nothing to refuse at session
		// level (FuzzInbound checks it); were one to, the answer is the
		// full path's Reject, which needs the parsed message.
		if err := c.parse(raw); err == nil {
			c.reject(c.msg, srej)
		}
	}
	return true
}

func isY(m *quickfix.Message, tag quickfix.Tag) bool {
	b, err := m.Header.GetBytes(tag)
	if err != nil {
		b, err = m.Body.GetBytes(tag)
	}
	return err == nil && string(b) == "Y"
}

// handle processes a message carrying the expected MsgSeqNum.
//
// The message is counted (incrTargetQueued) before anything can answer
// it: the answer's commit (party.flushLocked) then stores the new target
// number before the answer reaches the socket. Counted after, a crash
// between the two (up to the timers' commit, a second later) left the
// dealer with an answer — a reject, say — to a message the restarted
// venue would ask for again and handle anew: a NewOrderSingle the dealer
// was told was refused would then rest. SequenceReset and Logout write
// their own number (seqReset, onLogout); a CompID or SendingTime problem
// is not counted, as quickfixgo does not count it.
func (c *sconn) handle(m *quickfix.Message, mt string) bool {
	p, a := c.p, c.a
	if headerStr(m, tagSenderCompID) != p.name || headerStr(m, tagTargetCompID) != VenueCompID {
		c.reject(m, quickfix.NewMessageRejectError("CompID problem", 9, nil))
		c.logout("")
		return false
	}
	if _, ok := c.checkTime(m); !ok {
		c.reject(m, quickfix.NewMessageRejectError("SendingTime accuracy problem", 10, nil))
		c.logout("")
		return false
	}
	var rej quickfix.MessageRejectError
	admin := false
	switch mt {
	case "0", "1", "2", "3", "4", "5", "A":
		admin = true
		if rej = a.validate(m); rej == nil {
			switch mt {
			case "4":
				return c.seqReset(m, true)
			case "5":
				return c.onLogout(m)
			}
		}
	}
	if !p.store.incrTargetQueued() {
		return false // the connection has closed: dropped unanswered (see next)
	}
	switch {
	case rej != nil:
	case !admin:
		rej = a.fromApp(m, p, mt)
	case mt == "1":
		o := c.out
		o.reset("0")
		if id, err := m.Body.GetBytes(quickfix.Tag(112)); err == nil {
			o.bytes(quickfix.Tag(112), id)
		}
		p.send(o.m)
	case mt == "2":
		if !c.resendReq(m) {
			return false
		}
	case mt == "3":
		a.log.Info("fix: Reject received", "comp_id", p.name, "text", bodyOr(m, tagText))
	case mt == "A":
		a.log.Info("fix: Logon received in session; ignored", "comp_id", p.name)
	}
	if rej != nil {
		c.reject(m, rej)
	}
	return true
}

func bodyOr(m *quickfix.Message, tag quickfix.Tag) string {
	s, _ := bodyStr(m, tag)
	return s
}

// seqReset handles a SequenceReset: GapFill (gapFill true, the message
// carried the expected MsgSeqNum) or Reset.
func (c *sconn) seqReset(m *quickfix.Message, gapFill bool) bool {
	p := c.p
	next, err := m.Body.GetInt(quickfix.Tag(36))
	if err != nil {
		c.reject(m, quickfix.RequiredTagMissing(quickfix.Tag(36)))
		if gapFill {
			_ = p.store.IncrNextTargetMsgSeqNum()
		}
		return true
	}
	expected := p.store.NextTargetMsgSeqNum()
	switch {
	case next > expected:
		if err := p.store.SetNextTargetMsgSeqNum(next); err != nil {
			c.a.log.Error("fix: session store", "comp_id", p.name, "err", err)
			return false
		}
	case next < expected:
		c.reject(m, quickfix.ValueIsIncorrect(quickfix.Tag(36)))
	default:
		if gapFill {
			_ = p.store.IncrNextTargetMsgSeqNum()
		}
	}
	return true
}

// onLogout answers the peer's Logout (unless it answers ours) and ends
// the session.
func (c *sconn) onLogout(m *quickfix.Message) bool {
	_ = c.p.store.IncrNextTargetMsgSeqNum()
	if !c.loggingOut.Load() {
		c.logout("")
	}
	return false
}

// resendReq serves a ResendRequest.
func (c *sconn) resendReq(m *quickfix.Message) bool {
	begin, err1 := m.Body.GetInt(quickfix.Tag(7))
	end, err2 := m.Body.GetInt(quickfix.Tag(16))
	if err1 != nil || err2 != nil || begin < 1 || end < 0 {
		c.reject(m, quickfix.ValueIsIncorrect(quickfix.Tag(7)))
		return true
	}
	if err := c.p.resend(begin, end, c.g); err != nil {
		c.a.log.Error("fix: resend failed", "comp_id", c.p.name, "err", err)
		return false
	}
	return true
}

// reject sends a session-level Reject (3), or a BusinessMessageReject (j)
// for a business-level refusal, about m.
func (c *sconn) reject(m *quickfix.Message, rej quickfix.MessageRejectError) {
	o := c.out
	mt, _ := m.Header.GetBytes(quickfix.Tag(35))
	if rej.IsBusinessReject() {
		o.reset("j")
		o.int(tagBusinessRejectReason, int64(rej.RejectReason()))
		if ref := rej.BusinessRejectRefID(); ref != "" {
			o.str(tagBusinessRejectRefID, ref)
		}
	} else {
		o.reset("3")
		o.int(quickfix.Tag(373), int64(rej.RejectReason()))
		if t := rej.RefTagID(); t != nil {
			o.int(quickfix.Tag(371), int64(*t))
		}
	}
	o.str(tagText, rej.Error())
	if len(mt) > 0 {
		o.bytes(tagRefMsgType, mt)
	}
	if seq, err := m.Header.GetInt(quickfix.Tag(34)); err == nil {
		o.int(tagRefSeqNum, int64(seq))
	}
	c.p.send(o.m)
}

// timers sends heartbeats when the venue has been silent for HeartBtInt,
// a TestRequest when the peer has (plus a fifth), and closes the
// connection when a TestRequest went unanswered for another HeartBtInt.
func (c *sconn) timers(stop <-chan struct{}) {
	tick := min(c.hb/4, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	o := newOut()
	var testReqAt int64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		// The target number of messages that had no answer yet.
		if err := c.p.store.commit(); err != nil {
			c.a.log.Error("fix: session store", "comp_id", c.p.name, "err", err)
		}
		now := time.Now().UnixNano()
		hb := int64(c.hb)
		if now-c.p.lastSent.Load() >= hb {
			o.reset("0")
			c.p.send(o.m)
		}
		silent := now - c.lastRecv.Load()
		switch {
		case !c.testReqSent.Load() && silent >= hb+hb/5:
			o.reset("1")
			o.str(quickfix.Tag(112), "TEST")
			c.p.send(o.m)
			c.testReqSent.Store(true)
			testReqAt = now
		case c.testReqSent.Load() && now-testReqAt >= hb+hb/5:
			c.a.log.Warn("fix: disconnecting: no answer to a TestRequest", "comp_id", c.p.name, "heartbeat", c.hb)
			c.g.abort()
			return
		}
	}
}
