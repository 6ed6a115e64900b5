package fix

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// errPreLogonTooLong: a connection sent more than PreLogonBytesMax bytes
// without completing a logon (garbage, or an attack on memory: the framer
// buffers until it finds a whole message).
var errPreLogonTooLong = errors.New("fix: too many bytes before a successful logon")

// listener wraps the TCP (or TLS) listener the acceptor accepts from. It
// bounds the connections open at once, retries temporary accept errors
// (an accept loop that ended at the first error of any kind would
// silently stop the venue taking connections), and wraps each
// connection in a guardConn.
type listener struct {
	net.Listener
	log    *slog.Logger
	opts   *Options
	open   atomic.Int64
	closed atomic.Bool

	mu    sync.Mutex
	conns map[*guardConn]struct{} // open connections, for abortAll
}

func (l *listener) Accept() (net.Conn, error) {
	delay := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// EMFILE, ECONNABORTED, …: wait and go on, bounded backoff.
			l.log.Warn("fix: accept failed; retrying", "err", err, "after", delay)
			time.Sleep(delay)
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		if l.open.Load() >= int64(l.opts.ConnectionsMax) {
			l.log.Warn("fix: connection refused: too many connections open", "remote", c.RemoteAddr(), "max", l.opts.ConnectionsMax)
			_ = c.Close()
			continue
		}
		l.open.Add(1)
		g := newGuardConn(c, l)
		l.mu.Lock()
		if l.conns == nil {
			l.conns = map[*guardConn]struct{}{}
		}
		l.conns[g] = struct{}{}
		l.mu.Unlock()
		return g, nil
	}
}

// abortAll closes every open connection without waiting.
func (l *listener) abortAll() {
	l.mu.Lock()
	var all []*guardConn
	for g := range l.conns {
		all = append(all, g)
	}
	l.mu.Unlock()
	for _, g := range all {
		g.abort()
	}
}

func (l *listener) Close() error {
	l.closed.Store(true)
	return l.Listener.Close()
}

// guardConn is one accepted connection.
//
// Reading: until the session logs on it has a read deadline (LogonTimeout)
// and a byte budget (PreLogonBytesMax); afterwards the session's heartbeats and test requests
// look after a silent peer. Read frames messages itself (see Read).
//
// Writing: a sender (party.send, under the party's send lock) writes to
// the socket itself when nothing is buffered and no write is in flight: a
// lone ExecutionReport does not wait for another goroutine to wake up.
// Otherwise Write appends to a buffer and returns, and the connection's
// writer goroutine (flush) sends what has gathered in one write(2). The
// buffer is the session's bounded outbound queue: a peer that lets it
// grow past OutboundBytesMax, or whose socket takes no bytes for
// WriteTimeout, is disconnected as a slow consumer instead of holding
// memory or the senders.
type guardConn struct {
	net.Conn
	l        *listener
	preLogon atomic.Bool
	wtimeout time.Duration
	// wdeadline is the socket's write deadline; only the goroutine in a
	// socket write (writing, see Write) touches it.
	wdeadline time.Time
	who       atomic.Pointer[string] // the participant, once known

	wmu     sync.Mutex
	wbuf    []byte // bytes written, not yet sent
	wspare  []byte
	writing bool // a goroutine is in a socket write
	wclosed bool
	wake    chan struct{}
	done    chan struct{} // closed when the writer has stopped

	// The reader goroutine's framing state (see Read).
	read     int64  // bytes read before logon
	raw      []byte // bytes read and not yet framed
	ready    []byte // whole, checked frames; those from readyOff on not yet handed out
	readyOff int
	chunk    []byte
	garbled  int

	mu      sync.Mutex
	closed  bool
	onClose func()
	// shut is closed, readable without mu by the reader goroutine (next).
	shut atomic.Bool
}

func newGuardConn(c net.Conn, l *listener) *guardConn {
	g := &guardConn{Conn: c, l: l, wtimeout: l.opts.WriteTimeout, wake: make(chan struct{}, 1), done: make(chan struct{})}
	g.preLogon.Store(true)
	_ = c.SetReadDeadline(time.Now().Add(l.opts.LogonTimeout))
	go g.flush()
	return g
}

// next returns the next whole, well-formed FIX message. It frames the
// byte stream itself — BeginString FIX.4.4, BodyLength, MsgType first,
// CheckSum right, every field tag=value with a value (see nextFrame) — so
// the session layer only ever sees messages it can parse. A garbled
// message (FIX's term: wrong length or checksum, no MsgType) is
// discarded, as the FIX session protocol prescribes; the gap it leaves in
// the sequence numbers is recovered by the usual ResendRequest. Before
// logon, anything that is not a well-formed message closes the
// connection. The message is valid until the next call.
//
// Once the connection is closed (a slow consumer cut off, the venue
// stopping) next hands out nothing more, not even frames already read:
// no answer to them can reach the dealer, whose engine resends what went
// unanswered after it reconnects; and the session could not count them
// (the store's gate closes with the connection), so handled they would
// be handled twice, the resent orders refused as duplicates (103=6).
func (g *guardConn) next() ([]byte, error) {
	if g.shut.Load() {
		return nil, net.ErrClosed
	}
	if g.readyOff == len(g.ready) {
		// All handed out: reuse the buffer from its start (reslicing it
		// from the front would shrink its capacity and make every later
		// fill grow it again).
		g.ready, g.readyOff = g.ready[:0], 0
		for len(g.ready) == 0 {
			if err := g.fill(); err != nil {
				return nil, err
			}
		}
	}
	rest := g.ready[g.readyOff:]
	n := frameLen(rest)
	g.readyOff += n
	return rest[:n:n], nil
}

// buffered reports whether whole frames are waiting to be handed out.
func (g *guardConn) buffered() bool { return g.readyOff < len(g.ready) }

// frameLen is the length of the checked frame at the start of b.
func frameLen(b []byte) int {
	p := len(framePrefix)
	n, j := 0, p
	for ; b[j] != 1; j++ {
		n = n*10 + int(b[j]-'0')
	}
	return j + 1 + n + 7
}

// fill reads once from the socket and frames what it can.
func (g *guardConn) fill() error {
	pre := g.preLogon.Load()
	size := readChunkLive
	if pre {
		size = readChunkPre
	}
	if len(g.chunk) < size {
		g.chunk = make([]byte, size)
	}
	buf := g.chunk
	if pre {
		rest := int64(g.l.opts.PreLogonBytesMax) - g.read
		if rest <= 0 {
			return errPreLogonTooLong
		}
		if int64(len(buf)) > rest {
			buf = buf[:rest]
		}
	}
	n, err := g.Conn.Read(buf)
	if pre {
		g.read += int64(n)
	}
	g.raw = append(g.raw, buf[:n]...)
	// Again: the logon may have been accepted while this Read waited, and
	// what arrived since was sent after the dealer had the Logon reply.
	if ferr := g.frame(g.preLogon.Load()); ferr != nil {
		return ferr
	}
	if err != nil && len(g.ready) == 0 {
		return err
	}
	return nil
}

// How much one read(2) takes: a little before logon, more once the
// session is live. Under load the orders wait in the socket between two
// reads: at 25,000 orders a second over 4 sessions a 4 KiB read was full
// (~20 orders) and the next read came at once; 16 KiB takes four times
// as many orders per system call.
const (
	readChunkPre  = 4 << 10
	readChunkLive = 16 << 10
)

// errGarbage: a connection sent something that is not FIX before logon.
var errGarbage = errors.New("fix: not a FIX 4.4 message before logon")

// frame moves the whole frames at the start of g.raw to g.ready.
func (g *guardConn) frame(preLogon bool) error {
	raw := g.raw
	for len(raw) > 0 {
		f, used, st := nextFrame(raw)
		switch st {
		case frameShort:
			// nextFrame never asks for more than maxFrameBytes in all.
			g.raw = append(g.raw[:0], raw...)
			return nil
		case frameOK:
			g.ready = append(g.ready, f...)
		}
		if st == frameGarbled {
			if preLogon {
				g.raw = g.raw[:0]
				return errGarbage
			}
			g.garbled++
			if g.garbled <= 10 || g.garbled%1000 == 0 {
				g.l.log.Warn("fix: garbled message discarded (wrong BodyLength or CheckSum, or not FIX 4.4)",
					"remote", g.RemoteAddr(), "bytes", used, "garbled_total", g.garbled)
			}
		}
		raw = raw[used:]
	}
	g.raw = g.raw[:0]
	return nil
}

// Frame statuses.
const (
	frameOK      = iota
	frameShort   // more bytes needed
	frameGarbled // the bytes used are not a message: skip them
)

// maxFrameBytes bounds one inbound message (a MarketDataRequest for every
// symbol is well under 4 KiB).
const maxFrameBytes = 64 << 10

var framePrefix = []byte("8=FIX.4.4\x019=")

// nextFrame finds the message at the start of b: its bytes, how many bytes
// of b it (or the garbage before it) takes, and a status. A frame is
// "8=FIX.4.4|9=N|35=…|…|10=ddd|" (| for SOH) with exactly N bytes from
// 35= to the SOH before 10=, every field tag=value with a numeric tag,
// and ddd the sum of the bytes before 10= modulo 256.
func nextFrame(b []byte) (frame []byte, used int, status int) {
	if !bytes.HasPrefix(b, framePrefix) {
		if len(b) < len(framePrefix) && bytes.HasPrefix(framePrefix, b) {
			return nil, 0, frameShort
		}
		// Skip to the next BeginString (or all but a possible partial one).
		if i := bytes.Index(b[1:], framePrefix[:10]); i >= 0 {
			return nil, i + 1, frameGarbled
		}
		return nil, max(1, len(b)-len(framePrefix)), frameGarbled
	}
	p := len(framePrefix)
	j := p
	for j < len(b) && j-p <= 6 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == len(b) {
		return nil, 0, frameShort
	}
	if b[j] != 1 || j == p || j-p > 6 {
		return nil, 1, frameGarbled
	}
	n := 0
	for _, c := range b[p:j] {
		n = n*10 + int(c-'0')
	}
	bodyStart := j + 1
	end := bodyStart + n + 7 // "10=ddd|"
	if n < 5 || end > maxFrameBytes {
		return nil, 1, frameGarbled
	}
	if len(b) < end {
		return nil, 0, frameShort
	}
	body := b[bodyStart : bodyStart+n]
	tr := b[bodyStart+n : end]
	if !bytes.HasPrefix(body, []byte("35=")) || body[n-1] != 1 ||
		tr[0] != '1' || tr[1] != '0' || tr[2] != '=' || tr[6] != 1 {
		return nil, 1, frameGarbled
	}
	sum := checksum(b[:bodyStart+n])
	want := 0
	for _, c := range tr[3:6] {
		if c < '0' || c > '9' {
			return nil, 1, frameGarbled
		}
		want = want*10 + int(c-'0')
	}
	if sum != want || !fieldsOK(body) {
		return nil, 1, frameGarbled
	}
	return b[:end], end, frameOK
}

// fieldsOK checks that every field is tag=value with a numeric tag of at
// most 9 digits and a value that is not empty, that BeginString,
// BodyLength, MsgType and CheckSum appear nowhere else, and that there is
// no XmlData (212/213). Each rule stands between quickfixgo's parser and a panic:
// it reads XmlData by its declared length, past the end of the message if
// told to, and its integer parser indexes the first byte of an empty
// value (an empty MsgSeqNum would end the process).
func fieldsOK(body []byte) bool {
	// One pass, byte by byte: fields are short, and a bytes.IndexByte per
	// '=' and per SOH cost more than the scan (fieldsOKRef in the tests
	// is the two-IndexByte version it is held to).
	first := true
	i := 0
	for i < len(body) {
		tag, start := 0, i
		for i < len(body) && body[i] != '=' {
			c := body[i]
			if c < '0' || c > '9' || i-start >= 9 {
				return false
			}
			tag = tag*10 + int(c-'0')
			i++
		}
		if i == start || i == len(body) {
			return false // no tag, or no '='
		}
		switch tag {
		case 0, 8, 9, 10, 212, 213:
			return false
		case 35:
			if !first {
				return false
			}
		}
		first = false
		i++ // '='
		vs := i
		for i < len(body) && body[i] != 1 {
			i++
		}
		if i == len(body) || i == vs {
			return false // no SOH, or an empty value
		}
		i++
	}
	return true
}

// errSlowConsumer: the peer does not read what the venue sends.
var errSlowConsumer = errors.New("fix: slow consumer: the outbound buffer is full")

// Write sends b at once if the socket is idle, else queues it for the
// writer goroutine; it never waits behind another write.
func (g *guardConn) Write(b []byte) (int, error) { return g.write(b, time.Time{}) }

// write is Write for a caller that has just read the clock (now; zero:
// not read).
func (g *guardConn) write(b []byte, now time.Time) (int, error) {
	g.wmu.Lock()
	if g.wclosed {
		g.wmu.Unlock()
		return 0, net.ErrClosed
	}
	if len(g.wbuf)+len(b) > g.l.opts.OutboundBytesMax {
		g.wmu.Unlock()
		g.l.log.Warn("fix: disconnecting slow consumer: outbound buffer full", "comp_id", g.name(),
			"remote", g.RemoteAddr(), "buffered_bytes_max", g.l.opts.OutboundBytesMax)
		g.abort()
		return 0, errSlowConsumer
	}
	if !g.writing && len(g.wbuf) == 0 {
		// Fast path: write it now.
		g.writing = true
		g.wmu.Unlock()
		err := g.sockWrite(b, now)
		g.wmu.Lock()
		g.writing = false
		pending := len(g.wbuf) > 0
		g.wmu.Unlock()
		if err != nil {
			g.abort()
			return 0, err
		}
		if pending {
			g.kick()
		}
		return len(b), nil
	}
	g.wbuf = append(g.wbuf, b...)
	g.wmu.Unlock()
	g.kick()
	return len(b), nil
}

func (g *guardConn) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// sockWrite writes to the socket with the write deadline, and says so in
// the log when the deadline is what failed. now is the time if the caller
// has it (zero: read here).
//
// The deadline is not set anew for every write: that was a runtime timer
// update (~250 ns) per ExecutionReport. It is set to 1.5×WriteTimeout
// ahead and moved only once less than WriteTimeout is left, so a write
// that blocks is cut off after between WriteTimeout and 1.5×WriteTimeout:
// never sooner than WriteTimeout, as before, and still bounded.
func (g *guardConn) sockWrite(b []byte, now time.Time) error {
	if g.wtimeout > 0 {
		if now.IsZero() {
			now = time.Now()
		}
		if g.wdeadline.Sub(now) < g.wtimeout {
			g.wdeadline = now.Add(g.wtimeout + g.wtimeout/2)
			_ = g.Conn.SetWriteDeadline(g.wdeadline)
		}
	}
	_, err := g.Conn.Write(b)
	if err != nil && isTimeoutErr(err) {
		g.l.log.Warn("fix: disconnecting slow consumer: a write took longer than the write timeout", "comp_id", g.name(),
			"remote", g.RemoteAddr(), "write_timeout", g.wtimeout)
	}
	return err
}

func (g *guardConn) name() string {
	if p := g.who.Load(); p != nil {
		return *p
	}
	return ""
}

// flush is the connection's writer goroutine: it sends what gathered
// while a write was in flight, in one write.
func (g *guardConn) flush() {
	defer close(g.done)
	for range g.wake {
		g.wmu.Lock()
		closing := g.wclosed
		if g.writing || len(g.wbuf) == 0 {
			g.wmu.Unlock()
			if closing && !g.writing {
				return
			}
			continue
		}
		buf := g.wbuf
		g.wbuf = g.wspare[:0]
		g.writing = true
		g.wmu.Unlock()
		err := g.sockWrite(buf, time.Time{})
		g.wmu.Lock()
		g.wspare = buf[:0]
		g.writing = false
		more := len(g.wbuf) > 0
		g.wmu.Unlock()
		if err != nil {
			g.abort()
			return
		}
		if more || closing {
			g.kick()
		}
	}
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// loggedOn lifts the pre-logon limits.
func (g *guardConn) loggedOn() {
	g.preLogon.Store(false)
	_ = g.Conn.SetReadDeadline(time.Time{})
}

// setOnClose registers what to do when the connection closes (at most
// once); it reports false if it is closed already.
func (g *guardConn) setOnClose(fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.onClose = fn
	return true
}

// Close sends what is buffered (a Logout saying why, typically), waiting
// at most a second, and closes the connection.
func (g *guardConn) Close() error { return g.close(true) }

// abort closes without sending what is buffered.
func (g *guardConn) abort() { _ = g.close(false) }

func (g *guardConn) close(drain bool) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.shut.Store(true)
	fn := g.onClose
	g.mu.Unlock()

	g.wmu.Lock()
	g.wclosed = true
	if !drain {
		g.wbuf = g.wbuf[:0]
	}
	g.wmu.Unlock()
	g.kick()
	if drain {
		select {
		case <-g.done:
		case <-time.After(2 * time.Second):
		}
	}
	err := g.Conn.Close()
	g.l.open.Add(-1)
	g.l.mu.Lock()
	delete(g.l.conns, g)
	g.l.mu.Unlock()
	if fn != nil {
		fn()
	}
	return err
}
