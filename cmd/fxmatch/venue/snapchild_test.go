package venue

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fxmatch/config"
	"fxmatch/engine"
	"fxmatch/internal/syncbuf"
	"fxmatch/internal/threads"
	"fxmatch/journal"
)

// syncBuffer is a bytes.Buffer that code under test may write while the
// test reads.
type syncBuffer = syncbuf.Buffer

// schedPolicy is a thread's scheduling policy (/proc/PID/task/TID/stat
// field 41).
func schedPolicy(t *testing.T, pid, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var p int
	fmt.Sscan(f[38], &p) // field 41; f[0] is field 3
	return p
}

// TestSnapshotProcessIdleAndLost: each shard's snapshot process runs
// every thread under SCHED_IDLE; when one is killed the venue goes on
// matching and journaling, says so in an error log line and in
// SnapshotStats, stores no more snapshots for that shard (the other
// shard's go on), stops cleanly, and recovers to the primary's state.
func TestSnapshotProcessIdleAndLost(t *testing.T) {
	dir := t.TempDir()
	// Durability sync: snapshots are stored as soon as they are written
	// (with none they wait for the WAL: TestSnapshotProcessWaitsForTheWAL).
	cfg := twoShards(config.DurabilitySync)
	var logs syncBuffer
	r := startWith(t, Options{Config: cfg, DataDir: dir, SnapshotEvery: 40, SnapshotProcess: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	stopped := false
	defer func() {
		if !stopped {
			r.stop()
		}
	}()
	if runtime.GOOS == "linux" {
		for si, sr := range r.v.shards {
			pid := sr.snap.child.cmd.Process.Pid
			for _, tid := range tasksOf(t, pid) {
				if p := schedPolicy(t, pid, tid); p != 5 {
					t.Errorf("shard %d: snapshot process thread %d under policy %d, not SCHED_IDLE (5)", si, tid, p)
				}
			}
		}
	}
	trade(t, r.v, 300)
	waitFor(t, "snapshots on both shards", func() bool {
		return r.v.SnapshotStats(0).Taken > 0 && r.v.SnapshotStats(1).Taken > 0
	})

	lost := r.v.shards[1].snap
	if err := lost.child.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-lost.child.exited
	trade(t, r.v, 600)
	waitFor(t, "the loss to be noticed", func() bool { return r.v.SnapshotStats(1).ProcessLost })
	takenAt := r.v.SnapshotStats(1).Taken
	before0 := r.v.SnapshotStats(0).Taken
	trade(t, r.v, 300)
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	if err := r.v.Err(); err != nil {
		t.Fatalf("the venue failed: %v", err)
	}
	if st := r.v.SnapshotStats(1); st.Taken != takenAt || !st.ProcessLost {
		t.Errorf("shard 1 after its process was lost: %+v (taken %d when it was noticed)", st, takenAt)
	}
	if st := r.v.SnapshotStats(0); st.Taken <= before0 || st.ProcessLost {
		t.Errorf("shard 0 stopped taking snapshots too: %+v (had %d)", st, before0)
	}
	if !strings.Contains(logs.String(), "SNAPSHOTS STOPPED") || !strings.Contains(logs.String(), "shard=1") {
		t.Errorf("no error log line for the lost process:\n%s", logs.String())
	}
	var primary [2][32]byte
	for si, sr := range r.v.shards {
		primary[si] = sr.eng.StateHash()
		if sr.app.Durable() < 1200/2 {
			t.Errorf("shard %d journaled only %d commands", si, sr.app.Durable())
		}
	}
	recoversTo(t, cfg, dir, primary[:])
}

// TestSnapshotProcessWaitsForTheWAL: with durability none, a written
// snapshot waits for Pebble's next WAL rotation (none comes by itself in
// this short run) and a newer one supersedes it — its table removed,
// never stored; a rotation (a flush) lets the waiting one be stored
// without a WAL sync of its own; at the stop the one waiting (and any
// still being worked through) is stored at once, with one each; and no
// table is left behind.
func TestSnapshotProcessWaitsForTheWAL(t *testing.T) {
	defer func(d time.Duration) { snapWALWait = d }(snapWALWait)
	snapWALWait = time.Hour
	dir := t.TempDir()
	cfg := config.Demo()
	cfg.Venue.Durability = config.DurabilityNone
	r := startWith(t, Options{Config: cfg, DataDir: dir, SnapshotEvery: 20, SnapshotProcess: true})
	app := r.v.shards[0].app
	mark := app.WALMark()
	// Rounds apart in time, so that each ends in a batch of its own with a
	// snapshot due (Deliver asks at most one a batch).
	waitFor(t, "a superseded snapshot", func() bool {
		trade(t, r.v, 30)
		time.Sleep(20 * time.Millisecond)
		return r.v.SnapshotStats(0).Superseded > 0
	})
	// Pebble's first memtables are small: a rotation may come by itself.
	if st := r.v.SnapshotStats(0); st.Taken != 0 && app.WALMark() == mark {
		t.Fatalf("a snapshot stored with no WAL rotation: %+v", st)
	}
	taken := r.v.SnapshotStats(0).Taken
	if err := r.v.Journal().Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the waiting snapshot stored after a rotation", func() bool { return r.v.SnapshotStats(0).Taken > taken })
	if n := r.v.Journal().Stats().SnapshotWALSyncs; n != 0 {
		t.Fatalf("%d WAL syncs for snapshots stored after rotations", n)
	}
	trade(t, r.v, 30) // one more snapshot, waiting at the stop
	takenBefore := r.v.SnapshotStats(0).Taken
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	st := r.v.SnapshotStats(0)
	last := r.v.shards[0].lastSnap
	if st.Taken < 2 || st.LastSeq != last {
		t.Fatalf("after the stop: %+v, want the snapshot at %d stored", st, last)
	}
	// Only those stored at the stop may have synced the WAL, each once:
	// the one waiting, and any the process was still working through (a
	// backlog, when it ran slowly: CI under -race saw ten) — none stored
	// earlier.
	atStop := st.Taken - takenBefore
	if n := r.v.Journal().Stats().SnapshotWALSyncs; n > atStop {
		t.Fatalf("%d WAL syncs for snapshots, want at most %d (those stored at the stop)", n, atStop)
	}
	names, err := os.ReadDir(dir + "/journal")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n.Name(), "fxmatch-snapshot-") {
			t.Errorf("table left behind: %s", n.Name())
		}
	}
	jr, err := journal.OpenReader(dir+"/journal", journal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer jr.Close()
	if seqs, err := jr.Snapshots(0); err != nil || len(seqs) != 2 || seqs[1] != last {
		t.Fatalf("stored snapshots %v (%v), want two (KeepSnapshots), the newest at %d", seqs, err, last)
	}
}

// TestSnapshotProcessFallingBehind: a snapshot process that stops taking
// its input (SIGSTOP: as starved of CPU, or hung) is raised to the normal
// policy (or to the venue's SCHED_FIFO priority, Venue.SetRealtime) once
// a write to it has waited snapBoostAfter; one that resumes
// goes on and its snapshots are stored; one that takes nothing for
// snapStallLimit is lost — killed, snapshots stopped — while the shard
// goes on matching and the venue stops promptly. A SIGINT (a Ctrl-C to
// the process group) does not end it.
func TestSnapshotProcessFallingBehind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	defer func(b int, after, limit time.Duration) {
		snapPipeBytes, snapBoostAfter, snapStallLimit = b, after, limit
	}(snapPipeBytes, snapBoostAfter, snapStallLimit)
	snapPipeBytes, snapBoostAfter, snapStallLimit = 4096, 20*time.Millisecond, 1500*time.Millisecond
	type tc struct {
		resume   bool
		realtime int // Venue.SetRealtime
	}
	cases := []tc{{true, 0}, {false, 0}}
	if threads.CanRealtime(3) == nil {
		cases = append(cases, tc{true, 3})
	} else if os.Getenv("FXMATCH_REQUIRE_REALTIME") == "1" {
		t.Errorf("FXMATCH_REQUIRE_REALTIME=1 but no right to SCHED_FIFO: %v", threads.CanRealtime(3))
	}
	for _, c := range cases {
		resume := c.resume
		t.Run(fmt.Sprintf("resumes=%v/realtime=%d", resume, c.realtime), func(t *testing.T) {
			cfg := config.Demo()
			var logs syncBuffer
			r := startWith(t, Options{Config: cfg, DataDir: t.TempDir(), SnapshotEvery: 200, SnapshotProcess: true,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			r.v.SetRealtime(c.realtime)
			// Raised to the normal policy (0), or to the venue's real-time
			// one (SCHED_FIFO, 1) when it runs under it.
			raised := 0
			if c.realtime > 0 {
				raised = 1
			}
			stopped := false
			defer func() {
				if !stopped {
					r.stop()
				}
			}()
			child := r.v.shards[0].snap.child.cmd.Process
			if err := child.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			trade(t, r.v, 300)
			waitFor(t, "a snapshot after a SIGINT", func() bool { return r.v.SnapshotStats(0).Taken > 0 })
			if err := child.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			trade(t, r.v, 3000)
			waitFor(t, "a boost", func() bool { return r.v.SnapshotStats(0).Boosts > 0 })
			if resume {
				// Raised while it lags: every thread under the normal
				// policy (or the venue's real-time one); back to idle once
				// it has caught up.
				if p := childPolicies(t, child.Pid); slices.ContainsFunc(p, func(x int) bool { return x != raised }) {
					t.Errorf("policies while boosted: %v, want all %d", p, raised)
				}
				if c.realtime > 0 {
					for _, tid := range tasksOf(t, child.Pid) {
						if name, prio, err := threads.Policy(tid); err != nil || prio != c.realtime {
							t.Errorf("thread %d while boosted: %s %d (%v), want priority %d", tid, name, prio, err, c.realtime)
						}
					}
				}
				taken := r.v.SnapshotStats(0).Taken
				child.Signal(syscall.SIGCONT)
				waitFor(t, "snapshots after the resume", func() bool { return r.v.SnapshotStats(0).Taken > taken })
				waitFor(t, "idle priority again", func() bool {
					return !slices.ContainsFunc(childPolicies(t, child.Pid), func(x int) bool { return x != 5 })
				})
			} else {
				waitFor(t, "the stalled process to be lost", func() bool { return r.v.SnapshotStats(0).ProcessLost })
				trade(t, r.v, 300)
			}
			t0 := time.Now()
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			stopped = true
			if took := time.Since(t0); took > 5*time.Second {
				t.Errorf("the stop took %v", took)
			}
			st := r.v.SnapshotStats(0)
			if st.Boosts == 0 || st.ProcessLost == resume {
				t.Errorf("%+v", st)
			}
			if got, want := r.v.shards[0].app.Durable(), uint64(300+3000); got < want {
				t.Errorf("journaled %d commands, want at least %d", got, want)
			}
			if !resume && !strings.Contains(logs.String(), "even at normal priority") {
				t.Errorf("no log line saying why:\n%s", logs.String())
			}
		})
	}
}

// childPolicies are the scheduling policies of process pid's threads.
func childPolicies(t *testing.T, pid int) []int {
	t.Helper()
	var out []int
	for _, tid := range tasksOf(t, pid) {
		out = append(out, schedPolicy(t, pid, tid))
	}
	return out
}

// tasksOf lists process pid's threads.
func tasksOf(t *testing.T, pid int) []int {
	t.Helper()
	tids, err := threads.Tasks(pid)
	if err != nil {
		t.Fatal(err)
	}
	return tids
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSnapshotProcessMustAnswer: a program that does not act as a
// snapshot process (RunSnapshotChildIfAsked not called first in main)
// fails Open with an error saying so, and leaves no process behind.
func TestSnapshotProcessMustAnswer(t *testing.T) {
	for _, c := range []struct{ exe, want string }{
		// cat echoes the init frame: some other program's output.
		{"/bin/cat", "is RunSnapshotChildIfAsked called first in main?"},
		{"/bin/true", "it exited before it was ready"},
	} {
		t.Run(c.exe, func(t *testing.T) {
			if _, err := os.Stat(c.exe); err != nil {
				t.Skip(err)
			}
			defer func(f func() (string, error)) { snapChildExe = f }(snapChildExe)
			snapChildExe = func() (string, error) { return c.exe, nil }
			_, err := Open(Options{Config: config.Demo(), DataDir: t.TempDir(), SnapshotProcess: true})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "snapshot process") {
				t.Fatalf("Open = %v, want an error about the snapshot process containing %q", err, c.want)
			}
		})
	}
}

// childHarness runs runSnapshotChild on pipes, as the venue would drive a
// snapshot process, for the protocol's own tests.
type childHarness struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *bufio.Reader
	done chan error
	eng  *engine.Engine // the primary the commands are applied to
	next uint64
}

func newChildHarness(t *testing.T) *childHarness {
	t.Helper()
	ec, err := config.Demo().EngineConfig(0, 20261126)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ec)
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &childHarness{t: t, in: inW, out: bufio.NewReader(outR), done: make(chan error, 1), eng: eng, next: 1}
	go func() {
		err := runSnapshotChild(inR, outW, "")
		outW.Close()
		inR.Close()
		h.done <- err
	}()
	hdr, _ := json.Marshal(childInit{Shard: 0, Last: 0, Format: journal.TableFormat(0), Config: ec})
	h.send(appendFrame(appendFrame(nil, frameInit, hdr), frameState, eng.AppendSnapshot(nil)))
	if kind, _ := h.recv(); kind != frameReady {
		t.Fatalf("first frame %q, want ready", kind)
	}
	return h
}

func (h *childHarness) send(b []byte) {
	h.t.Helper()
	if _, err := h.in.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *childHarness) recv() (byte, []byte) {
	h.t.Helper()
	kind, payload, err := readFrame(h.out, nil, maxReplyFrame)
	if err != nil {
		h.t.Fatal(err)
	}
	return kind, slices.Clone(payload)
}

// commands applies n new orders to the primary and sends them.
func (h *childHarness) commands(n int) {
	h.t.Helper()
	var b []byte
	var events []engine.Event
	for range n {
		c := order(1, 0, fmt.Sprintf("c%d", h.next), engine.Buy, 1_000_000, 71_000_000)
		c.Seq, c.Time = h.next, 1
		h.next++
		events = h.eng.Apply(c, events[:0])
		b = journal.AppendCommand(b, c)
	}
	h.send(appendFrame(nil, frameCommands, b))
	kind, payload := h.recv()
	if seq, _ := binary.Uvarint(payload); kind != frameApplied || seq != h.next-1 {
		h.t.Fatalf("after commands: %q %d, want applied through %d", kind, seq, h.next-1)
	}
}

func (h *childHarness) askSnapshot(want engine.Progress, path string) {
	p := binary.AppendUvarint(nil, h.next-1)
	p = appendProgress(p, want)
	h.send(appendFrame(nil, frameSnapshot, append(p, path...)))
}

// TestSnapshotChildDiverges: a snapshot asked with counters the shadow
// does not show is answered "diverged", and later snapshots are not
// taken; the child still applies what it is given.
func TestSnapshotChildDiverges(t *testing.T) {
	h := newChildHarness(t)
	h.commands(5)
	wrong := h.eng.Progress()
	wrong.NextOrder++
	h.askSnapshot(wrong, t.TempDir()+"/x.sst")
	if kind, payload := h.recv(); kind != frameDiverged || !strings.Contains(string(payload), "the primary") {
		t.Fatalf("%q %s, want diverged", kind, payload)
	}
	h.commands(3)
	h.askSnapshot(h.eng.Progress(), t.TempDir()+"/y.sst")
	h.commands(1) // answered with applied, not a snapshot
	h.in.Close()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotChildRefusesAGap: a command out of sequence ends the child
// with an error frame naming both sequences.
func TestSnapshotChildRefusesAGap(t *testing.T) {
	h := newChildHarness(t)
	h.commands(2)
	c := order(1, 0, "gap", engine.Buy, 1_000_000, 71_000_000)
	c.Seq = 9
	h.send(appendFrame(nil, frameCommands, journal.AppendCommand(nil, c)))
	if kind, payload := h.recv(); kind != frameError || !strings.Contains(string(payload), "given seq 9, expected 3") {
		t.Fatalf("%q %s, want an error frame", kind, payload)
	}
	if err := <-h.done; err == nil {
		t.Fatal("the child returned no error")
	}
}

// TestChildEnv: the child's environment keeps GODEBUG's other settings
// but not schedtrace (see childEnv).
func TestChildEnv(t *testing.T) {
	got := childEnv([]string{"A=1", "GODEBUG=schedtrace=2147483647", "B=2"})
	if want := []string{"A=1", "B=2"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got = childEnv([]string{"GODEBUG=gctrace=1,schedtrace=10,madvdontneed=1"})
	if want := []string{"GODEBUG=gctrace=1,madvdontneed=1"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
