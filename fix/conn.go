package fix

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// errPreLogonTooLong: a connection sent more than PreLogonBytesMax bytes
// without completing a logon (garbage, or an attack on memory: quickfixgo's
// reader buffers until it finds a whole message).
var errPreLogonTooLong = errors.New("fix: too many bytes before a successful logon")

// listener wraps the TCP (or TLS) listener quickfixgo accepts from. It
// bounds the connections open at once, retries temporary accept errors
// (quickfixgo's accept loop ends at the first error of any kind, which
// would silently stop the venue taking connections), and wraps each
// connection in a guardConn.
type listener struct {
	net.Listener
	log    *slog.Logger
	opts   *Options
	open   atomic.Int64
	closed atomic.Bool
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
		return newGuardConn(c, l), nil
	}
}

func (l *listener) Close() error {
	l.closed.Store(true)
	return l.Listener.Close()
}

// guardConn is one accepted connection. Until the session logs on it has
// a read deadline (LogonTimeout) and a byte budget (PreLogonBytesMax);
// afterwards quickfixgo's heartbeats look after a silent peer. Every write
// has a deadline (WriteTimeout), so a peer that stops reading entirely is
// cut off rather than holding the session forever. It counts the messages
// written (quickfixgo's writer calls Write once per message), which is how
// the acceptor sees how far a session's outbound queue has fallen behind.
type guardConn struct {
	net.Conn
	l        *listener
	preLogon atomic.Bool
	read     int64 // bytes read before logon (reader goroutine only)
	written  atomic.Int64
	wtimeout time.Duration

	mu      sync.Mutex
	closed  bool
	onClose func()
}

func newGuardConn(c net.Conn, l *listener) *guardConn {
	g := &guardConn{Conn: c, l: l, wtimeout: l.opts.WriteTimeout}
	g.preLogon.Store(true)
	_ = c.SetReadDeadline(time.Now().Add(l.opts.LogonTimeout))
	return g
}

func (g *guardConn) Read(b []byte) (int, error) {
	if g.preLogon.Load() {
		if g.read >= int64(g.l.opts.PreLogonBytesMax) {
			return 0, errPreLogonTooLong
		}
		if rest := int64(g.l.opts.PreLogonBytesMax) - g.read; int64(len(b)) > rest {
			b = b[:rest]
		}
	}
	n, err := g.Conn.Read(b)
	if g.preLogon.Load() {
		g.read += int64(n)
	}
	return n, err
}

func (g *guardConn) Write(b []byte) (int, error) {
	if g.wtimeout > 0 {
		_ = g.Conn.SetWriteDeadline(time.Now().Add(g.wtimeout))
	}
	n, err := g.Conn.Write(b)
	g.written.Add(1)
	if err != nil {
		// A write that failed or timed out leaves the FIX stream broken:
		// close, so the session sees the disconnect at once.
		_ = g.Close()
	}
	return n, err
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

func (g *guardConn) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	fn := g.onClose
	g.mu.Unlock()
	err := g.Conn.Close()
	g.l.open.Add(-1)
	if fn != nil {
		fn()
	}
	return err
}
