package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"fxmatch/internal/threads"
)

func TestServeRefusesBadRealtime(t *testing.T) {
	for _, v := range []string{"-1", "100"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"serve", "--realtime", v}, nil, &out, &errb); code != exitUsage {
			t.Fatalf("--realtime %s: exit %d, want %d; stderr:\n%s", v, code, exitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), "--realtime "+v+": want 0 (the normal policy) or a SCHED_FIFO priority 1 to 99") {
			t.Errorf("--realtime %s: stderr does not name the bad value:\n%s", v, errb.String())
		}
	}
}

// TestServeRealtime runs the real binary with --realtime: every thread of
// the venue runs under SCHED_FIFO at the priority given, the snapshot
// processes stay under SCHED_IDLE, and the banner says so; without the
// right to it (CAP_SYS_NICE dropped, RLIMIT_RTPRIO 0) serve refuses to
// run before it opens the venue, naming what is missing.
func TestServeRealtime(t *testing.T) {
	if err := threads.CanRealtime(3); err != nil {
		if os.Getenv("FXMATCH_REQUIRE_REALTIME") == "1" {
			t.Fatalf("FXMATCH_REQUIRE_REALTIME=1 but no right to SCHED_FIFO here: %v", err)
		}
		t.Skipf("no right to SCHED_FIFO here: %v", err)
	}
	bin := buildBinary(t)
	out, pid := startServeBinary(t, bin, nil, "--realtime", "3")
	if !strings.Contains(out.String(), "SCHED_FIFO priority 3 (--realtime)") {
		t.Errorf("banner does not say SCHED_FIFO priority 3:\n%s", out.String())
	}
	venueTIDs := taskIDs(t, pid)
	if len(venueTIDs) < 3 {
		t.Fatalf("venue threads: %v", venueTIDs)
	}
	for _, tid := range venueTIDs {
		if name, prio, err := threads.Policy(tid); err != nil || name != "SCHED_FIFO" || prio != 3 {
			t.Errorf("venue thread %d under %s %d (%v), want SCHED_FIFO 3", tid, name, prio, err)
		}
	}
	var snapPIDs []string // children of any of the venue's threads
	for _, tid := range venueTIDs {
		children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, tid))
		if err != nil {
			t.Fatal(err)
		}
		snapPIDs = append(snapPIDs, strings.Fields(string(children))...)
	}
	if len(snapPIDs) == 0 {
		t.Fatal("no snapshot process under the venue")
	}
	for _, c := range snapPIDs {
		cpid, _ := strconv.Atoi(c)
		for _, tid := range taskIDs(t, cpid) {
			if name, _, err := threads.Policy(tid); err != nil || name != "SCHED_IDLE" {
				t.Errorf("snapshot process %d thread %d under %s (%v), want SCHED_IDLE", cpid, tid, name, err)
			}
		}
	}

	// Without CAP_SYS_NICE and with RLIMIT_RTPRIO 0: refused, and why.
	for _, tool := range []string{"setpriv", "prlimit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s to drop the right", tool)
		}
	}
	data := t.TempDir()
	cmd := exec.Command("setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", "--",
		"prlimit", "--rtprio=0", bin, "serve", "--realtime", "3", "--data", data,
		"--fix-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	msg, err := cmd.CombinedOutput()
	if strings.HasPrefix(string(msg), "setpriv:") {
		t.Skipf("setpriv cannot drop CAP_SYS_NICE here: %s", msg)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitFail {
		t.Fatalf("without the right: exit %d (%v), want %d:\n%s", code, err, exitFail, msg)
	}
	if !strings.Contains(string(msg), "--realtime 3: sched_setscheduler(SCHED_FIFO): operation not permitted: needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 3") {
		t.Errorf("refusal does not say what is missing:\n%s", msg)
	}
	// Refused before the venue opened: no journal made, no banner.
	if names, err := os.ReadDir(data); err != nil || len(names) != 0 || strings.Contains(string(msg), "fxmatch: running") {
		t.Errorf("refused after start-up: data directory %v (%v); output:\n%s", names, err, msg)
	}
}

// taskIDs lists process pid's threads.
func taskIDs(t *testing.T, pid int) []int {
	t.Helper()
	tids, err := threads.Tasks(pid)
	if err != nil {
		t.Fatal(err)
	}
	return tids
}
