package main

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		fmt  string
	}{
		{"1", []int{1}, "1"},
		{"0,2", []int{0, 2}, "0,2"},
		{"2-3,6", []int{2, 3, 6}, "2-3,6"},
		{" 3 , 1-2 ,2", []int{1, 2, 3}, "1-3"},
		{"1023", []int{1023}, "1023"},
	} {
		got, err := parseCPUList(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if f := formatCPUList(got); f != tc.fmt {
			t.Errorf("formatCPUList(%v) = %q, want %q", got, f, tc.fmt)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty CPU list"},
		{"x", `"x" is not a CPU number or range`},
		{"-1", `"-1" is not a CPU number or range`},
		{"3-1", `"3-1" is not a CPU range`},
		{"1-", `"1-" is not a CPU range`},
		{"1,,2", `"" is not a CPU number`},
		{"1024", "CPU 1024 is out of range (at most 1023)"},
		{"0-5000", "CPU 5000 is out of range"},
	} {
		if _, err := parseCPUList(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseCPUList(%q): error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func TestWithBenchCPUs(t *testing.T) {
	for _, tc := range []struct {
		flags   []string
		allowed []int
		venue   string // the --cpus added or kept, "" none
		gen     []int
	}{
		{nil, []int{0, 1}, "1", []int{0}},
		{nil, []int{0, 1, 2, 3}, "2-3", []int{0, 1}},
		{nil, []int{0, 1, 2}, "1-2", []int{0}},
		{nil, []int{4, 6}, "6", []int{4}},
		{nil, []int{0}, "", nil},
		{[]string{"--cpus=0"}, []int{0, 1, 2}, "0", []int{1, 2}},
		{[]string{"--no-assistant", "-cpus=1-2"}, []int{0, 1, 2}, "1-2", []int{0}},
	} {
		flags, gen, err := withBenchCPUs(tc.flags, tc.allowed)
		if err != nil {
			t.Errorf("%v on %v: %v", tc.flags, tc.allowed, err)
			continue
		}
		_, venue, _ := venueFlag(flags, "cpus")
		if venue != tc.venue || !slices.Equal(gen, tc.gen) {
			t.Errorf("%v on %v: venue --cpus %q, generator %v; want %q, %v", tc.flags, tc.allowed, venue, gen, tc.venue, tc.gen)
		}
		if len(tc.flags) > 0 && len(flags) != len(tc.flags) {
			t.Errorf("%v: flags became %v, want them kept as they were", tc.flags, flags)
		}
	}
	if _, _, err := withBenchCPUs([]string{"--cpus=a"}, []int{0, 1}); err == nil || !strings.Contains(err.Error(), `--venue-flag "--cpus=a"`) {
		t.Errorf("a bad --cpus venue flag: %v", err)
	}
}

// TestServePinsEveryThread runs the real binary with --cpus: every thread
// of the running venue (as /proc says, after serve re-executed itself) is
// allowed only the CPU given, and the banner says so.
func TestServePinsEveryThread(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pinning is Linux only")
	}
	allowed, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 2 {
		t.Skip("needs 2 CPUs: pinned to the only one, the venue would look the same unpinned")
	}
	cpu := allowed[len(allowed)-1]
	bin := buildBinary(t)
	out, pid := startServeBinary(t, bin, nil, "--cpus="+strconv.Itoa(cpu))
	// Pinned to one CPU without --procs: GOMAXPROCS is 1 from the start
	// (not a second later, when the runtime would lower it), so the spare
	// processor for disk waits is on (--spare-proc auto).
	for _, want := range []string{"GOMAXPROCS 1; pinned to CPUs " + strconv.Itoa(cpu) + ";", "one more while waiting for the disk"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner does not say %q:\n%s", want, out.String())
		}
	}
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	if err != nil || len(tasks) < 2 {
		t.Fatalf("the venue's threads: %v, %v", tasks, err)
	}
	for _, st := range tasks {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // the thread has exited
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok && strings.TrimSpace(v) != strconv.Itoa(cpu) {
				t.Errorf("%s: Cpus_allowed_list %q, want %d", st, strings.TrimSpace(v), cpu)
			}
		}
	}
}

// TestServeRefusesACPUItMayNotUse: a CPU beyond the machine's is refused by
// name before the venue opens anything.
func TestServeRefusesACPUItMayNotUse(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pinning is Linux only")
	}
	code, _, errs := runCmd(t, "", "serve", "--data", t.TempDir(), "--cpus", "1023")
	if code != exitUsage || !strings.Contains(errs, "--cpus 1023: CPU 1023 is not one of this machine's online CPUs") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCmd(t, "", "serve", "--data", t.TempDir(), "--cpus", "1-x")
	if code != exitUsage || !strings.Contains(errs, `--cpus "1-x": "1-x" is not a CPU range`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
