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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"

	"fxmatch/internal/yield"
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
//	kind 'C'  creation time (Unix ns, i64): a reset, the messages before
//	          it are forgotten
//	kind 'H'  a segment's head: creation time (Unix ns), next sender and
//	          next target MsgSeqNum (3 × i64); unlike 'C' it keeps the
//	          messages before it
//	kind 'N'  a sent message: its MsgSeqNum (i64), the next sender number
//	          after it (i64), the message bytes
//
// Opening replays the session's segment files in order, as one log; a
// torn or corrupt record at the end of a segment (a crash in the middle of
// a write) is cut off. The last value of each number wins. Messages more
// than MessagesMax behind the sender number are forgotten.
//
// # Segments
//
// A session's log is a run of segment files, <name>.<n>.fixlog with n
// counting up (12 digits). The store appends to the last one; when it
// passes SegmentBytes, the next commit starts a new one whose first record
// is a head ('H': the creation time and both numbers as they are stored),
// so that no segment needs the ones before it for the state. A segment
// whose messages are all forgotten (the highest MsgSeqNum in it is below
// the oldest kept one) is retired — unlinked and closed — oldest first,
// so the files left are always a suffix of the log, and each but the
// first starts with a head. Nothing is ever copied.
//
// Before segments, the store was one file that was rewritten (the kept
// messages copied to a temporary file, fsynced, renamed over it) when it
// passed 64 MiB, on the goroutine that made the commit — the exec pump's:
// at 10,000 orders/s every ~13 s, one stall of ~250 ms (copy of ~55 MB,
// fsync 95 ms, close of the old file 127 ms: freeing its blocks) and
// ~80 ms on the next commit. Two ways to take it off the pump were
// weighed:
//
//   - compaction on a background goroutine, with a catch-up under the
//     lock for what was appended meanwhile, then rename and swap. It
//     still reads and writes ~55 MB per 64 MiB written, fsyncs it, and
//     has to rebuild the message index for the new offsets while the
//     pump moves it (a second copy of the index or a translation of
//     offsets under the lock), and the catch-up is on the pump.
//   - segments (this): a segment is retired whole, so the copy, its fsync
//     and the index rebuild are gone, not moved. What is left for the
//     pump when a segment fills is one write(2) of the head to a file
//     already created (BenchmarkStoreCompactStall); creating the next
//     file (open, and with Fsync the directory's fsync) and retiring old
//     ones (unlink, and the close that frees the blocks: the one long
//     syscall) run on the store's janitor goroutine. With GOMAXPROCS=1
//     a goroutine in a long syscall holds the only P until sysmon
//     retakes it (the close goes through yield.Blocking, which lends a
//     spare one meanwhile when serve turned it on), so the janitor makes
//     one such call per retired segment: closing in one go, not
//     truncating in steps (measured
//     here: 64 MiB freed by ftruncate in 1 MiB steps took 45 ms with
//     steps of up to 2.5 ms, in 64 KiB steps 240-300 ms with steps of up
//     to 5.7 ms; one close 25 ms). The disk holds about what it did:
//     the kept messages (~55 MB at the defaults) span at most two
//     segments, so a busy session has up to ~2 × 64 MiB, where the
//     single file grew to ~110 MB plus a 55 MB copy while compacting.
//     A message's offset is into the log, not into a file (msgLoc.off,
//     segment.base).
//
// Crash safety. Every step leaves files that replay to the committed
// state: a new segment is created empty (an empty segment is removed when
// the store opens: it holds nothing) and gets its head in one write
// before any message; a segment is retired only once nothing in it is
// kept and the segment after it starts with a head, and it is unlinked
// before it is closed, so it is either all there (replayed, its messages
// forgotten again) or gone. With Fsync the head is fsynced and the
// directory is fsynced after a segment is created, so that power loss
// cannot lose the file holding the numbers.
//
// The single file of the stores before segments, <name>.fixlog, is read
// as it is, as segment 0: replayed first, appended to while it is the last
// (a new session never creates it), and retired like any segment once its
// messages are forgotten. A leftover <name>.fixlog.tmp (that store's
// compaction, interrupted) is removed: the file it was to replace is
// whole. A store written by this version cannot be read by the earlier
// one (it knows neither the segment files nor 'H').

// StoreOptions configures the session store.
type StoreOptions struct {
	// Fsync makes every commit fsync (survives power loss; costs a disk
	// flush per FIX message). Default: write to the kernel, no fsync
	// (survives a crash of the process).
	Fsync bool
	// MessagesMax bounds the sent messages kept per session for resends
	// (default 200,000); older ones are answered with a gap fill.
	MessagesMax int
	// SegmentBytes is the size past which a session's log goes on in a
	// new segment file (default 64 MiB); see "Segments".
	SegmentBytes int64
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
	// bg creates and retires segment files off the sessions' goroutines.
	bg janitor
	// hook, if set (tests only, before Session), is called at each step
	// of starting and retiring a segment: see storeSteps.
	hook func(step string)
}

// The steps a Store's hook sees, in the order they happen for one
// segment. "roll" steps run on the committing goroutine under the
// session's lock; "precreate" and "retire" ones on the janitor.
const (
	stepPrecreated = "precreate:created" // the next segment's file exists, empty
	stepRollFile   = "roll:file"         // the new segment is taken, its head not written
	stepRollHead   = "roll:head"         // its head is written: it is the current segment
	stepRetire     = "retire:start"      // a retired segment, still on disk
	stepUnlinked   = "retire:unlinked"   // unlinked, not yet closed
)

// OpenStore opens (creating if needed) the session store in dir.
func OpenStore(dir string, opts StoreOptions) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MessagesMax <= 0 {
		opts.MessagesMax = 200_000
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, open: map[string]*sessionStore{}}
	s.bg.start()
	return s, nil
}

// Close closes every session's files, after the janitor has finished what
// it was given (the retired segments are unlinked and closed).
func (s *Store) Close() error {
	s.mu.Lock()
	var first error
	for k, ss := range s.open {
		if err := ss.closeFiles(); err != nil && first == nil {
			first = err
		}
		delete(s.open, k)
	}
	s.mu.Unlock()
	s.bg.stop()
	return first
}

// fileName is a file name for a session id: its readable characters and
// a hash, so two ids never share a file. It is the name of the single
// file of the stores before segments (segment 0); segName derives the
// others from it.
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

// Session returns the store of one session, replaying its files (a new
// session starts at sequence numbers 1 and 1). The same *sessionStore is
// returned for the same id while the Store is open.
func (s *Store) Session(id quickfix.SessionID) (*sessionStore, error) {
	key := id.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.open[key]; ok {
		return ss, nil
	}
	stem := strings.TrimSuffix(fileName(key), ".fixlog")
	ss := &sessionStore{st: s, stem: stem, path: filepath.Join(s.dir, stem), id: key}
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
// the session's send lock), so its state is behind mu. The janitor takes
// mu only to hand over a created segment.
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
	stem   string // file names: see segName
	path   string // dir/stem, for messages
	id     string
	gated  bool
	authed atomic.Bool

	mu sync.Mutex
	// segs are the log's segment files, oldest first; the last is the
	// one appended to. Never empty once loaded.
	segs []*segment
	// size is the log's length: where the next record goes, as an
	// offset into the log (segment.base + offset in the segment).
	size       int64
	nextSender int
	nextTarget int
	// targetStored is the target number as stored, for a segment's head:
	// a queued one (targetDirty) is stored by the commit that sends the
	// answer, not earlier (see incrTargetQueued).
	targetStored int
	created      time.Time
	msgs         msgIndex // MsgSeqNum → where its bytes are in the log
	saves        int
	// targetDirty: nextTarget moved (incrTargetQueued) and its record is
	// not yet written.
	targetDirty bool
	rec         []byte
	// numLast is the highest segment number given out (to a file or to
	// the janitor creating one): numbers only go up.
	numLast int64
	// next is the next segment's file, created empty by the janitor
	// (creating: asked for, not yet there).
	next     *os.File
	nextNum  int64
	creating bool
	// createFailed is when the janitor last failed to create the next
	// segment (zero after a success): precreate waits a second after it,
	// and warns once per run of failures, not once per commit.
	createFailed time.Time
	closed       bool
}

// segment is one file of a session's log.
type segment struct {
	num  int64 // from its name; the log's order
	f    *os.File
	base int64 // the log offset of its first byte
	size int64
	// maxSeq is the highest MsgSeqNum of a message in it (0: none): once
	// it is below the oldest kept number, nothing in it is kept.
	maxSeq int
}

var _ quickfix.MessageStore = (*sessionStore)(nil)

const recHeader = 9

// segName is the file of segment num: <stem>.<num, 12 digits>.fixlog, or
// for 0 the single file of the stores before segments, <stem>.fixlog.
func (ss *sessionStore) segName(num int64) string {
	if num == 0 {
		return filepath.Join(ss.st.dir, ss.stem+".fixlog")
	}
	return filepath.Join(ss.st.dir, fmt.Sprintf("%s.%012d.fixlog", ss.stem, num))
}

func (ss *sessionStore) hook(step string) {
	if ss.st.hook != nil {
		ss.st.hook(step)
	}
}

// cur is the segment appended to.
func (ss *sessionStore) cur() *segment { return ss.segs[len(ss.segs)-1] }

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

// write appends ss.rec to the current segment in one write(2) and clears
// it.
func (ss *sessionStore) write() error {
	cur := ss.cur()
	n, err := cur.f.Write(ss.rec)
	cur.size += int64(n)
	ss.size += int64(n)
	ss.rec = ss.rec[:0]
	if err == nil && ss.st.opts.Fsync {
		err = cur.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStore, cur.f.Name(), err)
	}
	return nil
}

// load replays the session's segments, cutting off torn tails.
func (ss *sessionStore) load() error {
	if err := os.Remove(ss.segName(0) + ".tmp"); err == nil {
		ss.st.log.Warn("fix store: an interrupted compaction's temporary file removed (the file it was to replace is whole)",
			"file", ss.segName(0)+".tmp")
	}
	nums, err := ss.listSegments()
	if err != nil {
		return err
	}
	ss.nextSender, ss.nextTarget = 1, 1
	ss.msgs.reset()
	for _, num := range nums {
		ss.numLast = max(ss.numLast, num)
		seg, err := ss.replay(num)
		if err != nil {
			ss.closeFiles()
			return err
		}
		if seg.size == 0 {
			// Created and never written (a crash before its head, or
			// one the janitor made for later): it holds nothing.
			seg.f.Close()
			if err := os.Remove(seg.f.Name()); err != nil {
				ss.closeFiles()
				return fmt.Errorf("%w: %v", ErrStore, err)
			}
			continue
		}
		ss.segs = append(ss.segs, seg)
		ss.size += seg.size
	}
	ss.targetStored = ss.nextTarget
	ss.prune(ss.nextSender)
	if ss.created.IsZero() || len(ss.segs) == 0 {
		err = ss.resetLocked()
	} else {
		ss.retireLocked()
	}
	if err != nil {
		ss.closeFiles()
	}
	return err
}

// listSegments returns the numbers of the session's segment files, in
// order.
func (ss *sessionStore) listSegments() ([]int64, error) {
	ents, err := os.ReadDir(ss.st.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	var nums []int64
	for _, de := range ents {
		name := de.Name()
		if name == ss.stem+".fixlog" {
			nums = append(nums, 0)
			continue
		}
		mid, ok := strings.CutPrefix(name, ss.stem+".")
		if !ok {
			continue
		}
		if mid, ok = strings.CutSuffix(mid, ".fixlog"); !ok || len(mid) != 12 {
			continue
		}
		if n, err := strconv.ParseInt(mid, 10, 64); err == nil && n > 0 && filepath.Base(ss.segName(n)) == name {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// replay reads segment num into the session's state, its records' log
// offsets from ss.size on.
func (ss *sessionStore) replay(num int64) (*segment, error) {
	name := ss.segName(num)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	seg := &segment{num: num, f: f, base: ss.size}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrStore, name, err)
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
			// Nothing before it is kept: the segments before (left by a
			// crash before the janitor unlinked them) can go.
			for _, old := range ss.segs {
				old.maxSeq = 0
			}
			seg.maxSeq = 0
		case kind == 'H' && n == 24:
			ss.created = time.Unix(0, int64(binary.LittleEndian.Uint64(p))).UTC()
			ss.nextSender = int(binary.LittleEndian.Uint64(p[8:]))
			ss.nextTarget = int(binary.LittleEndian.Uint64(p[16:]))
		case kind == 'N' && n >= 16:
			seq := int(binary.LittleEndian.Uint64(p))
			ss.nextSender = int(binary.LittleEndian.Uint64(p[8:]))
			ss.msgs.set(seq, msgLoc{seg.base + int64(off+recHeader+16), int32(n - 16)}, ss.spanMax())
			seg.maxSeq = max(seg.maxSeq, seq)
		}
		off = end
	}
	if off < len(data) {
		// At the end of the last segment: a crash during a write. Of an
		// earlier one: only power loss without Fsync leaves one there
		// (the segment after it starts with a head).
		ss.st.log.Warn("fix store: torn or corrupt record at the end of a session file cut off (a crash during a write)",
			"file", name, "offset", off, "bytes", len(data)-off)
		if err := f.Truncate(int64(off)); err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %v", ErrStore, err)
		}
	}
	seg.size = int64(off)
	return seg, nil
}

// closeFiles closes the session's files (Store.Close); a created next
// segment, never written, is removed.
func (ss *sessionStore) closeFiles() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	var first error
	// The segments stay in segs, closed: a write after this fails as
	// a write to a closed file does.
	for _, seg := range ss.segs {
		if err := seg.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("%w: %v", ErrStore, err)
		}
	}
	if ss.next != nil {
		ss.next.Close()
		os.Remove(ss.next.Name())
		ss.next = nil
	}
	return first
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
	ss.queueTarget()
	ss.appendRec('S', i64(int64(next)))
	if err := ss.write(); err != nil {
		return err
	}
	ss.nextSender = next
	return ss.afterWrite()
}

func (ss *sessionStore) setTarget(next int) error {
	if ss.gated && !ss.authed.Load() {
		return nil // see the gate in sessionStore's comment
	}
	ss.appendRec('T', i64(int64(next)))
	if err := ss.write(); err != nil {
		return err
	}
	ss.nextTarget, ss.targetStored, ss.targetDirty = next, next, false
	return ss.afterWrite()
}

// queueTarget queues the record of a target number moved in memory
// (targetDirty), to go with the next write.
func (ss *sessionStore) queueTarget() {
	if ss.targetDirty {
		ss.appendRec('T', i64(int64(ss.nextTarget)))
		ss.targetStored, ss.targetDirty = ss.nextTarget, false
	}
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
	return ss.save(seq, ss.nextSender+1, msg)
}

// queueMessage is SaveMessageAndIncrNextSenderMsgSeqNum without the
// write: the record waits in memory for commit, so that a batch of
// messages costs one write(2). The caller must commit before the
// messages go on the wire (party.flushLocked does, under the send lock).
func (ss *sessionStore) queueMessage(seq int, msg []byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.queueSave(seq, ss.nextSender+1, msg)
	ss.nextSender++
}

// queueSave queues message seq's record.
func (ss *sessionStore) queueSave(seq, nextSender int, msg []byte) {
	var h [16]byte
	binary.LittleEndian.PutUint64(h[:], uint64(seq))
	binary.LittleEndian.PutUint64(h[8:], uint64(nextSender))
	off := ss.size + int64(len(ss.rec)) + recHeader + 16
	ss.appendRec('N', h[:], msg)
	ss.msgs.set(seq, msgLoc{off, int32(len(msg))}, ss.spanMax())
	// The queued records go to the current segment: only a write (which
	// takes them all) comes before a new one.
	cur := ss.cur()
	cur.maxSeq = max(cur.maxSeq, seq)
	ss.saves++
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

// commit writes the queued records (one write(2)), then forgets, starts a
// segment or retires old ones when due (afterWrite).
func (ss *sessionStore) commit() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.queueTarget()
	if len(ss.rec) == 0 {
		return nil
	}
	if err := ss.write(); err != nil {
		return err
	}
	return ss.afterWrite()
}

// pruneEvery is how many saves pass between forgetting old messages.
const pruneEvery = 4096

func (ss *sessionStore) save(seq, nextSender int, msg []byte) error {
	ss.queueTarget() // keep a queued target number ahead of this write
	ss.queueSave(seq, nextSender, msg)
	if err := ss.write(); err != nil {
		return err
	}
	// Before afterWrite: a segment's head holds the sender number.
	ss.nextSender = nextSender
	return ss.afterWrite()
}

// afterWrite runs after each successful write, everything queued
// written: every pruneEvery saves it forgets old messages and retires the
// segments that held only those; past half a segment it has the janitor
// create the next one; past a whole one, it starts the next (roll). All
// the pump pays is a few comparisons, and when a segment fills, the
// head's write(2) — the file is the janitor's work, unless the janitor is
// late (the segment is twice its size: the head goes to a file made here)
// or failed (made here; its error fails the commit).
func (ss *sessionStore) afterWrite() error {
	if ss.saves >= pruneEvery {
		ss.saves = 0
		ss.prune(ss.nextSender)
		ss.retireLocked()
	}
	segMax := ss.st.opts.SegmentBytes
	size := ss.cur().size
	if size >= segMax/2 {
		ss.precreateLocked()
	}
	if size < segMax || ss.next == nil && ss.creating && size < 2*segMax {
		return nil
	}
	var h [24]byte
	binary.LittleEndian.PutUint64(h[:], uint64(ss.created.UnixNano()))
	binary.LittleEndian.PutUint64(h[8:], uint64(ss.nextSender))
	binary.LittleEndian.PutUint64(h[16:], uint64(ss.targetStored))
	ss.appendRec('H', h[:])
	if err := ss.roll(); err != nil {
		return err
	}
	ss.prune(ss.nextSender)
	ss.retireLocked()
	return nil
}

// roll starts a new segment with ss.rec (its head) as its first write:
// the file the janitor made, or one made here.
func (ss *sessionStore) roll() error {
	if ss.closed {
		ss.rec = ss.rec[:0]
		return fmt.Errorf("%w: %s: closed", ErrStore, ss.path)
	}
	f, num := ss.next, ss.nextNum
	ss.next = nil
	if f == nil {
		ss.numLast++
		num = ss.numLast
		var err error
		if f, err = ss.createSegment(num); err != nil {
			ss.rec = ss.rec[:0]
			return err
		}
	}
	ss.hook(stepRollFile)
	n, err := f.Write(ss.rec)
	ss.rec = ss.rec[:0]
	if err == nil && ss.st.opts.Fsync {
		err = f.Sync()
	}
	if err != nil {
		// The log goes on in the current segment; a head cut short
		// would be cut off when the store opens, and the file removed.
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("%w: starting %s: %v", ErrStore, f.Name(), err)
	}
	ss.segs = append(ss.segs, &segment{num: num, f: f, base: ss.size, size: int64(n)})
	ss.size += int64(n)
	ss.hook(stepRollHead)
	return nil
}

// createSegment creates segment num's file, empty; with Fsync, it makes
// the file's name durable too (the directory's fsync), as it is about to
// hold the session's numbers.
func (ss *sessionStore) createSegment(num int64) (*os.File, error) {
	name := ss.segName(num)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	if ss.st.opts.Fsync {
		if err = yield.Blocking(func() error { return syncDir(ss.st.dir) }); err != nil {
			f.Close()
			os.Remove(name)
			return nil, fmt.Errorf("%w: %v", ErrStore, err)
		}
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// precreateLocked has the janitor create the next segment's file, unless
// it is there or on its way.
func (ss *sessionStore) precreateLocked() {
	if ss.next != nil || ss.creating || ss.closed {
		return
	}
	if !ss.createFailed.IsZero() && time.Since(ss.createFailed) < time.Second {
		return
	}
	ss.numLast++
	num := ss.numLast
	ss.creating = true
	queued := ss.st.bg.do(func() {
		f, err := ss.createSegment(num)
		if err == nil {
			ss.hook(stepPrecreated)
		}
		ss.mu.Lock()
		ss.creating = false
		// Too late if roll made a file itself meanwhile (a higher number),
		// or the store closed.
		keep := err == nil && !ss.closed && ss.next == nil && len(ss.segs) > 0 && num > ss.cur().num
		if keep {
			ss.next, ss.nextNum = f, num
		}
		firstFailure := err != nil && ss.createFailed.IsZero()
		if err != nil {
			ss.createFailed = time.Now()
		} else {
			ss.createFailed = time.Time{}
		}
		ss.mu.Unlock()
		switch {
		case firstFailure:
			ss.st.log.Warn("fix store: creating the next segment failed (retried every second; the roll tries again; warned once until one succeeds)", "session", ss.id, "err", err)
		case err != nil:
		case !keep:
			f.Close()
			os.Remove(f.Name())
		}
	})
	if !queued {
		ss.creating = false
	}
}

// retireLocked retires the oldest segments while nothing in them is kept:
// out of segs now, unlinked and closed by the janitor. The one appended
// to stays. Only a prefix of the log goes, so that the first file left
// is one the replay can start from (it starts with a head).
func (ss *sessionStore) retireLocked() {
	for len(ss.segs) > 1 {
		seg := ss.segs[0]
		if ss.msgs.count > 0 && seg.maxSeq >= ss.msgs.base {
			return
		}
		ss.segs[0] = nil
		ss.segs = ss.segs[1:]
		if !ss.st.bg.do(func() { ss.retire(seg) }) {
			ss.retire(seg)
		}
	}
}

// retire unlinks a retired segment, then closes it: the close frees its
// blocks, the long part (~25-130 ms for 64 MiB here), which is why it is
// the janitor's. Unlinked first, it is never seen cut short. A failure
// leaves a file whose messages were forgotten, replayed harmlessly before
// the ones after it: a warning, not the session's failure.
func (ss *sessionStore) retire(seg *segment) {
	ss.hook(stepRetire)
	name := seg.f.Name()
	if err := os.Remove(name); err != nil {
		ss.st.log.Warn("fix store: removing a retired segment failed", "file", name, "err", err)
	}
	ss.hook(stepUnlinked)
	// yield.Blocking: with the venue on one processor, the others run on
	// a spare one meanwhile (see it).
	if err := yield.Blocking(seg.f.Close); err != nil {
		ss.st.log.Warn("fix store: closing a retired segment failed", "file", name, "err", err)
	}
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
	ss.msgs.each(begin, end, func(seq int, loc msgLoc) bool {
		seg := ss.segAt(loc.off)
		if seg == nil {
			// A broken invariant (retireLocked retires only segments with
			// nothing kept), but an error, not a panic: the caller's
			// goroutine recovers, and would leave mu locked.
			rerr = fmt.Errorf("%w: %s: message %d at log offset %d is in no segment (the first starts at %d)", ErrStore, ss.path, seq, loc.off, ss.segs[0].base)
			return false
		}
		b := make([]byte, loc.n)
		if _, err := seg.f.ReadAt(b, loc.off-seg.base); err != nil {
			rerr = fmt.Errorf("%w: %s: %v", ErrStore, seg.f.Name(), err)
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

// segAt is the segment holding log offset off (nil: a retired one). The
// segments are few (a busy session's kept messages span two or three);
// resends mostly ask for recent messages: from the newest.
func (ss *sessionStore) segAt(off int64) *segment {
	for i := len(ss.segs) - 1; i >= 0; i-- {
		if off >= ss.segs[i].base {
			return ss.segs[i]
		}
	}
	return nil
}

// Refresh does nothing: the files have no other writer.
func (ss *sessionStore) Refresh() error { return nil }

// Reset starts the session over: sequence numbers 1 and 1, no stored
// messages, a new creation time. quickfixgo calls it for ResetSeqNumFlag=Y
// (after the logon's password check) and never otherwise here.
func (ss *sessionStore) Reset() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.resetLocked()
}

// resetLocked starts a new segment with the reset ('C' forgets what came
// before it in the replay) and retires the others. Records queued and not
// committed are dropped, as the numbers they carry are.
func (ss *sessionStore) resetLocked() error {
	now := time.Now().UTC()
	ss.rec, ss.targetDirty = ss.rec[:0], false
	ss.appendRec('C', i64(now.UnixNano()))
	ss.appendRec('S', i64(1))
	ss.appendRec('T', i64(1))
	if err := ss.roll(); err != nil {
		return err
	}
	ss.nextSender, ss.nextTarget, ss.targetStored, ss.created = 1, 1, 1, now
	ss.msgs.reset()
	ss.saves = 0
	ss.retireLocked()
	return nil
}

// Close does nothing: the Store owns the files.
func (ss *sessionStore) Close() error { return nil }

// janitor runs a Store's slow file work — creating segments, unlinking
// and closing retired ones — on a goroutine of its own, in order, so that
// no session's goroutine waits for it. Its queue holds at most one
// creation and the retired segments per session (a few), so it is not
// bounded by a number of its own.
type janitor struct {
	mu     sync.Mutex
	jobs   []func()
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func (j *janitor) start() {
	j.wake, j.done = make(chan struct{}, 1), make(chan struct{})
	go j.run()
}

// do queues fn; false if the janitor has stopped (fn not run).
func (j *janitor) do(fn func()) bool {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return false
	}
	j.jobs = append(j.jobs, fn)
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return true
}

func (j *janitor) run() {
	defer close(j.done)
	for {
		j.mu.Lock()
		if len(j.jobs) == 0 {
			closed := j.closed
			j.mu.Unlock()
			if closed {
				return
			}
			<-j.wake
			continue
		}
		fn := j.jobs[0]
		j.jobs[0] = nil
		j.jobs = j.jobs[1:]
		j.mu.Unlock()
		fn()
	}
}

// stop runs what is queued, then ends the goroutine (idempotent).
func (j *janitor) stop() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-j.done
}
