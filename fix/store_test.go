package fix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
)

var testSID = quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "FXMATCH", TargetCompID: "BANKA"}

// A SIGKILL right after the store's commits loses nothing: every commit is
// in the kernel when it returns (see store.go). The child process commits
// and kills itself; the parent reopens.
func TestStoreSurvivesSIGKILL(t *testing.T) {
	const n = 500
	if dir := os.Getenv("FIX_STORE_CHILD"); dir != "" {
		st, err := OpenStore(dir, StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ss := ungatedSession(t, st)
		for i := 1; i <= n; i++ {
			if err := ss.SaveMessageAndIncrNextSenderMsgSeqNum(i, []byte(fmt.Sprintf("message %d", i))); err != nil {
				t.Fatal(err)
			}
			if err := ss.IncrNextTargetMsgSeqNum(); err != nil {
				t.Fatal(err)
			}
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir := filepath.Join(t.TempDir(), "fix-sessions")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "FIX_STORE_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out)
	}
	st, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Session(testSID)
	if err != nil {
		t.Fatal(err)
	}
	if s, tg := ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(); s != n+1 || tg != n+1 {
		t.Fatalf("after SIGKILL: next sender %d, next target %d; want %d and %d", s, tg, n+1, n+1)
	}
	msgs, err := ss.GetMessages(n-1, n)
	if err != nil || len(msgs) != 2 || string(msgs[1]) != fmt.Sprintf("message %d", n) {
		t.Fatalf("messages %q, %v", msgs, err)
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	// One segment: what is kept here is prune's doing alone (a new
	// segment forgets too; TestStoreSegments).
	st, err := OpenStore(dir, StoreOptions{MessagesMax: 10, SegmentBytes: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := st.Session(testSID)
	if err != nil {
		t.Fatal(err)
	}
	if ss.NextSenderMsgSeqNum() != 1 || ss.NextTargetMsgSeqNum() != 1 || ss.CreationTime().IsZero() {
		t.Fatalf("new session: %d %d %v", ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(), ss.CreationTime())
	}
	created := ss.CreationTime()
	for i := 1; i <= pruneEvery+20; i++ {
		if err := ss.SaveMessageAndIncrNextSenderMsgSeqNum(i, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// The gate: before authentication the target number does not move.
	ss.gated = true
	_ = ss.IncrNextTargetMsgSeqNum()
	_ = ss.SetNextTargetMsgSeqNum(50)
	if got := ss.NextTargetMsgSeqNum(); got != 1 {
		t.Fatalf("gated target moved to %d", got)
	}
	ss.setAuthenticated(true)
	_ = ss.SetNextTargetMsgSeqNum(7)
	// Old messages were pruned at the last multiple of pruneEvery.
	var got [][]byte
	_ = ss.IterateMessages(1, pruneEvery+20, func(b []byte) error { got = append(got, b); return nil })
	if want := 20 + 10; len(got) != want || !bytes.Equal(got[len(got)-1], []byte(fmt.Sprint(pruneEvery+20))) {
		t.Fatalf("%d messages kept, want %d", len(got), want)
	}
	size, name := ss.cur().size, ss.cur().f.Name()
	st.Close()
	// The file ends where its records do.
	if fi, err := os.Stat(name); err != nil || fi.Size() != size {
		t.Fatalf("closed file: %v bytes (%v), records end at %d", fi.Size(), err, size)
	}

	st, err = OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, _ = st.Session(testSID)
	if ss.NextSenderMsgSeqNum() != pruneEvery+21 || ss.NextTargetMsgSeqNum() != 7 || !ss.CreationTime().Equal(created) {
		t.Fatalf("reopened: %d %d %v", ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(), ss.CreationTime())
	}
	if err := ss.Reset(); err != nil {
		t.Fatal(err)
	}
	msgs, _ := ss.GetMessages(1, 1<<20)
	if ss.NextSenderMsgSeqNum() != 1 || ss.NextTargetMsgSeqNum() != 1 || len(msgs) != 0 {
		t.Fatalf("after reset: %d %d, %d messages", ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(), len(msgs))
	}
	// Another session's state is its own.
	other, _ := st.Session(quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "FXMATCH", TargetCompID: "BANKB"})
	if other.NextSenderMsgSeqNum() != 1 {
		t.Fatal("sessions share state")
	}
}

// msgIndex against a map, under random sets (mostly the next number, some
// gaps, some rewrites), prunes and resets.
func TestMsgIndex(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	const spanMax = 1 << 20 // never reached here: the map is the whole truth
	var x msgIndex
	ref := map[int]msgLoc{}
	next := 1
	for i := range 200_000 {
		switch r := rng.IntN(1000); {
		case r < 900:
			next++
		case r < 950:
			next += rng.IntN(50) // a gap
		case r < 990:
			next = max(1, next-rng.IntN(20)) // a rewrite
		case r < 999:
			lo := next - rng.IntN(500)
			x.dropBelow(lo)
			for seq := range ref {
				if seq < lo {
					delete(ref, seq)
				}
			}
			continue
		default:
			x.reset()
			clear(ref)
			continue
		}
		loc := msgLoc{int64(i), int32(1 + rng.IntN(300))}
		x.set(next, loc, spanMax)
		ref[next] = loc
		if i%997 == 0 || i > 199_000 {
			var bytes int64
			for _, l := range ref {
				bytes += int64(l.n)
			}
			if x.count != len(ref) || x.bytes != bytes {
				t.Fatalf("seed %d, op %d: %d kept (%d bytes), want %d (%d bytes)", seed, i, x.count, x.bytes, len(ref), bytes)
			}
			for seq := next - 600; seq <= next+5; seq++ {
				got, ok := x.get(seq)
				want, wok := ref[seq]
				if ok != wok || got != want {
					t.Fatalf("seed %d, op %d: seq %d: %v %v, want %v %v", seed, i, seq, got, ok, want, wok)
				}
			}
			prev := 0
			x.each(next-600, next+5, func(seq int, l msgLoc) bool {
				if seq <= prev || ref[seq] != l {
					t.Fatalf("seed %d, op %d: each gave %d %v after %d", seed, i, seq, l, prev)
				}
				prev = seq
				return true
			})
		}
	}
	// The window is bounded: a jump forgets what is spanMax behind.
	x.reset()
	x.set(10, msgLoc{1, 1}, 100)
	x.set(11, msgLoc{2, 1}, 100)
	x.set(200, msgLoc{3, 1}, 100)
	if _, ok := x.get(10); ok || x.count != 1 || x.n != 1 {
		t.Fatalf("after a jump: %d kept over %d slots", x.count, x.n)
	}
}

// TestMsgIndexReserve: a ring with a reserve is made that size at its
// first message and never copied while the window stays within it (the
// doubling it replaces copied up to 4 MiB at once on the pump's
// goroutine); beyond it, it still grows. A session store reserves the
// window prune keeps.
func TestMsgIndexReserve(t *testing.T) {
	const reserve = 1 << 12
	x := msgIndex{reserve: reserve}
	x.set(1, msgLoc{off: 0, n: 10}, 1<<20)
	if len(x.ring) != reserve {
		t.Fatalf("first ring: %d slots, want %d", len(x.ring), reserve)
	}
	first := &x.ring[0]
	for seq := 2; seq <= reserve; seq++ {
		x.set(seq, msgLoc{off: int64(seq) * 10, n: 10}, 1<<20)
	}
	if len(x.ring) != reserve || &x.ring[0] != first {
		t.Fatalf("the ring was made again within its reserve (%d slots)", len(x.ring))
	}
	if l, ok := x.get(reserve); !ok || l.off != reserve*10 {
		t.Fatalf("get(%d) = %+v, %v", reserve, l, ok)
	}
	x.set(reserve+1, msgLoc{off: 1, n: 10}, 1<<20)
	if len(x.ring) != 2*reserve {
		t.Fatalf("past the reserve: %d slots, want %d", len(x.ring), 2*reserve)
	}
	for seq := 1; seq <= reserve+1; seq++ {
		if _, ok := x.get(seq); !ok {
			t.Fatalf("message %d lost in the growth", seq)
		}
	}

	st, err := OpenStore(t.TempDir(), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Session(testSID)
	if err != nil {
		t.Fatal(err)
	}
	if r := ss.msgs.reserve; r < ss.st.opts.MessagesMax+pruneEvery || r&(r-1) != 0 {
		t.Errorf("a session's ring reserve is %d: want a power of two of at least MessagesMax+pruneEvery (%d)", r, ss.st.opts.MessagesMax+pruneEvery)
	}
}

// segMsg is message seq's bytes in the segment tests: its number and a
// length that varies with it, so that a message read from the wrong place
// or cut short shows.
func segMsg(seq int) []byte {
	return fmt.Appendf(nil, "message %d %s", seq, bytes.Repeat([]byte{'a' + byte(seq%26)}, 40+seq%200))
}

// checkKept fails unless ss keeps every message of the last kept numbers
// before next (byte for byte) and nothing out of order or misplaced, and
// returns the lowest kept number.
// ungatedSession is the test session's store, open as after a logon
// (not gated: see sessionStore's gate).
func ungatedSession(t *testing.T, st *Store) *sessionStore {
	t.Helper()
	ss, err := st.Session(testSID)
	if err != nil {
		t.Fatal(err)
	}
	ss.gated = false
	return ss
}

func checkKept(t *testing.T, what string, ss *sessionStore, next, kept int) int {
	t.Helper()
	var got [][]byte
	if err := ss.IterateMessages(1, next+10, func(b []byte) error { got = append(got, b); return nil }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(got) < kept {
		t.Fatalf("%s: %d messages kept before %d, want at least %d", what, len(got), next, kept)
	}
	first := next - len(got)
	for i, b := range got {
		if want := segMsg(first + i); !bytes.Equal(b, want) {
			t.Fatalf("%s: message %d of %d kept (from %d) is %.40q, want %.40q", what, i, len(got), first, b, want)
		}
	}
	return first
}

// sessionFiles are the names of the files in dir.
func sessionFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	return names
}

// A session's log goes on in new segments and its old ones go once their
// messages are forgotten: what is kept, both numbers and the files on disk
// stay right through many of both, and after a reopen.
func TestStoreSegments(t *testing.T) {
	t.Run("write", func(t *testing.T) { testStoreSegments(t, false, 3000) })
	// With Fsync the segments are made and started with their fsyncs
	// (fewer messages: a disk flush per commit).
	t.Run("fsync", func(t *testing.T) { testStoreSegments(t, true, 600) })
}

func testStoreSegments(t *testing.T, fsync bool, msgs int) {
	const kept, segBytes = 100, 4 << 10
	dir := t.TempDir()
	opts := StoreOptions{MessagesMax: kept, SegmentBytes: segBytes, Fsync: fsync}
	st, err := OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ss := ungatedSession(t, st)
	rng := rand.New(rand.NewPCG(1, 2))
	next, target, maxSegs := 1, 1, 0
	for next < msgs {
		for range 1 + rng.IntN(4) { // a pump's batch
			ss.queueMessage(next, segMsg(next))
			next++
		}
		if rng.IntN(3) == 0 {
			ss.incrTargetQueued()
			target++
		}
		if err := ss.commit(); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(50) == 0 {
			checkKept(t, fmt.Sprintf("before %d", next), ss, next, min(kept, next-1))
		}
		maxSegs = max(maxSegs, len(ss.segs))
	}
	// Records of up to ~280 bytes, 4 KiB segments (8 KiB when the
	// janitor is late): 100 kept messages span at most 8 segments, and
	// the one appended to comes on top.
	if maxSegs > 9 {
		t.Errorf("up to %d segments: old ones were not retired", maxSegs)
	}
	if n := ss.cur().num; n < int64(msgs/60) { // ~250-byte records, segments of up to 8 KiB
		t.Errorf("only %d segments started", n)
	}
	segs := len(ss.segs)
	st.Close()
	if files := sessionFiles(t, dir); len(files) != segs {
		t.Errorf("closed store: %d files, %d segments: %v", len(files), segs, files)
	}
	st, err = OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, _ = st.Session(testSID)
	if ss.NextSenderMsgSeqNum() != next || ss.NextTargetMsgSeqNum() != target {
		t.Fatalf("reopened: next sender %d, target %d; want %d, %d", ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(), next, target)
	}
	checkKept(t, "reopened", ss, next, kept)
	// A reset leaves one segment, and the others go.
	if err := ss.Reset(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if files := sessionFiles(t, dir); len(files) != 1 {
		t.Errorf("after a reset: files %v, want one", files)
	}
}

// storeSnap is a copy of a store's directory taken at a step of starting
// or retiring a segment, with the state committed then.
type storeSnap struct {
	step         string
	dir          string
	next, target int
}

// copyDir copies the files of src into a new directory: what a restart
// after a crash at that moment would find (the page cache outlives the
// process).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range sessionFiles(t, src) {
		b, err := os.ReadFile(filepath.Join(src, name))
		if os.IsNotExist(err) {
			continue // retired meanwhile by the janitor: a crash could find either
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A crash at any step of starting or retiring a segment loses nothing
// committed: the files as they are at each step (copied by the store's
// hook) reopen to both numbers as committed and every message kept. The
// steps on the committing goroutine see the commit that made them; the
// janitor's wait for the committer to be between commits (quiet).
func TestStoreCrashMidSegment(t *testing.T) {
	const kept, segBytes = 50, 2 << 10
	dir := t.TempDir()
	opts := StoreOptions{MessagesMax: kept, SegmentBytes: segBytes}
	st, err := OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var (
		quiet                sync.Mutex // held by the committer around each commit
		next, target         = 1, 1     // committed (under quiet)
		wantNext, wantTarget = 1, 1     // what the commit in progress commits (at first: the new session's)
		snaps                []storeSnap
	)
	st.hook = func(step string) {
		if strings.HasPrefix(step, "roll:") { // the committer, under quiet
			snaps = append(snaps, storeSnap{step, copyDir(t, dir), wantNext, wantTarget})
			return
		}
		quiet.Lock()
		snaps = append(snaps, storeSnap{step, copyDir(t, dir), next, target})
		quiet.Unlock()
	}
	ss := ungatedSession(t, st)
	for next < 800 {
		quiet.Lock()
		wantNext, wantTarget = next+1+next%3, target+next%2
		for seq := next; seq < wantNext; seq++ {
			ss.queueMessage(seq, segMsg(seq))
		}
		if next%2 == 1 {
			ss.incrTargetQueued()
		}
		if err := ss.commit(); err != nil {
			t.Fatal(err)
		}
		next, target = wantNext, wantTarget
		quiet.Unlock()
	}
	st.Close()
	steps := map[string]int{}
	for _, s := range snaps {
		steps[s.step]++
		st, err := OpenStore(s.dir, opts)
		if err != nil {
			t.Fatalf("%s: %v", s.step, err)
		}
		ss, err := st.Session(testSID)
		if err != nil {
			t.Fatalf("%s: %v", s.step, err)
		}
		what := fmt.Sprintf("crash at %s (next %d)", s.step, s.next)
		if ss.NextSenderMsgSeqNum() != s.next || ss.NextTargetMsgSeqNum() != s.target {
			t.Fatalf("%s: next sender %d, target %d; want %d, %d", what, ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(), s.next, s.target)
		}
		checkKept(t, what, ss, s.next, min(kept, s.next-1))
		st.Close()
	}
	for _, step := range []string{stepPrecreated, stepRollFile, stepRollHead, stepRetire, stepUnlinked} {
		if steps[step] == 0 {
			t.Errorf("step %s never seen (%v)", step, steps)
		}
	}
}

// Messages keep being saved and resent while the janitor retires a
// segment: the committing goroutine never waits for it (the retirement
// is held until the committer has made 2,000 commits; if it ran on the
// committer, they would never come), the next segment is made by the
// committer when the janitor is late, resends read right meanwhile (-race
// checks the sharing), and a reopen finds every kept message and both
// numbers.
func TestStoreSavesWhileRetiring(t *testing.T) {
	const kept, segBytes = 200, 8 << 10
	dir := t.TempDir()
	opts := StoreOptions{MessagesMax: kept, SegmentBytes: segBytes}
	st, err := OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var commits atomic.Int64
	release := make(chan struct{})
	var held atomic.Bool
	st.hook = func(step string) {
		if step != stepRetire || !held.CompareAndSwap(false, true) {
			return
		}
		from := commits.Load()
		select {
		case <-release:
			if c := commits.Load(); c < from+2000 {
				t.Errorf("retirement released after %d commits", c-from)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the committer made %d commits while a retirement was held: it waits for the janitor", commits.Load()-from)
		}
	}
	ss := ungatedSession(t, st)
	// sendMu is the party's send lock: a resend and a batch's queue and
	// commit exclude each other there (queued messages are indexed at
	// offsets not yet written).
	var sendMu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // resends
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			sendMu.Lock()
			next := ss.NextSenderMsgSeqNum()
			prev := 0
			err := ss.IterateMessages(max(1, next-2*kept), next, func(b []byte) error {
				var seq int
				if _, err := fmt.Sscanf(string(b), "message %d", &seq); err != nil || !bytes.Equal(b, segMsg(seq)) || prev != 0 && seq != prev+1 {
					return fmt.Errorf("resent %.30q after %d", b, prev)
				}
				prev = seq
				return nil
			})
			sendMu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	next, target, heldAt := 1, 1, int64(0)
	for n := 0; n < 20000; n++ {
		sendMu.Lock()
		ss.queueMessage(next, segMsg(next))
		next++
		ss.incrTargetQueued()
		target++
		err := ss.commit()
		sendMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		c := commits.Add(1)
		if held.Load() && heldAt == 0 {
			heldAt = c
		}
		if heldAt != 0 && c == heldAt+2000 {
			close(release)
		}
	}
	close(stop)
	<-done
	if heldAt == 0 {
		t.Fatal("no segment was retired")
	}
	checkKept(t, "running", ss, next, kept)
	st.Close()
	st, err = OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ss, _ = st.Session(testSID)
	if ss.NextSenderMsgSeqNum() != next || ss.NextTargetMsgSeqNum() != target {
		t.Fatalf("reopened: next sender %d, target %d; want %d, %d", ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(), next, target)
	}
	checkKept(t, "reopened", ss, next, kept)
	// No file is left behind (the janitor's late files were removed),
	// once the janitor is done (Close).
	segs := len(ss.segs)
	st.Close()
	if files := sessionFiles(t, dir); len(files) != segs {
		t.Errorf("%d files on disk, %d segments: %v", len(files), segs, files)
	}
}

// A session file of the store before segments (testdata/store-v1-BANKA.fixlog,
// written by it: 4,696 messages "legacy message N", a compaction at 4,096,
// the target number moved every third) opens as it is, is appended to,
// and is retired like any segment once its messages are forgotten; the
// interrupted compaction's temporary file is removed.
func TestStoreOpensSingleFile(t *testing.T) {
	dir := t.TempDir()
	v1, err := os.ReadFile("testdata/store-v1-BANKA.fixlog")
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, fileName(testSID.String()))
	if err := os.WriteFile(name, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name+".tmp", v1[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	opts := StoreOptions{SegmentBytes: 16 << 10, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	st, err := OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := st.Session(testSID)
	if err != nil {
		t.Fatal(err)
	}
	if s, tg := ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(); s != 4697 || tg != 1566 {
		t.Fatalf("single file: next sender %d, target %d; want 4697, 1566", s, tg)
	}
	msgs, err := ss.GetMessages(1, 5000)
	if err != nil || len(msgs) != 700 || string(msgs[0]) != "legacy message 3997" || string(msgs[699]) != "legacy message 4696" {
		t.Fatalf("single file: %d messages (%v), want 3997..4696", len(msgs), err)
	}
	if _, err := os.Stat(name + ".tmp"); !os.IsNotExist(err) || !strings.Contains(logs.String(), "temporary file removed") {
		t.Errorf("the temporary file is still there (%v), or not logged: %s", err, logs)
	}
	// Appended to while it is the last; then new segments.
	ss.gated = false
	for i := 4697; i < 4697+300; i++ {
		if err := ss.SaveMessageAndIncrNextSenderMsgSeqNum(i, segMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.SetNextTargetMsgSeqNum(2000); err != nil {
		t.Fatal(err)
	}
	if ss.segs[0].num != 0 || len(ss.segs) < 2 {
		t.Fatalf("segments %d.., %d of them: the single file was not appended to, then followed", ss.segs[0].num, len(ss.segs))
	}
	st.Close()
	// Reopened, with fewer messages kept: the single file's are all
	// forgotten, and it goes.
	st, err = OpenStore(dir, StoreOptions{SegmentBytes: 16 << 10, MessagesMax: 100})
	if err != nil {
		t.Fatal(err)
	}
	ss, _ = st.Session(testSID)
	if s, tg := ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(); s != 4997 || tg != 2000 {
		t.Fatalf("reopened: next sender %d, target %d; want 4997, 2000", s, tg)
	}
	checkKept(t, "reopened", ss, 4997, 100)
	st.Close()
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("the single file was not retired (%v): %v", err, sessionFiles(t, dir))
	}
	st, err = OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, _ = st.Session(testSID)
	if s, tg := ss.NextSenderMsgSeqNum(), ss.NextTargetMsgSeqNum(); s != 4997 || tg != 2000 {
		t.Fatalf("after the single file went: next sender %d, target %d; want 4997, 2000", s, tg)
	}
}

// A new segment that cannot be started (its head's write fails) fails the
// commit with ErrStore, as a failed write does, and the log goes on in
// the segment before: the next commits succeed, and a reopen finds
// everything, the records of the failed commit included (they were
// written before the new segment was due).
func TestStoreRollFailure(t *testing.T) {
	const kept = 50
	dir := t.TempDir()
	opts := StoreOptions{MessagesMax: kept, SegmentBytes: 2 << 10, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	st, err := OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := st.Session(testSID)
	if err != nil {
		t.Fatal(err)
	}
	failed, next := 0, 1
	for next < 400 {
		if next == 200 {
			// The next segment's file, as the janitor makes it, but
			// closed: its head's write will fail.
			ss.mu.Lock()
			for ss.creating { // the janitor's on its way: let it finish
				ss.mu.Unlock()
				time.Sleep(time.Millisecond)
				ss.mu.Lock()
			}
			if ss.next == nil {
				ss.numLast++
				f, err := ss.createSegment(ss.numLast)
				if err != nil {
					t.Fatal(err)
				}
				ss.next, ss.nextNum = f, ss.numLast
			}
			ss.next.Close()
			ss.mu.Unlock()
		}
		ss.queueMessage(next, segMsg(next))
		next++
		if err := ss.commit(); err != nil {
			if !errors.Is(err, ErrStore) {
				t.Fatalf("commit: %v, not ErrStore", err)
			}
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d commits failed, want 1", failed)
	}
	checkKept(t, "running", ss, next, kept)
	st.Close()
	st, err = OpenStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, _ = st.Session(testSID)
	if ss.NextSenderMsgSeqNum() != next {
		t.Fatalf("reopened: next sender %d, want %d", ss.NextSenderMsgSeqNum(), next)
	}
	checkKept(t, "reopened", ss, next, kept)
}
