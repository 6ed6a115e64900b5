package venue

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"fxmatch/engine"
	"fxmatch/internal/threads"
	"fxmatch/journal"
)

// The snapshot process (Options.SnapshotProcess).
//
// The snapshotter's shadow engine, in-process, shares the venue's
// processors with the shards, and the Go scheduler has no priorities: the
// shadow's applying and its snapshot's encoding (tens of milliseconds
// every SnapshotEvery commands) reach the shard and the FIX sessions only
// through the cooperative yielding described in snapshotter.go. With the
// venue on one processor (serve --procs 1, bench fix's default) that
// still left the order latency's p99 at milliseconds: bench fix, 1
// session, 10,000 orders/s, 30 s, durability none, p99 8.2 ms, episodes
// of 13-54 ms at every snapshot, 8% of the orders over 100 µs in the
// venue; with the shadow not fed at all (a measurement build, one run)
// p99 1.4 ms, 4%.
//
// So the shadow can live in a child process instead: this program run
// again (os.Executable) with SnapshotChildEnv set, which the program
// must answer by calling RunSnapshotChildIfAsked first thing in main (and
// in TestMain, for tests that use it). The child puts all its threads
// under the kernel's SCHED_IDLE policy: it runs only while the venue's
// threads leave a CPU idle, and a venue thread that wakes preempts it at
// once — a priority the Go scheduler cannot give a goroutine. It inherits
// the venue's CPU mask (serve --cpus).
//
// The snapshotter's queue, its back-pressure and its order are unchanged;
// its goroutine writes each chunk's commands (the journal's command
// encoding) to the child's stdin instead of applying them, and for a
// chunk that asks for a snapshot the sequence, the primary's Progress and
// the path of a table (journal Appender.SnapshotTableFile). The child
// applies the commands to its shadow, checks Progress, encodes and hashes
// the snapshot and writes and syncs the table
// (journal.WriteSnapshotTable); the venue's reader of the child's stdout
// hands it to an ingester goroutine, which stores it (Appender.IngestSnapshot:
// the records it follows durable first, as PutSnapshot). The stored bytes
// are the same as in-process. With durability none the ingester first
// waits for Pebble's next WAL rotation, which syncs those records, rather
// than have the journal sync the WAL (one more fsync on the disk the
// commits write to); a newer table written meanwhile supersedes the
// waiting one (see ingestTables).
//
// The child going away (killed, crashed) or its shadow going apart stops
// the snapshots, not the venue, as a diverged in-process shadow does:
// logged as an error, counted in SnapshotStats, the queue drained into
// nothing so the shard never waits on it; a restart recovers from the
// last stored snapshot. A table the child could not write (the journal's
// disk failing) fails the venue, as PutSnapshot's failure does.
//
// Protocol: frames of a kind byte, a uvarint length and the payload,
// both ways. To the child: 'I' (JSON childInit), 'S' (the engine's
// snapshot to start from), then 'C' (commands) and 'P' (a snapshot is
// due: seq, Progress, table path) frames, and EOF at the end. From the
// child: 'R' (ready) once its shadow reproduces the 'S' bytes, 'A'
// (applied through seq) after each 'C', 'D' (seq, hash, path: table
// written), 'X' (diverged: text), 'E' (failed: text, then it exits).

// SnapshotChildEnv is the environment variable that makes this program a
// snapshot process (RunSnapshotChildIfAsked).
const SnapshotChildEnv = "FXMATCH_SNAPSHOT_CHILD"

// RunSnapshotChildIfAsked makes this process the venue's snapshot process
// when the venue started it (SnapshotChildEnv is set), and then exits;
// otherwise it returns at once. A program that opens a venue with
// Options.SnapshotProcess calls it first thing in main.
func RunSnapshotChildIfAsked() {
	if os.Getenv(SnapshotChildEnv) != "1" {
		return
	}
	// The venue ends it by closing its input, after the snapshots due at
	// a stop: a Ctrl-C or a service manager's SIGTERM to the whole
	// process group must not end it first.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	// Not at idle priority is slower for the venue, not wrong: say so in
	// the ready frame (the venue logs it) and go on.
	notIdle := ""
	if err := threads.SetIdle(); err != nil {
		notIdle = err.Error()
	}
	if err := runSnapshotChild(os.Stdin, os.Stdout, notIdle); err != nil {
		fmt.Fprintln(os.Stderr, "fxmatch snapshot process:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childInit is the child's first frame.
type childInit struct {
	Shard  int
	Last   uint64 // the sequence the 'S' snapshot is after
	Format journal.TableFormat
	Config engine.Config
}

const (
	frameInit     = 'I'
	frameState    = 'S'
	frameCommands = 'C'
	frameSnapshot = 'P'
	frameReady    = 'R'
	frameApplied  = 'A'
	frameDone     = 'D'
	frameDiverged = 'X'
	frameError    = 'E'
)

// maxFrame bounds a frame's payload as the child reads it: the 'S' frame
// is the engine's whole state, megabytes. maxReplyFrame bounds the
// child's frames as the venue reads them (a path, a seq, a message), so
// that a corrupt length cannot make the venue allocate gigabytes.
const (
	maxFrame      = 1 << 32
	maxReplyFrame = 1 << 20
)

func appendFrame(dst []byte, kind byte, payload []byte) []byte {
	dst = append(dst, kind)
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// readFrame reads one frame of at most max bytes into buf (grown as
// needed).
func readFrame(r *bufio.Reader, buf []byte, max uint64) (kind byte, payload []byte, err error) {
	kind, err = r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, noEOF(err)
	}
	if n > max {
		return 0, nil, fmt.Errorf("frame %q of %d bytes", kind, n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, noEOF(err)
	}
	return kind, buf, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func appendProgress(dst []byte, p engine.Progress) []byte {
	for _, x := range []uint64{uint64(p.TradeDate), p.NextOrder, p.NextPrio, p.NextExec, p.NextTrade, uint64(p.LiveOrders), uint64(p.ClOrdIDs)} {
		dst = binary.AppendUvarint(dst, x)
	}
	return dst
}

// payloadReader decodes uvarints and strings from a frame's payload.
type payloadReader struct {
	b   []byte
	bad bool
}

func (p *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		p.bad = true
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payloadReader) bytes(n int) []byte {
	if len(p.b) < n {
		p.bad = true
		return nil
	}
	b := p.b[:n]
	p.b = p.b[n:]
	return b
}

func (p *payloadReader) progress() engine.Progress {
	return engine.Progress{
		TradeDate: engine.Date(p.uvarint()),
		NextOrder: p.uvarint(), NextPrio: p.uvarint(), NextExec: p.uvarint(), NextTrade: p.uvarint(),
		LiveOrders: int(p.uvarint()), ClOrdIDs: int(p.uvarint()),
	}
}

// runSnapshotChild is the snapshot process's work, on its stdin and
// stdout (RunSnapshotChildIfAsked has put it at idle priority, or says
// in notIdle why not).
func runSnapshotChild(in io.Reader, out io.Writer, notIdle string) error {
	r := bufio.NewReaderSize(in, 1<<20)
	w := bufio.NewWriter(out)
	var wbuf []byte
	send := func(kind byte, payload []byte) error {
		wbuf = appendFrame(wbuf[:0], kind, payload)
		if _, err := w.Write(wbuf); err != nil {
			return err
		}
		return w.Flush()
	}
	failed := func(err error) error {
		send(frameError, []byte(err.Error()))
		return err
	}
	kind, payload, err := readFrame(r, nil, maxFrame)
	if err != nil || kind != frameInit {
		return fmt.Errorf("want the init frame first: %q %v", kind, err)
	}
	var init childInit
	if err := json.Unmarshal(payload, &init); err != nil {
		return failed(fmt.Errorf("init frame: %w", err))
	}
	kind, payload, err = readFrame(r, nil, maxFrame)
	if err != nil || kind != frameState {
		return failed(fmt.Errorf("want the state frame second: %q %v", kind, err))
	}
	eng, err := shadowFrom(init.Config, payload)
	if err != nil {
		return failed(err)
	}
	if err := send(frameReady, []byte(notIdle)); err != nil {
		return err
	}
	next := init.Last + 1
	var (
		buf    []byte
		cmd    engine.Command
		events []engine.Event
		snap   []byte
		msg    []byte
		broken bool
	)
	for {
		kind, payload, err := readFrame(r, buf, maxFrame)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return failed(fmt.Errorf("reading from the venue: %w", err))
		}
		buf = payload[:0]
		switch kind {
		case frameCommands:
			for p := payload; len(p) > 0; {
				n, err := journal.DecodeCommand(p, &cmd)
				if err != nil {
					return failed(fmt.Errorf("command after seq %d: %w", next-1, err))
				}
				p = p[n:]
				if cmd.Seq != next {
					return failed(fmt.Errorf("given seq %d, expected %d: the shadow engine would diverge", cmd.Seq, next))
				}
				events = eng.Apply(&cmd, events[:0])
				next++
			}
			if err := send(frameApplied, binary.AppendUvarint(msg[:0], next-1)); err != nil {
				return err
			}
		case frameSnapshot:
			pr := payloadReader{b: payload}
			seq := pr.uvarint()
			want := pr.progress()
			path := string(pr.b)
			if pr.bad || path == "" {
				return failed(fmt.Errorf("bad snapshot frame"))
			}
			if seq != next-1 {
				return failed(fmt.Errorf("snapshot asked after seq %d, the shadow is at %d", seq, next-1))
			}
			if broken {
				continue
			}
			if got := eng.Progress(); got != want {
				broken = true
				text := fmt.Sprintf("at seq %d the shadow shows %+v, the primary %+v", seq, got, want)
				if err := send(frameDiverged, []byte(text)); err != nil {
					return err
				}
				continue
			}
			snap = eng.AppendSnapshot(snap[:0])
			hash := journal.Hash(sha256.Sum256(snap))
			if err := journal.WriteSnapshotTable(path, init.Format, uint16(init.Shard), seq, hash, snap); err != nil {
				return failed(err)
			}
			msg = binary.AppendUvarint(msg[:0], seq)
			msg = append(msg, hash[:]...)
			msg = append(msg, path...)
			if err := send(frameDone, msg); err != nil {
				return err
			}
		default:
			return failed(fmt.Errorf("unknown frame %q", kind))
		}
	}
}

// snapChild is the venue's side of a snapshot process.
type snapChild struct {
	cmd  *exec.Cmd
	in   *os.File // the child's stdin
	out  *bufio.Reader
	outF *os.File
	wbuf []byte
	// exited is closed once the child has been waited for.
	exited chan struct{}
	werr   error
	// notIdle is why the child does not run at idle priority ("": it does).
	notIdle string
	// canRaise: the venue may raise the child to the normal policy (an
	// unprivileged process needs RLIMIT_NICE 20, e.g. systemd's
	// LimitNICE=20, or CAP_SYS_NICE to move a thread off SCHED_IDLE).
	canRaise bool
	// asked are the snapshots asked of the child and not yet answered,
	// oldest first (writeChunk appends, readChild takes).
	askedMu sync.Mutex
	asked   []writtenTable
}

// snapChildExe is the program a snapshot process runs (tests change it).
var snapChildExe = os.Executable

// childStartTimeout bounds how long Open waits for a snapshot process to
// restore its shadow and say it is ready.
const childStartTimeout = 2 * time.Minute

// startSnapChild starts a shard's snapshot process from snap, the primary
// engine's snapshot after init.Last, and waits until its shadow
// reproduces snap.
func startSnapChild(init childInit, snap []byte) (*snapChild, error) {
	shard := init.Shard
	exe, err := snapChildExe()
	if err != nil {
		return nil, fmt.Errorf("venue: snapshot process: %w", err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	growPipe(inW)
	cmd := exec.Command(exe)
	cmd.Env = append(childEnv(os.Environ()), SnapshotChildEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, os.Stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("venue: start snapshot process: %w", err)
	}
	c := &snapChild{cmd: cmd, in: inW, outF: outR, out: bufio.NewReaderSize(outR, 64<<10), exited: make(chan struct{})}
	go func() {
		c.werr = cmd.Wait()
		close(c.exited)
	}()
	hdr, err := json.Marshal(init)
	if err == nil {
		inW.SetWriteDeadline(time.Now().Add(childStartTimeout))
		_, err = inW.Write(appendFrame(appendFrame(nil, frameInit, hdr), frameState, snap))
		inW.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		outR.SetReadDeadline(time.Now().Add(childStartTimeout))
		var kind byte
		var payload []byte
		kind, payload, err = readFrame(c.out, nil, maxReplyFrame)
		outR.SetReadDeadline(time.Time{})
		switch {
		case err != nil:
		case kind == frameError:
			err = errors.New(string(payload))
		case kind != frameReady:
			err = fmt.Errorf("it answered %q, not ready (is RunSnapshotChildIfAsked called first in main?)", kind)
		default:
			c.notIdle = string(payload)
			c.canRaise = c.notIdle == "" && canRaise(cmd.Process.Pid)
		}
	}
	if err != nil {
		select {
		case <-c.exited:
			err = fmt.Errorf("it exited before it was ready (%v): %w", c.werr, err)
		case <-time.After(100 * time.Millisecond):
		}
		c.kill()
		return nil, fmt.Errorf("venue: shard %d's snapshot process: %w", shard, err)
	}
	return c, nil
}

// canRaise tries raising the child, just started and idle, to the normal
// policy and back: whether the venue will be able to when it falls
// behind.
func canRaise(pid int) bool {
	if threads.SetProcessIdle(pid, false) != nil {
		return false
	}
	return threads.SetProcessIdle(pid, true) == nil
}

// kill ends the child and waits for it.
func (c *snapChild) kill() {
	c.cmd.Process.Kill()
	c.in.Close()
	c.outF.Close()
	<-c.exited
}

// growPipe asks for a pipe buffer of snapPipeBytes (1 MiB: the most
// Linux lets a user set by default), so that the child reads a chunk or
// more per wake-up; it is only a hint.
func growPipe(f *os.File) {
	if runtime.GOOS != "linux" {
		return
	}
	const fSetPipeSz = 1031
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, uintptr(snapPipeBytes))
		})
	}
}

// snapPipeBytes is the child's input pipe's size (a variable for tests).
var snapPipeBytes = 1 << 20

// runChild is the snapshotter's goroutine with a snapshot process: it
// writes each chunk to the child, and its reader (readChild) takes what
// the child sends back.
func (s *snapshotter) runChild() {
	defer close(s.done)
	c := s.child
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.readChild()
	}()
	ingesterDone := make(chan struct{})
	go func() {
		defer close(ingesterDone)
		s.ingestTables(readerDone)
	}()
	for ch := range s.full {
		// Once broken (lost, diverged, a failed store) nothing more is
		// stored: the child is given nothing more either.
		if !s.broken.Load() {
			if err := s.writeChunk(ch); err != nil {
				s.childLost(fmt.Errorf("writing to it: %w", err))
				c.cmd.Process.Kill()
			}
		}
		ch.cmds, ch.snapAt, ch.want = ch.cmds[:0], 0, engine.Progress{}
		s.free <- ch
	}
	// Stopping: the child takes the snapshots due in what it was given,
	// then sees EOF and exits; the reader ingests them until then.
	s.stopping.Store(true)
	close(s.stopWait)
	// Nothing matches any more: the child need not yield to the venue.
	s.setChildIdle(false)
	c.in.Close()
	select {
	case <-readerDone:
	case <-s.childGoneCh:
		// The child is lost: its output may never end (it hangs).
		c.cmd.Process.Kill()
		<-readerDone
	case <-time.After(snapStopLimit):
		s.childLost(fmt.Errorf("it did not finish within %v of the stop", snapStopLimit))
		c.cmd.Process.Kill()
		<-readerDone
	}
	<-ingesterDone
	<-c.exited
	c.outF.Close()
	if c.werr != nil && !s.childGone.Load() {
		s.log.Error("the shard's snapshot process failed at the stop; the snapshots due in its last commands are not stored",
			"shard", s.shard, "err", c.werr)
	}
	// Tables asked for and never reported written: a lost child's.
	c.askedMu.Lock()
	for _, t := range c.asked {
		os.Remove(t.path)
	}
	c.asked = nil
	c.askedMu.Unlock()
}

// snapStopLimit bounds how long a stop waits for the snapshot process to
// apply what it was given and store the snapshots due in it.
const snapStopLimit = time.Minute

// writeChunk sends a chunk's commands, and the snapshot it asks for, to
// the child.
func (s *snapshotter) writeChunk(ch *snapChunk) error {
	c := s.child
	b := c.wbuf[:0]
	b = append(b, frameCommands, 0, 0, 0, 0, 0) // length below
	for i := range ch.cmds {
		b = journal.AppendCommand(b, &ch.cmds[i])
	}
	// A fixed 5-byte uvarint length, so the commands are encoded once.
	n := uint64(len(b) - 6)
	for i := 1; i < 5; i++ {
		b[i] = byte(n) | 0x80
		n >>= 7
	}
	b[5] = byte(n)
	if ch.snapAt != 0 {
		path, _, _ := s.app.SnapshotTableFile(ch.snapAt)
		p := binary.AppendUvarint(nil, ch.snapAt)
		p = appendProgress(p, ch.want)
		p = append(p, path...)
		b = appendFrame(b, frameSnapshot, p)
		c.askedMu.Lock()
		c.asked = append(c.asked, writtenTable{seq: ch.snapAt, path: path})
		c.askedMu.Unlock()
	}
	c.wbuf = b
	return s.writeToChild(b)
}

// Falling behind. At idle priority the child runs only on CPU time no
// one else wants; a venue busy for long starves it, its input pipe fills
// and the queue behind it, and then the shard waits (back-pressure). So
// when a write has waited snapBoostAfter, the child is raised to the
// normal policy — or, when the venue runs under SCHED_FIFO
// (Venue.SetRealtime), to the venue's priority: the normal policy would
// get only the kernel's share for it (about 5% of a CPU) — until it has
// taken the write, and put back to idle; one that takes nothing for
// snapStallLimit even then (stopped, hung) is lost: killed, and the
// snapshots stop (childLost), not the shard. Raised to the venue's FIFO
// priority on the venue's CPU, the child is not time-sliced against the
// venue's threads: each of its bursts (applying a pipe's worth of
// commands, encoding a snapshot) holds the venue until it ends.
var (
	snapBoostAfter = 100 * time.Millisecond
	snapStallLimit = 10 * time.Second // a variable for tests
)

// writeToChild writes b to the child's input (see Falling behind).
func (s *snapshotter) writeToChild(b []byte) error {
	c := s.child
	c.in.SetWriteDeadline(time.Now().Add(snapBoostAfter))
	n, err := c.in.Write(b)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	boosted := s.setChildIdle(false)
	if boosted {
		s.stats.boosts.Add(1)
	}
	c.in.SetWriteDeadline(time.Now().Add(snapStallLimit))
	_, err = c.in.Write(b[n:])
	if boosted {
		s.setChildIdle(true)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		how := "even at normal priority"
		if prio := s.raisePrio(); prio > 0 {
			how = fmt.Sprintf("even at the venue's real-time priority (SCHED_FIFO %d)", prio)
		}
		if !boosted {
			how = "at idle priority (it could not be raised: see the warning at start)"
		}
		return fmt.Errorf("it took no input for %v, %s", snapStallLimit, how)
	}
	return err
}

// setChildIdle puts the child under SCHED_IDLE or raises it — to the
// normal policy, or to the venue's real-time one (Venue.SetRealtime) —
// and reports whether it did. Not once the child is gone or has exited
// (its PID may be another process's by now), nor when it cannot be
// raised (canRaise: the venue lacks the right, see startSnapChild).
func (s *snapshotter) setChildIdle(idle bool) bool {
	c := s.child
	if c.notIdle != "" || !c.canRaise || s.childGone.Load() {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
	}
	if prio := s.raisePrio(); !idle && prio > 0 {
		if err := threads.SetProcessRealtime(c.cmd.Process.Pid, prio); err != nil {
			// Some threads may have been raised before the error: all
			// back to idle, not left at the venue's priority.
			threads.SetProcessIdle(c.cmd.Process.Pid, true)
			s.log.Warn("could not raise the lagging snapshot process to the venue's real-time priority",
				"shard", s.shard, "priority", prio, "err", err)
			return false
		}
		return true
	}
	return threads.SetProcessIdle(c.cmd.Process.Pid, idle) == nil
}

// raisePrio is the SCHED_FIFO priority to raise a lagging child to, 0:
// the normal policy.
func (s *snapshotter) raisePrio() int {
	if s.raiseTo == nil {
		return 0
	}
	return int(s.raiseTo.Load())
}

// readChild reads the child's frames until its output ends.
func (s *snapshotter) readChild() {
	c := s.child
	var buf []byte
	for {
		kind, payload, err := readFrame(c.out, buf, maxReplyFrame)
		if err != nil {
			if !(err == io.EOF && s.stopping.Load()) {
				s.childLost(fmt.Errorf("reading from it: %w", err))
			}
			return
		}
		buf = payload[:0]
		pr := payloadReader{b: payload}
		switch kind {
		case frameApplied:
			if seq := pr.uvarint(); !pr.bad {
				s.stats.applied.Store(seq)
			}
		case frameDone:
			seq := pr.uvarint()
			pr.bytes(journal.HashSize)
			path := string(pr.b)
			if pr.bad {
				s.childLost(errors.New("a bad frame from it"))
				return
			}
			if want, ok := c.answered(); !ok || want.seq != seq || want.path != path {
				s.childLost(fmt.Errorf("it reported the snapshot at seq %d in %s, not the one asked for (%+v)", seq, path, want))
				os.Remove(path)
				return
			}
			s.offerTable(writtenTable{seq: seq, path: path})
		case frameDiverged:
			// It takes no more snapshots: none of those asked is coming.
			c.askedMu.Lock()
			c.asked = nil
			c.askedMu.Unlock()
			s.diverged(string(payload))
		case frameError:
			// The child could not write a table (the journal's disk) or
			// was given what it could not apply: as PutSnapshot's failure.
			s.broken.Store(true)
			s.fail(fmt.Errorf("shard %d's snapshot process: %s", s.shard, payload))
		default:
			s.childLost(fmt.Errorf("an unknown frame %q from it", kind))
			return
		}
	}
}

// answered takes the oldest snapshot asked of the child.
func (c *snapChild) answered() (writtenTable, bool) {
	c.askedMu.Lock()
	defer c.askedMu.Unlock()
	if len(c.asked) == 0 {
		return writtenTable{}, false
	}
	t := c.asked[0]
	c.asked = c.asked[1:]
	return t, true
}

// writtenTable is a snapshot table the child has written, for the
// ingester (ingestTables).
type writtenTable struct {
	seq  uint64
	path string
}

// offerTable hands a written table to the ingester; one it has not taken
// yet is superseded: removed, never stored.
func (s *snapshotter) offerTable(t writtenTable) {
	s.tableMu.Lock()
	if s.table != nil {
		os.Remove(s.table.path)
		s.stats.superseded.Add(1)
	}
	s.table = &t
	s.tableMu.Unlock()
	select {
	case s.tableOffered <- struct{}{}:
	default:
	}
}

// takeTable takes the table offered last, if any.
func (s *snapshotter) takeTable() *writtenTable {
	s.tableMu.Lock()
	defer s.tableMu.Unlock()
	t := s.table
	s.table = nil
	return t
}

// snapWALWait bounds how long the ingester waits for a WAL rotation
// before it stores a snapshot (with DurabilityNone; see ingestTables);
// after it the journal syncs the WAL for the snapshot. Pebble's memtable
// starts at 256 KiB and doubles up to 64 MiB: in bench fix at 10,000
// orders a second (1 session, --mix cancel) the rotations came at about
// 1.3, 2.6, 5, 10 and 20 s, so the first snapshots wait for one; once the
// memtable is full size rotations are rarer than snapWALWait at that rate
// (not measured past 30 s), and a snapshot is then stored with a sync at
// most every snapWALWait, the newer ones superseding the older.
var snapWALWait = 10 * time.Second // a variable for tests

// ingestTables is the ingester: it stores the tables the child writes
// (journal IngestSnapshot) until the reader is done. With DurabilityNone
// it first waits for Pebble's next WAL rotation (journal WALRotated),
// which syncs the records the snapshot follows, so that the journal need
// not sync the WAL for it (a stall of every commit for the sync's
// length), but for at most snapWALWait, and not once the venue stops. A
// table the child writes meanwhile supersedes the one waiting.
func (s *snapshotter) ingestTables(readerDone <-chan struct{}) {
	for {
		select {
		case <-s.tableOffered:
		case <-readerDone:
			// The reader offers nothing more: store what it left.
			if t := s.takeTable(); t != nil {
				s.ingest(t, s.app.WALMark())
			}
			return
		}
		t := s.takeTable()
		if t == nil {
			continue
		}
		mark := s.app.WALMark()
		if s.app.SnapshotSyncsWAL() {
			deadline := time.NewTimer(snapWALWait)
		wait:
			for {
				select {
				case <-s.app.WALRotated(mark):
					break wait
				case <-s.stopWait:
					break wait
				case <-deadline.C:
					break wait
				case <-s.tableOffered:
					select {
					case <-s.app.WALRotated(mark):
						// This one may be stored now: store it, and the
						// newer one next (signalled again, unless the
						// reader has just done so).
						select {
						case s.tableOffered <- struct{}{}:
						default:
						}
						break wait
					default:
					}
					if newer := s.takeTable(); newer != nil {
						os.Remove(t.path)
						s.stats.superseded.Add(1)
						t, mark = newer, s.app.WALMark()
					}
				}
			}
			deadline.Stop()
		}
		s.ingest(t, mark)
	}
}

// ingest stores a table the child wrote.
func (s *snapshotter) ingest(t *writtenTable, walMark uint64) {
	if s.broken.Load() {
		os.Remove(t.path)
		return
	}
	s.stored(t.seq, s.app.IngestSnapshot(t.seq, t.path, walMark))
}

// childLost stops the snapshots when the child can no longer take them
// (see the top of this file); the venue goes on.
func (s *snapshotter) childLost(err error) {
	if s.childGone.Swap(true) {
		return
	}
	close(s.childGoneCh)
	if s.broken.Swap(true) {
		return // already stopped, and said why
	}
	s.log.Error("SNAPSHOTS STOPPED: the shard's snapshot process is gone; no snapshot is stored until a restart",
		"shard", s.shard, "err", err)
	s.stats.childLost.Store(true)
}

// childEnv is the venue's environment for its snapshot process, without
// GODEBUG's schedtrace: serve sets it to keep the Go runtime's sysmon
// from parking (fxmatch's sysmon.go), which the child has no use for —
// an awake sysmon keeps waking (every 20 µs to 10 ms) on the venue's
// CPUs. Not measured on its own: the first runs with the child keeping
// it were slower (venue p50 37-39 µs against 25-27 µs inline, 2 runs
// each), but the runs after the change were on a slower machine and do
// not tell them apart.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			var keep []string
			for _, s := range strings.Split(v, ",") {
				if !strings.HasPrefix(s, "schedtrace=") {
					keep = append(keep, s)
				}
			}
			if len(keep) == 0 {
				continue
			}
			kv = "GODEBUG=" + strings.Join(keep, ",")
		}
		out = append(out, kv)
	}
	return out
}
