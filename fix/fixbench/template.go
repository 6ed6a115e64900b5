package fixbench

import (
	"strconv"
	"strings"
	"time"
)

// A msgTemplate is one kind of message the generator sends (a buy
// NewOrderSingle of one session, say), framed once before the run: only
// MsgSeqNum(34), the timestamps SendingTime(52) and TransactTime(60), the
// order index inside ClOrdID(11)/OrigClOrdID(41), and so BodyLength(9)
// and CheckSum(10), change from one order to the next. Sending an order
// is then a handful of appends and a checksum of the changing bytes only,
// instead of encoding every field and summing the whole message.
type msgTemplate struct {
	// parts[i] precedes slots[i]; parts has one more entry than slots.
	parts [][]byte
	slots []slotKind
	// The parts' length and byte sum, and how many slots of each kind
	// (BodyLength and CheckSum of a message are these plus the slots').
	fixedLen, fixedSum int
	count              [nSlotKinds]int
}

type slotKind uint8

const (
	slotSeq  slotKind = iota // MsgSeqNum's value
	slotTime                 // a UTCTimestamp (stamp)
	slotK                    // the order index, in decimal
	nSlotKinds
)

// Template markers in the text newTemplate takes.
var slotMarkers = [nSlotKinds]string{slotSeq: "{seq}", slotTime: "{time}", slotK: "{k}"}

// newTemplate parses body, the message from MsgType(35) to the SOH before
// CheckSum(10), with {seq}, {time} and {k} where those go.
func newTemplate(body string) *msgTemplate {
	t := &msgTemplate{}
	for {
		at, kind := -1, slotKind(0)
		for k, mark := range slotMarkers {
			if i := strings.Index(body, mark); i >= 0 && (at < 0 || i < at) {
				at, kind = i, slotKind(k)
			}
		}
		if at < 0 {
			break
		}
		t.parts = append(t.parts, []byte(body[:at]))
		t.slots = append(t.slots, kind)
		t.count[kind]++
		body = body[at+len(slotMarkers[kind]):]
	}
	t.parts = append(t.parts, []byte(body))
	for _, p := range t.parts {
		t.fixedLen += len(p)
		t.fixedSum += byteSum(p)
	}
	return t
}

func byteSum(b []byte) int {
	s := 0
	for _, c := range b {
		s += int(c)
	}
	return s
}

// stamp is a UTCTimestamp encoded once for every message of a tick.
type stamp struct {
	b   [21]byte // 20261125-22:53:11.066
	sum int
}

func (s *stamp) set(t time.Time) {
	AppendTimestamp(s.b[:0], t)
	s.sum = byteSum(s.b[:])
}

// append appends the message with MsgSeqNum seq, order index k and
// timestamps ts to dst. It allocates nothing once dst has room.
func (t *msgTemplate) append(dst []byte, seq, k int, ts *stamp) []byte {
	var seqBuf, kBuf [20]byte
	sq := strconv.AppendInt(seqBuf[:0], int64(seq), 10)
	kd := strconv.AppendInt(kBuf[:0], int64(k), 10)
	n := t.fixedLen + t.count[slotSeq]*len(sq) + t.count[slotTime]*len(ts.b) + t.count[slotK]*len(kd)
	start := len(dst)
	dst = append(dst, beginString...)
	dst = append(dst, "9="...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, SOH)
	sum := byteSum(dst[start:]) + t.fixedSum +
		t.count[slotSeq]*byteSum(sq) + t.count[slotTime]*ts.sum + t.count[slotK]*byteSum(kd)
	for i, s := range t.slots {
		dst = append(dst, t.parts[i]...)
		switch s {
		case slotSeq:
			dst = append(dst, sq...)
		case slotTime:
			dst = append(dst, ts.b[:]...)
		case slotK:
			dst = append(dst, kd...)
		}
	}
	dst = append(dst, t.parts[len(t.slots)]...)
	sum %= 256
	return append(dst, '1', '0', '=', byte('0'+sum/100), byte('0'+sum/10%10), byte('0'+sum%10), SOH)
}

// sessionTemplates are one session's messages: orders and cancels, buy
// (even order indexes) and sell (odd).
type sessionTemplates struct {
	order, cancel [2]*msgTemplate
}

// newSessionTemplates frames the mix's messages for sender. They are the
// messages appendOrder and appendCancel encode, field for field (a test
// holds them to it).
func newSessionTemplates(sender, runID string, mix Mix) *sessionTemplates {
	hdr := func(typ string) string {
		return "35=" + typ + "\x0149=" + sender + "\x0156=" + VenueCompID + "\x0134={seq}\x0152={time}\x01"
	}
	tif := "0"
	if mix == MixIOC {
		tif = "3"
	}
	st := &sessionTemplates{}
	for side, px := range [2]string{benchBuyPrice, benchSellPrice} {
		sideCode := strconv.Itoa(side + 1)
		st.order[side] = newTemplate(hdr("D") + "11=" + runID + "-{k}\x0155=" + benchSymbol +
			"\x0154=" + sideCode + "\x0144=" + px + "\x0138=" + benchQty + "\x0140=2\x0159=" + tif + "\x0160={time}\x01")
		st.cancel[side] = newTemplate(hdr("F") + "11=" + runID + "x{k}\x0141=" + runID + "-{k}\x0155=" + benchSymbol +
			"\x0154=" + sideCode + "\x0160={time}\x01")
	}
	return st
}
