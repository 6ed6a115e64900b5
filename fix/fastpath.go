package fix

import (
	"time"
	"unsafe"

	"github.com/quickfixgo/quickfix"
)

// The fast path: a NewOrderSingle of the common shape is read straight
// from the wire — no quickfix.Message, no maps, no allocation — and the
// dictionary's rules are checked by hand for exactly the fields that
// shape allows. The rule that keeps it honest: the fast path only ever
// takes a message the full path (quickfixgo's parser and validator)
// would also have taken, and decodes it with the same decodeNewOrder.
// Anything else — another tag, a repeating group, a value the fast
// checks are not sure of, a CompID or SendingTime problem, a throttled
// message — goes the full path, which gives the exact reject.

// rawField is one tag=value of a message; val aliases the frame.
type rawField struct {
	tag int
	val []byte
}

// rawFieldsMax bounds the fields the fast path looks at; a message with
// more goes the full path.
const rawFieldsMax = 32

// rawMsg is a framed message split into its fields, in wire order.
type rawMsg struct {
	f  [rawFieldsMax]rawField
	n  int
	mt []byte
}

// load splits raw (a frame nextFrame accepted: every field tag=value with
// a value) into fields. It reports false if there are more than
// rawFieldsMax.
func (r *rawMsg) load(raw []byte) bool {
	r.n, r.mt = 0, nil
	ok := true
	eachField(raw, func(tag int, val []byte) bool {
		if r.n == rawFieldsMax {
			ok = false
			return false
		}
		r.f[r.n] = rawField{tag, val}
		r.n++
		if tag == 35 {
			r.mt = val
		}
		return true
	})
	return ok
}

func (r *rawMsg) get(tag int) ([]byte, bool) {
	for i := range r.n {
		if r.f[i].tag == tag {
			return r.f[i].val, true
		}
	}
	return nil, false
}

// seq is MsgSeqNum(34), if present and a plain positive number.
func (r *rawMsg) seq() (int, bool) {
	v, ok := r.get(34)
	if !ok || len(v) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0
}

func (r *rawMsg) isY(tag int) bool {
	v, ok := r.get(tag)
	return ok && len(v) == 1 && v[0] == 'Y'
}

// str implements fields. The string aliases the frame: it is valid while
// the message is being handled, and decodeNewOrder keeps none of them
// (an engine.ID is a copy, and reports copy what they echo).
func (r *rawMsg) str(tag quickfix.Tag) (string, bool) {
	v, ok := r.get(int(tag))
	if !ok || len(v) == 0 {
		return "", ok
	}
	return unsafe.String(&v[0], len(v)), true
}

func (r *rawMsg) has(tag quickfix.Tag) bool {
	_, ok := r.get(int(tag))
	return ok
}

func (r *rawMsg) time(tag quickfix.Tag) (time.Time, error) {
	v, ok := r.get(int(tag))
	if !ok {
		return time.Time{}, quickfix.ConditionallyRequiredFieldMissing(tag)
	}
	t, ok := parseUTCTimestamp(v)
	if !ok {
		return time.Time{}, quickfix.IncorrectDataFormatForValue(tag)
	}
	return t, nil
}

// parseUTCTimestamp reads a FIX UTCTimestamp with seconds, milliseconds,
// microseconds or nanoseconds, the four forms quickfixgo takes.
func parseUTCTimestamp(v []byte) (time.Time, bool) {
	var layout string
	switch len(v) {
	case 17:
		layout = "20060102-15:04:05"
	case 21:
		layout = "20060102-15:04:05.000"
	case 24:
		layout = "20060102-15:04:05.000000"
	case 27:
		layout = "20060102-15:04:05.000000000"
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(layout, unsafe.String(&v[0], len(v)))
	return t, err == nil
}

// fastNewOrder reports whether r is a NewOrderSingle the fast path takes:
// the standard header fields only, each once, before the body; body
// fields from the common set only, each once; the fields the dictionary
// and decodeNewOrder require all there; every value of its type and, for
// the enumerations, one of the values the venue serves.
func (r *rawMsg) fastNewOrder() bool {
	if string(r.mt) != "D" {
		return false
	}
	var seen uint32 // bit per known tag
	body := false
	ordType := byte(0)
	for i := range r.n {
		f := &r.f[i]
		if f.tag == 10 && i == r.n-1 {
			break // CheckSum, checked by the framer
		}
		bit, header := fastTagBit(f.tag)
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if header {
			if body {
				return false // a header field after the body: out of order
			}
		} else {
			body = true
		}
		v := f.val
		switch f.tag {
		case 34:
			if _, ok := r.seq(); !ok {
				return false
			}
		case 52, 60:
			if _, ok := parseUTCTimestamp(v); !ok {
				return false
			}
		case 38, 44, 110, 111:
			if !decimalOK(unsafe.String(&v[0], len(v))) {
				return false
			}
		case 54:
			if len(v) != 1 || v[0] != '1' && v[0] != '2' {
				return false
			}
		case 40:
			if len(v) != 1 || v[0] != '1' && v[0] != '2' {
				return false
			}
			ordType = v[0]
		case 59:
			if len(v) != 1 || v[0] != '0' && v[0] != '1' && v[0] != '3' && v[0] != '4' {
				return false
			}
		}
	}
	const required = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | // 8 9 35 34 49
		1<<5 | 1<<6 | // 52 56
		1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<13 // 11 55 54 38 40 60
	if seen&required != required {
		return false
	}
	if ordType == '2' && seen&(1<<14) == 0 {
		return false // a limit order without Price: the full path rejects it
	}
	return true
}

// fastTagBit numbers the tags the fast path knows; header says whether
// the tag belongs to the standard header.
func fastTagBit(tag int) (bit uint32, header bool) {
	switch tag {
	case 8:
		return 1 << 0, true
	case 9:
		return 1 << 1, true
	case 35:
		return 1 << 2, true
	case 34:
		return 1 << 3, true
	case 49:
		return 1 << 4, true
	case 52:
		return 1 << 5, true
	case 56:
		return 1 << 6, true
	case 1:
		return 1 << 7, false
	case 11:
		return 1 << 8, false
	case 55:
		return 1 << 9, false
	case 54:
		return 1 << 10, false
	case 38:
		return 1 << 11, false
	case 40:
		return 1 << 12, false
	case 60:
		return 1 << 13, false
	case 44:
		return 1 << 14, false
	case 59:
		return 1 << 15, false
	case 110:
		return 1 << 16, false
	case 111:
		return 1 << 17, false
	}
	return 0, false
}
