package fix_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawClient speaks FIX over a plain net.Conn with hand-built messages, for
// what qfclient cannot do: send garbage, stop reading, use TLS from Go,
// time a round trip without a process in between.
type rawClient struct {
	t      testing.TB
	conn   net.Conn
	r      *bufio.Reader
	sender string
	seq    int
	buf    []byte
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newRaw(t, c)
}

func newRaw(t testing.TB, c net.Conn) *rawClient {
	return &rawClient{t: t, conn: c, r: bufio.NewReaderSize(c, 64<<10), seq: 1}
}

// build frames a FIX 4.4 message: body is "35=D|..." with | for SOH; the
// header (49, 56, 34, 52) is added.
func (c *rawClient) build(body string) []byte {
	var b bytes.Buffer
	mt, rest, _ := strings.Cut(body, "|")
	fmt.Fprintf(&b, "%s\x0149=%s\x0156=FXMATCH\x0134=%d\x0152=%s\x01", mt, c.sender, c.seq, time.Now().UTC().Format("20060102-15:04:05.000"))
	if rest != "" {
		b.WriteString(strings.ReplaceAll(rest, "|", "\x01"))
		b.WriteByte(1)
	}
	c.seq++
	return frame(b.Bytes())
}

// frame adds BeginString, BodyLength and CheckSum around a body.
func frame(body []byte) []byte {
	out := []byte("8=FIX.4.4\x019=" + strconv.Itoa(len(body)) + "\x01")
	out = append(out, body...)
	sum := 0
	for _, ch := range out {
		sum += int(ch)
	}
	return append(out, fmt.Sprintf("10=%03d\x01", sum%256)...)
}

func (c *rawClient) send(body string) {
	c.t.Helper()
	if _, err := c.conn.Write(c.build(body)); err != nil {
		c.t.Fatalf("raw send: %v", err)
	}
}

func (c *rawClient) logon(sender, password string) *msg {
	c.t.Helper()
	c.sender = sender
	c.send("35=A|98=0|108=30|141=Y|554=" + password)
	return c.expect("35=A", 5*time.Second)
}

// read returns the next message (nil and the error at the end).
func (c *rawClient) read(d time.Duration) (*msg, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	var line []byte
	for {
		b, err := c.r.ReadSlice(1)
		if err != nil {
			return nil, err
		}
		line = append(line, b...)
		if bytes.HasPrefix(b, []byte("10=")) {
			break
		}
	}
	return parseMsg(strings.ReplaceAll(string(line), "\x01", "|")), nil
}

// expect reads until a message with want arrives.
func (c *rawClient) expect(want string, d time.Duration) *msg {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("raw %s: no %s: %v", c.sender, want, err)
		}
		if m.is(want) {
			return m
		}
	}
}

// closed reports whether the venue closes the connection within d
// (reading and discarding whatever comes first).
func (c *rawClient) closed(d time.Duration) bool {
	deadline := time.Now().Add(d)
	_ = c.conn.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c.conn)
	return err == nil || !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
