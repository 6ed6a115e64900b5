package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSysmonReexecEnv(t *testing.T) {
	base := []string{"HOME=/root", "PATH=/usr/bin"}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want []string // nil: no re-execution
	}{
		{"no arguments is serve", nil, base, append(slices.Clone(base), "GODEBUG="+sysmonAwakeSetting)},
		{"serve", []string{"serve", "--data", "d"}, base, append(slices.Clone(base), "GODEBUG="+sysmonAwakeSetting)},
		{"serve's flags alone", []string{"--fix-addr", "127.0.0.1:0"}, base, append(slices.Clone(base), "GODEBUG="+sysmonAwakeSetting)},
		{"an existing GODEBUG is kept", []string{"serve"}, []string{"GODEBUG=gctrace=1", "A=b"}, []string{"GODEBUG=gctrace=1," + sysmonAwakeSetting, "A=b"}},
		{"an empty GODEBUG", []string{"serve"}, []string{"GODEBUG="}, []string{"GODEBUG=" + sysmonAwakeSetting}},
		{"schedtrace already set: the re-executed process", []string{"serve"}, []string{"GODEBUG=" + sysmonAwakeSetting}, nil},
		{"the operator's own schedtrace", []string{"serve"}, []string{"GODEBUG=gctrace=1,schedtrace=1000"}, nil},
		{"schedtrace=0 keeps nothing awake", []string{"serve"}, []string{"GODEBUG=schedtrace=0"}, []string{"GODEBUG=schedtrace=0," + sysmonAwakeSetting}},
		{"a spaced schedtrace the runtime does not read", []string{"serve"}, []string{"GODEBUG=gctrace=1, schedtrace=1000"}, []string{"GODEBUG=gctrace=1, schedtrace=1000," + sysmonAwakeSetting}},
		{"the last schedtrace wins", []string{"serve"}, []string{"GODEBUG=schedtrace=1000,schedtrace=0"}, []string{"GODEBUG=schedtrace=1000,schedtrace=0," + sysmonAwakeSetting}},
		{"--sysmon=park", []string{"serve", "--sysmon=park"}, base, nil},
		{"-sysmon park", []string{"serve", "-sysmon", "park"}, base, nil},
		{"--sysmon=awake", []string{"serve", "--sysmon=awake"}, base, append(slices.Clone(base), "GODEBUG="+sysmonAwakeSetting)},
		{"the last --sysmon wins", []string{"serve", "--sysmon=park", "--sysmon", "awake"}, base, append(slices.Clone(base), "GODEBUG="+sysmonAwakeSetting)},
		{"a bad value is serve's to refuse", []string{"serve", "--sysmon=nap"}, base, nil},
		{"not serve: bench", []string{"bench", "fix"}, base, nil},
		{"not serve: help", []string{"-h"}, base, nil},
		{"not serve: config", []string{"config", "example"}, base, nil},
	} {
		got, ok := sysmonReexecEnv(tc.args, tc.env)
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: sysmonReexecEnv(%q, %q) = %q, %v; want %q", tc.name, tc.args, tc.env, got, ok, tc.want)
		}
	}
}

func TestServeRefusesBadSysmon(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--sysmon", "nap"}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, errb.String())
	}
	if !strings.Contains(errb.String(), `--sysmon "nap": want awake or park`) {
		t.Errorf("stderr does not name the bad value:\n%s", errb.String())
	}
}

// TestServeReexecutesWithSysmonAwake runs the real binary: serve replaces
// itself (same PID) with GODEBUG's schedtrace set, keeping the GODEBUG it
// was given, and says so in its banner; with --sysmon=park it does not.
func TestServeReexecutesWithSysmonAwake(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc/PID/environ to read the re-executed process's environment")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		flag        string
		wantGODEBUG string
		wantBanner  string
	}{
		{"--sysmon=awake", "GODEBUG=madvdontneed=1," + sysmonAwakeSetting, "sysmon kept awake"},
		{"--sysmon=park", "GODEBUG=madvdontneed=1", "sysmon parks when idle (--sysmon=park)"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			out, pid := startServeBinary(t, bin, []string{"GODEBUG=madvdontneed=1"}, tc.flag)
			env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			if err != nil {
				t.Fatal(err)
			}
			var godebug []string
			for kv := range strings.SplitSeq(string(env), "\x00") {
				if strings.HasPrefix(kv, "GODEBUG=") {
					godebug = append(godebug, kv)
				}
			}
			if len(godebug) != 1 || godebug[0] != tc.wantGODEBUG {
				t.Errorf("the running venue's GODEBUG: %q, want %q", godebug, tc.wantGODEBUG)
			}
			if !strings.Contains(out.String(), "go runtime    GOMAXPROCS") || !strings.Contains(out.String(), tc.wantBanner) {
				t.Errorf("banner does not say %q:\n%s", tc.wantBanner, out.String())
			}
		})
	}
}

// startServeBinary starts the real binary's serve on loopback, ephemeral
// ports and a temporary data directory, with env added to the test's
// environment and args after the listeners; it waits for the banner and
// returns its standard output so far (live) and its PID. The venue is
// stopped with SIGINT, as an operator would, when the test ends, and a
// failure to stop fails the test.
func startServeBinary(t *testing.T, bin string, env []string, args ...string) (*syncBuffer, int) {
	t.Helper()
	out := &syncBuffer{}
	errb := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"serve", "--data", t.TempDir(), "--fix-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve exited with %v:\n%s", err, errb.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop on SIGINT")
		}
	})
	if !checkFor(t, 30*time.Second, func() bool { return strings.Contains(out.String(), "fxmatch: running") }) {
		t.Fatalf("serve did not start:\n%s\n%s", out.String(), errb.String())
	}
	return out, cmd.Process.Pid
}

func TestWithBenchProcs(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		cpus  int
		want  []string
	}{
		{nil, 2, []string{"--procs=1"}},
		{nil, 1, []string{"--procs=1"}},
		{nil, 8, []string{"--procs=4"}},
		{[]string{"--no-assistant"}, 2, []string{"--no-assistant", "--procs=1"}},
		{[]string{"--procs=2"}, 2, []string{"--procs=2"}},
		{[]string{"-procs=2"}, 16, []string{"-procs=2"}},
		{[]string{"--procs-x"}, 2, []string{"--procs-x", "--procs=1"}},
	} {
		if got := withBenchProcs(slices.Clone(tc.flags), tc.cpus); !slices.Equal(got, tc.want) {
			t.Errorf("withBenchProcs(%q, %d) = %q, want %q", tc.flags, tc.cpus, got, tc.want)
		}
	}
}
