package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The Go runtime's sysmon thread parks ("deep sleep") whenever it finds
// every scheduler processor idle, and the next system call any goroutine
// makes wakes it again with a futex: on this project's 2-vCPU machine
// that wake-up and the short polling that follows it cost the venue about
// a third of its CPU per order at 10,000 orders/s, because the venue goes
// idle between two orders. fxmatch bench fix, 1 session, 10k/s, cancel
// mix, durability none, --procs=1, no snapshots, load 0.5: venue 88.7 and
// 92.7 µs of CPU per order, p50 78 and 85 µs, with sysmon parking; 58.2
// and 57.0 µs, p50 47 and 46 µs, with it kept awake.
//
// The runtime has no switch for this but one side effect: with
// GODEBUG=schedtrace=N set, sysmon never parks (it must be awake to print
// the scheduler trace every N ms). Its value is read once, at process
// start, so serve re-executes itself (same process, same PID: execve) with
// schedtrace at its largest value, 2147483647 ms: about 24.8 days between
// two trace lines, counted from the machine's boot (a venue on a machine
// up longer prints one "SCHED" line on standard error at start, and one
// every 24.8 days). An awake sysmon backs off to one check every 10 ms
// while nothing happens. A GODEBUG that already sets schedtrace is left
// as it is; serve --sysmon=park runs without any of this.
const sysmonAwakeSetting = "schedtrace=2147483647"

// sysmonFlag is serve's flag for it; main reads it before the flag package
// does (sysmonMode), serve validates it with the others.
const sysmonFlag = "sysmon"

// godebugSetsSchedtrace says whether a GODEBUG value sets schedtrace to a
// positive number, as the runtime reads it (no spaces; the last setting
// wins): what keeps sysmon awake.
func godebugSetsSchedtrace(godebug string) bool {
	set := false
	for f := range strings.SplitSeq(godebug, ",") {
		if v, ok := strings.CutPrefix(f, "schedtrace="); ok {
			n, err := strconv.ParseInt(v, 10, 32)
			set = err == nil && n > 0
		}
	}
	return set
}

// isServeArgs says whether fxmatch's arguments run the venue (as run
// dispatches them).
func isServeArgs(args []string) bool {
	if len(args) == 0 {
		return true
	}
	if args[0] == "serve" {
		return true
	}
	return len(args[0]) > 0 && args[0][0] == '-' && !isHelp(args[0])
}

// sysmonMode is the value of serve's --sysmon flag in args ("awake" when
// absent). It only looks: serve's flag parsing rejects a bad value.
func sysmonMode(args []string) string {
	mode := "awake"
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != sysmonFlag {
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		mode = value
	}
	return mode
}

// sysmonReexecEnv is the environment serve re-executes itself with, and
// whether it should: only for serve, only with --sysmon=awake (the
// default), and only if GODEBUG does not set schedtrace already (which
// also ends the re-execution after the first).
func sysmonReexecEnv(args, env []string) ([]string, bool) {
	if !isServeArgs(args) || sysmonMode(args) != "awake" {
		return nil, false
	}
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if godebugSetsSchedtrace(v) {
				return nil, false
			}
			found = true
			if v != "" {
				kv += ","
			}
			kv += sysmonAwakeSetting
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "GODEBUG="+sysmonAwakeSetting)
	}
	return out, true
}

// reexecForSysmon replaces the process with itself, sysmon kept awake,
// when sysmonReexecEnv says so. It returns only if it did not (or could
// not: then it says why on stderr, and serve runs with sysmon parking).
func reexecForSysmon() {
	env, ok := sysmonReexecEnv(os.Args[1:], os.Environ())
	if !ok {
		return
	}
	exe, err := os.Executable()
	if err == nil {
		err = syscall.Exec(exe, os.Args, env)
	}
	fmt.Fprintf(os.Stderr, "fxmatch: could not re-execute with GODEBUG=%s (the Go runtime's sysmon will park when idle, costing CPU per order): %v\n", sysmonAwakeSetting, err)
}

// sysmonAwake says whether this process runs with sysmon kept awake.
func sysmonAwake() bool { return godebugSetsSchedtrace(os.Getenv("GODEBUG")) }
