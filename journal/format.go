package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/bits"
	"unsafe"

	"fxmatch/engine"
)

// RecordVersion is the first byte of every record payload. A reader meets
// an unknown version as ErrVersion, never as a guess.
const RecordVersion = 1

// BlockVersion is the first byte of every block value.
const BlockVersion = 1

// HashSize is the size of a chain hash (SHA-256).
const HashSize = sha256.Size

// Hash is a link of the hash chain: SHA-256(previous ‖ key ‖ payload).
type Hash [HashSize]byte

// GenesisHash is the "previous hash" of every shard's first record: 32 zero
// bytes. It is a constant rather than a per-shard value because the record
// key (which names the shard) is hashed anyway.
var GenesisHash Hash

// checkSize is how many leading bytes of its chain hash a record stores
// next to itself, so Verify can name the first altered record exactly; the
// block's trailer carries the full 32 bytes.
const checkSize = 8

// Key layout: a prefix byte, then fixed-width big-endian fields, so that
// Pebble's bytewise order is (kind, shard, sequence) order.
const (
	prefixBlock    = 'J' // 'J' shard:u16 firstSeq:u64 → block
	prefixSnapshot = 'S' // 'S' shard:u16 seq:u64 → snapshot
	prefixMeta     = 'M' // 'M' name… → metadata (reserved namespaces, see doc)
	prefixFormat   = 'V' // 'V' → format marker

	// KeyLen is the length of block, record and snapshot keys.
	KeyLen = 1 + 2 + 8
)

// Key is a fixed-width journal key.
type Key [KeyLen]byte

func makeKey(prefix byte, shard uint16, seq uint64) Key {
	var k Key
	k[0] = prefix
	binary.BigEndian.PutUint16(k[1:3], shard)
	binary.BigEndian.PutUint64(k[3:11], seq)
	return k
}

// BlockKey is the Pebble key of the block whose first record has sequence
// firstSeq.
func BlockKey(shard uint16, firstSeq uint64) Key { return makeKey(prefixBlock, shard, firstSeq) }

// RecordKey is the key a record's hash covers. It has the layout of a
// block key (a record is hashed as if it had a key of its own), so the
// hash binds the record to its shard and sequence number.
func RecordKey(shard uint16, seq uint64) Key { return makeKey(prefixBlock, shard, seq) }

// SnapshotKey is the Pebble key of a shard's snapshot taken after seq.
func SnapshotKey(shard uint16, seq uint64) Key { return makeKey(prefixSnapshot, shard, seq) }

// parseKey splits a fixed-width key.
func parseKey(k []byte) (prefix byte, shard uint16, seq uint64, ok bool) {
	if len(k) != KeyLen {
		return 0, 0, 0, false
	}
	return k[0], binary.BigEndian.Uint16(k[1:3]), binary.BigEndian.Uint64(k[3:11]), true
}

// Errors. Errors about one record are *SeqError values wrapping one of
// these, so errors.Is(err, ErrCorrupt) matches and errors.As yields the
// shard and sequence.
var (
	// ErrCorrupt: a record or block cannot be decoded.
	ErrCorrupt = errors.New("journal: corrupt record")
	// ErrVersion: a record, block or journal of a format this code does
	// not know.
	ErrVersion = errors.New("journal: unknown format version")
	// ErrHashMismatch: a record decodes but its chain hash does not match
	// (a byte was changed, or a hash stored beside it was).
	ErrHashMismatch = errors.New("journal: hash mismatch")
	// ErrMissing: the record with this sequence is not in the journal
	// although later ones are (deleted).
	ErrMissing = errors.New("journal: missing record")
	// ErrReordered: the record with this sequence is in the journal but
	// not where it belongs (records were moved or swapped).
	ErrReordered = errors.New("journal: records out of order")
	// ErrSequence: Append was handed commands that do not continue the
	// shard's sequence (a caller bug or a mis-wired recovery).
	ErrSequence = errors.New("journal: sequence does not continue the journal")
	// ErrUnavailable: a write or sync failed; the journal acknowledges
	// nothing more (the error wraps the cause).
	ErrUnavailable = errors.New("journal: unavailable")
	// ErrClosed: the journal was closed.
	ErrClosed = errors.New("journal: closed")
	// ErrNotFound: no such snapshot or metadata.
	ErrNotFound = errors.New("journal: not found")
)

// SeqError locates an error at one record of one shard.
type SeqError struct {
	Shard  uint16
	Seq    uint64
	Err    error  // one of the sentinels above
	Detail string // what exactly was wrong, for people
}

func (e *SeqError) Error() string {
	s := fmt.Sprintf("%v at shard %d seq %d", e.Err, e.Shard, e.Seq)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *SeqError) Unwrap() error { return e.Err }

// BadSeq returns the sequence an error names, if it is (or wraps) a
// *SeqError.
func BadSeq(err error) (shard uint16, seq uint64, ok bool) {
	var se *SeqError
	if errors.As(err, &se) {
		return se.Shard, se.Seq, true
	}
	return 0, 0, false
}

func seqErr(sentinel error, shard uint16, seq uint64, format string, args ...any) error {
	return &SeqError{Shard: shard, Seq: seq, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// Field presence bits of an encoded Command (see the package doc). A field
// is present iff its value is not zero (for PostOnly: true, which has no
// bytes of its own).
const (
	cParty = 1 << iota
	cInstrument
	cSide
	cOrdType
	cTIF
	cPostOnly
	cScope
	cReason
	cPrice
	cQty
	cMinQty
	cMaxFloor
	cExpireTime
	cDirected
	cClOrdID
	cOrigClOrdID
	cAccount
	cCounterparty
	cCreditLimit
	cTradeDate
	cAll = 1<<iota - 1
)

// Field presence bits of an encoded Event. The *Delta fields are encoded
// relative to a base (the command, or the previous event of the record),
// and present iff the delta is not zero.
const (
	eSeqDelta = 1 << iota
	eTimeDelta
	eExecIDDelta
	eParty
	eInstrument
	eOrderIDDelta
	eSide
	eOrdType
	eTIF
	eReason
	ePrice
	eOrderQty
	eLeavesQty
	eCumQty
	eAvgPx
	eDisplayed
	eExpireTime
	eClOrdID
	eOrigClOrdID
	eAccount
	eLastQty
	eLastPx
	eCounterparty
	eTradeIDDelta
	eAggressor
	eTradeDate
	eSettlDate
	eRespondingTo
	eAction
	eCount
	eCreditLimit
	eAll = 1<<iota - 1
)

func zig(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzig(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func appendID(dst []byte, id *engine.ID) []byte {
	b := id.Bytes()
	dst = append(dst, byte(len(b)))
	return append(dst, b...)
}

// idRef marks an event's identifier that equals one of its command's:
// the byte idRef|k stands for the command's ClOrdID (k=0), OrigClOrdID
// (1) or Account (2). Most events repeat their command's identifiers, and
// they are the largest fields of a record.
const idRef = 0x80

func appendEventID(dst []byte, id *engine.ID, c *engine.Command) []byte {
	switch {
	case *id == c.ClOrdID:
		return append(dst, idRef|0)
	case *id == c.OrigClOrdID:
		return append(dst, idRef|1)
	case *id == c.Account:
		return append(dst, idRef|2)
	}
	return appendID(dst, id)
}

// AppendCommand appends the encoding of c to dst and returns the extended
// slice. It does not allocate when dst has room.
func AppendCommand(dst []byte, c *engine.Command) []byte {
	dst = binary.AppendUvarint(dst, c.Seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(c.Time))
	dst = append(dst, byte(c.Kind))
	var m uint64
	if c.Party != 0 {
		m |= cParty
	}
	if c.Instrument != 0 {
		m |= cInstrument
	}
	if c.Side != 0 {
		m |= cSide
	}
	if c.OrdType != 0 {
		m |= cOrdType
	}
	if c.TIF != 0 {
		m |= cTIF
	}
	if c.PostOnly {
		m |= cPostOnly
	}
	if c.Scope != 0 {
		m |= cScope
	}
	if c.Reason != 0 {
		m |= cReason
	}
	if c.Price != 0 {
		m |= cPrice
	}
	if c.Qty != 0 {
		m |= cQty
	}
	if c.MinQty != 0 {
		m |= cMinQty
	}
	if c.MaxFloor != 0 {
		m |= cMaxFloor
	}
	if c.ExpireTime != 0 {
		m |= cExpireTime
	}
	if c.Directed != 0 {
		m |= cDirected
	}
	if !c.ClOrdID.Empty() {
		m |= cClOrdID
	}
	if !c.OrigClOrdID.Empty() {
		m |= cOrigClOrdID
	}
	if !c.Account.Empty() {
		m |= cAccount
	}
	if c.Counterparty != 0 {
		m |= cCounterparty
	}
	if c.CreditLimit != 0 {
		m |= cCreditLimit
	}
	if c.TradeDate != 0 {
		m |= cTradeDate
	}
	dst = binary.AppendUvarint(dst, m)
	if m&cParty != 0 {
		dst = binary.AppendUvarint(dst, uint64(c.Party))
	}
	if m&cInstrument != 0 {
		dst = binary.AppendUvarint(dst, uint64(c.Instrument))
	}
	if m&cSide != 0 {
		dst = append(dst, byte(c.Side))
	}
	if m&cOrdType != 0 {
		dst = append(dst, byte(c.OrdType))
	}
	if m&cTIF != 0 {
		dst = append(dst, byte(c.TIF))
	}
	if m&cScope != 0 {
		dst = append(dst, byte(c.Scope))
	}
	if m&cReason != 0 {
		dst = append(dst, byte(c.Reason))
	}
	if m&cPrice != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(c.Price)))
	}
	if m&cQty != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(c.Qty)))
	}
	if m&cMinQty != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(c.MinQty)))
	}
	if m&cMaxFloor != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(c.MaxFloor)))
	}
	if m&cExpireTime != 0 {
		dst = binary.AppendUvarint(dst, zig(c.ExpireTime))
	}
	if m&cDirected != 0 {
		dst = binary.AppendUvarint(dst, uint64(c.Directed))
	}
	if m&cClOrdID != 0 {
		dst = appendID(dst, &c.ClOrdID)
	}
	if m&cOrigClOrdID != 0 {
		dst = appendID(dst, &c.OrigClOrdID)
	}
	if m&cAccount != 0 {
		dst = appendID(dst, &c.Account)
	}
	if m&cCounterparty != 0 {
		dst = binary.AppendUvarint(dst, uint64(c.Counterparty))
	}
	if m&cCreditLimit != 0 {
		dst = binary.AppendUvarint(dst, zig(c.CreditLimit))
	}
	if m&cTradeDate != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(c.TradeDate)))
	}
	return dst
}

// eventBase holds what an event is delta-encoded against: the command's
// Seq and Time and the previous event's ids (zero before the first).
type eventBase struct {
	cmd     *engine.Command
	seq     uint64
	time    int64
	execID  uint64
	orderID uint64
	tradeID uint64
}

func appendEvent(dst []byte, e *engine.Event, b *eventBase) []byte {
	dst = append(dst, byte(e.Kind))
	dSeq := int64(e.Seq - b.seq)
	dTime := e.Time - b.time
	dExec := int64(e.ExecID - b.execID)
	dOrder := int64(uint64(e.OrderID) - b.orderID)
	dTrade := int64(e.TradeID - b.tradeID)
	b.execID, b.orderID, b.tradeID = e.ExecID, uint64(e.OrderID), e.TradeID
	var m uint64
	if dSeq != 0 {
		m |= eSeqDelta
	}
	if dTime != 0 {
		m |= eTimeDelta
	}
	if dExec != 0 {
		m |= eExecIDDelta
	}
	if e.Party != 0 {
		m |= eParty
	}
	if e.Instrument != 0 {
		m |= eInstrument
	}
	if dOrder != 0 {
		m |= eOrderIDDelta
	}
	if e.Side != 0 {
		m |= eSide
	}
	if e.OrdType != 0 {
		m |= eOrdType
	}
	if e.TIF != 0 {
		m |= eTIF
	}
	if e.Reason != 0 {
		m |= eReason
	}
	if e.Price != 0 {
		m |= ePrice
	}
	if e.OrderQty != 0 {
		m |= eOrderQty
	}
	if e.LeavesQty != 0 {
		m |= eLeavesQty
	}
	if e.CumQty != 0 {
		m |= eCumQty
	}
	if e.AvgPx != 0 {
		m |= eAvgPx
	}
	if e.Displayed != 0 {
		m |= eDisplayed
	}
	if e.ExpireTime != 0 {
		m |= eExpireTime
	}
	if !e.ClOrdID.Empty() {
		m |= eClOrdID
	}
	if !e.OrigClOrdID.Empty() {
		m |= eOrigClOrdID
	}
	if !e.Account.Empty() {
		m |= eAccount
	}
	if e.LastQty != 0 {
		m |= eLastQty
	}
	if e.LastPx != 0 {
		m |= eLastPx
	}
	if e.Counterparty != 0 {
		m |= eCounterparty
	}
	if dTrade != 0 {
		m |= eTradeIDDelta
	}
	if e.Aggressor {
		m |= eAggressor
	}
	if e.TradeDate != 0 {
		m |= eTradeDate
	}
	if e.SettlDate != 0 {
		m |= eSettlDate
	}
	if e.RespondingTo != 0 {
		m |= eRespondingTo
	}
	if e.Action != 0 {
		m |= eAction
	}
	if e.Count != 0 {
		m |= eCount
	}
	if e.CreditLimit != 0 {
		m |= eCreditLimit
	}
	dst = binary.AppendUvarint(dst, m)
	if m&eSeqDelta != 0 {
		dst = binary.AppendUvarint(dst, zig(dSeq))
	}
	if m&eTimeDelta != 0 {
		dst = binary.AppendUvarint(dst, zig(dTime))
	}
	if m&eExecIDDelta != 0 {
		dst = binary.AppendUvarint(dst, zig(dExec))
	}
	if m&eParty != 0 {
		dst = binary.AppendUvarint(dst, uint64(e.Party))
	}
	if m&eInstrument != 0 {
		dst = binary.AppendUvarint(dst, uint64(e.Instrument))
	}
	if m&eOrderIDDelta != 0 {
		dst = binary.AppendUvarint(dst, zig(dOrder))
	}
	if m&eSide != 0 {
		dst = append(dst, byte(e.Side))
	}
	if m&eOrdType != 0 {
		dst = append(dst, byte(e.OrdType))
	}
	if m&eTIF != 0 {
		dst = append(dst, byte(e.TIF))
	}
	if m&eReason != 0 {
		dst = append(dst, byte(e.Reason))
	}
	if m&ePrice != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.Price)))
	}
	if m&eOrderQty != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.OrderQty)))
	}
	if m&eLeavesQty != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.LeavesQty)))
	}
	if m&eCumQty != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.CumQty)))
	}
	if m&eAvgPx != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.AvgPx)))
	}
	if m&eDisplayed != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.Displayed)))
	}
	if m&eExpireTime != 0 {
		dst = binary.AppendUvarint(dst, zig(e.ExpireTime))
	}
	if m&eClOrdID != 0 {
		dst = appendEventID(dst, &e.ClOrdID, b.cmd)
	}
	if m&eOrigClOrdID != 0 {
		dst = appendEventID(dst, &e.OrigClOrdID, b.cmd)
	}
	if m&eAccount != 0 {
		dst = appendEventID(dst, &e.Account, b.cmd)
	}
	if m&eLastQty != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.LastQty)))
	}
	if m&eLastPx != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.LastPx)))
	}
	if m&eCounterparty != 0 {
		dst = binary.AppendUvarint(dst, uint64(e.Counterparty))
	}
	if m&eTradeIDDelta != 0 {
		dst = binary.AppendUvarint(dst, zig(dTrade))
	}
	if m&eTradeDate != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.TradeDate)))
	}
	if m&eSettlDate != 0 {
		dst = binary.AppendUvarint(dst, zig(int64(e.SettlDate)))
	}
	if m&eRespondingTo != 0 {
		dst = append(dst, byte(e.RespondingTo))
	}
	if m&eAction != 0 {
		dst = append(dst, byte(e.Action))
	}
	if m&eCount != 0 {
		dst = binary.AppendUvarint(dst, zig(e.Count))
	}
	if m&eCreditLimit != 0 {
		dst = binary.AppendUvarint(dst, zig(e.CreditLimit))
	}
	return dst
}

// AppendRecord appends the payload of one record — a command and every
// event the engine produced from it — to dst and returns the extended
// slice. It does not allocate when dst has room.
func AppendRecord(dst []byte, c *engine.Command, events []engine.Event) []byte {
	dst = append(dst, RecordVersion)
	dst = AppendCommand(dst, c)
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	b := eventBase{cmd: c, seq: c.Seq, time: c.Time}
	for i := range events {
		dst = appendEvent(dst, &events[i], &b)
	}
	return dst
}

// decoder reads a record payload. Bounds are checked on every read; the
// first failure sets bad and later reads return zeros, so the caller
// checks once at the end (the habit of encoding/binary's readers).
type decoder struct {
	b   []byte
	off int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	// Fast path for one byte, the common case for small fields.
	if d.off < len(d.b) && d.b[d.off] < 0x80 {
		v := uint64(d.b[d.off])
		d.off++
		return v
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		d.off = len(d.b)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 { return unzig(d.uvarint()) }

func (d *decoder) u16() uint16 {
	v := d.uvarint()
	if v > 0xffff {
		d.bad = true
	}
	return uint16(v)
}

func (d *decoder) i32() int32 {
	v := d.varint()
	if int64(int32(v)) != v {
		d.bad = true
	}
	return int32(v)
}

func (d *decoder) byte1() byte {
	if d.off >= len(d.b) {
		d.bad = true
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) fixed64() uint64 {
	if len(d.b)-d.off < 8 {
		d.bad = true
		d.off = len(d.b)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) id() engine.ID {
	n := int(d.byte1())
	if n == 0 || n > engine.MaxIDLen || len(d.b)-d.off < n {
		// A present ID is never empty: the encoder leaves empty IDs out.
		d.bad = true
		d.off = len(d.b)
		return engine.ID{}
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	// MakeID copies; the unsafe string only avoids a heap copy of b for
	// the conversion (47 bytes exceed the compiler's stack buffer).
	id, _ := engine.MakeID(unsafe.String(unsafe.SliceData(b), n))
	return id
}

func (d *decoder) eventID(c *engine.Command) engine.ID {
	if d.off < len(d.b) && d.b[d.off]&idRef != 0 {
		k := d.b[d.off] &^ idRef
		d.off++
		var id engine.ID
		switch k {
		case 0:
			id = c.ClOrdID
		case 1:
			id = c.OrigClOrdID
		case 2:
			id = c.Account
		}
		// A reference is never to an empty identifier (an empty one is
		// left out), nor past the three.
		d.bad = d.bad || id.Empty()
		return id
	}
	return d.id()
}

func (d *decoder) command(c *engine.Command) {
	*c = engine.Command{}
	c.Seq = d.uvarint()
	c.Time = int64(d.fixed64())
	c.Kind = engine.CommandKind(d.byte1())
	m := d.uvarint()
	if m&^cAll != 0 {
		d.bad = true
		return
	}
	if m&cParty != 0 {
		c.Party = engine.PartyID(d.u16())
	}
	if m&cInstrument != 0 {
		c.Instrument = engine.InstrumentID(d.u16())
	}
	if m&cSide != 0 {
		c.Side = engine.Side(d.byte1())
	}
	if m&cOrdType != 0 {
		c.OrdType = engine.OrdType(d.byte1())
	}
	if m&cTIF != 0 {
		c.TIF = engine.TIF(d.byte1())
	}
	c.PostOnly = m&cPostOnly != 0
	if m&cScope != 0 {
		c.Scope = engine.MassScope(d.byte1())
	}
	if m&cReason != 0 {
		c.Reason = engine.Reason(d.byte1())
	}
	if m&cPrice != 0 {
		c.Price = engine.Price(d.varint())
	}
	if m&cQty != 0 {
		c.Qty = engine.Qty(d.varint())
	}
	if m&cMinQty != 0 {
		c.MinQty = engine.Qty(d.varint())
	}
	if m&cMaxFloor != 0 {
		c.MaxFloor = engine.Qty(d.varint())
	}
	if m&cExpireTime != 0 {
		c.ExpireTime = d.varint()
	}
	if m&cDirected != 0 {
		c.Directed = engine.PartyID(d.u16())
	}
	if m&cClOrdID != 0 {
		c.ClOrdID = d.id()
	}
	if m&cOrigClOrdID != 0 {
		c.OrigClOrdID = d.id()
	}
	if m&cAccount != 0 {
		c.Account = d.id()
	}
	if m&cCounterparty != 0 {
		c.Counterparty = engine.PartyID(d.u16())
	}
	if m&cCreditLimit != 0 {
		c.CreditLimit = d.varint()
	}
	if m&cTradeDate != 0 {
		c.TradeDate = engine.Date(d.i32())
	}
}

func (d *decoder) event(e *engine.Event, b *eventBase) {
	*e = engine.Event{}
	e.Kind = engine.EventKind(d.byte1())
	m := d.uvarint()
	if m&^eAll != 0 {
		d.bad = true
		return
	}
	e.Seq, e.Time = b.seq, b.time
	if m&eSeqDelta != 0 {
		e.Seq += uint64(d.varint())
	}
	if m&eTimeDelta != 0 {
		e.Time += d.varint()
	}
	e.ExecID = b.execID
	if m&eExecIDDelta != 0 {
		e.ExecID += uint64(d.varint())
	}
	if m&eParty != 0 {
		e.Party = engine.PartyID(d.u16())
	}
	if m&eInstrument != 0 {
		e.Instrument = engine.InstrumentID(d.u16())
	}
	oid := b.orderID
	if m&eOrderIDDelta != 0 {
		oid += uint64(d.varint())
	}
	e.OrderID = engine.OrderID(oid)
	if m&eSide != 0 {
		e.Side = engine.Side(d.byte1())
	}
	if m&eOrdType != 0 {
		e.OrdType = engine.OrdType(d.byte1())
	}
	if m&eTIF != 0 {
		e.TIF = engine.TIF(d.byte1())
	}
	if m&eReason != 0 {
		e.Reason = engine.Reason(d.byte1())
	}
	if m&ePrice != 0 {
		e.Price = engine.Price(d.varint())
	}
	if m&eOrderQty != 0 {
		e.OrderQty = engine.Qty(d.varint())
	}
	if m&eLeavesQty != 0 {
		e.LeavesQty = engine.Qty(d.varint())
	}
	if m&eCumQty != 0 {
		e.CumQty = engine.Qty(d.varint())
	}
	if m&eAvgPx != 0 {
		e.AvgPx = engine.Price(d.varint())
	}
	if m&eDisplayed != 0 {
		e.Displayed = engine.Qty(d.varint())
	}
	if m&eExpireTime != 0 {
		e.ExpireTime = d.varint()
	}
	if m&eClOrdID != 0 {
		e.ClOrdID = d.eventID(b.cmd)
	}
	if m&eOrigClOrdID != 0 {
		e.OrigClOrdID = d.eventID(b.cmd)
	}
	if m&eAccount != 0 {
		e.Account = d.eventID(b.cmd)
	}
	if m&eLastQty != 0 {
		e.LastQty = engine.Qty(d.varint())
	}
	if m&eLastPx != 0 {
		e.LastPx = engine.Price(d.varint())
	}
	if m&eCounterparty != 0 {
		e.Counterparty = engine.PartyID(d.u16())
	}
	e.TradeID = b.tradeID
	if m&eTradeIDDelta != 0 {
		e.TradeID += uint64(d.varint())
	}
	e.Aggressor = m&eAggressor != 0
	if m&eTradeDate != 0 {
		e.TradeDate = engine.Date(d.i32())
	}
	if m&eSettlDate != 0 {
		e.SettlDate = engine.Date(d.i32())
	}
	if m&eRespondingTo != 0 {
		e.RespondingTo = engine.CommandKind(d.byte1())
	}
	if m&eAction != 0 {
		e.Action = engine.LevelAction(d.byte1())
	}
	if m&eCount != 0 {
		e.Count = d.varint()
	}
	if m&eCreditLimit != 0 {
		e.CreditLimit = d.varint()
	}
	b.execID, b.orderID, b.tradeID = e.ExecID, uint64(e.OrderID), e.TradeID
}

// maxEventsPerRecord bounds what a decoder believes about an event count
// before it has read the events, so a corrupt count cannot make it
// allocate without limit. Each event takes at least two bytes, so a count
// above half the payload is corrupt anyway.
func plausibleEvents(n uint64, payload int) bool { return n <= uint64(payload)/2 }

// DecodeCommand decodes a command encoded by AppendCommand at the start of
// src, returning the number of bytes read.
func DecodeCommand(src []byte, c *engine.Command) (int, error) {
	d := decoder{b: src}
	d.command(c)
	if d.bad {
		return 0, ErrCorrupt
	}
	return d.off, nil
}

// DecodeRecord decodes a record payload encoded by AppendRecord into *c
// and appends its events to events, returning the extended slice. It
// allocates only when events must grow. Errors wrap ErrCorrupt or
// ErrVersion; the caller adds the sequence (see SeqError).
func DecodeRecord(src []byte, c *engine.Command, events []engine.Event) ([]engine.Event, error) {
	if len(src) == 0 {
		return events, ErrCorrupt
	}
	if src[0] != RecordVersion {
		return events, fmt.Errorf("%w: record version %d", ErrVersion, src[0])
	}
	d := decoder{b: src, off: 1}
	d.command(c)
	n := d.uvarint()
	if d.bad || !plausibleEvents(n, len(src)) {
		return events, ErrCorrupt
	}
	b := eventBase{cmd: c, seq: c.Seq, time: c.Time}
	events = growEvents(events, int(n))
	for i := uint64(0); i < n && !d.bad; i++ {
		events = append(events, engine.Event{})
		d.event(&events[len(events)-1], &b)
	}
	if d.bad {
		return events, ErrCorrupt
	}
	if d.off != len(src) {
		return events, fmt.Errorf("%w: %d bytes after the last event", ErrCorrupt, len(src)-d.off)
	}
	return events, nil
}

func growEvents(s []engine.Event, n int) []engine.Event {
	if cap(s)-len(s) >= n {
		return s
	}
	ns := make([]engine.Event, len(s), len(s)+max(n, len(s)))
	copy(ns, s)
	return ns
}

// recordTime reads the sequence number and time of a record payload
// without decoding the rest.
func recordTime(payload []byte) (seq uint64, t int64, ok bool) {
	if len(payload) < 2 || payload[0] != RecordVersion {
		return 0, 0, false
	}
	v, n := binary.Uvarint(payload[1:])
	if n <= 0 || len(payload) < 1+n+8 {
		return 0, 0, false
	}
	return v, int64(binary.LittleEndian.Uint64(payload[1+n:])), true
}

// recordSeq reads the sequence number of a record payload without decoding
// the rest (Verify classifies misplaced records by it).
func recordSeq(payload []byte) (uint64, bool) {
	if len(payload) < 2 || payload[0] != RecordVersion {
		return 0, false
	}
	v, n := binary.Uvarint(payload[1:])
	return v, n > 0
}

// chainHasher computes chain links, SHA-256(prev ‖ key ‖ payload),
// without copying the payload and without allocating (its key lives here
// because a local array passed to the hash.Hash interface would escape).
type chainHasher struct {
	h   hash.Hash
	key Key
}

func newChainHasher() chainHasher { return chainHasher{h: sha256.New()} }

// link sets *out to the hash of the record (shard, seq, payload) after
// *prev. out may be prev.
func (c *chainHasher) link(out, prev *Hash, shard uint16, seq uint64, payload []byte) {
	c.key = RecordKey(shard, seq)
	c.h.Reset()
	c.h.Write(prev[:])
	c.h.Write(c.key[:])
	c.h.Write(payload)
	c.h.Sum(out[:0])
}

func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }
