package threads

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Each calls set for every thread of this process: each thread listed in
// /proc/self/task, listing again until a pass finds none not yet set (a
// thread a not-yet-set one creates meanwhile inherits the old setting).
// set returns the errno of its system call; ESRCH (the thread has exited
// since) is not an error.
func Each(set func(tid int) syscall.Errno) error {
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
			if e := set(tid); e != 0 && e != syscall.ESRCH {
				return e
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
		if pass == 10 {
			return fmt.Errorf("threads kept appearing while setting them")
		}
	}
}

// schedIdle is Linux's SCHED_IDLE policy: a thread under it runs only
// when no thread of another policy wants the CPU, and a waking thread of
// another policy preempts it at once.
const schedIdle = 5

// SetIdle puts every thread of this process under SCHED_IDLE (see
// schedIdle): for a process whose work must never delay another's.
func SetIdle() error {
	var param struct{ priority int32 }
	err := Each(func(tid int) syscall.Errno {
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param)))
		return e
	})
	if err != nil {
		return fmt.Errorf("sched_setscheduler(SCHED_IDLE): %w", err)
	}
	return nil
}

// IsIdle says whether the calling thread runs under SCHED_IDLE.
func IsIdle() (bool, error) {
	p, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, 0, 0, 0)
	if e != 0 {
		return false, fmt.Errorf("sched_getscheduler: %w", e)
	}
	return p == schedIdle, nil
}

// maxCPUs is the most CPUs a mask here holds.
const maxCPUs = 1024

type cpuMask [maxCPUs / 64]uint64

// SetAffinity restricts every thread of this process to cpus
// (sched_setaffinity). A CPU at or beyond maxCPUs is refused by number;
// EINVAL from the kernel (none of cpus is in the process's cpuset or
// online) is returned as syscall.EINVAL.
func SetAffinity(cpus []int) error {
	var m cpuMask
	for _, c := range cpus {
		if c < 0 || c >= maxCPUs {
			return fmt.Errorf("CPU %d: want 0 to %d", c, maxCPUs-1)
		}
		m[c/64] |= 1 << (c % 64)
	}
	return Each(func(tid int) syscall.Errno {
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
		return e
	})
}

// Affinity is the CPUs the calling thread may run on (sched_getaffinity).
func Affinity() ([]int, error) {
	var m cpuMask
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m))); e != 0 {
		return nil, fmt.Errorf("sched_getaffinity: %w", e)
	}
	var cpus []int
	for c := range maxCPUs {
		if m[c/64]&(1<<(c%64)) != 0 {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
