package journal

import (
	"encoding/binary"
	"fmt"
)

// Block value layout (see the package doc for the diagram):
//
//	version u8 | count uvarint | prev Hash | record × count | head Hash
//	record := payloadLen uvarint | check [8]byte | payload
//
// prev is the chain hash before the block's first record, head the chain
// hash after its last. A block can therefore be checked on its own, and
// the journal's head is read from the last block without a walk.

// blockHeaderMax is the largest header: version, a 10-byte varint, prev.
const blockHeaderMax = 1 + 10 + HashSize

// appendRecordFrame appends one framed record to dst.
func appendRecordFrame(dst []byte, check *Hash, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	dst = append(dst, check[:checkSize]...)
	return append(dst, payload...)
}

// blockReader walks the records of one block value. It checks framing
// only; the chain is the caller's business.
type blockReader struct {
	val   []byte
	off   int
	end   int // where the trailer starts
	count uint64
	read  uint64
	prev  Hash
	head  Hash
}

// init parses a block value's header and trailer.
func (r *blockReader) init(val []byte) error {
	*r = blockReader{val: val}
	if len(val) < 1 {
		return fmt.Errorf("%w: empty block", ErrCorrupt)
	}
	if val[0] != BlockVersion {
		return fmt.Errorf("%w: block version %d", ErrVersion, val[0])
	}
	n, k := binary.Uvarint(val[1:])
	if k <= 0 {
		return fmt.Errorf("%w: block count", ErrCorrupt)
	}
	off := 1 + k
	if len(val)-off < 2*HashSize || n == 0 || n > uint64(len(val)) {
		return fmt.Errorf("%w: block of %d bytes holding %d records", ErrCorrupt, len(val), n)
	}
	r.count = n
	copy(r.prev[:], val[off:off+HashSize])
	r.off = off + HashSize
	r.end = len(val) - HashSize
	copy(r.head[:], val[r.end:])
	return nil
}

// next returns the next record's check bytes and payload (aliasing the
// value), false at the end of the block.
func (r *blockReader) next() (check []byte, payload []byte, ok bool, err error) {
	if r.read == r.count {
		if r.off != r.end {
			return nil, nil, false, fmt.Errorf("%w: %d bytes after the block's last record", ErrCorrupt, r.end-r.off)
		}
		return nil, nil, false, nil
	}
	n, k := binary.Uvarint(r.val[r.off:r.end])
	if k <= 0 || uint64(r.end-r.off-k) < n+checkSize {
		return nil, nil, false, fmt.Errorf("%w: record frame", ErrCorrupt)
	}
	off := r.off + k
	check = r.val[off : off+checkSize]
	payload = r.val[off+checkSize : off+checkSize+int(n)]
	r.off = off + checkSize + int(n)
	r.read++
	return check, payload, true, nil
}
