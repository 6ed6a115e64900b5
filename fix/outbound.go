package fix

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"

	"fxmatch/engine"
)

// Outbound: every message the venue sends a participant is numbered,
// stored and written by party.sendTo, under the party's send lock, on
// the sender's own goroutine. The lock is what keeps the wire in
// MsgSeqNum order; the store write (one write(2)) comes before the socket
// write, so nothing goes out that a crash could make the venue forget.
// While the participant is not logged on, messages are numbered and
// stored only; they reach it through the resend after its next logon.

// send numbers, stores and (while logged on) writes m.
func (p *party) send(m *quickfix.Message) { p.sendTo(m, nil) }

// sendTo is send, written to g whether or not the session is live (a
// Logout refusing a logon); g nil means the live connection, if any.
func (p *party) sendTo(m *quickfix.Message, g *guardConn) {
	p.sendMu.Lock()
	p.queueLocked(m)
	p.flushLocked(g)
	p.sendMu.Unlock()
}

// queueLocked numbers m and queues it, for the store and for the socket,
// until flushLocked; p.sendMu must be held. A batch (execPump's) so costs
// one write(2) to the store and one to the socket.
func (p *party) queueLocked(m *quickfix.Message) {
	seq := p.store.NextSenderMsgSeqNum()
	h := &m.Header
	h.SetString(quickfix.Tag(8), BeginString)
	h.SetString(tagSenderCompID, VenueCompID)
	h.SetString(tagTargetCompID, p.name)
	h.SetInt(quickfix.Tag(34), seq)
	p.queuedAt = p.batchAt // a pump's batch: one time for all (stampBatchLocked)
	if p.queuedAt.IsZero() {
		p.queuedAt = time.Now()
	}
	h.SetField(quickfix.Tag(52), quickfix.FIXUTCTimestamp{Time: p.queuedAt.UTC(), Precision: quickfix.Millis})
	b := m.Bytes()
	p.store.queueMessage(seq, b)
	p.obuf = append(p.obuf, b...)
}

// flushLocked commits the queued messages to the store, then writes them
// to g (nil: the live connection, if any); p.sendMu must be held.
func (p *party) flushLocked(g *guardConn) {
	if len(p.obuf) == 0 {
		return
	}
	defer func() { p.obuf = p.obuf[:0] }()
	if err := p.store.commit(); err != nil {
		p.a.log.Error("fix: session store: messages not stored, not sent", "comp_id", p.name, "err", err)
		return
	}
	if g == nil && p.live {
		g = p.wconn
	}
	if g != nil {
		// A failed write closes the connection; the messages are stored.
		// The time is the last message's SendingTime (p.queuedAt), read
		// when it was numbered: close enough for heartbeats and the write
		// deadline, and one time.Now fewer per write.
		_, _ = g.write(p.obuf, p.queuedAt)
		p.lastSent.Store(p.queuedAt.UnixNano())
	}
	if cap(p.obuf) > 1<<20 {
		p.obuf = nil // do not pin a burst's buffer
	}
}

// goLive sends the Logon reply on g and makes g the connection the
// session's messages are written to, in one step under the send lock.
func (p *party) goLive(reply *quickfix.Message, g *guardConn) bool {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	p.queueLocked(reply)
	p.flushLocked(g)
	p.live, p.wconn = true, g
	return true
}

// endSession runs when a logged-on connection has ended: writes stop, the
// session logs out (cancel on disconnect, if configured).
func (p *party) endSession(g *guardConn) {
	p.sendMu.Lock()
	if p.wconn == g {
		p.live, p.wconn = false, nil
	}
	p.sendMu.Unlock()
	p.onLogout()
}

// adminTypes are the session-level message types: a resend replaces them
// with a gap fill.
func isAdminType(mt []byte) bool {
	return len(mt) == 1 && bytes.IndexByte([]byte("012345A"), mt[0]) >= 0
}

// resend answers a ResendRequest for begin..end (end 0: everything sent)
// on g: stored business messages again, with PossDupFlag(43)=Y and
// OrigSendingTime(122); session messages and whatever is no longer stored
// as SequenceReset-GapFill. Resent messages keep their numbers.
func (p *party) resend(begin, end int, g *guardConn) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	next := p.store.NextSenderMsgSeqNum()
	if end == 0 || end >= next {
		end = next - 1
	}
	if begin > end {
		return nil
	}
	stored := map[int][]byte{}
	err := p.store.IterateMessages(begin, end, func(b []byte) error {
		var seq int
		eachField(b, func(tag int, val []byte) bool {
			if tag == 34 {
				seq, _ = strconv.Atoi(string(val))
				return false
			}
			return true
		})
		stored[seq] = b
		return nil
	})
	if err != nil {
		return err
	}
	now := appendTimestamp(nil, time.Now())
	var buf []byte
	gapStart := 0
	for seq := begin; seq <= end; seq++ {
		b, ok := stored[seq]
		var mt []byte
		if ok {
			eachField(b, func(tag int, val []byte) bool {
				if tag == 35 {
					mt = val
					return false
				}
				return true
			})
		}
		if !ok || isAdminType(mt) {
			if gapStart == 0 {
				gapStart = seq
			}
			continue
		}
		if gapStart != 0 {
			buf = p.appendGapFill(buf, gapStart, seq, now)
			gapStart = 0
		}
		buf = p.appendResent(buf, b, now)
	}
	if gapStart != 0 {
		buf = p.appendGapFill(buf, gapStart, end+1, now)
	}
	_, err = g.Write(buf)
	p.lastSent.Store(time.Now().UnixNano())
	return err
}

// appendTimestamp appends a UTCTimestamp with milliseconds, as
// t.UTC().AppendFormat(dst, "20060102-15:04:05.000") does (TestAppendTimestamp),
// digit by digit from t's Date and Clock: the layout interpreter was
// ~0.2 µs of each report's two timestamps.
func appendTimestamp(dst []byte, t time.Time) []byte {
	u := t.UTC()
	y, mo, d := u.Date()
	if y < 0 || y > 9999 {
		return u.AppendFormat(dst, "20060102-15:04:05.000")
	}
	m := int(mo)
	hh, mm, ss := u.Clock()
	ms := u.Nanosecond() / 1e6
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+m/10), byte('0'+m%10), byte('0'+d/10), byte('0'+d%10), '-',
		byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// appendFramed appends a message around body ("35=…|…|", SOH-separated):
// BeginString, BodyLength, and the CheckSum after it.
func appendFramed(dst, body []byte) []byte {
	start := len(dst)
	dst = append(dst, "8=FIX.4.4\x019="...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, 1)
	dst = append(dst, body...)
	sum := checksum(dst[start:])
	return append(dst, '1', '0', '=', byte('0'+sum/100), byte('0'+sum/10%10), byte('0'+sum%10), 1)
}

// checksum is the FIX CheckSum of b: the sum of its bytes modulo 256.
// Eight bytes at a time, in four 16-bit lanes: a byte at a time was ~1 ns
// a byte, a tenth of a microsecond for each message the venue sends and
// again for each it receives (TestChecksum holds it to the plain sum).
func checksum(b []byte) int {
	const lanes = 0x00ff00ff00ff00ff
	sum := uint64(0)
	for len(b) >= 8 {
		// Each lane takes two bytes (at most 510) per word: 128 words
		// keep it within 16 bits, so no lane carries into the next.
		n := min(len(b)/8, 128)
		var acc uint64
		for i := range n {
			x := binary.LittleEndian.Uint64(b[8*i:])
			acc += x&lanes + x>>8&lanes
		}
		// The four lanes' total: into two 32-bit lanes, then one.
		acc = acc&0x0000ffff0000ffff + acc>>16&0x0000ffff0000ffff
		sum += acc&0xffffffff + acc>>32
		b = b[8*n:]
	}
	for _, c := range b {
		sum += uint64(c)
	}
	return int(sum % 256)
}

func (p *party) appendHeader(dst []byte, mt []byte, seq int, now []byte) []byte {
	dst = append(dst, "35="...)
	dst = append(dst, mt...)
	dst = append(dst, "\x0134="...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, "\x0143=Y\x0149="+VenueCompID+"\x0152="...)
	dst = append(dst, now...)
	dst = append(dst, "\x0156="...)
	dst = append(dst, p.name...)
	return append(dst, 1)
}

func (p *party) appendGapFill(dst []byte, seq, next int, now []byte) []byte {
	body := p.appendHeader(nil, []byte("4"), seq, now)
	body = append(body, "122="...)
	body = append(body, now...)
	body = append(body, "\x01123=Y\x0136="...)
	body = strconv.AppendInt(body, int64(next), 10)
	body = append(body, 1)
	return appendFramed(dst, body)
}

// headerTags are the header fields of a stored message that a resend
// writes anew.
func headerTag(tag int) bool {
	switch tag {
	case 8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122:
		return true
	}
	return false
}

func (p *party) appendResent(dst, stored []byte, now []byte) []byte {
	var mt, orig []byte
	seq := 0
	eachField(stored, func(tag int, val []byte) bool {
		switch tag {
		case 35:
			mt = val
		case 34:
			seq, _ = strconv.Atoi(string(val))
		case 52:
			orig = val
		}
		return true
	})
	body := p.appendHeader(nil, mt, seq, now)
	body = append(body, "122="...)
	body = append(body, orig...)
	body = append(body, 1)
	eachField(stored, func(tag int, val []byte) bool {
		if !headerTag(tag) {
			body = strconv.AppendInt(body, int64(tag), 10)
			body = append(body, '=')
			body = append(body, val...)
			body = append(body, 1)
		}
		return true
	})
	return appendFramed(dst, body)
}

// queueBodyLocked is queueLocked for a message built by hand: body holds
// the fields after the standard header ("tag=value|…", SOH-separated),
// in the order they go on the wire. p.sendMu must be held.
func (p *party) queueBodyLocked(mt byte, body []byte) {
	p.queueFramedLocked(append(p.headerLocked(mt), body...))
}

// queueExecReportLocked queues the ExecutionReport of ev (owner's order;
// copyFor: a drop copy for that party, see appendExecReport), encoded
// straight after its header; false if ev is not an order event (nothing
// is queued). p.sendMu must be held.
func (p *party) queueExecReportLocked(ev *engine.Event, owner, copyFor *party) bool {
	h, ok := p.a.appendExecReport(p.headerLocked('8'), ev, owner, copyFor)
	if !ok {
		p.hbuf = h[:0]
		return false
	}
	p.queueFramedLocked(h)
	return true
}

// headerLocked starts a message of type mt in p.hbuf with the standard
// header after BeginString and BodyLength, numbered with the store's next
// sender number (which queueFramedLocked takes). p.sendMu must be held.
func (p *party) headerLocked(mt byte) []byte {
	p.hseq = p.store.NextSenderMsgSeqNum()
	h := append(p.hbuf[:0], "35="...)
	h = append(h, mt)
	h = append(h, "\x0134="...)
	h = strconv.AppendInt(h, int64(p.hseq), 10)
	h = append(h, "\x0149="+VenueCompID+"\x0152="...)
	if p.batchAt.IsZero() {
		p.queuedAt = time.Now()
		h = appendTimestamp(h, p.queuedAt)
	} else {
		p.queuedAt = p.batchAt
		h = append(h, p.batchTS...)
	}
	h = append(h, "\x0156="...)
	h = append(h, p.name...)
	return append(h, 1)
}

// queueFramedLocked frames h (headerLocked's, with the body after it)
// into p.obuf and queues it for the store. p.sendMu must be held.
func (p *party) queueFramedLocked(h []byte) {
	p.hbuf = h
	start := len(p.obuf)
	p.obuf = appendFramed(p.obuf, h)
	p.store.queueMessage(p.hseq, p.obuf[start:])
}

// stampBatchLocked reads the clock once for the messages a pump is about
// to queue (their SendingTime, see headerLocked) instead of once for each:
// a time.Now and a timestamp's formatting fewer per report. The pump
// calls it again for each hub batch it takes, so the time stays the time
// the batch was encoded; unstampBatchLocked ends it. p.sendMu must be held.
func (p *party) stampBatchLocked() {
	p.batchAt = time.Now()
	p.batchTS = appendTimestamp(p.batchTS[:0], p.batchAt)
}

func (p *party) unstampBatchLocked() { p.batchAt = time.Time{} }
