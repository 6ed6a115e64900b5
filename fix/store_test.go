package fix

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
		ss, err := st.Session(testSID)
		if err != nil {
			t.Fatal(err)
		}
		ss.gated = false
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
	st, err := OpenStore(dir, StoreOptions{MessagesMax: 10, CompactBytes: 1 << 10})
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
	size := ss.size
	st.Close()
	// The file ends where its records do.
	if fi, err := os.Stat(ss.path); err != nil || fi.Size() != size {
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
