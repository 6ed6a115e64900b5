package main

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Pinning the venue's threads to CPUs of their own (serve --cpus), and
// the load generator's to the others (bench fix --pin), is how a latency
// benchmark is run on a small machine: otherwise the kernel's scheduler
// may wake the venue's thread on the CPU where the generator's thread
// runs (it woke it, by writing to the socket), where it waits for its
// turn. fxmatch bench fix, 1 session, 10,000 orders/s, durability none,
// no snapshots (both on the same idle machine, one run each): the venue's
// share of the latency (from the generator's write to the report's
// arrival) p50 26.8 µs, p90 67-76 µs and 2,913-3,674 orders over 100 µs
// of 50,000 unpinned; pinned (generator CPU 0, venue CPU 1) p50 25.4 µs,
// p90 50.8 µs and 1,644 orders over 100 µs.

// parseCPUList parses a Linux CPU list ("1", "0,2", "2-3,6"), as in
// /sys/devices/system/cpu/online or taskset -c, into ascending CPU
// numbers without duplicates.
func parseCPUList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty CPU list")
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a CPU number or range (want e.g. 1, 0,2 or 2-3)", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a CPU range (want low-high, low <= high)", part)
			}
		}
		if b >= maxCPUs {
			return nil, fmt.Errorf("CPU %d is out of range (at most %d)", b, maxCPUs-1)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// maxCPUs bounds a CPU number: the affinity mask's size in bits
// (internal/threads).
const maxCPUs = 1024

// formatCPUList is parseCPUList's inverse, ranges collapsed.
func formatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(&b, "%d", cpus[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", cpus[i], cpus[j])
		}
		i = j + 1
	}
	return b.String()
}

// setProcs sets GOMAXPROCS to procs (--procs) if above 0, else to the
// number of CPUs pinned to (--cpus), if any. Set, not left to the
// runtime: it would lower GOMAXPROCS to the CPUs pinned to on its own,
// but up to a second later, after decisions were made on the old value.
func setProcs(procs int, cpus []int) {
	switch {
	case procs > 0:
		runtime.GOMAXPROCS(procs)
	case cpus != nil:
		runtime.GOMAXPROCS(len(cpus))
	}
}
