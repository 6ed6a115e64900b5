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
func Each(set func(tid int) syscall.Errno) error { return eachOf("self", set) }

// eachOf is Each for process pid ("self": this one).
func eachOf(pid string, set func(tid int) syscall.Errno) error {
	done := map[int]bool{}
	for pass := 0; ; pass++ {
		tasks, err := os.ReadDir("/proc/" + pid + "/task")
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
const schedIdle uintptr = 5

// SetIdle puts every thread of this process under SCHED_IDLE (see
// schedIdle): for a process whose work must never delay another's.
func SetIdle() error { return setPolicy("self", schedIdle) }

// SetProcessIdle sets every thread of process pid under SCHED_IDLE (idle
// true) or back under the normal policy, SCHED_OTHER (false). The caller
// needs the right to (the same user, or CAP_SYS_NICE).
func SetProcessIdle(pid int, idle bool) error {
	policy := schedOther
	if idle {
		policy = schedIdle
	}
	return setPolicy(strconv.Itoa(pid), policy)
}

// schedOther is Linux's normal time-sharing policy.
const schedOther uintptr = 0

func setPolicy(pid string, policy uintptr) error {
	var param struct{ priority int32 }
	err := eachOf(pid, func(tid int) syscall.Errno {
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), policy, uintptr(unsafe.Pointer(&param)))
		return e
	})
	if err != nil {
		return fmt.Errorf("sched_setscheduler(%s): %w", policyName(policy), err)
	}
	return nil
}

func policyName(p uintptr) string {
	if p == schedIdle {
		return "SCHED_IDLE"
	}
	return "SCHED_OTHER"
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
