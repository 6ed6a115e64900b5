package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// allowedCPUs is the CPUs this process may run on (sched_getaffinity of
// the calling thread).
func allowedCPUs() ([]int, error) {
	var m cpuMask
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m))); e != 0 {
		return nil, fmt.Errorf("sched_getaffinity: %v", e)
	}
	return m.cpus(), nil
}

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
	m := maskOf(cpus)
	// A thread an unpinned one creates while the list is read inherits
	// the old mask: list again until a pass finds no thread not yet pinned.
	done := map[int]bool{}
	for pass := 0; ; pass++ {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh = true
			_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(*m), uintptr(unsafe.Pointer(m)))
			if e == syscall.EINVAL {
				return fmt.Errorf("none of CPUs %s is in this process's cpuset", formatCPUList(cpus))
			}
			if e != 0 && e != syscall.ESRCH { // ESRCH: the thread has exited since
				return fmt.Errorf("sched_setaffinity(thread %d): %v", tid, e)
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
		if pass == 10 {
			return fmt.Errorf("threads kept appearing while pinning them")
		}
	}
}
