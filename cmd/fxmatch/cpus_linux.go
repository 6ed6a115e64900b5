package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"fxmatch/internal/threads"
)

// allowedCPUs is the CPUs this process may run on (sched_getaffinity of
// the calling thread).
func allowedCPUs() ([]int, error) { return threads.Affinity() }

// onlineCPUs is the machine's online CPUs.
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, err
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

// pinProcess restricts every thread of this process to cpus: each thread
// that exists now (/proc/self/task), and, since a new thread inherits its
// creator's mask, every thread made later. A CPU that is not online is
// refused by name; the kernel refuses a list with none in the process's
// cpuset. The process's current mask does not limit the list (a venue
// that bench fix starts inherits the generator's, and moves off it).
func pinProcess(cpus []int) error {
	if online, err := onlineCPUs(); err == nil {
		for _, c := range cpus {
			if !slices.Contains(online, c) {
				return fmt.Errorf("CPU %d is not one of this machine's online CPUs (%s)", c, formatCPUList(online))
			}
		}
	}
	err := threads.SetAffinity(cpus)
	if errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("none of CPUs %s is in this process's cpuset", formatCPUList(cpus))
	}
	if err != nil {
		return fmt.Errorf("sched_setaffinity: %w", err)
	}
	return nil
}

// setRealtime puts every thread of this process under SCHED_FIFO at prio
// (serve --realtime), saying what right is missing when refused.
func setRealtime(prio int) error { return realtimeErr(prio, threads.SetRealtime(prio)) }

// checkRealtime says, without changing any thread the venue runs on,
// whether setRealtime(prio) would be refused, and why (serve asks before
// it opens the venue).
func checkRealtime(prio int) error { return realtimeErr(prio, threads.CanRealtime(prio)) }

func realtimeErr(prio int, err error) error {
	if errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least %d (ulimit -r %d; systemd LimitRTPRIO=%d); in a container, CAP_SYS_NICE of the host's user namespace; under cgroup v1 real-time group scheduling, a cpu.rt_runtime_us above 0 for the process's cgroup", err, prio, prio, prio)
	}
	return err
}

// rtThrottled says whether the kernel keeps a share of every CPU from
// real-time threads (kernel.sched_rt_runtime_us not -1): serve warns
// when it does not, as one runaway thread under --realtime could then
// hold a CPU from everything else.
func rtThrottled() bool {
	b, err := os.ReadFile("/proc/sys/kernel/sched_rt_runtime_us")
	return err != nil || strings.TrimSpace(string(b)) != "-1"
}
