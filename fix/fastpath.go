package fix

import (
	"math/bits"
	"time"
	"unsafe"

	"github.com/quickfixgo/quickfix"
)

// The fast path: a NewOrderSingle, OrderCancelRequest or
// OrderCancelReplaceRequest of the common shape is read straight from
// the wire — no quickfix.Message, no maps, no allocation — and the
// dictionary's rules are checked by hand for exactly the fields that
// shape allows. The rule that keeps it honest: the fast path only ever
// takes a message the full path (quickfixgo's parser and validator)
// would also have taken, and decodes it with the same decodeNewOrder or
// decodeCancel, so that it answers exactly as the full path would.
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
	// After fastShape took the message: at[k] is 1 + the index in f of
	// the field with the tag of bit k (0: absent), and no other tag but
	// the CheckSum is present — so get needs no scan (the decoders ask
	// for some 15 tags, several of them absent: a scan each was a third
	// of the fast path's time).
	shaped bool
	at     [fastBits]uint8
	// sent is SendingTime(52), read by fastShape (fast checks it
	// against the clock: one parse of it per message, not two).
	sent time.Time
}

// fastBits is the number of tags fastTagBit numbers.
const fastBits = 20

// load splits raw (a frame nextFrame accepted: every field tag=value with
// a value) into fields. It reports false if there are more than
// rawFieldsMax, or if a field is not tag=value with a value (which
// nextFrame rules out). One pass over the bytes: the fields are short, and
// bytes.IndexByte's setup cost more than the scan itself (eachField, on
// the hot path before, was half of the fast path's time).
func (r *rawMsg) load(raw []byte) bool {
	r.n, r.mt, r.shaped = 0, nil, false
	i := 0
	for i < len(raw) {
		if r.n == rawFieldsMax {
			return false
		}
		tag, start := 0, i
		for i < len(raw) && raw[i] != '=' {
			c := raw[i]
			if c < '0' || c > '9' || i-start >= 9 {
				return false
			}
			tag = tag*10 + int(c-'0')
			i++
		}
		if i == start || i == len(raw) {
			return false
		}
		i++ // '='
		vs := i
		for i < len(raw) && raw[i] != 1 {
			i++
		}
		if i == vs {
			return false // an empty value (nextFrame rules it out; fastShape relies on it)
		}
		val := raw[vs:i:i]
		i++ // SOH (or the end)
		r.f[r.n] = rawField{tag, val}
		r.n++
		if tag == 35 {
			r.mt = val
		}
	}
	return true
}

func (r *rawMsg) get(tag int) ([]byte, bool) {
	if r.shaped && tag != 10 {
		bit, _ := fastTagBit(tag)
		if bit == 0 {
			return nil, false
		}
		i := r.at[bits.TrailingZeros32(bit)]
		if i == 0 {
			return nil, false
		}
		return r.f[i-1].val, true
	}
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
// microseconds or nanoseconds, the four forms quickfixgo takes, and takes
// exactly what quickfixgo's time.Parse takes: the usual value is read by
// hand (time.Parse was 4% of the venue's CPU, twice per order), and
// anything the hand reading is not sure of — a day past the 28th, which
// needs the month's length, a sign, a value out of range — goes to
// time.Parse with the layout quickfixgo uses, which gives the verdict.
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
	if t, ok := readUTCTimestamp(v); ok {
		return t, true
	}
	t, err := time.Parse(layout, unsafe.String(&v[0], len(v)))
	return t, err == nil
}

// readUTCTimestamp is parseUTCTimestamp's hand reading of
// YYYYMMDD-HH:MM:SS[.fff[fff[fff]]] (len(v) is 17, 21, 24 or 27): false
// means "ask time.Parse", not "malformed".
func readUTCTimestamp(v []byte) (time.Time, bool) {
	num := func(i, n int) int {
		x := 0
		for _, c := range v[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			x = x*10 + int(c-'0')
		}
		return x
	}
	if v[8] != '-' || v[11] != ':' || v[14] != ':' {
		return time.Time{}, false
	}
	year, month, day := num(0, 4), num(4, 2), num(6, 2)
	hour, minute, sec := num(9, 2), num(12, 2), num(15, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if len(v) > 17 {
		if v[17] != '.' {
			return time.Time{}, false
		}
		digits := len(v) - 18
		if nsec = num(18, digits); nsec < 0 {
			return time.Time{}, false
		}
		for range 9 - digits {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// The fast shapes: per message type, the tags the fast path knows (each
// at most once) and the ones it requires. Bits 0-6 are the standard
// header's; fastTagBit numbers the rest.
const (
	fastHeader         = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 // 8 9 35 34 49 52 56
	bitAccount         = 1 << 7                                         // 1
	bitClOrdID         = 1 << 8                                         // 11
	bitSymbol          = 1 << 9                                         // 55
	bitSide            = 1 << 10                                        // 54
	bitOrderQty        = 1 << 11                                        // 38
	bitOrdType         = 1 << 12                                        // 40
	bitTransactTime    = 1 << 13                                        // 60
	bitPrice           = 1 << 14                                        // 44
	bitTimeInForce     = 1 << 15                                        // 59
	bitMinQty          = 1 << 16                                        // 110
	bitMaxFloor        = 1 << 17                                        // 111
	bitOrigClOrdID     = 1 << 18                                        // 41
	bitOrderID         = 1 << 19                                        // 37
	fastNewOrderTags   = fastHeader | bitAccount | bitClOrdID | bitSymbol | bitSide | bitOrderQty | bitOrdType | bitTransactTime | bitPrice | bitTimeInForce | bitMinQty | bitMaxFloor
	fastNewOrderNeeded = fastHeader | bitClOrdID | bitSymbol | bitSide | bitOrderQty | bitOrdType | bitTransactTime
	// OrderCancelRequest: the dictionary requires 41, 11, 54 and 60;
	// decodeCancel reads 11, 41, 55, 54 and 1 (a missing Symbol is its
	// "unknown symbol", on either path). OrderID(37) and OrderQty(38) are
	// allowed and not read.
	fastCancelTags   = fastHeader | bitAccount | bitClOrdID | bitSymbol | bitSide | bitOrderQty | bitTransactTime | bitOrigClOrdID | bitOrderID
	fastCancelNeeded = fastHeader | bitClOrdID | bitSide | bitTransactTime | bitOrigClOrdID
	// OrderCancelReplaceRequest: the dictionary requires 41, 11, 54, 60
	// and 40; decodeCancel also requires 38 (and 44 on a limit order),
	// which the fast path requires so that it never meets decodeCancel's
	// session-level reject.
	fastReplaceTags   = fastCancelTags | bitOrdType | bitPrice | bitTimeInForce
	fastReplaceNeeded = fastCancelNeeded | bitOrderQty | bitOrdType
)

// fastShape reports the message type ('D', 'F' or 'G') if r is a
// NewOrderSingle, OrderCancelRequest or OrderCancelReplaceRequest the
// fast path takes, else 0: the standard header fields only, each once,
// before the body; body fields from the type's common set only, each
// once; the fields the dictionary and the decoder require all there;
// every value of its type and, for the enumerations, one of the values
// the venue serves. Each of these is a message quickfixgo's parser and
// validator take (FuzzInbound holds it to that).
func (r *rawMsg) fastShape() byte {
	if len(r.mt) != 1 {
		return 0
	}
	var allowed, needed uint32
	switch r.mt[0] {
	case 'D':
		allowed, needed = fastNewOrderTags, fastNewOrderNeeded
	case 'F':
		allowed, needed = fastCancelTags, fastCancelNeeded
	case 'G':
		allowed, needed = fastReplaceTags, fastReplaceNeeded
	default:
		return 0
	}
	var seen uint32 // bit per known tag
	r.at = [fastBits]uint8{}
	body := false
	ordType := byte(0)
	for i := range r.n {
		f := &r.f[i]
		if f.tag == 10 && i == r.n-1 {
			break // CheckSum, checked by the framer
		}
		bit, header := fastTagBit(f.tag)
		if bit&allowed == 0 || seen&bit != 0 {
			return 0
		}
		seen |= bit
		r.at[bits.TrailingZeros32(bit)] = uint8(i + 1)
		if header {
			if body {
				return 0 // a header field after the body: out of order
			}
		} else {
			body = true
		}
		v := f.val
		switch f.tag {
		case 34:
			if _, ok := r.seq(); !ok {
				return 0
			}
		case 52:
			t, ok := parseUTCTimestamp(v)
			if !ok {
				return 0
			}
			r.sent = t
		case 60:
			if _, ok := parseUTCTimestamp(v); !ok {
				return 0
			}
		case 38, 44, 110, 111:
			if !decimalOK(unsafe.String(&v[0], len(v))) {
				return 0
			}
		case 54:
			if len(v) != 1 || v[0] != '1' && v[0] != '2' {
				return 0
			}
		case 40:
			if len(v) != 1 || v[0] != '1' && v[0] != '2' {
				return 0
			}
			ordType = v[0]
		case 59:
			if len(v) != 1 || v[0] != '0' && v[0] != '1' && v[0] != '3' && v[0] != '4' {
				return 0
			}
		}
	}
	if seen&needed != needed {
		return 0
	}
	if ordType == '2' && seen&bitPrice == 0 {
		return 0 // a limit order without Price: the full path rejects it
	}
	r.shaped = true
	return r.mt[0]
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
		return bitAccount, false
	case 11:
		return bitClOrdID, false
	case 55:
		return bitSymbol, false
	case 54:
		return bitSide, false
	case 38:
		return bitOrderQty, false
	case 40:
		return bitOrdType, false
	case 60:
		return bitTransactTime, false
	case 44:
		return bitPrice, false
	case 59:
		return bitTimeInForce, false
	case 110:
		return bitMinQty, false
	case 111:
		return bitMaxFloor, false
	case 41:
		return bitOrigClOrdID, false
	case 37:
		return bitOrderID, false
	}
	return 0, false
}
