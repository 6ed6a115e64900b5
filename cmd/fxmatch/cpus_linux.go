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
