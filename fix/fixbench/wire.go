package fixbench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"
)

// SOH separates FIX fields.
const SOH = '\x01'

const beginString = "8=FIX.4.4\x01"

// Errors of the reader.
var (
	ErrGarbled  = errors.New("fixbench: garbled message")
	ErrTooLarge = errors.New("fixbench: message larger than the read buffer")
)

// AppendField appends tag=value and SOH to dst.
func AppendField(dst []byte, tag int, value string) []byte {
	dst = strconv.AppendInt(dst, int64(tag), 10)
	dst = append(dst, '=')
	dst = append(dst, value...)
	return append(dst, SOH)
}

// AppendFieldBytes is AppendField with a byte-slice value.
func AppendFieldBytes(dst []byte, tag int, value []byte) []byte {
	dst = strconv.AppendInt(dst, int64(tag), 10)
	dst = append(dst, '=')
	dst = append(dst, value...)
	return append(dst, SOH)
}

// AppendFieldInt appends tag=<decimal v> and SOH to dst.
func AppendFieldInt(dst []byte, tag int, v int64) []byte {
	dst = strconv.AppendInt(dst, int64(tag), 10)
	dst = append(dst, '=')
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, SOH)
}

// AppendTimestamp appends t as a FIX UTCTimestamp with milliseconds
// (20261125-22:53:11.066), without going through time.Format.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append4(dst, y)
	dst = append2(dst, int(mo))
	dst = append2(dst, d)
	dst = append(dst, '-')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return dst
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// AppendMessage appends one framed FIX 4.4 message to dst: BeginString,
// BodyLength, then MsgType(35), SenderCompID(49), TargetCompID(56),
// MsgSeqNum(34) and SendingTime(52), then body (fields already encoded,
// each ending in SOH), then CheckSum(10). scratch is a buffer for the body
// that the caller reuses (it is returned grown, to be passed again), so
// that framing allocates nothing once the buffers have their size.
func AppendMessage(dst, scratch []byte, msgType, sender, target string, seq int, now time.Time, body []byte) (out, scratchOut []byte) {
	b := scratch[:0]
	b = AppendField(b, 35, msgType)
	b = AppendField(b, 49, sender)
	b = AppendField(b, 56, target)
	b = AppendFieldInt(b, 34, int64(seq))
	b = append(b, "52="...)
	b = AppendTimestamp(b, now)
	b = append(b, SOH)
	b = append(b, body...)

	start := len(dst)
	dst = append(dst, beginString...)
	dst = append(dst, "9="...)
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, SOH)
	dst = append(dst, b...)
	sum := 0
	for _, c := range dst[start:] {
		sum += int(c)
	}
	sum %= 256
	dst = append(dst, '1', '0', '=', byte('0'+sum/100), byte('0'+sum/10%10), byte('0'+sum%10), SOH)
	return dst, b
}

// Message is one framed FIX message as received, SOH-separated, checksum
// included. It aliases the Reader's buffer: it is valid only until the
// Reader's next call to Next.
type Message []byte

// Fields iterates over the message's fields in order, BeginString to
// CheckSum. A field without '=' or with a non-numeric tag is yielded
// with tag -1. The value slices alias the message.
func (m Message) Fields() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		rest := []byte(m)
		for len(rest) > 0 {
			end := bytes.IndexByte(rest, SOH)
			if end < 0 {
				end = len(rest)
			}
			f := rest[:end]
			if end < len(rest) {
				rest = rest[end+1:]
			} else {
				rest = nil
			}
			tag := -1
			eq := bytes.IndexByte(f, '=')
			if eq > 0 {
				tag = atoi(f[:eq])
			}
			var v []byte
			if eq >= 0 {
				v = f[eq+1:]
			}
			if !yield(tag, v) {
				return
			}
		}
	}
}

// Get returns the value of the first field with tag, if any.
func (m Message) Get(tag int) ([]byte, bool) {
	for t, v := range m.Fields() {
		if t == tag {
			return v, true
		}
	}
	return nil, false
}

// GetString is Get as a string ("" when absent).
func (m Message) GetString(tag int) string {
	v, _ := m.Get(tag)
	return string(v)
}

// Type is the message's MsgType(35).
func (m Message) Type() string { return string(m.msgType()) }

// msgType is MsgType(35)'s value, found where FIX puts it (the third
// field) without walking the fields, or else by walking them.
func (m Message) msgType() []byte {
	b := []byte(m)
	if i := bytes.IndexByte(b, SOH); i >= 0 {
		b = b[i+1:]
		if i = bytes.IndexByte(b, SOH); i >= 0 {
			b = b[i+1:]
			if len(b) > 3 && b[0] == '3' && b[1] == '5' && b[2] == '=' {
				if i = bytes.IndexByte(b[3:], SOH); i >= 0 {
					return b[3 : 3+i]
				}
			}
		}
	}
	v, _ := m.Get(35)
	return v
}

// inbound is what the load generator looks at in an inbound message. The
// values alias the message.
type inbound struct {
	typ, execType, clOrdID, rejCode, cxlCode, text []byte
}

// scan fills in from m in one pass over its bytes: each tag is parsed in
// place and its value's end found with IndexByte, nothing allocated. It
// sees the fields Fields yields (a test holds it to that), without the
// iterator's call per field: the reader scans every report the venue
// sends, up to two per order.
func (in *inbound) scan(m Message) {
	*in = inbound{}
	b := []byte(m)
	for len(b) > 0 {
		tag, i := 0, 0
		for i < len(b) && i < 10 && b[i] >= '0' && b[i] <= '9' {
			tag = tag*10 + int(b[i]-'0')
			i++
		}
		end := bytes.IndexByte(b, SOH)
		if end < 0 {
			end = len(b)
		}
		if i > 0 && i < 10 && i < end && b[i] == '=' {
			v := b[i+1 : end]
			switch tag {
			case 35:
				in.typ = v
			case 150:
				in.execType = v
			case 11:
				in.clOrdID = v
			case 103:
				in.rejCode = v
			case 102:
				in.cxlCode = v
			case 58:
				in.text = v
			}
		}
		if end == len(b) {
			break
		}
		b = b[end+1:]
	}
}

// String shows the message with | for SOH.
func (m Message) String() string {
	return string(bytes.ReplaceAll([]byte(m), []byte{SOH}, []byte{'|'}))
}

// atoi parses a non-negative decimal; -1 if b is empty, not all digits,
// or too long to be a tag or a count.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Reader frames FIX 4.4 messages from a byte stream by BodyLength, in
// place in one buffer.
type Reader struct {
	r          io.Reader
	buf        []byte
	start, end int
}

// NewReader reads from r with a buffer of size bytes, which bounds the
// largest message (at least 4 KiB).
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{r: r, buf: make([]byte, max(size, 4096))}
}

// Next returns the next message. It is valid until the next call. A
// message that does not start with 8=FIX.4.4 and 9=, whose BodyLength
// does not lead to a 10=nnn trailer, or whose checksum is wrong, is
// ErrGarbled: the stream cannot be trusted past it.
func (r *Reader) Next() (Message, error) {
	for {
		if m, n, err := frameAt(r.buf[r.start:r.end]); err != nil {
			return nil, err
		} else if n > 0 {
			r.start += n
			return m, nil
		}
		// Need more bytes: move what is buffered to the front if the
		// buffer's tail is full, then read.
		if r.end == len(r.buf) {
			if r.start == 0 {
				return nil, ErrTooLarge
			}
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if n == 0 && err != nil {
			if err == io.EOF && r.start != r.end {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// frameAt finds the message at the start of b: n is its length, 0 if b
// holds only part of it.
func frameAt(b []byte) (Message, int, error) {
	const hdr = len(beginString) + 2 // "8=FIX.4.4|9="
	if len(b) < hdr {
		if !bytes.HasPrefix([]byte(beginString+"9="), b) {
			return nil, 0, fmt.Errorf("%w: stream does not start with 8=FIX.4.4|9=: %q", ErrGarbled, b)
		}
		return nil, 0, nil
	}
	if string(b[:hdr]) != beginString+"9=" {
		return nil, 0, fmt.Errorf("%w: stream does not start with 8=FIX.4.4|9=: %q", ErrGarbled, b[:hdr])
	}
	soh := bytes.IndexByte(b[hdr:], SOH)
	if soh < 0 {
		if len(b)-hdr > 7 {
			return nil, 0, fmt.Errorf("%w: BodyLength too long", ErrGarbled)
		}
		return nil, 0, nil
	}
	bodyLen := atoi(b[hdr : hdr+soh])
	if bodyLen < 0 {
		return nil, 0, fmt.Errorf("%w: BodyLength %q", ErrGarbled, b[hdr:hdr+soh])
	}
	bodyStart := hdr + soh + 1
	total := bodyStart + bodyLen + 7 // 10=nnn|
	if len(b) < total {
		return nil, 0, nil
	}
	tr := b[bodyStart+bodyLen : total]
	if tr[0] != '1' || tr[1] != '0' || tr[2] != '=' || tr[6] != SOH {
		return nil, 0, fmt.Errorf("%w: no CheckSum where BodyLength %d says", ErrGarbled, bodyLen)
	}
	sum := 0
	for _, c := range b[:bodyStart+bodyLen] {
		sum += int(c)
	}
	if atoi(tr[3:6]) != sum%256 {
		return nil, 0, fmt.Errorf("%w: CheckSum %s, computed %03d", ErrGarbled, tr[3:6], sum%256)
	}
	return Message(b[:total]), total, nil
}
