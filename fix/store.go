package fix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
)

// The FIX session store: quickfix.MessageStore on plain append-only files,
// one per session, in <datadir>/fix-sessions. Each holds the session's
// next sender and target sequence numbers, its creation time and the
// messages the venue sent (for ResendRequest).
//
// # Why not Pebble
//
// The first version kept this in a Pebble database of its own, as the
// journal does. Two measurements ended that:
//
//   - pebble.NoSync does not survive a crash of the process. Pebble keeps
//     a NoSync commit in its WAL block in process memory until the block
//     fills or something syncs (record.LogWriter wakes its flusher only
//     then): 10 NoSync writes, 50 ms, SIGKILL, reopen — 0 found. A venue
//     that loses its outbound MsgSeqNum after the message went on the wire
//     answers the next logon with a number the dealer's engine has seen
//     already, and the engine logs out ("MsgSeqNum too low").
//   - Making it survive costs a handoff per commit: a pebble.Sync commit
//     (with fsync turned into a no-op) waits for Pebble's flusher
//     goroutine, ~10 µs alone and several times that on a loaded 2-core
//     machine; a group flush before each socket write measured 30–60 µs
//     of a ~200 µs NewOrderSingle→ExecutionReport round trip.
//
// A session's state is tiny and strictly sequential, which is the case a
// log file does best: every commit here is one write(2) of one record on
// the caller's goroutine (~2–4 µs), in the kernel when it returns, so a
// SIGKILL loses nothing that was committed — and quickfixgo commits a
// message before it hands it to the connection, so nothing that went on
// the wire (TestStoreSurvivesSIGKILL). No fsync per message: it would put
// a disk flush (~0.4 ms measured here) on every ExecutionReport, on top of
// the journal's own, for state FIX can recover anyway — every event an
// ExecutionReport reports is durable in the journal before it is sent,
// and what a power loss can cost here is the tail of the sequence
// numbers, which a ResendRequest, a SequenceReset or an agreed
// ResetSeqNumFlag restore. StoreOptions.Fsync adds the fsync for
// operators who want the numbers to survive power loss too.
//
// # Why not a memory-mapped file
//
// Appending through a shared mapping instead of write(2) (same crash
// guarantee: a shared mapping's dirty pages are the page cache's) was
// measured and rejected. Alone it looks cheaper (BenchmarkStoreAppend,
// a ~250-byte message: write(2) 2.2–3.5 µs; BenchmarkStoreAppendMmap
// 1.1–2 µs, loaded machine), but each new page of the mapping costs a
// write fault of 6–12 µs on this VM (BenchmarkMmapPageFault), and in the
// running venue a prototype made the store's share of the venue's CPU
// 16% instead of 4.5% (bench fix, 1 session at 10,000/s, profile; why
// the faults cost more there than the benchmarks say is not known) and
// saved nothing per order (venue CPU per order, 3 runs each, load
// 2.4–3: 1 session 10,000/s 60.0–61.3 µs with mmap against 59.8–64.2 µs;
// 4 sessions 25,000/s ioc 27.0–27.8 µs against 26.0–26.8 µs). Leaving
// out the store's write altogether (an experiment, not a design) saved
// ~6 µs an order at 10,000/s and ~2.5 µs at 25,000/s: the ceiling of
// anything done here. A mapping would also turn an I/O error into a
// SIGBUS and leave a preallocated zero tail in the file.
//
// # Record format
//
//	+----------+----------+------+-----------------+
//	| len u32  | crc u32  | kind | payload (len B) |   little endian;
//	+----------+----------+------+-----------------+   crc = CRC-32C of kind+payload
//
//	kind 'S'  next sender MsgSeqNum (i64)
//	kind 'T'  next target MsgSeqNum (i64)
//	kind 'C'  creation time (Unix ns, i64)
//	kind 'N'  a sent message: its MsgSeqNum (i64), the next sender number
//	          after it (i64), the message bytes
//
// Opening replays the file; a torn or corrupt record at the end (a crash
// in the middle of a write) is cut off. The last value of each number
// wins. Messages more than MessagesMax behind the sender number are
// forgotten, and the file is rewritten (state plus the kept messages, to
// a temporary file renamed over it) when it grows past CompactBytes.

// StoreOptions configures the session store.
type StoreOptions struct {
	// Fsync makes every commit fsync (survives power loss; costs a disk
	// flush per FIX message). Default: write to the kernel, no fsync
	// (survives a crash of the process).
	Fsync bool
	// MessagesMax bounds the sent messages kept per session for resends
	// (default 200,000); older ones are answered with a gap fill.
	MessagesMax int
	// CompactBytes is the file size that triggers a rewrite (default 64 MiB).
	CompactBytes int64
	// Logger gets the store's warnings.
	Logger *slog.Logger
}

// ErrStore is matched (errors.Is) by every store failure.
var ErrStore = errors.New("fix: session store")

// Store is the directory of all sessions' files.
type Store struct {
	dir  string
	opts StoreOptions
	log  *slog.Logger
	mu   sync.Mutex
	open map[string]*sessionStore
}

// OpenStore opens (creating if needed) the session store in dir.
func OpenStore(dir string, opts StoreOptions) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MessagesMax <= 0 {
		opts.MessagesMax = 200_000
	}
	if opts.CompactBytes <= 0 {
		opts.CompactBytes = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	return &Store{dir: dir, opts: opts, log: opts.Logger, open: map[string]*sessionStore{}}, nil
}

// Close closes every session's file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for k, ss := range s.open {
		ss.mu.Lock()
		if err := ss.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("%w: %v", ErrStore, err)
		}
		ss.mu.Unlock()
		delete(s.open, k)
	}
	return first
}

// fileName is a file name for a session id: its readable characters and
// a hash, so two ids never share a file.
func fileName(id string) string {
	b := make([]byte, 0, len(id)+16)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return fmt.Sprintf("%s-%08x.fixlog", b, crc32.Checksum([]byte(id), crcTable))
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Session returns the store of one session, replaying its file (a new
// session starts at sequence numbers 1 and 1). The same *sessionStore is
// returned for the same id while the Store is open.
func (s *Store) Session(id quickfix.SessionID) (*sessionStore, error) {
	key := id.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.open[key]; ok {
		return ss, nil
	}
	ss := &sessionStore{st: s, path: filepath.Join(s.dir, fileName(key)), id: key}
	ss.msgs.reserve = ss.ringReserve()
	if err := ss.load(); err != nil {
		return nil, err
	}
	s.open[key] = ss
	return ss, nil
}

// sessionStore is one session's store (it keeps quickfix.MessageStore's
// method set, from the quickfixgo days). The session calls it
// from the session's goroutine (inbound) and from senders (outbound, under
// the session's send lock), so its state is behind mu.
//
// Gate: the target sequence number (what the venue expects from the
// dealer) moves only while the connection has passed the password check
// (authenticated). quickfixgo counts the Logon it refuses, so without the
// gate anyone who can reach the port could push a participant's expected
// MsgSeqNum up with logons bearing its CompID and a wrong password, and
// the real dealer's next logon would be refused as "too low". The sender
// number may move: a gap in what the venue sends is harmless (the dealer's
// ResendRequest is answered with a gap fill).
type sessionStore struct {
	st     *Store
	path   string
	id     string
	gated  bool
	authed atomic.Bool

	mu         sync.Mutex
	f          *os.File
	size       int64
	nextSender int
	nextTarget int
	created    time.Time
	msgs       msgIndex // MsgSeqNum → where its bytes are
	saves      int
	// targetDirty: nextTarget moved (incrTargetQueued) and its record is
	// not yet written.
	targetDirty bool
	rec         []byte
}

var _ quickfix.MessageStore = (*sessionStore)(nil)

const recHeader = 9

// appendRec appends a record to ss.rec.
func (ss *sessionStore) appendRec(kind byte, payload ...[]byte) {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	start := len(ss.rec)
	ss.rec = binary.LittleEndian.AppendUint32(ss.rec, uint32(n))
	ss.rec = append(ss.rec, 0, 0, 0, 0, kind)
	for _, p := range payload {
		ss.rec = append(ss.rec, p...)
	}
	crc := crc32.Checksum(ss.rec[start+8:], crcTable)
	binary.LittleEndian.PutUint32(ss.rec[start+4:], crc)
}

func i64(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }

// write appends ss.rec to the file in one write(2) and clears it.
func (ss *sessionStore) write() error {
	n, err := ss.f.Write(ss.rec)
	ss.size += int64(n)
	ss.rec = ss.rec[:0]
	if err == nil && ss.st.opts.Fsync {
		err = ss.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStore, ss.path, err)
	}
	return nil
}

// load replays the session's file, cutting off a torn tail.
func (ss *sessionStore) load() error {
	f, err := os.OpenFile(ss.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	ss.f = f
	ss.nextSender, ss.nextTarget = 1, 1
	ss.msgs.reset()
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: %v", ErrStore, ss.path, err)
	}
	off := 0
	for off+recHeader <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		end := off + recHeader + n
		if n > 64<<20 || end > len(data) || crc32.Checksum(data[off+8:end], crcTable) != binary.LittleEndian.Uint32(data[off+4:]) {
			break
		}
		kind, p := data[off+8], data[off+recHeader:end]
		switch {
		case kind == 'S' && n == 8:
			ss.nextSender = int(binary.LittleEndian.Uint64(p))
		case kind == 'T' && n == 8:
			ss.nextTarget = int(binary.LittleEndian.Uint64(p))
		case kind == 'C' && n == 8:
			ss.created = time.Unix(0, int64(binary.LittleEndian.Uint64(p))).UTC()
			ss.msgs.reset() // a reset starts with its creation time
		case kind == 'N' && n >= 16:
			seq := int(binary.LittleEndian.Uint64(p))
			ss.nextSender = int(binary.LittleEndian.Uint64(p[8:]))
			ss.msgs.set(seq, msgLoc{int64(off + recHeader + 16), int32(n - 16)}, ss.spanMax())
		}
		off = end
	}
	if off < len(data) {
		ss.st.log.Warn("fix store: torn or corrupt record at the end of a session file cut off (a crash during a write)",
			"file", ss.path, "offset", off, "bytes", len(data)-off)
		if err := f.Truncate(int64(off)); err != nil {
			f.Close()
			return fmt.Errorf("%w: %v", ErrStore, err)
		}
	}
	ss.size = int64(off)
	ss.prune(ss.nextSender)
	if ss.created.IsZero() {
		return ss.resetLocked()
	}
	return nil
}

// setAuthenticated opens or closes the gate on the target sequence number.
func (ss *sessionStore) setAuthenticated(ok bool) { ss.authed.Store(ok) }

func (ss *sessionStore) NextSenderMsgSeqNum() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.nextSender
}

func (ss *sessionStore) NextTargetMsgSeqNum() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.nextTarget
}

func (ss *sessionStore) IncrNextSenderMsgSeqNum() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.setSender(ss.nextSender + 1)
}

func (ss *sessionStore) IncrNextTargetMsgSeqNum() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.setTarget(ss.nextTarget + 1)
}

func (ss *sessionStore) SetNextSenderMsgSeqNum(next int) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.setSender(next)
}

func (ss *sessionStore) SetNextTargetMsgSeqNum(next int) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.setTarget(next)
}

func (ss *sessionStore) setSender(next int) error {
	ss.appendRec('S', i64(int64(next)))
	if err := ss.write(); err != nil {
		return err
	}
	ss.nextSender = next
	return nil
}

func (ss *sessionStore) setTarget(next int) error {
	if ss.gated && !ss.authed.Load() {
		return nil // see the gate in sessionStore's comment
	}
	ss.appendRec('T', i64(int64(next)))
	if err := ss.write(); err != nil {
		return err
	}
	ss.nextTarget, ss.targetDirty = next, false
	return nil
}

func (ss *sessionStore) CreationTime() time.Time {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.created
}

// SetCreationTime is kept in memory only, like quickfixgo's own stores:
// Reset writes the creation time that matters.
func (ss *sessionStore) SetCreationTime(t time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.created = t
}

func (ss *sessionStore) SaveMessage(seq int, msg []byte) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.save(seq, ss.nextSender, msg)
}

// SaveMessageAndIncrNextSenderMsgSeqNum stores a sent message and moves the
// sender number in one record: one write(2) per outbound message.
func (ss *sessionStore) SaveMessageAndIncrNextSenderMsgSeqNum(seq int, msg []byte) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if err := ss.save(seq, ss.nextSender+1, msg); err != nil {
		return err
	}
	ss.nextSender++
	return nil
}

// queueMessage is SaveMessageAndIncrNextSenderMsgSeqNum without the
// write: the record waits in memory for commit, so that a batch of
// messages costs one write(2). The caller must commit before the
// messages go on the wire (party.flushLocked does, under the send lock).
func (ss *sessionStore) queueMessage(seq int, msg []byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var h [16]byte
	binary.LittleEndian.PutUint64(h[:], uint64(seq))
	binary.LittleEndian.PutUint64(h[8:], uint64(ss.nextSender+1))
	off := ss.size + int64(len(ss.rec)) + recHeader + 16
	ss.appendRec('N', h[:], msg)
	ss.msgs.set(seq, msgLoc{off, int32(len(msg))}, ss.spanMax())
	ss.saves++
	ss.nextSender++
}

// incrTargetQueued moves the target number in memory and queues its
// record for the next commit, whoever makes it: the send of the venue's
// next outbound message (party.flushLocked, before the socket write — so
// the number is stored no later than the answer to the message leaves,
// when the session counts it before it submits, as the fast path does),
// or the session's timers' goroutine, within a second. The connection's
// goroutine itself writes nothing: no write(2) per inbound message nor
// per socket read. A crash before the commit leaves the stored number
// behind what was handled; the dealer's next logon then shows a gap, the
// venue's ResendRequest has its engine resend with PossDupFlag, and
// orders the journal already holds are refused as duplicate ClOrdIDs
// (103=6) rather than entered twice.
//
// It reports false if the gate is closed (the connection has closed):
// the number did not move, and the caller must not act on the message.
func (ss *sessionStore) incrTargetQueued() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.gated && !ss.authed.Load() {
		return false // see the gate in sessionStore's comment
	}
	ss.nextTarget++
	ss.targetDirty = true
	return true
}

// commit writes the queued records (one write(2)), and forgets and
// compacts when due.
func (ss *sessionStore) commit() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.targetDirty {
		ss.appendRec('T', i64(int64(ss.nextTarget)))
		ss.targetDirty = false
	}
	if len(ss.rec) == 0 {
		return nil
	}
	if err := ss.write(); err != nil {
		return err
	}
	if ss.saves >= pruneEvery {
		ss.saves = 0
		ss.prune(ss.nextSender)
		if ss.compactDue() {
			return ss.compact()
		}
	}
	return nil
}

// pruneEvery is how many saves pass between forgetting old messages.
const pruneEvery = 4096

func (ss *sessionStore) save(seq, nextSender int, msg []byte) error {
	if ss.targetDirty { // keep a queued target number ahead of this write
		ss.appendRec('T', i64(int64(ss.nextTarget)))
		ss.targetDirty = false
	}
	var h [16]byte
	binary.LittleEndian.PutUint64(h[:], uint64(seq))
	binary.LittleEndian.PutUint64(h[8:], uint64(nextSender))
	off := ss.size + int64(len(ss.rec)) + recHeader + 16
	ss.appendRec('N', h[:], msg)
	if err := ss.write(); err != nil {
		return err
	}
	ss.msgs.set(seq, msgLoc{off, int32(len(msg))}, ss.spanMax())
	ss.saves++
	if ss.saves%pruneEvery == 0 {
		ss.prune(seq + 1)
		if ss.compactDue() {
			return ss.compact()
		}
	}
	return nil
}

// prune forgets messages MessagesMax or more behind next, the sender
// number after the last message.
func (ss *sessionStore) prune(next int) { ss.msgs.dropBelow(next - ss.st.opts.MessagesMax) }

// ringReserve is the message index's first size (msgIndex.reserve): the
// window prune keeps, a power of two. 256Ki slots, 4 MiB of address space
// per session, for the default MessagesMax.
func (ss *sessionStore) ringReserve() int {
	n := 64
	for n < ss.st.opts.MessagesMax+pruneEvery {
		n *= 2
	}
	return n
}

// spanMax bounds the numbers the message index spans (see msgIndex): well
// past what prune keeps, so that only a jump of the sender number meets it.
func (ss *sessionStore) spanMax() int { return 2*ss.st.opts.MessagesMax + pruneEvery }

// compactDue: the file is past CompactBytes and at least half of it is
// messages no longer kept. The second condition bounds what compaction
// costs: it copies the kept messages, and each copy is paid for by at
// least as many bytes written since. Without it, a busy session whose
// kept messages alone neared CompactBytes (200,000 ExecutionReports are
// ~55 MB) rewrote them every few thousand messages.
func (ss *sessionStore) compactDue() bool {
	return ss.size > ss.st.opts.CompactBytes && ss.size > 2*ss.msgs.bytes
}

// compact rewrites the file with the state and the kept messages only.
// The kept messages lie in the file in the order of their numbers, so
// they are read in chunks of compactChunk bytes, not one read each.
func (ss *sessionStore) compact() error {
	tmp := ss.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	old, oldSize := ss.f, ss.size
	ss.f, ss.size = f, 0
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		// Back to the old file as it was: its size (the offsets of what
		// is stored next) and no records queued for the new one.
		ss.f, ss.size = old, oldSize
		ss.rec = ss.rec[:0]
		return fmt.Errorf("%w: compacting %s: %v", ErrStore, ss.path, err)
	}
	ss.appendRec('C', i64(ss.created.UnixNano()))
	ss.appendRec('T', i64(int64(ss.nextTarget)))
	moved := msgIndex{reserve: ss.ringReserve()}
	var chunk []byte
	chunkOff := int64(0) // file offset of chunk[0]
	var ferr error
	ss.msgs.each(ss.msgs.base, ss.msgs.end()-1, func(seq int, loc msgLoc) bool {
		if loc.off < chunkOff || loc.off+int64(loc.n) > chunkOff+int64(len(chunk)) {
			chunkOff = loc.off
			chunk = slices.Grow(chunk[:0], max(compactChunk, int(loc.n)))[:max(compactChunk, int(loc.n))]
			n, err := old.ReadAt(chunk, chunkOff)
			if n < int(loc.n) {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				ferr = err
				return false
			}
			chunk = chunk[:n]
		}
		b := chunk[loc.off-chunkOff : loc.off-chunkOff+int64(loc.n)]
		var h [16]byte
		binary.LittleEndian.PutUint64(h[:], uint64(seq))
		binary.LittleEndian.PutUint64(h[8:], uint64(seq+1))
		moved.set(seq, msgLoc{ss.size + int64(len(ss.rec)) + recHeader + 16, loc.n}, ss.spanMax())
		ss.appendRec('N', h[:], b)
		if len(ss.rec) > 1<<20 {
			if ferr = ss.write(); ferr != nil {
				return false
			}
		}
		return true
	})
	if ferr != nil {
		return fail(ferr)
	}
	ss.appendRec('S', i64(int64(ss.nextSender)))
	if err := ss.write(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, ss.path); err != nil {
		return fail(err)
	}
	old.Close()
	ss.msgs = moved
	return nil
}

// compactChunk is how much of the old file compact reads at once.
const compactChunk = 1 << 20

func (ss *sessionStore) GetMessages(begin, end int) ([][]byte, error) {
	var out [][]byte
	err := ss.IterateMessages(begin, end, func(m []byte) error {
		out = append(out, m)
		return nil
	})
	return out, err
}

// IterateMessages calls cb with the stored messages begin..end (inclusive)
// in sequence order; missing ones are skipped.
func (ss *sessionStore) IterateMessages(begin, end int, cb func([]byte) error) error {
	if end < begin {
		return nil
	}
	ss.mu.Lock()
	var msgs [][]byte
	var rerr error
	ss.msgs.each(begin, end, func(_ int, loc msgLoc) bool {
		b := make([]byte, loc.n)
		if _, err := ss.f.ReadAt(b, loc.off); err != nil {
			rerr = fmt.Errorf("%w: %s: %v", ErrStore, ss.path, err)
			return false
		}
		msgs = append(msgs, b)
		return true
	})
	ss.mu.Unlock()
	if rerr != nil {
		return rerr
	}
	for _, m := range msgs {
		if err := cb(m); err != nil {
			return err
		}
	}
	return nil
}

// Refresh does nothing: the file has no other writer.
func (ss *sessionStore) Refresh() error { return nil }

// Reset starts the session over: sequence numbers 1 and 1, no stored
// messages, a new creation time. quickfixgo calls it for ResetSeqNumFlag=Y
// (after the logon's password check) and never otherwise here.
func (ss *sessionStore) Reset() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.resetLocked()
}

func (ss *sessionStore) resetLocked() error {
	if err := ss.f.Truncate(0); err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	now := time.Now().UTC()
	ss.size = 0
	ss.rec, ss.targetDirty = ss.rec[:0], false
	ss.appendRec('C', i64(now.UnixNano()))
	ss.appendRec('S', i64(1))
	ss.appendRec('T', i64(1))
	if err := ss.write(); err != nil {
		return err
	}
	ss.nextSender, ss.nextTarget, ss.created = 1, 1, now
	ss.msgs.reset()
	return nil
}

// Close does nothing: the Store owns the files.
func (ss *sessionStore) Close() error { return nil }
