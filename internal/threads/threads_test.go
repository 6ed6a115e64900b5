package threads

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestSetIdle runs itself in a child process (SCHED_IDLE cannot be undone
// without privilege) and checks there that every thread, those made
// before and after the call, runs under SCHED_IDLE.
func TestSetIdle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	out, err := exec.Command("/proc/self/exe", "-test.run=^TestSetIdleChild$", "-test.v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSetIdleChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestSetIdleChild(t *testing.T) {
	if !strings.HasSuffix(strings.Join(osArgs(), " "), "-test.run=^TestSetIdleChild$ -test.v") {
		t.Skip("run by TestSetIdle in a process of its own")
	}
	if idle, err := IsIdle(); err != nil || idle {
		t.Fatalf("idle before: %v %v", idle, err)
	}
	if err := SetIdle(); err != nil {
		t.Fatal(err)
	}
	// Threads made after the call: goroutines locked to new threads.
	res := make(chan error, 8)
	for range 8 {
		go func() {
			runtime.LockOSThread()
			idle, err := IsIdle()
			if err == nil && !idle {
				err = errNotIdle
			}
			res <- err
		}()
	}
	for range 8 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	if idle, err := IsIdle(); err != nil || !idle {
		t.Fatalf("this thread: idle %v %v", idle, err)
	}
}
