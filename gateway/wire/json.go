package wire

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"fxmatch/engine"
)

// The append helpers below write JSON by hand so that encoding an event
// allocates nothing; encoding/json would reflect over a struct and
// allocate per field. Every document they build is checked against
// encoding/json's reading of the same struct in the tests.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// (quotes, backslash, control characters; invalid UTF-8 becomes U+FFFD;
// <, > and & are escaped too, so a document can sit inside HTML).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// obj builds one JSON object; the comma bookkeeping lives here so the
// encoders read as a list of fields.
type obj struct {
	b     []byte
	first bool
}

func openObj(dst []byte) obj { return obj{b: append(dst, '{'), first: true} }

func (o *obj) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...) // keys are constants without characters to escape
	o.b = append(o.b, '"', ':')
}

func (o *obj) str(k, v string) {
	o.key(k)
	o.b = appendString(o.b, v)
}

// bytes writes v as a JSON string without copying it to a string first:
// v is only read during the call.
func (o *obj) bytes(k string, v []byte) {
	o.key(k)
	o.b = appendString(o.b, unsafe.String(unsafe.SliceData(v), len(v)))
}

// uintStr writes a 64-bit identifier as a JSON string (see the package
// doc: JavaScript numbers stop at 2^53).
func (o *obj) uintStr(k string, v uint64) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = strconv.AppendUint(o.b, v, 10)
	o.b = append(o.b, '"')
}

func (o *obj) uint(k string, v uint64) {
	o.key(k)
	o.b = strconv.AppendUint(o.b, v, 10)
}

func (o *obj) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *obj) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *obj) px(k string, p engine.Price, minDec int) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = AppendPrice(o.b, p, minDec)
	o.b = append(o.b, '"')
}

func (o *obj) qty(k string, q engine.Qty) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = AppendQty(o.b, q)
	o.b = append(o.b, '"')
}

func (o *obj) time(k string, unixNano int64) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = AppendTime(o.b, unixNano)
	o.b = append(o.b, '"')
}

func (o *obj) date(k string, d engine.Date) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = AppendDate(o.b, d)
	o.b = append(o.b, '"')
}

func (o *obj) close() []byte { return append(o.b, '}') }

// AppendTime appends a Unix-nanosecond time as RFC 3339 in UTC with as
// many fractional digits as it needs ("2026-11-25T14:03:07.1234Z"),
// exactly as time.RFC3339Nano writes it (TestAppendTimeMatchesTime,
// FuzzAppendTime). It is written digit by digit from the time's Date and
// Clock because every event on the bus carries a time, and
// time.Time.AppendFormat's general layout machinery cost several times
// this. Times before 1970 take time's way.
func AppendTime(dst []byte, unixNano int64) []byte {
	if unixNano < 0 {
		return time.Unix(0, unixNano).UTC().AppendFormat(dst, time.RFC3339Nano)
	}
	secs, frac := unixNano/1e9, unixNano%1e9
	t := time.Unix(secs, 0).UTC()
	y, mo, d := t.Date()
	m := int(mo)
	dst = append(dst, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T')
	h, mi, sec := t.Clock()
	dst = append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if frac != 0 {
		var digits [9]byte
		n := 9
		for i := 8; i >= 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		for digits[n-1] == '0' {
			n--
		}
		dst = append(dst, '.')
		dst = append(dst, digits[:n]...)
	}
	return append(dst, 'Z')
}

// FormatTime is AppendTime to a string.
func FormatTime(unixNano int64) string { return string(AppendTime(nil, unixNano)) }

// AppendDate appends a date as "2026-11-27".
func AppendDate(dst []byte, d engine.Date) []byte {
	y, m, day := int(d/10000), int(d/100%100), int(d%100)
	dst = append(dst, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append(dst, byte('0'+m/10), byte('0'+m%10), '-')
	return append(dst, byte('0'+day/10), byte('0'+day%10))
}

// FormatDate is AppendDate to a string.
func FormatDate(d engine.Date) string { return string(AppendDate(nil, d)) }
