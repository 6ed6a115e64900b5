package fixbench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// VenueCompID is the venue's TargetCompID.
const VenueCompID = "FXMATCH"

// DialOptions says how a Client connects and logs on.
type DialOptions struct {
	// Sender is the participant's CompID, Password its password.
	Sender, Password string
	// HeartBtInt is the heartbeat interval proposed in the Logon (default
	// 30 s).
	HeartBtInt int
	// TLS, if not nil, wraps the connection in TLS.
	TLS *tls.Config
	// Timeout bounds connecting and the Logon round trip (default 10 s).
	Timeout time.Duration
	// ReadBuffer is the reader's buffer size, which bounds the largest
	// inbound message (default 256 KiB).
	ReadBuffer int
}

// Client is one raw FIX 4.4 initiator session: Dial logs it on with
// ResetSeqNumFlag(141)=Y. Its send side (Send, Begin) is safe for
// concurrent use; Next must be called from one goroutine.
type Client struct {
	conn   net.Conn
	sender string
	r      *Reader

	mu      sync.Mutex // guards the send side below
	seq     int
	wbuf    []byte
	scratch []byte

	// fd is the socket once detach took it from the runtime (-1 before),
	// fdr its reader (see detach).
	fd        int
	fdr       *fdReader
	closeOnce sync.Once
}

// Errors of a detached client.
var (
	// errWouldBlock: Next found no whole message and nothing more to
	// read; poll again later.
	errWouldBlock    = errors.New("fixbench: nothing to read yet")
	errNotDetachable = errors.New("fixbench: only a plain TCP connection on Linux can be detached")
	errWriteStuck    = errors.New("fixbench: the venue read nothing for 10s")
)

// Dial connects to addr and logs on; it returns once the venue's Logon
// arrives. A Logout instead is an error carrying its Text(58).
func Dial(ctx context.Context, addr string, o DialOptions) (*Client, error) {
	if o.HeartBtInt <= 0 {
		o.HeartBtInt = 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 256 << 10
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if o.TLS != nil {
		tc := tls.Client(conn, o.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("fixbench: TLS handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	c := &Client{conn: conn, sender: o.Sender, r: NewReader(conn, o.ReadBuffer), fd: -1}
	var body []byte
	body = AppendField(body, 98, "0")
	body = AppendFieldInt(body, 108, int64(o.HeartBtInt))
	body = AppendField(body, 141, "Y")
	body = AppendField(body, 554, o.Password)
	if err := c.Send("A", body); err != nil {
		conn.Close()
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetReadDeadline(deadline)
	for {
		m, err := c.r.Next()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("fixbench: %s: no Logon answer from %s: %w", o.Sender, addr, err)
		}
		switch m.Type() {
		case "A":
			_ = conn.SetReadDeadline(time.Time{})
			return c, nil
		case "5":
			conn.Close()
			return nil, fmt.Errorf("fixbench: %s: logon refused: %s", o.Sender, m.GetString(58))
		}
	}
}

// Sender is the client's SenderCompID.
func (c *Client) Sender() string { return c.sender }

// Conn is the client's connection (for deadlines).
func (c *Client) Conn() net.Conn { return c.conn }

// Send frames one message (body: encoded fields after the standard
// header) with the next MsgSeqNum and writes it.
func (c *Client) Send(msgType string, body []byte) error {
	b := c.Begin(time.Now())
	b.Add(msgType, body)
	return b.Flush()
}

// Batch is a set of messages written with one write: Begin locks the
// client's send side, Flush writes and unlocks.
type Batch struct {
	c   *Client
	now time.Time
}

// Begin starts a batch whose messages carry SendingTime now. Flush must
// follow.
func (c *Client) Begin(now time.Time) Batch {
	c.mu.Lock()
	c.wbuf = c.wbuf[:0]
	return Batch{c: c, now: now}
}

// Add frames one message into the batch.
func (b Batch) Add(msgType string, body []byte) {
	c := b.c
	c.seq++
	c.wbuf, c.scratch = AppendMessage(c.wbuf, c.scratch, msgType, c.sender, VenueCompID, c.seq, b.now, body)
}

// Len is the number of bytes in the batch.
func (b Batch) Len() int { return len(b.c.wbuf) }

// Flush writes the batch (nothing if it is empty) and unlocks the send
// side.
func (b Batch) Flush() error {
	c := b.c
	defer c.mu.Unlock()
	if len(c.wbuf) == 0 {
		return nil
	}
	return c.write(c.wbuf, nil)
}

// write writes b whole, the send side locked: to the connection or, once
// detached, to the socket (see writeFD for wait).
func (c *Client) write(b []byte, wait func(fd int)) error {
	if c.fd >= 0 {
		return writeFD(c.fd, b, wait)
	}
	_, err := c.conn.Write(b)
	return err
}

// Next returns the next inbound message, valid until the next call. It
// answers a TestRequest(1) with a Heartbeat(0) carrying its TestReqID
// before returning it.
func (c *Client) Next() (Message, error) {
	m, err := c.r.Next()
	if err != nil {
		return nil, err
	}
	if t := m.msgType(); len(t) == 1 && t[0] == '1' {
		id, _ := m.Get(112)
		var body []byte
		body = AppendFieldBytes(body, 112, id)
		if err := c.Send("0", body); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Logout sends a Logout(5) and waits up to d for the venue's; it does
// not close the connection.
func (c *Client) Logout(d time.Duration) error {
	if err := c.Send("5", nil); err != nil {
		return err
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	for {
		m, err := c.r.Next()
		if err != nil {
			return err
		}
		if m.Type() == "5" {
			return nil
		}
	}
}

// Close closes the connection.
func (c *Client) Close() error {
	err := c.conn.Close()
	if c.fd >= 0 {
		c.closeOnce.Do(func() { err = closeFD(c.fd) })
	}
	return err
}
