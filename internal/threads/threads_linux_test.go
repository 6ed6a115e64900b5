package threads

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// tids lists the threads of process pid (0: this one).
func tids(t *testing.T, pid int) []int {
	t.Helper()
	if pid == 0 {
		pid = os.Getpid()
	}
	out, err := Tasks(pid)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runInChild runs test name in a process of its own (a policy that cannot
// be undone, or is not for the test binary) and fails unless it passes.
func runInChild(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("/proc/self/exe", "-test.run=^"+name+"$", "-test.v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// onlyInChild skips test name unless runInChild started it.
func onlyInChild(t *testing.T, name string) {
	t.Helper()
	if !strings.HasSuffix(strings.Join(osArgs(), " "), "-test.run=^"+name+"$ -test.v") {
		t.Skip("run by runInChild in a process of its own")
	}
}

// holdThreads makes n more threads, each held by a goroutine locked to it
// and asleep for the rest of the process, and gives them time to start.
func holdThreads(n int) {
	for range n {
		go func() {
			runtime.LockOSThread()
			time.Sleep(time.Hour)
		}()
	}
	time.Sleep(50 * time.Millisecond)
}

// TestSetIdle runs itself in a child process (SCHED_IDLE cannot be undone
// without privilege) and checks there that every thread, those that
// existed at the call and those made after it, runs under SCHED_IDLE.
func TestSetIdle(t *testing.T) {
	runInChild(t, "TestSetIdleChild")
}

func TestSetIdleChild(t *testing.T) {
	onlyInChild(t, "TestSetIdleChild")
	// Threads that exist when the call comes.
	holdThreads(4)
	before := tids(t, 0)
	if len(before) < 5 {
		t.Fatalf("only %d threads", len(before))
	}
	for _, tid := range before {
		if idle, err := isIdle(tid); err != nil || idle {
			t.Fatalf("thread %d idle before: %v %v", tid, idle, err)
		}
	}
	if err := SetIdle(); err != nil {
		t.Fatal(err)
	}
	// More threads after the call.
	holdThreads(4)
	all := tids(t, 0)
	if len(all) <= len(before) {
		t.Fatalf("no new threads: %d then %d", len(before), len(all))
	}
	for _, tid := range all {
		if idle, err := isIdle(tid); err != nil || !idle {
			t.Errorf("thread %d not under SCHED_IDLE: %v %v", tid, idle, err)
		}
	}
}

// TestSetRealtime runs itself in a child process (real-time priority is
// not for the test binary) and checks there that every thread, those that
// existed at the call and those made after it, runs under SCHED_FIFO at
// the priority asked; priorities out of range are refused by number.
func TestSetRealtime(t *testing.T) {
	for _, bad := range []int{0, -1, 100} {
		if err := SetRealtime(bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("priority %d: want 1 to 99", bad)) {
			t.Errorf("SetRealtime(%d): %v", bad, err)
		}
	}
	if err := CanRealtime(7); err != nil {
		if os.Getenv("FXMATCH_REQUIRE_REALTIME") == "1" {
			t.Fatalf("FXMATCH_REQUIRE_REALTIME=1 but no right to SCHED_FIFO here: %v", err)
		}
		t.Skipf("no right to SCHED_FIFO here: %v", err)
	}
	// CanRealtime changed no thread of the test's.
	for _, tid := range tids(t, 0) {
		if name, prio, err := Policy(tid); err != nil || name == "SCHED_FIFO" {
			t.Errorf("thread %d under %s %d (%v) after CanRealtime", tid, name, prio, err)
		}
	}
	runInChild(t, "TestSetRealtimeChild")
}

func TestSetRealtimeChild(t *testing.T) {
	onlyInChild(t, "TestSetRealtimeChild")
	holdThreads(4)
	before := tids(t, 0)
	if err := SetRealtime(7); err != nil {
		t.Fatal(err)
	}
	holdThreads(4)
	all := tids(t, 0)
	if len(all) <= len(before) || len(before) < 5 {
		t.Fatalf("threads: %d then %d", len(before), len(all))
	}
	for _, tid := range all {
		if name, prio, err := Policy(tid); err != nil || name != "SCHED_FIFO" || prio != 7 {
			t.Errorf("thread %d under %s %d (%v), want SCHED_FIFO 7", tid, name, prio, err)
		}
	}
}

// TestSetProcessIdle: another process's threads go under SCHED_IDLE and
// back.
func TestSetProcessIdle(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	check := func(want bool) {
		t.Helper()
		for _, tid := range tids(t, cmd.Process.Pid) {
			if idle, err := isIdle(tid); err != nil || idle != want {
				t.Fatalf("thread %d: idle %v (%v), want %v", tid, idle, err, want)
			}
		}
	}
	check(false)
	if err := SetProcessIdle(cmd.Process.Pid, true); err != nil {
		t.Fatal(err)
	}
	check(true)
	if err := SetProcessIdle(cmd.Process.Pid, false); err != nil {
		t.Fatal(err)
	}
	check(false)
}

// isIdle says whether thread tid (0: the calling thread) runs under
// SCHED_IDLE.
func isIdle(tid int) (bool, error) {
	name, _, err := Policy(tid)
	return name == "SCHED_IDLE", err
}
